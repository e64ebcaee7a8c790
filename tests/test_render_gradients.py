"""Gradients of the renderers: finite differences (float64, fast backend), backend agreement
(float32), and silhouette gradients (coverage grows as the mesh grows)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from renderers import Camera, Lighting, RenderMeshes, RenderSettings, create_renderer
from renderers.lighting import AMBIENT_SH0

SIZE = 32


def sphere_scene(dtype: torch.dtype = torch.float64) -> dict[str, torch.Tensor]:
    """A textured icosphere (320 faces) with spherical UVs, a bump and SH + directional light."""
    mesh = trimesh.creation.icosphere(subdivisions=2, radius=0.1)
    v = torch.tensor(mesh.vertices, dtype=dtype)
    v = v * torch.tensor([1.0, 1.2, 0.9], dtype=dtype)
    uv = torch.stack(
        [
            0.5 + torch.atan2(v[:, 0], v[:, 2]) / (2 * torch.pi),
            0.5 + torch.asin(v[:, 1] / v.norm(dim=1)) / torch.pi,
        ],
        1,
    )
    gen = torch.Generator().manual_seed(0)
    texture = 0.3 + 0.5 * torch.rand(1, 8, 8, 3, generator=gen, dtype=dtype)
    sh = torch.zeros(1, 9, 3, dtype=dtype)
    sh[:, 0] = 0.7 * AMBIENT_SH0
    sh[:, 1:] = 0.2 * torch.randn(1, 8, 3, generator=gen, dtype=dtype)
    faces = torch.tensor(mesh.faces, dtype=torch.int64)
    return {"verts": v[None], "faces": faces, "uvs": uv, "texture": texture, "sh": sh,
            "light": torch.tensor([[0.2, 0.5, 1.0]], dtype=dtype),
            "camera": torch.tensor([0.3, 0.1, 0.55, 30.0], dtype=dtype)}  # fmt: skip


def render_loss(
    scene: dict[str, torch.Tensor], backend: str, weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    cam = scene["camera"]
    camera = Camera.orbit(yaw=cam[0:1], pitch=cam[1:2], distance=cam[2:3], fov_deg=cam[3:4])
    meshes = RenderMeshes(
        scene["verts"], scene["faces"], scene["uvs"], scene["faces"], scene["texture"]
    )
    lighting = Lighting(sh=scene["sh"], directional_dir=scene["light"], specular=0.2, shininess=8.0)
    out = create_renderer(backend)(
        meshes, camera, lighting, RenderSettings(image_size=SIZE, background=(0.2, 0.4, 0.6))
    )
    loss = (out.images * weights[:, :3]).sum() + (out.alpha * weights[:, 3:]).sum()
    return loss, out.face_ids


def directional_check(name: str, eps: float) -> tuple[float, float]:
    scene = sphere_scene()
    weights = torch.randn(
        1, 4, SIZE, SIZE, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    leaf = scene[name].clone().requires_grad_(True)
    loss, _ = render_loss(scene | {name: leaf}, "fast", weights)
    (grad,) = torch.autograd.grad(loss, leaf)
    direction = torch.randn(
        leaf.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64
    )
    if name == "camera":
        direction = direction * torch.tensor([0.1, 0.1, 0.01, 1.0], dtype=torch.float64)
    with torch.no_grad():
        plus, ids_p = render_loss(scene | {name: scene[name] + eps * direction}, "fast", weights)
        minus, ids_m = render_loss(scene | {name: scene[name] - eps * direction}, "fast", weights)
    assert torch.equal(ids_p, ids_m), "visibility changed inside the finite-difference step"
    return float((plus - minus) / (2 * eps)), float((grad * direction).sum())


@pytest.mark.parametrize(
    ("name", "eps"),
    [("verts", 1e-6), ("texture", 1e-5), ("sh", 1e-5), ("light", 1e-5), ("camera", 1e-6)],
)
def test_fast_backend_gradients_match_finite_differences(name: str, eps: float) -> None:
    numeric, analytic = directional_check(name, eps)
    assert abs(analytic) > 1e-3
    assert analytic == pytest.approx(numeric, rel=1e-4, abs=1e-6)


def test_backends_give_the_same_gradients() -> None:
    scene = sphere_scene(torch.float32)
    weights = torch.randn(1, 4, SIZE, SIZE, generator=torch.Generator().manual_seed(1))
    grads = {}
    for backend in ("fast", "pytorch3d"):
        leaves = {
            k: scene[k].clone().requires_grad_(True) for k in ("verts", "texture", "sh", "camera")
        }
        loss, _ = render_loss(scene | leaves, backend, weights)
        loss.backward()
        grads[backend] = {k: v.grad for k, v in leaves.items()}
    for key in ("verts", "texture", "sh", "camera"):
        a, b = grads["fast"][key].flatten(), grads["pytorch3d"][key].flatten()
        cosine = float(torch.nn.functional.cosine_similarity(a, b, dim=0))
        assert cosine > 0.999, (key, cosine)
        assert float((a - b).norm() / b.norm()) < 0.02, key


def coverage_slope(backend: str, scale_step: float) -> tuple[float, float, float]:
    """d(sum alpha)/d(scale) by autograd and by finite differences over a step of ~0.5 px."""
    scene = sphere_scene(torch.float32)
    scale = torch.ones((), requires_grad=True)

    def coverage(s: torch.Tensor) -> torch.Tensor:
        meshes = RenderMeshes(scene["verts"] * s, scene["faces"])
        cam = Camera.orbit(yaw=0.3, pitch=0.1, distance=0.55, fov_deg=30.0)
        return create_renderer(backend)(
            meshes, cam, Lighting.ambient(), RenderSettings(image_size=SIZE)
        ).alpha.sum()

    area = coverage(scale)
    (grad,) = torch.autograd.grad(area, scale)
    with torch.no_grad():
        fd = (coverage(torch.tensor(1 + scale_step)) - coverage(torch.tensor(1 - scale_step))) / (
            2 * scale_step
        )
    return float(grad), float(fd), float(area.detach())


@pytest.mark.parametrize("backend", ["fast", "pytorch3d"])
def test_silhouette_gradients_follow_the_coverage(backend: str) -> None:
    # The silhouette is ~8 px in radius: a 5% scale step moves it by ~0.4 px.
    analytic, numeric, area = coverage_slope(backend, 0.05)
    assert numeric > 50  # growing the sphere covers more pixels
    assert analytic == pytest.approx(numeric, rel=0.1)
    # The silhouette is a closed curve: d(area)/d(scale) = 2 * area.
    assert analytic == pytest.approx(2 * area, rel=0.05)


def test_gradients_are_zero_where_nothing_is_seen() -> None:
    scene = sphere_scene(torch.float32)
    verts = (scene["verts"] + torch.tensor([0.0, 0.0, 2.0])).requires_grad_(
        True
    )  # behind the camera
    meshes = RenderMeshes(verts, scene["faces"])
    out = create_renderer("fast")(
        meshes, Camera.orbit(distance=0.5), Lighting.ambient(), RenderSettings(image_size=SIZE)
    )
    out.images.sum().backward()
    assert verts.grad is not None and float(verts.grad.abs().max()) == 0.0
    np.testing.assert_array_equal(out.face_ids.numpy(), -1)
