"""The ``fast`` and ``pytorch3d`` backends agree on visibility, masks and images.

Tolerances (images in [-1, 1]): the same face is visible on >= 99.5% of the covered pixels; the
coverage masks differ only on silhouette pixels; mean absolute image difference < 1e-3 and, on the
pixels where both see the same face, max difference < 1e-3.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from mesh_avatar.morphable import MorphableModel
from mesh_avatar.params import AvatarParams
from renderers import (
    Camera,
    Lighting,
    RenderInputError,
    RenderMeshes,
    RenderSettings,
    create_renderer,
    resolve_backend,
)
from renderers.lighting import AMBIENT_SH0


def silhouette_pixels(covered: torch.Tensor) -> torch.Tensor:
    """(B, H, W) bool: pixels with a 4-neighbour of different coverage."""
    c = covered.float()
    pad = torch.nn.functional.pad(c[:, None], (1, 1, 1, 1), mode="replicate")[:, 0]
    neighbours = torch.stack(
        [pad[:, :-2, 1:-1], pad[:, 2:, 1:-1], pad[:, 1:-1, :-2], pad[:, 1:-1, 2:]]
    )
    return (neighbours != c[None]).any(0)


def compare(
    meshes: RenderMeshes, camera: Camera, lighting: Lighting, size: int
) -> dict[str, float]:
    settings = RenderSettings(image_size=size, background=(0.1, 0.2, 0.3))
    fast = create_renderer("fast")(meshes, camera, lighting, settings)
    ref = create_renderer("pytorch3d")(meshes, camera, lighting, settings)
    cov_f, cov_r = fast.face_ids >= 0, ref.face_ids >= 0
    covered = cov_f | cov_r
    same = (fast.face_ids == ref.face_ids) & covered
    mask_diff = cov_f != cov_r
    sil = silhouette_pixels(cov_f) | silhouette_pixels(cov_r)
    diff = (fast.images - ref.images).abs().amax(1)
    both = same & ~silhouette_pixels(fast.face_ids >= 0)
    return {
        "covered": float(covered.float().mean()),
        "same_face": float(same.sum() / covered.sum()),
        "mask_diff_off_silhouette": int((mask_diff & ~sil).sum()),
        "mean_abs": float(diff.mean()),
        "max_same_face": float(diff[same].max()),
        "max_interior": float(diff[both].max()),
        "alpha_mean_abs": float((fast.alpha - ref.alpha).abs().mean()),
        "depth_max": float((fast.depth - ref.depth)[:, 0][same].abs().max()),
        "normal_max": float((fast.normals - ref.normals).abs().amax(1)[same].max()),
    }


def assert_agree(stats: dict[str, float]) -> None:
    assert stats["covered"] > 0.1, stats
    assert stats["same_face"] >= 0.995, stats
    assert stats["mask_diff_off_silhouette"] == 0, stats
    assert stats["mean_abs"] < 1e-3, stats
    assert stats["max_same_face"] < 1e-3, stats
    assert stats["depth_max"] < 1e-4, stats
    assert stats["normal_max"] < 1e-3, stats


def test_backends_agree_on_textured_avatars(tiny_model: MorphableModel) -> None:
    params = AvatarParams.neutral(tiny_model.layout, 3)
    gen = torch.Generator().manual_seed(0)
    params = AvatarParams(
        identity=torch.randn(3, tiny_model.layout.n_identity, generator=gen),
        expression=params.expression,
        albedo=torch.randn(3, tiny_model.layout.n_albedo, generator=gen),
        pose=torch.tensor([[0.0] * 6, [0.6, 0.2, 0.1, 0.01, 0.0, 0.0], [-1.2, -0.3, 0.0, 0, 0, 0]]),
        lighting=params.lighting + 0.3 * torch.randn(3, 9, 3, generator=gen),
    )
    decoded = tiny_model(params)
    meshes = RenderMeshes(
        decoded.posed_vertices, tiny_model.faces, tiny_model.uvs, tiny_model.face_uvs,
        decoded.albedo.clamp(0, 1),
    )  # fmt: skip
    camera = Camera.orbit(yaw=0.0, pitch=0.1, distance=0.7, fov_deg=25.0)
    assert_agree(compare(meshes, camera, Lighting(sh=params.lighting), 64))


def occluding_spheres() -> tuple[RenderMeshes, Camera]:
    a = trimesh.creation.icosphere(subdivisions=3, radius=0.1)
    b = trimesh.creation.icosphere(subdivisions=3, radius=0.05)
    verts = torch.tensor(
        np.concatenate([a.vertices, b.vertices + np.array([0.06, 0.04, 0.12])]), dtype=torch.float32
    )
    faces = torch.tensor(np.concatenate([a.faces, b.faces + len(a.vertices)]), dtype=torch.int64)
    colors = (verts - verts.min(0).values) / (verts.max(0).values - verts.min(0).values)
    verts = torch.stack([verts, verts @ torch.tensor([[0.0, 0, 1], [0, 1, 0], [-1, 0, 0]]).T])
    meshes = RenderMeshes(verts, faces, vertex_colors=colors[None].expand(2, -1, -1))
    cam = Camera.look_at(
        eye=torch.tensor([[0.1, 0.2, 0.6], [0.0, -0.1, 0.5]]), at=(0.0, 0.0, 0.0), fov_deg=40.0
    )
    return meshes, cam


def test_backends_agree_with_occlusion_directional_light_and_specular() -> None:
    meshes, camera = occluding_spheres()
    sh = torch.zeros(2, 9, 3)
    sh[:, 0] = 0.4 * AMBIENT_SH0
    sh[:, 2, 0] = 0.5
    lighting = Lighting(
        sh=sh,
        directional_dir=torch.tensor([[0.3, 0.8, 1.0]]),
        directional_color=torch.tensor([[0.8, 0.7, 0.6]]),
        specular=0.3,
        shininess=20.0,
    )
    stats = compare(meshes, camera, lighting, 80)
    assert_agree(stats)


def test_backends_agree_on_non_square_images() -> None:
    meshes, camera = occluding_spheres()
    settings = RenderSettings(image_size=(40, 56))
    fast = create_renderer("fast")(meshes, camera, Lighting.ambient(), settings)
    ref = create_renderer("pytorch3d")(meshes, camera, Lighting.ambient(), settings)
    assert fast.images.shape == (2, 3, 40, 56)
    covered = (fast.face_ids >= 0) | (ref.face_ids >= 0)
    same = (fast.face_ids == ref.face_ids) & covered
    assert float(same.sum() / covered.sum()) >= 0.995
    assert float((fast.images - ref.images).abs().mean()) < 1e-3


def test_backend_names() -> None:
    assert resolve_backend("auto", "cpu") == "fast"
    assert resolve_backend("auto", "cuda") == "pytorch3d"
    assert resolve_backend("pytorch3d", "cpu") == "pytorch3d"
    with pytest.raises(RenderInputError, match="unknown renderer 'nvdiffrast'"):
        create_renderer("nvdiffrast")
