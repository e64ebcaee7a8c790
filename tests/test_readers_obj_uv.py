"""The OBJ reader and UV-space baking helpers the model readers use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from fixtures_models import head_mesh

from mesh_avatar.errors import ModelFileError
from mesh_avatar.morphable.obj_reader import parse_vertices, read_obj, read_obj_vertices
from mesh_avatar.morphable.uv_bake import (
    bake_vertex_colors,
    cylindrical_uvs,
    fill_uncovered,
    rasterize_uv,
)

OBJ = """# a quad and a triangle
mtllib x.mtl
v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 2 0 0
vt 0 0
vt 1 0
vt 1 1
vt 0 1
usemtl A
f 1/1 2/2 3/3 4/4
usemtl B
f 2/2 5/1 3/3
"""


def _write(tmp_path: Path, text: str, name: str = "m.obj") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_obj_fan_triangulates_in_order(tmp_path: Path) -> None:
    mesh = read_obj(_write(tmp_path, OBJ))
    np.testing.assert_array_equal(mesh.vertices[4], [2, 0, 0])
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [1, 4, 2]])
    np.testing.assert_array_equal(mesh.face_uvs, [[0, 1, 2], [0, 2, 3], [1, 0, 2]])
    np.testing.assert_array_equal(mesh.face_polygon, [0, 0, 1])
    np.testing.assert_array_equal(mesh.polygon_sizes, [4, 3])
    assert mesh.materials == ["A", "B"] and mesh.polygon_material.tolist() == [0, 1]
    # winding kept: both triangles of the quad face +Z like the quad
    tri = mesh.vertices[mesh.faces]
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    assert (normals[:, 2] > 0).all()


def test_read_obj_corner_formats_and_negative_indices(tmp_path: Path) -> None:
    for faces in ("f 1//1 2//1 3//1\nf 3//1 2//1 1//1\n", "f -3 -2 -1\nf 3 2 1\n"):
        mesh = read_obj(_write(tmp_path, "v 0 0 0\nv 1 0 0\nv 0 1 0\nvn 0 0 1\n" + faces))
        np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [2, 1, 0]])
        assert (mesh.face_uvs == -1).all() and mesh.uvs.shape == (0, 2)
        assert mesh.materials == [""]


def test_vertex_fast_path_matches_general_parse() -> None:
    contiguous = b"v 1 2 3\nv 4 5 6\nvt 0 0\n"
    scattered = b"v 1 2 3\nvt 0 0\nv 4 5 6\n"
    coloured = b"v 1 2 3 0.5 0.5 0.5\r\nv 4 5 6 0.1 0.2 0.3\r\n"
    for data in (contiguous, scattered, coloured):
        np.testing.assert_array_equal(parse_vertices(data), [[1, 2, 3], [4, 5, 6]])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 0 1 2\n", "vertex index 0"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 4\n", r"vertex index outside 1\.\.3"),
        ("v 0 0 0\nv 1 0 x\nv 0 1 0\nf 1 2 3\n", "not a number"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\n", "no face"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nf 1/1 2 3\n", "mix corner formats"),
        ("v 0 0 0\nv 1 0\nv 0 1 0\nf 1 2 3\n", "different numbers of values"),
        ("# nothing\n", "no vertex"),
        ("v 0 0 0\nv 1 0 0\nf 1 2\n", "fewer than 3 corners"),
    ],
)
def test_read_obj_errors_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ModelFileError, match=rf"bad\.obj: .*{message}"):
        read_obj(_write(tmp_path, text, "bad.obj"))


def test_read_obj_vertices_checks_counts(tmp_path: Path) -> None:
    path = _write(tmp_path, OBJ)
    assert read_obj_vertices(path, 5, 2).shape == (5, 3)
    with pytest.raises(ModelFileError, match="has 5 vertices, expected 6"):
        read_obj_vertices(path, 6)
    with pytest.raises(ModelFileError, match="has 2 faces, expected 3"):
        read_obj_vertices(path, 5, 3)
    with pytest.raises(ModelFileError, match="cannot read"):
        read_obj_vertices(tmp_path / "absent.obj")


# ---------------------------------------------------------------------------------- baking
SQUARE_UVS = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
SQUARE_FACES = np.array([[0, 1, 2], [0, 2, 3]])


def test_rasterize_covers_square_with_exact_barycentrics() -> None:
    size = 16
    coverage = rasterize_uv(SQUARE_UVS, SQUARE_FACES, size)
    assert coverage.covered.all()
    np.testing.assert_allclose(coverage.bary.sum(-1), 1.0, atol=1e-6)
    # interpolating the corners' UVs gives each texel centre (row 0 = top = v near 1)
    corners = SQUARE_UVS[SQUARE_FACES[coverage.face]]  # (S, S, 3, 2)
    uv = np.einsum("ijk,ijkc->ijc", coverage.bary, corners)
    centres = (np.arange(size) + 0.5) / size
    np.testing.assert_allclose(uv[..., 0], np.tile(centres, (size, 1)), atol=1e-6)
    np.testing.assert_allclose(uv[..., 1], np.tile(1.0 - centres[:, None], (1, size)), atol=1e-6)


def test_bake_is_exact_for_linear_colours_and_fills_the_rest() -> None:
    # a colour linear in (u, v) is reproduced exactly at the covered texel centres
    colours = np.concatenate([SQUARE_UVS, np.full((4, 1), 0.25)], axis=1)
    baked = bake_vertex_colors(SQUARE_UVS, SQUARE_FACES, SQUARE_FACES, colours, 8)
    centres = (np.arange(8) + 0.5) / 8
    np.testing.assert_allclose(baked[0, :, 0], centres, atol=1e-6)
    np.testing.assert_allclose(baked[:, 0, 1], 1.0 - centres, atol=1e-6)
    # only the lower-right half covered: the other half copies the nearest covered texel
    half = bake_vertex_colors(
        SQUARE_UVS, SQUARE_FACES[:1], SQUARE_FACES[:1], np.ones((4, 3)) * 0.7, 8
    )
    np.testing.assert_allclose(half, 0.7, atol=1e-6)
    coverage = rasterize_uv(SQUARE_UVS, SQUARE_FACES[:1], 8)
    assert 0 < coverage.covered.mean() < 1
    image = np.where(coverage.covered[..., None], 1.0, 0.0)
    assert (fill_uncovered(image, coverage.covered) == 1.0).all()


def test_cylindrical_uvs_keep_triangles_small() -> None:
    vertices, faces = head_mesh(16, 24)
    uvs, face_uvs = cylindrical_uvs(vertices, faces)
    assert uvs.min() >= 0.0 and uvs.max() <= 1.0
    assert face_uvs.shape == faces.shape and len(uvs) > len(vertices)  # seam corners copied
    span = np.ptp(uvs[face_uvs][..., 0], axis=1)
    assert span.max() < 0.1  # no triangle wraps around the texture
    front = int(np.argmax(vertices[:, 2]))
    assert abs(uvs[front, 0] - 0.5) < 0.05  # the face is in the middle of the texture
    coverage = rasterize_uv(uvs, face_uvs, 64)
    assert coverage.covered.mean() > 0.8
