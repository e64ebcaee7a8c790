#!/usr/bin/env bash
# `make setup`: install everything, then run the main job (a few avatars from the default model).
#
#   scripts/setup.sh            system packages, .venv, Python pins, npm tools, then the main job
#   scripts/setup.sh --no-job   install only (what `make test` uses)
#   scripts/setup.sh --e2e      also the real-client packages (Blender)
#   VERBOSE=1 scripts/setup.sh  stream every step's output
#   PYTHON=python3.12 ...       interpreter for a new .venv (default python3.11)
#
# Idempotent: pip runs only when pyproject.toml changed since the last install (hash stamp in
# .venv), npm ci only when tools/js/package-lock.json changed (stamp in node_modules).
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RUN_JOB=1
DEPS_ARGS=()
for arg in "$@"; do
    case "$arg" in
        --no-job) RUN_JOB=0 ;;
        --e2e) DEPS_ARGS+=(--e2e) ;;
        -h | --help)
            sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown option: $arg (see --help)" ;;
    esac
done

cd "$REPO_ROOT"
VENV="$REPO_ROOT/.venv"
PYTHON="${PYTHON:-python3.11}"
PIP_STAMP="$VENV/.mesh-avatar-pyproject.sha256"
JS_DIR="$REPO_ROOT/tools/js"
NPM_STAMP="$JS_DIR/node_modules/.mesh-avatar-package-lock.sha256"

install_everything() {
    "$REPO_ROOT/scripts/install_system_deps.sh" "${DEPS_ARGS[@]}"

    # Python virtual env + the package with its pinned dependencies.
    if [[ ! -x "$VENV/bin/python" ]]; then
        command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set PYTHON=... to choose one)"
        say "python: creating .venv with $PYTHON"
        run_step "create .venv" "$PYTHON" -m venv "$VENV"
    fi
    "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
        die ".venv does not run a Python >= 3.11; remove it (rm -rf .venv) and run make setup again"

    local want
    want="$(file_hash pyproject.toml)"
    if [[ "$(cat "$PIP_STAMP" 2>/dev/null)" != "$want" || ! -x "$VENV/bin/mesh-avatar" ]]; then
        say "python: installing mesh-avatar and its pinned dependencies into .venv (pip)"
        run_step "pip install" "$VENV/bin/python" -m pip install --disable-pip-version-check \
            --no-input -e ".[dev]"
        printf '%s\n' "$want" >"$PIP_STAMP"
    fi

    # Node tools (glTF validator, three.js, playwright-core) from the committed lock file.
    want="$(file_hash "$JS_DIR/package-lock.json")"
    if [[ "$(cat "$NPM_STAMP" 2>/dev/null)" != "$want" ]]; then
        command -v npm >/dev/null 2>&1 || die "npm not found (scripts/install_system_deps.sh installs it)"
        say "node: installing tools/js packages (npm ci)"
        run_step "npm ci" npm --prefix "$JS_DIR" ci --no-audit --no-fund --loglevel=error
        printf '%s\n' "$want" >"$NPM_STAMP"
    fi
}

# Several shells (or engineers) may run setup at once: one installer at a time.
LOCK="${TMPDIR:-/tmp}/mesh-avatar-setup-$(printf '%s' "$REPO_ROOT" | sha256sum | cut -c1-16).lock"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$LOCK"
    flock 9
fi
install_everything
if command -v flock >/dev/null 2>&1; then
    flock -u 9
fi

if [[ "$RUN_JOB" == "0" ]]; then
    exit 0
fi

OUT_DIR="$REPO_ROOT/out/avatars"
say "generating 4 avatars from the default model (seed 0) ..."
"$VENV/bin/mesh-avatar" generate --n 4 --seed 0 --out "$OUT_DIR" --format glb,obj --preview ||
    die "the main job failed (mesh-avatar generate, exit $?)"
counts="$(find "$OUT_DIR" -maxdepth 2 -type f -name '*.*' | sed 's/.*\.//' | sort | uniq -c |
    awk '{printf "%s%s %s", (NR > 1 ? ", " : ""), $1, $2}')"
say "done: the avatars are in $OUT_DIR ($counts)"
