#!/usr/bin/env bash
# Install the Debian packages mesh-avatar needs, only those missing (idempotent, fast when done).
#
#   scripts/install_system_deps.sh          runtime + test packages
#   scripts/install_system_deps.sh --e2e    also Blender and python3-numpy (real-client tests)
#   scripts/install_system_deps.sh --check  list what is missing, install nothing (exit 1 if any)
#
# `apt-get update` runs only when something is missing. An existing Node.js (e.g. NodeSource
# node 20 with its bundled npm 11) is left alone: nodejs/npm are installed only when the `node`
# or `npm` command is absent. Not root: uses `sudo -n` when that works, otherwise prints the
# apt command to run and fails; when nothing is missing it just says so and succeeds.
set -euo pipefail
# shellcheck source=scripts/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

E2E=0
CHECK_ONLY=0
for arg in "$@"; do
    case "$arg" in
        --e2e) E2E=1 ;;
        --check) CHECK_ONLY=1 ;;
        -h | --help)
            sed -n '2,11p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *) die "unknown option: $arg (see --help)" ;;
    esac
done

# libusb: open3d imports it; vulkan + mesa: Open3D offscreen rendering; xvfb: GUI tests;
# chromium: browser tests (driven by playwright-core, never Playwright's own download).
packages=(libusb-1.0-0 libvulkan1 mesa-vulkan-drivers xvfb chromium)
if ! command -v node >/dev/null 2>&1; then
    packages+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
    # NodeSource's nodejs bundles npm and conflicts with Debian's npm: only ask for npm when the
    # nodejs we have (or are about to install) does not provide it.
    if ! command -v node >/dev/null 2>&1 || dpkg-query -W -f='${Version}' nodejs 2>/dev/null |
        grep -qv nodesource; then
        packages+=(npm)
    fi
fi
# The virtual env needs a Python 3.11 with venv + ensurepip (Debian: python3.11-venv).
if ! "${PYTHON:-python3.11}" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    packages+=(python3.11 python3.11-venv)
fi
if [[ "$E2E" == "1" ]]; then
    # Blender's glTF importer needs Debian's numpy (its own Python, not the venv).
    packages+=(blender python3-numpy)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    die "this script installs Debian packages and needs dpkg/apt; install by hand: ${packages[*]}"
fi

missing=()
for pkg in "${packages[@]}"; do
    status="$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)"
    [[ "$status" == "installed" ]] || missing+=("$pkg")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    if [[ "$(id -u)" != "0" ]]; then
        say "system packages: all present (not root, apt skipped)"
    fi
    exit 0
fi
if [[ "$CHECK_ONLY" == "1" ]]; then
    say "system packages missing: ${missing[*]}"
    exit 1
fi

sudo_cmd=()
if [[ "$(id -u)" != "0" ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo_cmd=(sudo -n)
    else
        die "missing Debian packages: ${missing[*]}. Run as root:" \
            "apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
    fi
fi

say "system packages: installing ${missing[*]}"
# env: sudo drops the caller's environment. Lock timeout: wait for another apt instead of failing.
apt=("${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 -q)
run_step "apt-get update" "${apt[@]}" update
run_step "apt-get install" "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
