"""ICT-FaceKit reader on the real (trimmed) ICT Face Model Light in ../shared/data/ict-facekit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mesh_avatar.errors import ModelFileError
from mesh_avatar.morphable import MorphableModelData
from mesh_avatar.morphable.data import ARKIT_BLENDSHAPES
from mesh_avatar.morphable.ict import (
    CENTIMETRE,
    KEPT_PARTS,
    arkit_name,
    part_mask,
    read_ict_facekit,
)
from mesh_avatar.morphable.loading import load_model, read_model_data
from mesh_avatar.morphable.obj_reader import read_obj_vertices
from mesh_avatar.params import AvatarParams


@pytest.fixture(scope="module")
def ict(ict_dir: Path) -> MorphableModelData:
    return read_ict_facekit(ict_dir)


def _kept() -> np.ndarray:
    return part_mask(*KEPT_PARTS)


def _part(name: str) -> np.ndarray:
    return part_mask(name)[_kept()]


def test_arkit_names() -> None:
    assert arkit_name("eyeBlink_L") == "eyeBlinkLeft"
    assert arkit_name("mouthSmile_R") == "mouthSmileRight"
    assert arkit_name("jawOpen") == "jawOpen"
    assert arkit_name("browInnerUp_R") == "browInnerUp"
    assert arkit_name("cheekPuff_L") == "cheekPuff"


def test_geometry_in_metres(ict: MorphableModelData, ict_dir: Path) -> None:
    assert ict.n_vertices == int(_kept().sum()) == 22991
    assert ict.faces.shape[1] == 3 and ict.faces.max() < ict.n_vertices
    height = float(ict.vertices[:, 1].max() - ict.vertices[:, 1].min())
    assert 0.25 <= height <= 0.40
    raw = read_obj_vertices(ict_dir / "FaceXModel" / "generic_neutral_mesh.obj")
    np.testing.assert_allclose(ict.vertices, raw[_kept()] * CENTIMETRE, atol=1e-7)
    assert ict.uvs.min() >= 0.0 and ict.uvs.max() <= 1.0  # ICT's u tiles packed into one atlas


def test_landmarks(ict: MorphableModelData, ict_dir: Path) -> None:
    index = json.loads((ict_dir / "FaceXModel" / "vertex_indices.json").read_text())
    assert ict.landmarks.shape == (68,)
    # landmarks lie in the face part, whose indices the reader keeps
    np.testing.assert_array_equal(ict.landmarks, index["idx_to_landmark_verts"])
    points = ict.vertices[ict.landmarks]
    assert points[0, 0] < 0 < points[16, 0]  # iBUG 0 is on the subject's right (-X)
    assert points[36:42, 0].mean() < 0 < points[42:48, 0].mean()
    assert points[30, 2] == points[:, 2].max()  # nose tip in front (+Z)
    assert points[8, 1] == points[:, 1].min()  # chin lowest


def test_expressions_are_arkit(ict: MorphableModelData, ict_dir: Path) -> None:
    assert ict.expression_kind == "blendshape"
    assert len(ict.expression_names) == 51 and "tongueOut" not in ict.expression_names
    assert ict.expression_names == [n for n in ARKIT_BLENDSHAPES if n in ict.expression_names]
    size = np.linalg.norm(ict.expression_basis, axis=2).max(axis=1)
    assert (size > 0.001).all()  # every shape moves something by more than a millimetre
    x = ict.vertices[:, 0]
    for name, side in (("eyeBlinkLeft", 1), ("eyeBlinkRight", -1)):
        moved = np.linalg.norm(ict.expression_basis[ict.expression_names.index(name)], axis=1)
        assert np.sign(x[moved > 0.5 * moved.max()]).mean() == side
    jaw = ict.expression_basis[ict.expression_names.index("jawOpen")]
    assert jaw[ict.landmarks[8], 1] < -0.01  # the chin drops by more than a centimetre
    # ARKit's browInnerUp is the sum of ICT's two halves
    folder = ict_dir / "FaceXModel"
    neutral = read_obj_vertices(folder / "generic_neutral_mesh.obj")
    halves = sum(read_obj_vertices(folder / f"browInnerUp_{s}.obj") - neutral for s in "LR")
    np.testing.assert_allclose(
        ict.expression_basis[ict.expression_names.index("browInnerUp")],
        halves[_kept()] * CENTIMETRE,
        atol=1e-7,
    )


def test_identity_basis_orthonormal_same_distribution(
    ict: MorphableModelData, ict_dir: Path
) -> None:
    folder = ict_dir / "FaceXModel"
    files = sorted(folder.glob("identity*.obj"))
    assert len(ict.identity_std) == len(files) == 10
    flat = ict.identity_basis.reshape(len(files), -1).astype(np.float64)
    np.testing.assert_allclose(flat @ flat.T, np.eye(len(files)), atol=1e-5)
    neutral = read_obj_vertices(folder / "generic_neutral_mesh.obj")
    deltas = np.stack(
        [((read_obj_vertices(f) - neutral)[_kept()] * CENTIMETRE).reshape(-1) for f in files]
    )
    # same Gaussian: D^T D == B^T S^2 B, compared on random projections
    probe = np.random.default_rng(0).normal(size=(flat.shape[1], 6))
    ours = (flat @ probe) * ict.identity_std[:, None].astype(np.float64)
    theirs = deltas @ probe
    np.testing.assert_allclose(ours.T @ ours, theirs.T @ theirs, rtol=1e-4)


def _cast(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rays from around and above the head: (hit points (N, 3), normal . ray direction (N,))."""
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor(vertices.astype(np.float32)), o3d.core.Tensor(faces.astype(np.uint32))
    )
    tri = vertices[faces].astype(np.float64)
    normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    centre = 0.5 * (vertices.min(0) + vertices.max(0))
    grid = np.linspace(-0.2, 0.2, 64)
    gx, gy = (g.reshape(-1, 1) for g in np.meshgrid(grid, grid))
    points, dots = [], []
    for yaw in np.radians(np.arange(0, 360, 30)):
        for pitch in np.radians([0, 35, 70]):
            direction = -np.array(
                [np.cos(pitch) * np.sin(yaw), np.sin(pitch), np.cos(pitch) * np.cos(yaw)]
            )
            right = np.cross(direction, [0.0, 1.0, 0.0])
            right /= np.linalg.norm(right)
            up = np.cross(right, direction)
            origins = centre - 0.6 * direction + gx * right + gy * up
            rays = np.concatenate([origins, np.tile(direction, (len(origins), 1))], axis=1)
            answer = scene.cast_rays(o3d.core.Tensor(rays.astype(np.float32)))
            ids = answer["primitive_ids"].numpy()
            hit = ids != scene.INVALID_ID
            points.append(origins[hit] + direction * answer["t_hit"].numpy()[hit, None])
            dots.append(normals[ids[hit]] @ direction)
    return np.concatenate(points), np.concatenate(dots)


@pytest.mark.parametrize("expression", [None, "jawOpen"])
def test_outward_normals_everywhere(ict: MorphableModelData, expression: str | None) -> None:
    """Every triangle a camera around the head sees is front-facing (counter-clockwise).

    Only the bust below the neck is open (seen from behind, its inside shows), so hits lower than
    4 cm under the chin are left out.
    """
    vertices = ict.vertices.astype(np.float64)
    if expression:
        vertices = vertices + ict.expression_basis[ict.expression_names.index(expression)]
    points, dots = _cast(vertices, ict.faces)
    head = points[:, 1] > ict.vertices[ict.landmarks[8], 1] - 0.04  # neutral chin height
    assert head.sum() > 20_000
    assert (dots[head] < 0).all(), f"{(dots[head] >= 0).sum()} back-facing hits on the head"


def test_regions(ict: MorphableModelData) -> None:
    from mesh_avatar.rig import eyeball_masks, head_joints

    r = ict.regions
    assert all(mask.any() for mask in r.values()) and len(r) == 9
    x = ict.vertices[:, 0]
    assert x[r["ear_left"]].min() > 0 and x[r["ear_right"]].max() < 0
    assert r["eye_left"][_part("sclera_left")].all() and x[r["eye_left"]].min() > 0
    mouth = ict.vertices[ict.landmarks[48:60]]
    lips = ict.vertices[r["lips"]]
    assert np.abs(lips[:, 1] - mouth[:, 1].mean()).max() < 0.02
    assert ict.vertices[r["neck"], 1].max() < ict.vertices[ict.landmarks[8], 1]
    # the rig finds the eyeballs as components inside the eye regions
    balls = eyeball_masks(ict.n_vertices, ict.faces, r)
    np.testing.assert_array_equal(balls["eye_left"], _part("sclera_left"))
    joints = head_joints(ict.vertices, r, ict.faces)
    assert joints["eye_left"][0] > 0.02 and joints["eye_right"][0] < -0.02


def test_procedural_albedo(ict: MorphableModelData) -> None:
    assert ict.albedo_space == "uv" and ict.albedo_mean.shape[0] >= 512
    assert len(ict.albedo_names) >= 10 and "melanin" in ict.albedo_names
    assert ict.albedo_basis.shape[1] < ict.albedo_mean.shape[0]  # lower-resolution components
    mean = torch.from_numpy(ict.albedo_mean)
    assert 0.0 <= float(mean.min()) and float(mean.max()) <= 1.0
    size = mean.shape[0]
    for k, name in enumerate(ict.albedo_names):
        direction = torch.from_numpy(ict.albedo_basis[k] * ict.albedo_std[k])
        up = F.interpolate(direction.permute(2, 0, 1)[None], size=(size, size), mode="bilinear")
        up = up[0].permute(1, 2, 0)
        assert float(up.abs().max()) > 0.01, name
        for sign in (-3.0, 3.0):
            texture = mean + sign * up
            outside = ((texture < -0.02) | (texture > 1.02)).any(dim=-1).float().mean()
            # only brows and lash lines may clip (to black, at +3 sigma of melanin)
            assert float(outside) < 0.01, (name, sign, float(outside))
    melanin = ict.albedo_basis[ict.albedo_names.index("melanin")]
    assert (melanin.sum(axis=-1) <= 1e-6).all()  # more melanin only darkens


def test_load_model_decodes_and_copies(ict_dir: Path, ict: MorphableModelData) -> None:
    model = load_model(f"ict:{ict_dir}")
    params = AvatarParams.neutral(model.layout, 2)
    expression = torch.zeros(2, model.layout.n_expression)
    expression[1, model.expression_names.index("jawOpen")] = 1.0
    decoded = model(params.with_fields(expression=expression))
    assert decoded.vertices.shape == (2, ict.n_vertices, 3)
    assert decoded.albedo.shape == (2, *ict.albedo_mean.shape)
    np.testing.assert_allclose(decoded.vertices[0].numpy(), ict.vertices, atol=1e-6)
    again = read_model_data(f"ict:{ict_dir / 'FaceXModel'}")  # the FaceXModel folder works too
    np.testing.assert_array_equal(again.faces, ict.faces)
    again.vertices[:] = 0.0  # callers get their own arrays, not the cached ones
    assert read_model_data(f"ict:{ict_dir}").vertices.any()


# --------------------------------------------------------------------------- damaged folders
def _copy_folder(ict_dir: Path, tmp_path: Path, identities: int = 2) -> Path:
    """A FaceXModel folder of links to the real files, with only some identity files."""
    source = ict_dir / "FaceXModel"
    target = tmp_path / "ict" / "FaceXModel"
    target.mkdir(parents=True)
    for file in source.iterdir():
        if file.name.startswith("identity") and int(file.stem[8:]) >= identities:
            continue
        (target / file.name).symlink_to(file)
    return target.parent


def test_any_number_of_identity_files(ict_dir: Path, tmp_path: Path) -> None:
    data = read_ict_facekit(_copy_folder(ict_dir, tmp_path, identities=3))
    assert len(data.identity_std) == 3 and data.identity_basis.shape[0] == 3


def test_truncated_expression_file_is_named(ict_dir: Path, tmp_path: Path) -> None:
    folder = _copy_folder(ict_dir, tmp_path)
    target = folder / "FaceXModel" / "jawOpen.obj"
    data = target.read_bytes()
    target.unlink()
    target.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"jawOpen\.obj: has \d+ faces, expected 26384"):
        read_ict_facekit(folder)


def test_missing_and_malformed_files(ict_dir: Path, tmp_path: Path) -> None:
    folder = _copy_folder(ict_dir, tmp_path)
    (folder / "FaceXModel" / "mouthClose.obj").unlink()
    with pytest.raises(ModelFileError, match=r"mouthClose\.obj: missing"):
        read_ict_facekit(folder)
    (folder / "FaceXModel" / "mouthClose.obj").symlink_to(ict_dir / "FaceXModel" / "mouthClose.obj")
    index = folder / "FaceXModel" / "vertex_indices.json"
    index.unlink()
    index.write_text('{"expressions": ["jawOpen"')
    with pytest.raises(ModelFileError, match=r"vertex_indices\.json: not readable JSON"):
        read_ict_facekit(folder)
    neutral = folder / "FaceXModel" / "generic_neutral_mesh.obj"
    shutil.copy(ict_dir / "FaceXModel" / "vertex_indices.json", index.with_name("x.json"))
    index.unlink()
    index.with_name("x.json").rename(index)
    data = neutral.read_bytes()
    neutral.unlink()
    neutral.write_bytes(data[: len(data) // 3])  # cut inside the vertex block
    with pytest.raises(ModelFileError, match=r"generic_neutral_mesh\.obj: "):
        read_ict_facekit(folder)
    with pytest.raises(ModelFileError, match="not an ICT-FaceKit folder"):
        read_ict_facekit(tmp_path)
