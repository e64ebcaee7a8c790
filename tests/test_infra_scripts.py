"""The set-up scripts behind `make setup` / `make test` / `.ci/run`, run in a sandbox.

The scripts are copied into a temporary repository; apt, dpkg, sudo, id, node, npm, make and the
venv's python/pip/ruff/pytest/mesh-avatar are stubs on a PATH with no system directories, so the
tests see exactly which installs would run (and nothing is installed for real).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ("common.sh", "setup.sh", "test.sh", "install_system_deps.sh")
# Real tools the scripts may use; everything else is a stub or absent.
REAL_TOOLS = (
    "awk", "bash", "cat", "cut", "dirname", "env", "find", "flock", "grep", "mkdir", "mktemp", "rm",
    "sed", "sha256sum", "sort", "tail", "touch", "uniq",
)  # fmt: skip

if shutil.which("bash") is None or shutil.which("sha256sum") is None:
    pytest.skip("needs bash and coreutils", allow_module_level=True)

# Every stub appends "name args..." to $STUB_LOG, then behaves as configured by STUB_* variables.
STUBS = {
    "dpkg-query": r"""
pkg="${@: -1}"
case "$*" in
  *'${Version}'*) printf '%s' "${STUB_NODE_VERSION:-20.20.2-1nodesource1}" ;;
  *) [[ " ${STUB_MISSING:-} " == *" $pkg "* ]] && exit 1; printf 'installed' ;;
esac""",
    "apt-get": "exit 0",
    "id": 'printf "%s\\n" "${STUB_UID:-0}"',
    "sudo": '[[ "${STUB_SUDO:-0}" == 1 ]] || exit 1; shift; [[ "$1" == true ]] || exec "$@"',
    "python3.11": "exit 0",
    "make": "exit 0",
}
VENV_STUBS = {
    # Version check (-c) passes; `-m pip install` exits with $STUB_PIP_STATUS.
    "python": 'if [[ "$1" == -m ]]; then exit "${STUB_PIP_STATUS:-0}"; fi; exit 0',
    "mesh-avatar": "mkdir -p out/avatars && touch out/avatars/avatar_0000.glb",
    "ruff": 'exit "${STUB_RUFF_STATUS:-0}"',
    "pytest": 'exit "${STUB_PYTEST_STATUS:-0}"',
}
NODE_STUBS = {
    "node": "exit 0",
    # Like npm ci: replace node_modules.
    "npm": 'rm -rf "$2/node_modules" && mkdir -p "$2/node_modules"',
}


def write_stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f'#!/bin/bash\necho "{name} $*" >> "$STUB_LOG"\n{body}\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@dataclass
class Sandbox:
    root: Path
    bin: Path
    log: Path

    def run(self, *cmd: str, **env: str) -> subprocess.CompletedProcess[str]:
        self.log.write_text("")
        full_env = {"PATH": str(self.bin), "STUB_LOG": str(self.log), "HOME": str(self.root)}
        full_env.update(env)
        return subprocess.run(
            list(cmd), cwd=self.root, env=full_env, capture_output=True, text=True, timeout=60
        )

    def calls(self, name: str) -> list[str]:
        return [line for line in self.log.read_text().splitlines() if line.split()[0] == name]

    def without(self, *names: str) -> None:
        for name in names:
            (self.bin / name).unlink()


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    root = tmp_path / "repo"
    (root / "scripts").mkdir(parents=True)
    for name in SCRIPTS:
        shutil.copy2(REPO_ROOT / "scripts" / name, root / "scripts" / name)
    shutil.copy2(REPO_ROOT / "pyproject.toml", root / "pyproject.toml")
    (root / "tools" / "js").mkdir(parents=True)
    shutil.copy2(REPO_ROOT / "tools/js/package-lock.json", root / "tools/js/package-lock.json")
    (root / ".ci").mkdir()
    shutil.copy2(REPO_ROOT / ".ci" / "run", root / ".ci" / "run")

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in REAL_TOOLS:
        real = shutil.which(tool)
        assert real is not None, f"{tool} missing on this machine"
        (bin_dir / tool).symlink_to(real)
    for name, body in {**STUBS, **NODE_STUBS}.items():
        write_stub(bin_dir, name, body)
    venv_bin = root / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    for name, body in VENV_STUBS.items():
        write_stub(venv_bin, name, body)
    return Sandbox(root=root, bin=bin_dir, log=tmp_path / "calls.log")


def test_system_deps_do_nothing_when_all_present(sandbox: Sandbox) -> None:
    result = sandbox.run("scripts/install_system_deps.sh")
    assert result.returncode == 0, result.stderr
    assert sandbox.calls("apt-get") == []
    assert result.stderr == ""
    queried = {line.split()[-1] for line in sandbox.calls("dpkg-query")}
    assert {"libusb-1.0-0", "libvulkan1", "mesa-vulkan-drivers", "xvfb", "chromium"} <= queried
    assert not {"blender", "nodejs", "npm"} & queried  # node + npm exist: not even asked about


def test_system_deps_update_then_install_only_the_missing(sandbox: Sandbox) -> None:
    result = sandbox.run("scripts/install_system_deps.sh", STUB_MISSING="xvfb chromium")
    assert result.returncode == 0, result.stderr
    apt = sandbox.calls("apt-get")
    assert len(apt) == 2
    assert apt[0].endswith(" update")
    assert apt[1].endswith("install -y --no-install-recommends xvfb chromium")


def test_system_deps_e2e_adds_blender(sandbox: Sandbox) -> None:
    result = sandbox.run(
        "scripts/install_system_deps.sh", "--e2e", STUB_MISSING="blender python3-numpy"
    )
    assert result.returncode == 0, result.stderr
    assert sandbox.calls("apt-get")[-1].endswith("blender python3-numpy")


def test_system_deps_install_node_and_npm_only_when_absent(sandbox: Sandbox) -> None:
    sandbox.without("node", "npm")
    result = sandbox.run("scripts/install_system_deps.sh", STUB_MISSING="nodejs npm")
    assert result.returncode == 0, result.stderr
    assert sandbox.calls("apt-get")[-1].endswith("nodejs npm")


def test_system_deps_never_ask_for_debian_npm_beside_nodesource_node(sandbox: Sandbox) -> None:
    sandbox.without("npm")  # NodeSource's nodejs bundles npm; Debian's npm would conflict
    result = sandbox.run("scripts/install_system_deps.sh", STUB_MISSING="npm")
    assert result.returncode == 0, result.stderr
    assert sandbox.calls("apt-get") == []


def test_system_deps_not_root_and_nothing_missing_skips_with_message(sandbox: Sandbox) -> None:
    result = sandbox.run("scripts/install_system_deps.sh", STUB_UID="1000")
    assert result.returncode == 0, result.stderr
    assert "not root" in result.stderr
    assert sandbox.calls("apt-get") == []


def test_system_deps_not_root_and_missing_fails_with_the_command(sandbox: Sandbox) -> None:
    result = sandbox.run("scripts/install_system_deps.sh", STUB_UID="1000", STUB_MISSING="xvfb")
    assert result.returncode == 1
    assert "missing Debian packages: xvfb" in result.stderr
    assert "apt-get install -y --no-install-recommends xvfb" in result.stderr
    assert sandbox.calls("apt-get") == []


def test_system_deps_not_root_uses_passwordless_sudo(sandbox: Sandbox) -> None:
    result = sandbox.run(
        "scripts/install_system_deps.sh", STUB_UID="1000", STUB_SUDO="1", STUB_MISSING="xvfb"
    )
    assert result.returncode == 0, result.stderr
    assert sandbox.calls("apt-get")[-1].endswith("install -y --no-install-recommends xvfb")


def test_setup_installs_once_then_only_after_a_change(sandbox: Sandbox) -> None:
    first = sandbox.run("scripts/setup.sh", "--no-job")
    assert first.returncode == 0, first.stderr
    assert len([c for c in sandbox.calls("python") if " -m pip install" in c]) == 1
    assert len(sandbox.calls("npm")) == 1
    assert sandbox.calls("mesh-avatar") == []

    again = sandbox.run("scripts/setup.sh", "--no-job")
    assert again.returncode == 0, again.stderr
    assert [c for c in sandbox.calls("python") if "pip" in c] == []
    assert sandbox.calls("npm") == []
    assert again.stderr == ""  # quiet when there is nothing to do

    with (sandbox.root / "pyproject.toml").open("a") as f:
        f.write("\n# changed\n")
    sandbox.run("scripts/setup.sh", "--no-job")
    assert len([c for c in sandbox.calls("python") if "pip install" in c]) == 1
    assert sandbox.calls("npm") == []

    with (sandbox.root / "tools/js/package-lock.json").open("a") as f:
        f.write("\n")
    sandbox.run("scripts/setup.sh", "--no-job")
    assert [c for c in sandbox.calls("python") if "pip" in c] == []
    assert len(sandbox.calls("npm")) == 1


def test_setup_pip_failure_is_loud_and_leaves_no_stamp(sandbox: Sandbox) -> None:
    result = sandbox.run("scripts/setup.sh", "--no-job", STUB_PIP_STATUS="3")
    assert result.returncode == 3
    assert "pip install failed (exit 3)" in result.stderr
    assert not (sandbox.root / ".venv" / ".mesh-avatar-pyproject.sha256").exists()
    retry = sandbox.run("scripts/setup.sh", "--no-job")
    assert retry.returncode == 0, retry.stderr
    assert len([c for c in sandbox.calls("python") if "pip install" in c]) == 1


def test_setup_runs_the_main_job_and_says_where(sandbox: Sandbox) -> None:
    result = sandbox.run("scripts/setup.sh")
    assert result.returncode == 0, result.stderr
    out = sandbox.root / "out" / "avatars"
    assert sandbox.calls("mesh-avatar") == [
        f"mesh-avatar generate --n 4 --seed 0 --out {out} --format glb,obj --preview"
    ]
    assert str(out) in result.stderr
    assert f"the avatars are in {out} (1 glb)" in result.stderr


@pytest.mark.parametrize(("status", "ok"), [(0, True), (1, False), (5, False)])
def test_test_script_fails_on_failures_and_on_no_tests(
    sandbox: Sandbox, status: int, ok: bool
) -> None:
    result = sandbox.run("scripts/test.sh", STUB_PYTEST_STATUS=str(status))
    assert (result.returncode == 0) == ok, result.stderr
    if status == 5:
        assert "collected no tests" in result.stderr
    ruff = sandbox.calls("ruff")
    assert ruff == ["ruff check --quiet .", "ruff format --check --quiet ."]
    assert sandbox.calls("mesh-avatar") == []  # make test installs but does not run the job


def test_test_script_runs_pytest_even_when_lint_fails(sandbox: Sandbox) -> None:
    result = sandbox.run("scripts/test.sh", STUB_RUFF_STATUS="1")
    assert result.returncode == 1
    assert sandbox.calls("pytest") == ["pytest "]
    assert "lint failed" in result.stderr


def test_test_script_modes_select_markers(sandbox: Sandbox) -> None:
    assert sandbox.run("scripts/test.sh", "slow", "-x").returncode == 0
    assert sandbox.calls("pytest") == ["pytest -m slow -x"]
    assert sandbox.run("scripts/test.sh", "e2e", STUB_MISSING="blender").returncode == 0
    assert sandbox.calls("pytest") == ["pytest -m e2e"]
    assert sandbox.calls("apt-get")[-1].endswith("install -y --no-install-recommends blender")


def test_ci_run_calls_exactly_make_test(sandbox: Sandbox) -> None:
    ci_run = sandbox.root / ".ci" / "run"
    assert os.access(ci_run, os.X_OK)
    result = sandbox.run(str(ci_run))
    assert result.returncode == 0, result.stderr
    assert sandbox.calls("make") == ["make test"]


_MAKE_VARS = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "PYTEST_ARGS"}


def test_makefile_targets_call_the_scripts() -> None:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    expected = {
        "setup": "scripts/setup.sh",
        "test": "scripts/test.sh fast",
        "test-slow": "scripts/test.sh slow",
        "test-e2e": "scripts/test.sh e2e",
        "lint": "scripts/test.sh lint",
    }
    # Not the variables of a make that may be running us (`make test PYTEST_ARGS=...`).
    env = {k: v for k, v in os.environ.items() if k not in _MAKE_VARS}
    for target, command in expected.items():
        dry = subprocess.run(
            ["make", "-n", "--no-print-directory", target],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert dry.stdout.splitlines()[0].strip() == command, target
