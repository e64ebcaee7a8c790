#!/usr/bin/env bash
# `make test` and friends: make sure everything is installed (no main job), then check.
#
#   scripts/test.sh [fast]   ruff check, ruff format --check, pytest (default markers: not slow/e2e)
#   scripts/test.sh slow     pytest -m slow
#   scripts/test.sh e2e      installs Blender too, then pytest -m e2e (real clients)
#   scripts/test.sh lint     ruff check + ruff format --check only
#   scripts/test.sh MODE ARGS...   extra ARGS go to pytest (e.g. -k glb -x)
#
# "No tests collected" (pytest exit 5) is a failure: an empty run proves nothing.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

MODE="${1:-fast}"
if [[ $# -gt 0 ]]; then
    shift
fi
case "$MODE" in
    fast | slow | lint) "$REPO_ROOT/scripts/setup.sh" --no-job ;;
    e2e) "$REPO_ROOT/scripts/setup.sh" --no-job --e2e ;;
    -h | --help)
        sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown mode: $MODE (fast, slow, e2e, lint)" ;;
esac

cd "$REPO_ROOT"
BIN="$REPO_ROOT/.venv/bin"

# lint: both ruff checks; returns non-zero (after saying why) when either fails.
lint() {
    local status=0
    say "ruff check ."
    "$BIN/ruff" check --quiet . || {
        status=1
        say "error: ruff check found problems (above; make format applies the safe fixes)"
    }
    say "ruff format --check ."
    "$BIN/ruff" format --check --quiet . || {
        status=1
        say "error: files need formatting (above; make format rewrites them)"
    }
    return "$status"
}

run_pytest() {
    say "pytest $*"
    local status=0
    "$BIN/pytest" "$@" || status=$?
    case "$status" in
        0) ;;
        5) die "pytest collected no tests ($*): treated as a failure" ;;
        *) die "pytest failed (exit $status)" ;;
    esac
}

case "$MODE" in
    fast)
        # Run the tests even when lint fails, so one run reports everything; fail at the end.
        lint_status=0
        lint || lint_status=$?
        run_pytest "$@"
        [[ "$lint_status" == "0" ]] || die "lint failed (see above); the tests passed"
        ;;
    slow) run_pytest -m slow "$@" ;;
    e2e) run_pytest -m e2e "$@" ;;
    lint) lint || die "lint failed" ;;
esac
