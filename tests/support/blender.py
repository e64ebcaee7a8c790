"""Import a GLB/glTF in real Blender (headless) and report what it built. For `e2e` tests.

    from support.blender import blender_import
    summary = blender_import(tmp_path / "avatar.glb")
    mesh = summary["meshes"][0]
    assert len(mesh["shape_keys"]) == 52 and mesh["vertices"] == n_vertices

The summary: "blender_version"; "meshes" (name, vertices, polygons, shape_keys without the
reference key, shape_key_max_abs (largest coordinate change per key), materials, uv_layers,
vertex_groups, parent, bbox_min/bbox_max in Blender's Z-up world); "armatures" (name, bones); "materials" (name, images with size and colour space).
Needs Debian `blender` + `python3-numpy` (`make test-e2e` installs them). Missing Blender skips the
test, except under CI (env CI=true), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from support.gltf_validator import in_ci

INSPECT_SCRIPT = Path(__file__).resolve().with_name("blender_inspect.py")
_TIMEOUT_S = 300


def blender_executable() -> str:
    blender = shutil.which("blender")
    if blender is None:
        reason = "`blender` is not on PATH (Debian package blender; `make test-e2e` installs it)"
        if in_ci():
            pytest.fail(f"Blender unavailable under CI: {reason}", pytrace=False)
        pytest.skip(reason)
    return blender


def blender_import(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Import `path` with Blender's glTF importer in a fresh factory-settings Blender; summary dict."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no such glTF file: {path}")
    blender = blender_executable()
    with tempfile.TemporaryDirectory(prefix="blender-inspect-") as tmp:
        out = Path(tmp) / "summary.json"
        cmd = [blender, "-b", "--factory-startup", "--python-exit-code", "1"]
        cmd += ["--python", str(INSPECT_SCRIPT), "--", str(path), str(out)]
        proc = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
            env={**os.environ, "HOME": tmp},  # no user config or add-ons leak in
        )
        if proc.returncode != 0 or not out.is_file():
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
            raise AssertionError(
                f"Blender could not import {path} (exit {proc.returncode}):\n{tail}"
            )
        return json.loads(out.read_text())
