"""Cameras, projection and the SH / colour conventions of the renderers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from renderers import AMBIENT_SH0, Camera, Lighting, RenderInputError, sh_basis
from renderers.camera import view_to_pixels, world_to_view
from renderers.lighting import linear_to_srgb, sh_irradiance, shade, srgb_to_linear


def project(camera: Camera, points: torch.Tensor, size: int = 100) -> tuple[np.ndarray, np.ndarray]:
    view = world_to_view(points, camera.rotation, camera.translation)
    pixels, depth = view_to_pixels(view, camera.focal_pixels(size), size, size)
    return pixels.numpy(), depth.numpy()


def test_orbit_frontal_camera_looks_at_the_face_from_plus_z() -> None:
    cam = Camera.orbit(yaw=0.0, pitch=0.0, distance=0.5, fov_deg=30.0, target=(0.0, 0.1, 0.0))
    np.testing.assert_allclose(cam.position.numpy(), [[0.0, 0.1, 0.5]], atol=1e-6)
    points = torch.tensor([[[0.0, 0.1, 0.0], [0.0, 0.2, 0.0], [0.05, 0.1, 0.0]]])
    pixels, depth = project(cam, points)
    np.testing.assert_allclose(pixels[0, 0], [50.0, 50.0], atol=1e-4)  # target at the centre
    assert pixels[0, 1, 1] < 50.0  # up is up (smaller row)
    assert (
        pixels[0, 2, 0] > 50.0
    )  # +X (subject's left) appears on the image's right, seen from the front
    np.testing.assert_allclose(depth[0], [0.5, 0.5, 0.5], atol=1e-6)
    # The focal length follows the vertical field of view: 0.1 m up at 0.5 m spans this many pixels.
    focal = 50.0 / math.tan(math.radians(15.0))
    np.testing.assert_allclose(50.0 - pixels[0, 1, 1], focal * 0.1 / 0.5, rtol=1e-5)


def test_orbit_yaw_and_pitch_move_the_camera_as_documented() -> None:
    cam = Camera.orbit(
        yaw=torch.tensor([math.pi / 2, 0.0]), pitch=torch.tensor([0.0, 0.3]), distance=2.0
    )
    pos = cam.position.numpy()
    np.testing.assert_allclose(pos[0], [2.0, 0.0, 0.0], atol=1e-6)  # yaw +90 deg: on +X
    np.testing.assert_allclose(pos[1], [0.0, 2 * math.sin(0.3), 2 * math.cos(0.3)], atol=1e-6)
    # Rotations are orthonormal.
    r = cam.rotation
    np.testing.assert_allclose(
        (r @ r.transpose(1, 2)).numpy(), np.eye(3)[None].repeat(2, 0), atol=1e-6
    )


def test_look_at_matches_orbit() -> None:
    orbit = Camera.orbit(yaw=0.4, pitch=-0.2, distance=0.7, fov_deg=25.0, target=(0.01, 0.02, 0.03))
    eye = orbit.position
    look = Camera.look_at(eye=eye, at=torch.tensor([[0.01, 0.02, 0.03]]), fov_deg=25.0)
    np.testing.assert_allclose(look.rotation.numpy(), orbit.rotation.numpy(), atol=1e-6)
    np.testing.assert_allclose(look.translation.numpy(), orbit.translation.numpy(), atol=1e-6)


def test_camera_parameters_are_differentiable() -> None:
    yaw = torch.tensor([0.1], requires_grad=True)
    dist = torch.tensor([0.6], requires_grad=True)
    cam = Camera.orbit(yaw=yaw, distance=dist)
    cam.position.sum().backward()
    assert yaw.grad is not None and dist.grad is not None and float(dist.grad.abs()) > 0


def test_bad_cameras_are_rejected() -> None:
    with pytest.raises(RenderInputError, match="coincide"):
        Camera.look_at(eye=(0.0, 0.0, 1.0), at=(0.0, 0.0, 1.0))
    with pytest.raises(RenderInputError, match="parallel"):
        Camera.look_at(eye=(0.0, 1.0, 0.0), at=(0.0, 0.0, 0.0))
    with pytest.raises(RenderInputError, match="batch"):
        Camera.orbit(yaw=torch.zeros(3)).expand(2)


def test_sh_basis_is_orthonormal_on_the_sphere() -> None:
    # Fibonacci-sphere quadrature of the 9x9 Gram matrix.
    n = 20000
    k = np.arange(n) + 0.5
    z = 1 - 2 * k / n
    phi = math.pi * (1 + 5**0.5) * k
    r = np.sqrt(1 - z * z)
    dirs = torch.tensor(np.stack([r * np.cos(phi), r * np.sin(phi), z], 1), dtype=torch.float64)
    y = sh_basis(dirs)
    gram = (y.T @ y) * (4 * math.pi / n)
    np.testing.assert_allclose(gram.numpy(), np.eye(9), atol=2e-3)
    # Band order: Y_1-1 ~ y, Y_10 ~ z, Y_11 ~ x.
    e = torch.eye(3, dtype=torch.float64)
    assert torch.argmax(sh_basis(e)[:, 1:4].abs(), dim=1).tolist() == [2, 0, 1]


def test_ambient_light_of_one_returns_the_albedo() -> None:
    albedo = torch.tensor([[0.2, 0.5, 0.9], [0.0, 1.0, 0.04]])
    normals = torch.nn.functional.normalize(
        torch.tensor([[0.0, 0.0, 1.0], [1.0, 2.0, -3.0]]), dim=-1
    )
    sh = Lighting.ambient(1).sh
    assert float(sh[0, 0, 0]) == pytest.approx(AMBIENT_SH0)
    out = shade(albedo, normals, normals, sh_irradiance(normals, sh, [2]))
    np.testing.assert_allclose(out.numpy(), albedo.numpy(), atol=1e-5)


def test_sh_irradiance_uses_each_batch_elements_light() -> None:
    normals = torch.tensor([[0.0, 1.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
    sh = torch.zeros(2, 9, 3)
    sh[:, 0] = AMBIENT_SH0
    sh[1, 1] = 1.0  # brighter from above (+y) for batch element 1
    got = sh_irradiance(normals, sh, [1, 2])
    c1 = math.sqrt(3.0 / (4.0 * math.pi))
    want = torch.tensor([[1.0] * 3, [1.0 + c1] * 3, [1.0 - c1] * 3])
    torch.testing.assert_close(got, want)


def test_srgb_round_trip() -> None:
    x = torch.linspace(0, 1, 101)
    np.testing.assert_allclose(linear_to_srgb(srgb_to_linear(x)).numpy(), x.numpy(), atol=1e-5)
    assert float(srgb_to_linear(torch.tensor(0.5))) == pytest.approx(0.21404, abs=1e-4)
