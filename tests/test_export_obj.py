"""OBJ + MTL + PNG: parse the text back and compare with the AvatarMesh."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from mesh_avatar.avatar import build_avatar_mesh
from mesh_avatar.export import ExportOptions, export_files
from mesh_avatar.export.obj import METADATA_PREFIX
from mesh_avatar.morphable import MorphableModel
from mesh_avatar.sampling import sample_prior


@pytest.fixture(scope="module")
def mesh(tiny_model_data):
    model = MorphableModel(tiny_model_data)
    params = sample_prior(model, 1, seed=4)
    params = params.with_fields(expression=params.expression.clone().fill_(0.0).add_(0.5))
    return build_avatar_mesh(model, params, 256, metadata={"seed": 4})


def parse_obj(text: str) -> dict:
    out = {"v": [], "vt": [], "vn": [], "f": [], "mtllib": None, "usemtl": None, "meta": None}
    for line in text.splitlines():
        if line.startswith(METADATA_PREFIX):
            out["meta"] = json.loads(line[len(METADATA_PREFIX) :])
            continue
        parts = line.split()
        if not parts or parts[0].startswith("#"):
            continue
        key, rest = parts[0], parts[1:]
        if key in ("v", "vt", "vn"):
            out[key].append([float(x) for x in rest])
        elif key == "f":
            out["f"].append([[int(i) for i in corner.split("/")] for corner in rest])
        elif key in ("mtllib", "usemtl"):
            out[key] = rest[0]
    return out


def test_obj_round_trip(mesh):
    files = {f.name: f for f in export_files(mesh, "head", ("obj",), ExportOptions(256))}
    assert list(files) == ["head.obj", "head.mtl", "head_albedo.png"]
    assert files["head.obj"].kind == "obj" and files["head.obj"].triangles == mesh.n_faces
    obj = parse_obj(files["head.obj"].data.decode("ascii"))
    # OBJ is static: the expression is baked in.
    np.testing.assert_allclose(obj["v"], mesh.posed_vertices(), atol=1e-6)
    assert np.abs(mesh.posed_vertices() - mesh.vertices).max() > 1e-4
    np.testing.assert_allclose(obj["vt"], mesh.uvs, atol=1e-6)
    normals = np.asarray(obj["vn"])
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=2e-5)
    faces = np.asarray(obj["f"]) - 1  # (F, 3 corners, v/vt/vn)
    np.testing.assert_array_equal(faces[..., 0], mesh.faces)
    np.testing.assert_array_equal(faces[..., 1], mesh.face_uvs)
    np.testing.assert_array_equal(faces[..., 2], mesh.faces)
    assert obj["mtllib"] == "head.mtl"
    assert obj["meta"]["seed"] == 4 and obj["meta"]["model"] == "tiny-test"
    mtl = files["head.mtl"].data.decode("ascii")
    assert f"newmtl {obj['usemtl']}" in mtl and "map_Kd head_albedo.png" in mtl
    png = Image.open(io.BytesIO(files["head_albedo.png"].data))
    assert png.format == "PNG"
    np.testing.assert_array_equal(np.asarray(png.convert("RGB")), mesh.texture)


def test_obj_levels_of_detail_share_material_and_texture(mesh):
    files = export_files(mesh, "head", ("obj",), ExportOptions(256, lods=(0, 2)))
    names = [f.name for f in files]
    assert names == ["head.obj", "head.mtl", "head_albedo.png", "head_lod2.obj"]
    lod2 = parse_obj(files[-1].data.decode("ascii"))
    assert lod2["mtllib"] == "head.mtl"
    assert files[-1].lod == 2 and files[-1].triangles == len(lod2["f"]) < mesh.n_faces
