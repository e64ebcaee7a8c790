"""Levels of detail: decimation invariants, mapping by index, shared topology, valid files."""

from __future__ import annotations

import numpy as np
import open3d as o3d
import pytest
from support.gltf_reader import accessor_array, read_glb
from support.gltf_validator import assert_valid_gltf
from support.tiny_model import make_tiny_model_data

from mesh_avatar.avatar import build_avatar_mesh
from mesh_avatar.export import ExportOptions, export_avatar
from mesh_avatar.export.lod import decimate, lod_mesh, template_levels
from mesh_avatar.morphable import MorphableModel, load_model
from mesh_avatar.sampling import sample_prior


@pytest.fixture(scope="module")
def dense_data():
    return make_tiny_model_data(n_lat=30, n_lon=48)


def _edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    e = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    return np.unique(e, axis=0, return_counts=True)


def test_decimation_invariants(dense_data):
    d = dense_data
    levels = decimate(d.vertices, d.faces, d.face_uvs, d.uvs, (0.5, 0.2))
    n = len(d.faces)
    corners = set(zip(d.faces.ravel().tolist(), d.face_uvs.ravel().tolist(), strict=True))
    edges, counts = _edges(d.faces)
    boundary = np.unique(edges[counts == 1])
    uv_sets = {}
    for v, t in corners:
        uv_sets.setdefault(v, set()).add(t)
    seam = [v for v, s in uv_sets.items() if len(s) > 1]
    for ratio, lod in zip((0.5, 0.2), levels, strict=True):
        assert abs(lod.n_faces - ratio * n) <= 0.02 * n
        # Kept vertices are a subset of the originals, increasing; faces use all of them.
        assert np.all(np.diff(lod.vertex) > 0) and lod.vertex.max() < len(d.vertices)
        assert np.array_equal(np.unique(lod.faces), np.arange(len(lod.vertex)))
        # Boundary (neck cut) and UV-seam vertices all survive.
        assert set(boundary.tolist()) <= set(lod.vertex.tolist())
        assert set(seam) <= set(lod.vertex.tolist())
        # Every corner is an original (vertex, uv) pair: UVs map through unchanged.
        original = lod.vertex[lod.faces]
        lod_corners = set(
            zip(original.ravel().tolist(), lod.face_uvs.ravel().tolist(), strict=True)
        )
        assert lod_corners <= corners
        # Still a manifold of proper triangles, facing outwards (the test head is convex).
        assert all(len(set(tri)) == 3 for tri in lod.faces.tolist())
        assert _edges(lod.faces)[1].max() <= 2
        tri = d.vertices[original]
        normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
        assert (np.einsum("ij,ij->i", normal, tri.mean(1)) > 0).all()


def test_avatars_of_a_model_share_lod_topology_and_map_by_index(dense_data):
    model = MorphableModel(dense_data)
    a, b = (build_avatar_mesh(model, sample_prior(model, 1, seed=s), 256) for s in (1, 2))
    assert not np.array_equal(a.vertices, b.vertices)
    for level in (1, 2):
        la, lb = lod_mesh(a, level), lod_mesh(b, level)
        np.testing.assert_array_equal(la.faces, lb.faces)
        keep = template_levels(a)[level].vertex
        np.testing.assert_array_equal(la.vertices, a.vertices[keep])
        np.testing.assert_array_equal(la.normals, a.normals[keep])
        for name, delta in a.morph_targets.items():
            np.testing.assert_array_equal(la.morph_targets[name], delta[keep])
        for name, mask in a.vertex_groups.items():
            np.testing.assert_array_equal(la.vertex_groups[name], mask[keep])
        assert la.joints is a.joints and la.texture is a.texture
        assert la.metadata["lod"] == level
        la.validate()
    assert lod_mesh(a, 0) is a


@pytest.fixture(scope="module")
def default_mesh():
    model = load_model("default")
    return build_avatar_mesh(model, sample_prior(model, 1, seed=3), 256)


def test_default_model_lods_stay_close_to_the_surface(default_mesh):
    mesh = default_mesh
    for level, ratio, mean_mm in ((1, 0.5, 0.3), (2, 0.2, 0.8)):
        lod = lod_mesh(mesh, level)
        assert abs(lod.n_faces / mesh.n_faces - ratio) < 0.02
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(
            o3d.core.Tensor(lod.vertices), o3d.core.Tensor(lod.faces.astype(np.uint32))
        )
        distance = scene.compute_distance(o3d.core.Tensor(mesh.vertices)).numpy()
        assert distance.mean() * 1000 < mean_mm
        assert distance.max() * 1000 < 5.0


def test_lod_files_keep_morph_targets_and_skeleton(default_mesh, tmp_path):
    paths = export_avatar(default_mesh, tmp_path, "a", ("glb",), ExportOptions(256, lods=(1, 2)))
    assert [p.name for p in paths] == ["a_lod1.glb", "a_lod2.glb"]
    for path in paths:
        assert_valid_gltf(path)
        doc = read_glb(path)
        prim = doc.meshes[0].primitives[0]
        assert doc.meshes[0].extras["targetNames"] == list(default_mesh.morph_targets)
        assert len(prim.targets) == len(default_mesh.morph_targets)
        assert len(doc.skins[0].joints) == 6
        weights = accessor_array(doc, prim.attributes.WEIGHTS_0).astype(int)
        assert (weights.sum(1) == 255).all()
