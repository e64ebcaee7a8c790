# shellcheck shell=bash
# Shared helpers for the scripts in this folder. Source it; do not run it.
#   VERBOSE=1  stream the output of every step instead of keeping it in a log.

# shellcheck disable=SC2034  # used by the scripts that source this file
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VERBOSE="${VERBOSE:-0}"

if [[ -t 2 ]]; then
    _RED=$'\033[31m' _BOLD=$'\033[1m' _RESET=$'\033[0m'
else
    _RED="" _BOLD="" _RESET=""
fi

# One status line on stderr.
say() { printf '%s\n' "$*" >&2; }

# An error line on stderr, then exit 1.
die() {
    printf '%s%serror:%s %s\n' "$_RED" "$_BOLD" "$_RESET" "$*" >&2
    exit 1
}

# run_step "description" cmd args...: run quietly; on failure show the command, the tail of its
# output and where the full log is, and exit with the command's status.
run_step() {
    local description="$1"
    shift
    if [[ "$VERBOSE" == "1" ]]; then
        say "-> $description: $*"
        "$@" || die "$description failed (exit $?): $*"
        return 0
    fi
    local log
    log="$(mktemp "${TMPDIR:-/tmp}/mesh-avatar-step.XXXXXX")"
    local status=0
    "$@" >"$log" 2>&1 || status=$?
    if [[ "$status" == "0" ]]; then
        rm -f "$log"
        return 0
    fi
    {
        printf '%s%serror:%s %s failed (exit %d)\n' "$_RED" "$_BOLD" "$_RESET" "$description" "$status"
        printf '  command: %s\n' "$*"
        printf '  last lines of its output (full log: %s):\n' "$log"
        tail -n 40 "$log" | sed 's/^/    /'
    } >&2
    exit "$status"
}

# file_hash PATH...: one sha256 over the given files (order matters).
file_hash() { cat "$@" | sha256sum | cut -d' ' -f1; }
