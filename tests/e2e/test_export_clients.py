"""Real clients load the exported default avatar: Blender (headless) and three.js (headless Chromium).

Run with `make test-e2e` (or `pytest -m e2e tests/e2e`). Missing clients skip, except under CI.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from support.blender import blender_import
from support.gltf_validator import assert_valid_gltf
from support.three_client import three_load

from mesh_avatar.avatar import build_avatar_mesh
from mesh_avatar.export import ExportOptions, export_avatar
from mesh_avatar.export.topology import split_topology
from mesh_avatar.morphable import load_model
from mesh_avatar.morphable.data import ARKIT_BLENDSHAPES
from mesh_avatar.rig import JOINT_NAMES
from mesh_avatar.sampling import sample_prior

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["sparse", "dense"])
def avatar(request, tmp_path_factory):
    """The default avatar as GLB LOD0 and LOD2, with sparse (the default) or dense morph targets."""
    model = load_model("default")
    mesh = build_avatar_mesh(model, sample_prior(model, 1, seed=7), 1024, metadata={"seed": 7})
    folder = tmp_path_factory.mktemp("avatar")
    options = ExportOptions(lods=(0, 2), sparse_morph_targets=request.param == "sparse")
    paths = export_avatar(mesh, folder, "avatar", ("glb",), options)
    for path in paths:
        assert_valid_gltf(path)
    return mesh, paths


def test_blender_imports_mesh_shape_keys_armature_and_texture(avatar):
    mesh, paths = avatar
    summary = blender_import(paths[0])
    [imported] = summary["meshes"]
    split = split_topology(mesh.n_vertices, mesh.faces, mesh.uvs, mesh.face_uvs)
    assert imported["vertices"] == split.n_vertices
    assert imported["polygons"] == mesh.n_faces
    assert imported["shape_keys"] == list(mesh.morph_targets)
    assert len(imported["shape_keys"]) == 52 and set(imported["shape_keys"]) == set(
        ARKIT_BLENDSHAPES
    )
    # The shape keys move the vertices as far as our morph targets do (the sparse accessors decode).
    for name, delta in mesh.morph_targets.items():
        assert imported["shape_key_max_abs"][name] == pytest.approx(np.abs(delta).max(), abs=1e-6)
    [armature] = summary["armatures"]
    assert set(armature["bones"]) == set(JOINT_NAMES)
    assert {"head", "jaw", "leftEye", "rightEye"} <= set(imported["vertex_groups"])
    [material] = [m for m in summary["materials"] if m["name"] in imported["materials"]]
    [image] = material["images"]
    assert image["size"] == [1024, 1024] and image["colorspace"] == "sRGB"
    # Blender is Z-up: glTF height (Y) becomes Blender Z, glTF +Z (the face) becomes Blender -Y.
    height = imported["bbox_max"][2] - imported["bbox_min"][2]
    assert height == pytest.approx(float(np.ptp(mesh.vertices[:, 1])), rel=1e-4)
    lod2 = blender_import(paths[1])["meshes"][0]
    assert lod2["polygons"] < 0.25 * mesh.n_faces and len(lod2["shape_keys"]) == 52


def test_three_js_loads_morph_targets_skin_and_shows_the_face(avatar, tmp_path):
    mesh, paths = avatar
    shot = tmp_path / "three.png"
    report = three_load(paths[0], screenshot=shot)
    [loaded] = report["meshes"]
    assert set(loaded["morphTargetDictionary"]) == set(ARKIT_BLENDSHAPES)
    assert loaded["morphTargetDictionary"]["jawOpen"] == list(mesh.morph_targets).index("jawOpen")
    expected = [float(np.abs(delta).max()) for delta in mesh.morph_targets.values()]
    np.testing.assert_allclose(loaded["morphMaxAbs"], expected, atol=1e-6)
    assert loaded["isSkinnedMesh"] and loaded["hasMap"] and loaded["mapSize"] == [1024, 1024]
    assert set(JOINT_NAMES) <= set(report["bones"])
    assert report["pageErrors"] == []
    np.testing.assert_allclose(report["bbox"]["max"][2], mesh.vertices[:, 2].max(), atol=1e-5)
    # The screenshot shows a skin-coloured face in the middle of the frame, not the background.
    image = np.asarray(Image.open(shot).convert("RGB"), np.float32)
    h, w, _ = image.shape
    background = image[2, 2]
    centre = image[h // 3 : 2 * h // 3, w // 3 : 2 * w // 3]
    differs = np.abs(centre - background).sum(-1) > 30
    assert differs.mean() > 0.8
    r, g, b = centre[differs].mean(0)
    assert r > g > b  # skin tones: more red than green than blue
