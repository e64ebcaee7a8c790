"""GLB / glTF writer: round trip through an independent reader, layout rules, options, validator."""

from __future__ import annotations

import io
import json
import struct
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from support.gltf_reader import accessor_array, read_glb
from support.gltf_validator import assert_valid_gltf

from mesh_avatar.avatar import build_avatar_mesh
from mesh_avatar.errors import ExportError
from mesh_avatar.export import ExportOptions, export_avatar, export_files
from mesh_avatar.export.gltf import glb_bytes, gltf_files, morph_target_name
from mesh_avatar.export.topology import SplitTopology
from mesh_avatar.morphable import MorphableModel
from mesh_avatar.rig import JOINT_NAMES
from mesh_avatar.sampling import sample_prior

SMALL = ExportOptions(texture_size=256)


@pytest.fixture(scope="module")
def mesh(tiny_model_data):
    model = MorphableModel(tiny_model_data)
    params = sample_prior(model, 1, seed=11)
    # A visible expression, so default weights are not all zero.
    params = params.with_fields(expression=params.expression.clone().fill_(0.0).add_(0.25))
    return build_avatar_mesh(model, params, 256, metadata={"seed": 11, "index": 0})


def _primitive(doc):
    return doc.meshes[0].primitives[0]


def test_round_trip_positions_uvs_normals_and_morph_targets(mesh):
    doc = read_glb(glb_bytes(mesh, SMALL))
    prim = _primitive(doc)
    indices = accessor_array(doc, prim.indices)[:, 0].reshape(-1, 3)
    positions = accessor_array(doc, prim.attributes.POSITION)
    uvs = accessor_array(doc, prim.attributes.TEXCOORD_0)
    normals = accessor_array(doc, prim.attributes.NORMAL)
    assert indices.shape == mesh.faces.shape
    # Every triangle corner reads back the mesh's vertex and its uv (v flipped to glTF's origin).
    np.testing.assert_array_equal(positions[indices], mesh.vertices[mesh.faces])
    expected_uv = mesh.uvs[mesh.face_uvs] * [1.0, -1.0] + [0.0, 1.0]
    np.testing.assert_allclose(uvs[indices], expected_uv, atol=1e-7)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)
    unit = mesh.normals / np.linalg.norm(mesh.normals, axis=1, keepdims=True)
    np.testing.assert_allclose(normals[indices], unit[mesh.faces], atol=1e-6)
    # Morph targets: names, order, deltas, default weights.
    names = doc.meshes[0].extras["targetNames"]
    assert names == list(mesh.morph_targets)
    assert len(prim.targets) == len(names)
    for target, delta in zip(prim.targets, mesh.morph_targets.values(), strict=True):
        read = accessor_array(doc, target["POSITION"])
        np.testing.assert_array_equal(read[indices], delta[mesh.faces])
    np.testing.assert_allclose(doc.meshes[0].weights, mesh.morph_weights, rtol=1e-7)
    # No duplicated glTF vertices: one per distinct (vertex, uv) corner.
    corners = {
        (int(v), int(t)) for v, t in zip(mesh.faces.ravel(), mesh.face_uvs.ravel(), strict=True)
    }
    assert len(positions) == len(corners)


def test_metadata_lets_the_avatar_be_regenerated(mesh):
    doc = read_glb(glb_bytes(mesh, SMALL))
    extras = doc.asset.extras
    assert doc.asset.version == "2.0" and doc.asset.generator.startswith("mesh-avatar ")
    assert extras["model"] == "tiny-test" and "CC0" in extras["model_license"]
    assert extras["seed"] == 11 and extras["index"] == 0
    np.testing.assert_allclose(
        extras["coefficients"]["identity"], mesh.metadata["coefficients"]["identity"]
    )


def test_material_texture_and_sampler(mesh):
    doc = read_glb(glb_bytes(mesh, SMALL))
    pbr = doc.materials[0].pbrMetallicRoughness
    assert pbr.baseColorTexture.index == 0 and pbr.metallicFactor == 0.0
    image = doc.images[doc.textures[0].source]
    assert image.mimeType == "image/jpeg"
    view = doc.bufferViews[image.bufferView]
    data = doc.binary_blob()[view.byteOffset : view.byteOffset + view.byteLength]
    decoded = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float32)
    assert decoded.shape == (256, 256, 3)
    # JPEG is lossy; the image must still be the mesh's texture.
    assert np.abs(decoded - mesh.texture).mean() < 3.0


def test_glb_layout_is_aligned_and_little_endian(mesh):
    data = glb_bytes(mesh, SMALL)
    magic, version, length = struct.unpack_from("<III", data, 0)
    assert (magic, version, length) == (0x46546C67, 2, len(data))
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A and json_len % 4 == 0
    doc = json.loads(data[20 : 20 + json_len])
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert bin_type == 0x004E4942 and bin_len % 4 == 0
    assert 20 + json_len + 8 + bin_len == len(data)
    assert doc["buffers"] == [{"byteLength": bin_len}]
    for view in doc["bufferViews"]:
        assert view["byteOffset"] % 4 == 0
        assert view["byteOffset"] + view["byteLength"] <= bin_len
    prim = doc["meshes"][0]["primitives"][0]
    positions = [prim["attributes"]["POSITION"]] + [t["POSITION"] for t in prim["targets"]]
    for index in positions:
        assert "min" in doc["accessors"][index] and "max" in doc["accessors"][index]


def test_skin_weights_sum_to_one_and_skeleton_is_complete(mesh):
    doc = read_glb(glb_bytes(mesh, SMALL))
    prim = _primitive(doc)
    weights = accessor_array(doc, prim.attributes.WEIGHTS_0).astype(np.int64)
    joints = accessor_array(doc, prim.attributes.JOINTS_0)
    assert (weights.sum(axis=1) == 255).all()
    assert (joints[weights == 0] == 0).all()
    skin = doc.skins[0]
    names = [doc.nodes[j].name for j in skin.joints]
    assert names == list(JOINT_NAMES)
    assert doc.nodes[0].skin == 0 and doc.nodes[0].mesh == 0
    # Inverse bind matrices undo each joint's world position.
    ibm = accessor_array(doc, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
    world = {"root": np.zeros(3)} | {k: v for k, v in mesh.joints.items()}
    keys = ["root", "neck", "head", "eye_left", "eye_right", "jaw"]
    for matrix, key in zip(ibm, keys, strict=True):
        np.testing.assert_allclose(matrix[:3, 3], -world[key], atol=1e-7)
    # Node translations chain to the world positions.
    head = doc.nodes[skin.joints[2]]
    chain = sum(np.asarray(doc.nodes[skin.joints[k]].translation or [0, 0, 0]) for k in (0, 1, 2))
    assert head.name == "head"
    np.testing.assert_allclose(chain, mesh.joints["head"], atol=1e-6)
    float_doc = read_glb(glb_bytes(mesh, replace(SMALL, joint_weight_type="float")))
    float_weights = accessor_array(float_doc, _primitive(float_doc).attributes.WEIGHTS_0)
    np.testing.assert_allclose(float_weights.sum(axis=1), 1.0, atol=1e-6)


def test_sparse_morph_targets_are_the_default_and_decode_to_the_dense_ones(mesh):
    dense_data = glb_bytes(mesh, replace(SMALL, sparse_morph_targets=False))
    dense = read_glb(dense_data)
    sparse_data = glb_bytes(mesh, SMALL)
    sparse = read_glb(sparse_data)
    assert len(sparse_data) < len(dense_data)
    for a, b in zip(_primitive(dense).targets, _primitive(sparse).targets, strict=True):
        assert dense.accessors[a["POSITION"]].sparse is None
        assert sparse.accessors[b["POSITION"]].sparse is not None
        np.testing.assert_array_equal(
            accessor_array(dense, a["POSITION"]), accessor_array(sparse, b["POSITION"])
        )


def test_morph_normals_move_the_normals_of_each_target(mesh):
    doc = read_glb(glb_bytes(mesh, replace(SMALL, morph_normals=True)))
    prim = _primitive(doc)
    jaw = list(mesh.morph_targets).index("jawOpen")
    normal_delta = accessor_array(doc, prim.targets[jaw]["NORMAL"])
    moving = np.any(accessor_array(doc, prim.targets[jaw]["POSITION"]) != 0, axis=1)
    assert np.abs(normal_delta[moving]).max() > 1e-3
    far = ~moving & (np.abs(normal_delta).max(axis=1) > 0)
    # Only vertices next to moving ones see their normals change.
    assert far.sum() < moving.sum()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("eyeBlinkLeft", "eyeBlink_L"),
        ("mouthSmileRight", "mouthSmile_R"),
        ("jawOpen", "jawOpen"),
        ("browInnerUp", "browInnerUp"),
    ],
)
def test_left_right_spelling(name, expected):
    assert morph_target_name(name, "lr") == expected
    assert morph_target_name(name, "arkit") == name


def test_lr_option_renames_targets(mesh):
    doc = read_glb(glb_bytes(mesh, replace(SMALL, morph_target_names="lr")))
    assert doc.meshes[0].extras["targetNames"][:2] == ["eyeBlink_L", "eyeBlink_R"]


def test_same_bytes_every_time_and_cache_follows_the_deltas(mesh):
    first = glb_bytes(mesh, SMALL)
    assert glb_bytes(mesh, SMALL) == first
    # Another mesh with the same topology but different deltas must not reuse cached targets.
    changed = {k: v * 2.0 for k, v in mesh.morph_targets.items()}
    other = replace(mesh, morph_targets=changed)
    doc = read_glb(glb_bytes(other, SMALL))
    prim = _primitive(doc)
    split = SplitTopology.build(mesh.n_vertices, mesh.faces, mesh.uvs, mesh.face_uvs)
    jaw = list(changed).index("jawOpen")
    np.testing.assert_array_equal(
        accessor_array(doc, prim.targets[jaw]["POSITION"]), changed["jawOpen"][split.vertex]
    )
    assert glb_bytes(mesh, SMALL) == first


def test_mesh_without_morph_targets_or_skeleton(mesh):
    bare = replace(mesh, morph_targets={}, morph_weights=np.zeros(0, np.float32))
    doc = read_glb(glb_bytes(bare, replace(SMALL, skeleton=False)))
    prim = _primitive(doc)
    assert not prim.targets and not doc.skins and prim.attributes.JOINTS_0 is None
    assert not doc.meshes[0].weights and "targetNames" not in (doc.meshes[0].extras or {})


def test_metadata_that_is_not_json_is_an_export_error(mesh):
    bad = replace(mesh, metadata={"seed": float("nan")})
    with pytest.raises(ExportError, match="metadata cannot be written as JSON"):
        glb_bytes(bad, SMALL)


def test_gltf_files_reference_their_bin_and_texture(mesh):
    files = gltf_files(mesh, "head", replace(SMALL, texture_format="png"))
    assert list(files) == ["head.gltf", "head.bin", "head_albedo.png"]
    doc = json.loads(files["head.gltf"])
    assert doc["buffers"] == [{"byteLength": len(files["head.bin"]), "uri": "head.bin"}]
    assert doc["images"][0]["uri"] == "head_albedo.png"
    png = np.asarray(Image.open(io.BytesIO(files["head_albedo.png"])).convert("RGB"))
    np.testing.assert_array_equal(png, mesh.texture)


@pytest.mark.parametrize(
    "options",
    [
        SMALL,
        replace(
            SMALL,
            sparse_morph_targets=False,
            morph_normals=True,
            morph_target_names="lr",
            texture_format="png",
            joint_weight_type="float",
        ),
        replace(SMALL, skeleton=False, lods=(0, 1, 2)),
    ],
    ids=["default", "all-options", "no-skeleton-lods"],
)
def test_every_written_file_passes_the_khronos_validator(mesh, tmp_path, options):
    paths = export_avatar(mesh, tmp_path, "avatar", ("glb", "gltf"), options)
    checked = [p for p in paths if p.suffix in (".glb", ".gltf")]
    assert len(checked) == 2 * len(options.lods)
    for path in checked:
        assert_valid_gltf(path)


def test_texture_is_resized_to_the_requested_size(mesh):
    files = export_files(mesh, "a", ("glb",), ExportOptions(texture_size=512))
    doc = read_glb(files[0].data)
    view = doc.bufferViews[doc.images[0].bufferView]
    data = doc.binary_blob()[view.byteOffset : view.byteOffset + view.byteLength]
    assert Image.open(io.BytesIO(data)).size == (512, 512)


def test_sparse_target_that_never_moves_is_valid_and_reads_as_zeros(mesh, tmp_path):
    targets = {**mesh.morph_targets, "tongueOut": np.zeros_like(mesh.vertices)}
    weights = np.append(mesh.morph_weights, np.float32(0.0))
    still = replace(mesh, morph_targets=targets, morph_weights=weights)
    path = tmp_path / "still.glb"
    path.write_bytes(glb_bytes(still, SMALL))
    assert_valid_gltf(path)
    doc = read_glb(path)
    last = _primitive(doc).targets[-1]["POSITION"]
    assert doc.accessors[last].bufferView is None and doc.accessors[last].sparse is None
    assert not accessor_array(doc, last).any()
