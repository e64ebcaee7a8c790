"""The real-client helpers (Blender, three.js in Chromium) see what is in a GLB and reject junk."""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from support.blender import blender_import
from support.minimal_gltf import triangle_glb
from support.three_client import three_load
from support.xvfb import xvfb_display

pytestmark = pytest.mark.e2e


@pytest.fixture
def morph_glb(tmp_path: Path) -> Path:
    path = tmp_path / "triangle.glb"
    path.write_bytes(triangle_glb(morph_target="jawOpen"))
    return path


@pytest.fixture
def junk_glb(tmp_path: Path) -> Path:
    path = tmp_path / "junk.glb"
    path.write_bytes(b"not a glb at all")
    return path


def test_blender_imports_mesh_and_shape_key_names(morph_glb: Path) -> None:
    summary = blender_import(morph_glb)
    assert [m["name"] for m in summary["meshes"]] == ["triangle"]  # nothing from the factory scene
    mesh = summary["meshes"][0]
    assert (mesh["vertices"], mesh["polygons"]) == (3, 1)
    assert mesh["shape_keys"] == ["jawOpen"]
    # glTF +Y up becomes Blender +Z up: the triangle spans x and z, lies in y = 0.
    np.testing.assert_allclose(mesh["bbox_min"], [0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(mesh["bbox_max"], [1, 0, 1], atol=1e-6)


def test_blender_rejects_junk(junk_glb: Path) -> None:
    with pytest.raises(AssertionError, match="Blender could not import"):
        blender_import(junk_glb)


def test_three_loads_morph_targets_and_renders(morph_glb: Path, tmp_path: Path) -> None:
    shot = tmp_path / "shot.png"
    report = three_load(morph_glb, screenshot=shot, size=(128, 128))
    assert [m["name"] for m in report["meshes"]] == ["triangle"]
    assert report["meshes"][0]["vertexCount"] == 3
    assert report["meshes"][0]["morphTargetDictionary"] == {"jawOpen": 0}
    np.testing.assert_allclose(report["bbox"]["min"], [0, 0, 0], atol=1e-6)
    np.testing.assert_allclose(report["bbox"]["max"], [1, 1, 0], atol=1e-6)
    image = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert image.shape == (128, 128, 3)
    background = np.array([0x20, 0x20, 0x20])
    lit = np.abs(image - background).sum(axis=-1) > 30
    # The triangle covers the lower-left half of the framed square: some pixels, not all.
    assert 0.1 < lit.mean() < 0.6
    assert lit[96, 40] and not lit[20, 110]


def test_three_rejects_junk(junk_glb: Path) -> None:
    with pytest.raises(AssertionError, match=r"three\.js could not load"):
        three_load(junk_glb)


def test_xvfb_gives_separate_displays_that_accept_connections() -> None:
    with xvfb_display() as first, xvfb_display(width=640, height=480) as second:
        assert first != second
        sockets = [Path(f"/tmp/.X11-unix/X{d.lstrip(':')}") for d in (first, second)]
        for path in sockets:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(str(path))
    for path in sockets:
        assert not path.exists()  # servers stopped and cleaned up
