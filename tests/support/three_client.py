"""Load a GLB/glTF with three.js's GLTFLoader in headless Chromium. For `e2e` tests.

    from support.three_client import three_load
    report = three_load(tmp_path / "avatar.glb", screenshot=tmp_path / "shot.png")
    assert "jawOpen" in report["meshes"][0]["morphTargetDictionary"]

Runs tools/js/three_inspect.mjs (playwright-core driving the system Chromium, /usr/bin/chromium;
three.js from tools/js/node_modules). The report: "meshes" (name, vertexCount,
morphTargetDictionary, isSkinnedMesh, material, hasMap, mapSize), "bones", "bbox" {min, max} in
glTF axes, "console" and "pageErrors" of the page. The model is framed from +Z and lit.
Missing Node, npm packages or Chromium skip the test, except under CI (CI=true), where they fail.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from support.gltf_validator import JS_TOOLS, in_ci, node_executable

SCRIPT = JS_TOOLS / "three_inspect.mjs"
CHROMIUM = Path(os.environ.get("MESH_AVATAR_CHROMIUM", "/usr/bin/chromium"))
_TIMEOUT_S = 300


def three_load(
    path: str | os.PathLike[str],
    screenshot: str | os.PathLike[str] | None = None,
    size: tuple[int, int] = (512, 512),
) -> dict[str, Any]:
    """Load `path` in three.js; raise AssertionError (with the page's messages) if it fails."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no such glTF file: {path}")
    node = node_executable()
    if not CHROMIUM.is_file():
        reason = f"no Chromium at {CHROMIUM} (Debian package chromium; make setup installs it)"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    if not (JS_TOOLS / "node_modules" / "three" / "package.json").is_file():
        reason = "tools/js/node_modules/three is missing (run `make setup`)"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    cmd = [node, str(SCRIPT), str(path), "--size", f"{size[0]}x{size[1]}"]
    cmd += ["--chromium", str(CHROMIUM)]
    if screenshot is not None:
        cmd += ["--screenshot", str(Path(screenshot).resolve())]
    proc = subprocess.run(
        cmd, cwd=JS_TOOLS, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False
    )
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"three_inspect failed (exit {proc.returncode}): {proc.stderr.strip()}")
    report = json.loads(proc.stdout)
    if not report["ok"]:
        details = "\n  ".join([report["error"] or "", *report["pageErrors"], *report["console"]])
        raise AssertionError(f"three.js could not load {path}:\n  {details}")
    return report
