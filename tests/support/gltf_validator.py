"""Run the Khronos glTF Validator (npm `gltf-validator`, under Node) from tests.

    from support.gltf_validator import assert_valid_gltf
    assert_valid_gltf(tmp_path / "avatar.glb")            # 0 errors and 0 warnings
    assert_valid_gltf(path, allow_warnings=True)          # 0 errors

The validator lives in `tools/js` (installed by `make setup`, i.e. `npm ci` there). Where Node or
that install is missing, the calling test is skipped with the reason, except under CI (env
`CI=true`), where a missing validator is a failure: CI must never pass by skipping validation.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
JS_TOOLS = REPO_ROOT / "tools" / "js"
VALIDATE_SCRIPT = JS_TOOLS / "validate_gltf.mjs"
VALIDATOR_PACKAGE = JS_TOOLS / "node_modules" / "gltf-validator" / "package.json"

SEVERITY_NAMES = {0: "ERROR", 1: "WARNING", 2: "INFO", 3: "HINT"}
_TIMEOUT_S = 300


def in_ci() -> bool:
    """True when the environment says we run under CI (CI=true/1/yes)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"glTF validator unavailable under CI: {reason}", pytrace=False)
    pytest.skip(f"glTF validator unavailable: {reason}")


def node_executable() -> str:
    """Path of `node`; skips the test (fails under CI) when Node or the npm install is missing."""
    node = shutil.which("node")
    if node is None:
        _unavailable("`node` is not on PATH (run `make setup`)")
    if not VALIDATOR_PACKAGE.is_file():
        _unavailable(f"{VALIDATOR_PACKAGE.parent} is missing (run `make setup`, it runs `npm ci`)")
    return node


def validate_gltf(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The validator's report for one .glb or .gltf file, as a dict.

    External resources of a .gltf (.bin, images) are resolved relative to the file.
    Keys of interest: report["issues"]["numErrors"], ["numWarnings"], ["messages"] (each with
    "code", "message", "severity" 0=error 1=warning 2=info 3=hint, and "pointer" or "offset").
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such glTF file: {path}")
    node = node_executable()
    proc = subprocess.run(
        [node, str(VALIDATE_SCRIPT), str(path.resolve())],
        cwd=JS_TOOLS,
        capture_output=True,
        text=True,
        timeout=_TIMEOUT_S,
        check=False,
    )
    # 0: no errors, 1: errors found; both print the report. Anything else is a tool failure.
    if proc.returncode not in (0, 1):
        raise RuntimeError(
            f"glTF validator failed on {path} (exit {proc.returncode}): {proc.stderr.strip()}"
        )
    return json.loads(proc.stdout)


def format_messages(report: dict[str, Any], max_severity: int = 1) -> list[str]:
    """One line per issue with severity <= max_severity (1 = errors and warnings)."""
    lines = []
    for msg in report["issues"]["messages"]:
        if msg["severity"] > max_severity:
            continue
        where = msg.get("pointer", msg.get("offset", "?"))
        severity = SEVERITY_NAMES.get(msg["severity"], str(msg["severity"]))
        lines.append(f"{severity} {msg['code']} at {where}: {msg['message']}")
    return lines


def assert_valid_gltf(path: str | os.PathLike[str], allow_warnings: bool = False) -> dict[str, Any]:
    """Validate and raise AssertionError listing the issues if the file has errors (or warnings).

    Returns the report so callers can inspect it further (e.g. report["info"]).
    """
    report = validate_gltf(path)
    issues = report["issues"]
    n_errors, n_warnings = issues["numErrors"], issues["numWarnings"]
    if n_errors > 0 or (n_warnings > 0 and not allow_warnings):
        listed = "\n  ".join(format_messages(report, max_severity=0 if allow_warnings else 1))
        raise AssertionError(
            f"{path}: glTF validator found {n_errors} error(s), {n_warnings} warning(s):\n  {listed}"
        )
    return report
