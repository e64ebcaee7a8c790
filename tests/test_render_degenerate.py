"""Degenerate input: nothing in view, a mesh filling the frame, zero-area faces, bad values."""

from __future__ import annotations

import pytest
import torch
import trimesh

from renderers import (
    Camera,
    Lighting,
    RenderInputError,
    RenderMeshes,
    RenderSettings,
    create_renderer,
)

BACKENDS = ["fast", "pytorch3d"]


def sphere(radius: float = 0.1, subdivisions: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return (
        torch.tensor(mesh.vertices, dtype=torch.float32)[None],
        torch.tensor(mesh.faces, dtype=torch.int64),
    )


def render(backend: str, meshes: RenderMeshes, camera: Camera | None = None, **settings):
    camera = camera or Camera.orbit(distance=0.5, fov_deg=30.0)
    sh = Lighting.ambient().sh.clone()
    sh[0, 1:4] = torch.tensor([0.5, 0.8, 0.3])[:, None]  # shading varies with the normal
    return create_renderer(backend)(
        meshes, camera, Lighting(sh=sh), RenderSettings(image_size=24, **settings)
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_mesh_behind_the_camera_renders_the_background(backend: str) -> None:
    verts, faces = sphere()
    verts = (verts + torch.tensor([0.0, 0.0, 1.0])).requires_grad_(True)  # camera at z = 0.5
    out = render(backend, RenderMeshes(verts, faces), background=(0.0, 0.5, 1.0))
    assert (out.face_ids == -1).all()
    assert (out.alpha == 0).all() and (out.depth == 0).all() and (out.normals == 0).all()
    expected = torch.tensor([-1.0, 0.0, 1.0])[None, :, None, None].expand(1, 3, 24, 24)
    torch.testing.assert_close(out.images, expected)
    out.images.sum().backward()
    assert verts.grad is not None and torch.isfinite(verts.grad).all()


def test_mesh_straddling_the_near_plane_drops_only_the_faces_in_front_of_it() -> None:
    verts, faces = sphere()
    # Batch of 2: camera inside the sphere (its near faces are dropped), camera outside.
    camera = Camera.orbit(distance=torch.tensor([0.05, 0.5]), fov_deg=90.0)
    meshes = RenderMeshes(verts.expand(2, -1, -1), faces)
    fast, ref = (render(backend, meshes, camera, znear=0.01) for backend in BACKENDS)
    assert (fast.face_ids[0] >= 0).all()  # the far side of the sphere is seen from inside
    inside_hits = fast.face_ids[0].unique()
    assert (verts[0, faces[inside_hits]][..., 2] < 0.05 - 0.01).all()  # only faces beyond znear
    covered = (fast.face_ids >= 0) | (ref.face_ids >= 0)
    assert float(((fast.face_ids == ref.face_ids) & covered).sum() / covered.sum()) > 0.995
    assert torch.isfinite(fast.images).all() and torch.isfinite(ref.images).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_mesh_filling_the_frame(backend: str) -> None:
    verts, faces = sphere(radius=1.0, subdivisions=3)
    verts = verts.requires_grad_(True)
    out = render(backend, RenderMeshes(verts, faces), Camera.orbit(distance=1.3, fov_deg=30.0))
    assert (out.face_ids >= 0).all() and (out.alpha == 1).all()
    assert float(out.depth.detach().min()) == pytest.approx(0.3, abs=0.01)
    out.images.sum().backward()
    assert torch.isfinite(verts.grad).all() and float(verts.grad.abs().sum()) > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_zero_area_faces_and_unused_vertices_are_harmless(backend: str) -> None:
    verts, faces = sphere()
    n = verts.shape[1]
    # Add a degenerate face (three copies of one position), a sliver (collinear) and an unused vertex.
    extra = torch.stack([verts[0, 0], verts[0, 0], verts[0, 0], verts[0, 1], verts[0, 1] * 1.0001])
    extra = torch.cat([extra, (verts[0, 1] + verts[0, 2])[None] / 2, torch.zeros(1, 3)])
    all_verts = torch.cat([verts[0], extra])[None].requires_grad_(True)
    more = torch.tensor([[n, n + 1, n + 2], [1, n + 3, n + 4], [1, 2, n + 5]])
    meshes = RenderMeshes(all_verts, torch.cat([faces, more]))
    out = render(backend, meshes)
    ref = render(backend, RenderMeshes(verts, faces))
    assert torch.isfinite(out.images).all()
    assert float((out.images - ref.images).detach().abs().max()) < 0.05
    out.images.sum().backward()
    assert torch.isfinite(all_verts.grad).all()


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_vertices_are_a_clear_error(value: float) -> None:
    verts, faces = sphere()
    verts[0, 5, 1] = value
    with pytest.raises(
        RenderInputError, match=r"verts contain NaN or infinite values \(1 vertices\)"
    ):
        render("fast", RenderMeshes(verts, faces))


def test_malformed_inputs_are_clear_errors() -> None:
    verts, faces = sphere()
    with pytest.raises(RenderInputError, match=r"verts must be \(B, V, 3\)"):
        render("fast", RenderMeshes(verts[0], faces))
    with pytest.raises(RenderInputError, match="faces index vertices outside"):
        render("fast", RenderMeshes(verts, faces + 1000))
    with pytest.raises(RenderInputError, match="a texture needs uvs"):
        render("fast", RenderMeshes(verts, faces, texture=torch.ones(1, 4, 4, 3)))
    with pytest.raises(RenderInputError, match="either a texture or vertex colours"):
        render(
            "fast",
            RenderMeshes(verts, faces, torch.zeros(3, 2), faces % 3, torch.ones(1, 4, 4, 3), verts),
        )
    with pytest.raises(RenderInputError, match="camera batch 3"):
        render(
            "fast", RenderMeshes(verts.expand(2, -1, -1), faces), Camera.orbit(yaw=torch.zeros(3))
        )
    with pytest.raises(RenderInputError, match="lighting sh must be"):
        Lighting(sh=torch.zeros(1, 4, 3))
    with pytest.raises(RenderInputError, match="background colour"):
        RenderSettings(background=(0.0, 2.0, 0.0))
    with pytest.raises(RenderInputError, match="background image must be"):
        RenderSettings(image_size=8, background=torch.zeros(1, 3, 4, 4))
    with pytest.raises(RenderInputError, match="image_size"):
        RenderSettings(image_size=0)
    with pytest.raises(RenderInputError, match="fov_deg"):
        render("fast", RenderMeshes(verts, faces), Camera.orbit(distance=0.5, fov_deg=180.0))


def test_background_image_is_composited_under_the_mesh() -> None:
    verts, faces = sphere()
    background = torch.linspace(-1, 1, 24)[None, None, None, :].expand(2, 3, 24, 24)
    out = render("fast", RenderMeshes(verts.expand(2, -1, -1), faces), background=background)
    empty = out.alpha[:, 0] == 0
    torch.testing.assert_close(
        out.images.permute(0, 2, 3, 1)[empty], background.permute(0, 2, 3, 1)[empty]
    )
    assert (out.alpha[:, 0] == 1).sum() > 20
