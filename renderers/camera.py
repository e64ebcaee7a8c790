"""Batched perspective cameras and the projection math (pure functions, differentiable).

Conventions:

* World: metres, right-handed, +Y up; the face looks down +Z (glTF).
* View space (OpenGL): the camera sits at the origin, +X right, +Y up, and looks down -Z.
  ``p_view = p_world @ rotation^T + translation``.
* Pixels: x to the right, y down, origin at the top-left corner of the top-left pixel; pixel
  ``(row i, column j)`` has its centre at ``(j + 0.5, i + 0.5)``. The principal point is the image
  centre; ``fov_deg`` is the vertical field of view.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from renderers.errors import RenderInputError

TensorLike = torch.Tensor | float | tuple[float, ...] | list[float]


def _as_tensor(
    value: TensorLike, batch_size: int, width: int | None, device: torch.device | None, name: str
) -> torch.Tensor:
    """Broadcast a scalar / vector / batched tensor to (B,) or (B, width) float32."""
    if isinstance(value, torch.Tensor) and value.is_floating_point():
        t = value.to(device) if device is not None else value  # keeps float64 for gradient checks
    else:
        t = torch.as_tensor(value, dtype=torch.float32, device=device)
    shape = (batch_size,) if width is None else (batch_size, width)
    if t.ndim == len(shape) - 1 and (width is None or t.shape[-1] == width):
        t = t.unsqueeze(0)
    if t.ndim != len(shape) or (width is not None and t.shape[-1] != width):
        raise RenderInputError(f"camera {name} must broadcast to {shape}, got {tuple(t.shape)}")
    if t.shape[0] not in (1, batch_size):
        raise RenderInputError(f"camera {name} has batch {t.shape[0]}, expected 1 or {batch_size}")
    return t.expand(shape)


def _batch_of(*values: TensorLike, batch_size: int | None, vector: tuple[bool, ...]) -> int:
    if batch_size is not None:
        return batch_size
    sizes = [
        v.shape[0]
        for v, is_vec in zip(values, vector, strict=True)
        if isinstance(v, torch.Tensor) and v.ndim == (2 if is_vec else 1)
    ]
    return max(sizes, default=1)


def _device_of(*values: TensorLike) -> torch.device | None:
    for v in values:
        if isinstance(v, torch.Tensor):
            return v.device
    return None


@dataclass(frozen=True)
class Camera:
    """A batch of pinhole cameras.

    Attributes:
        rotation: (B, 3, 3) world-to-view rotation (rows: the camera's right, up, backward axes).
        translation: (B, 3) world-to-view translation.
        fov_deg: (B,) vertical field of view in degrees.

    All three may require gradients; build them with :meth:`orbit` or :meth:`look_at`.
    """

    rotation: torch.Tensor
    translation: torch.Tensor
    fov_deg: torch.Tensor

    def __post_init__(self) -> None:
        b = self.rotation.shape[0] if self.rotation.ndim == 3 else -1
        if self.rotation.shape != (b, 3, 3) or b < 1:
            raise RenderInputError(
                f"camera rotation must be (B, 3, 3), got {tuple(self.rotation.shape)}"
            )
        if self.translation.shape != (b, 3):
            raise RenderInputError(
                f"camera translation must be ({b}, 3), got {tuple(self.translation.shape)}"
            )
        if self.fov_deg.shape != (b,):
            raise RenderInputError(
                f"camera fov_deg must be ({b},), got {tuple(self.fov_deg.shape)}"
            )

    # ----------------------------------------------------------------------------- building
    @classmethod
    def orbit(
        cls,
        yaw: TensorLike = 0.0,
        pitch: TensorLike = 0.0,
        distance: TensorLike = 0.6,
        fov_deg: TensorLike = 20.0,
        target: TensorLike = (0.0, 0.0, 0.0),
        batch_size: int | None = None,
        device: torch.device | str | None = None,
    ) -> Camera:
        """Cameras on a sphere around ``target``, looking at it, upright.

        ``yaw = pitch = 0`` puts the camera on the +Z side of the target (in front of the face).
        Positive yaw (radians, about +Y) moves the camera towards +X (the subject's left);
        positive pitch (radians) moves it up, looking down. Scalars, (B,) tensors (``target``:
        (3,) or (B, 3)) are accepted and broadcast; gradients flow through all of them.
        """
        b = _batch_of(yaw, pitch, distance, fov_deg, target, batch_size=batch_size,
                      vector=(False, False, False, False, True))  # fmt: skip
        dev = (
            torch.device(device)
            if device is not None
            else _device_of(yaw, pitch, distance, fov_deg, target)
        )
        yaw_t = _as_tensor(yaw, b, None, dev, "yaw")
        pitch_t = _as_tensor(pitch, b, None, dev, "pitch")
        dist_t = _as_tensor(distance, b, None, dev, "distance")
        fov_t = _as_tensor(fov_deg, b, None, dev, "fov_deg")
        target_t = _as_tensor(target, b, 3, dev, "target")
        cy, sy = torch.cos(yaw_t), torch.sin(yaw_t)
        cp, sp = torch.cos(pitch_t), torch.sin(pitch_t)
        zero = torch.zeros_like(cy)
        # Camera-to-world rotation C = R_y(yaw) @ R_x(-pitch); its columns are the camera axes.
        right = torch.stack([cy, zero, -sy], -1)
        up = torch.stack([-sy * sp, cp, -cy * sp], -1)
        back = torch.stack([sy * cp, sp, cy * cp], -1)
        rotation = torch.stack([right, up, back], 1)  # rows = camera axes: world -> view
        eye = target_t + dist_t[:, None] * back
        translation = -(rotation @ eye[:, :, None])[:, :, 0]
        return cls(rotation=rotation, translation=translation, fov_deg=fov_t)

    @classmethod
    def look_at(
        cls,
        eye: TensorLike,
        at: TensorLike = (0.0, 0.0, 0.0),
        up: TensorLike = (0.0, 1.0, 0.0),
        fov_deg: TensorLike = 20.0,
        batch_size: int | None = None,
        device: torch.device | str | None = None,
    ) -> Camera:
        """Cameras at ``eye`` (B, 3) looking at ``at`` (B, 3) with ``up`` roughly up.

        Raises:
            RenderInputError: ``eye`` equals ``at``, or the view direction is parallel to ``up``.
        """
        b = _batch_of(eye, at, up, fov_deg, batch_size=batch_size, vector=(True, True, True, False))
        dev = torch.device(device) if device is not None else _device_of(eye, at, up, fov_deg)
        eye_t = _as_tensor(eye, b, 3, dev, "eye")
        at_t = _as_tensor(at, b, 3, dev, "at")
        up_t = _as_tensor(up, b, 3, dev, "up")
        forward = at_t - eye_t
        f_norm = forward.norm(dim=-1, keepdim=True)
        right = torch.cross(forward, up_t, dim=-1)
        r_norm = right.norm(dim=-1, keepdim=True)
        if bool((f_norm <= 1e-9).any()):
            raise RenderInputError("camera eye and look-at point coincide")
        if bool((r_norm <= 1e-6 * f_norm * up_t.norm(dim=-1, keepdim=True)).any()):
            raise RenderInputError("camera view direction is parallel to the up vector")
        forward = forward / f_norm
        right = right / r_norm
        true_up = torch.cross(right, forward, dim=-1)
        rotation = torch.stack([right, true_up, -forward], 1)
        translation = -(rotation @ eye_t[:, :, None])[:, :, 0]
        return cls(
            rotation=rotation,
            translation=translation,
            fov_deg=_as_tensor(fov_deg, b, None, dev, "fov_deg"),
        )

    # ----------------------------------------------------------------------------- accessors
    @property
    def batch_size(self) -> int:
        return self.rotation.shape[0]

    @property
    def device(self) -> torch.device:
        return self.rotation.device

    @property
    def position(self) -> torch.Tensor:
        """(B, 3) camera centres in world coordinates."""
        return -(self.rotation.transpose(1, 2) @ self.translation[:, :, None])[:, :, 0]

    def to(self, device: torch.device | str) -> Camera:
        return Camera(
            self.rotation.to(device), self.translation.to(device), self.fov_deg.to(device)
        )

    def expand(self, batch_size: int) -> Camera:
        """A batch-1 camera repeated ``batch_size`` times (a batch of that size is returned as is)."""
        if self.batch_size == batch_size:
            return self
        if self.batch_size != 1:
            raise RenderInputError(
                f"camera batch {self.batch_size} does not match the mesh batch {batch_size}"
            )
        return Camera(
            self.rotation.expand(batch_size, 3, 3),
            self.translation.expand(batch_size, 3),
            self.fov_deg.expand(batch_size),
        )

    def focal_pixels(self, height: int) -> torch.Tensor:
        """(B,) focal length in pixels for an image ``height`` pixels tall."""
        return focal_from_fov(self.fov_deg, height)


# --------------------------------------------------------------------------------- pure functions
def focal_from_fov(fov_deg: torch.Tensor, height: int) -> torch.Tensor:
    """(B,) vertical field of view in degrees -> (B,) focal length in pixels."""
    return 0.5 * height / torch.tan(fov_deg * (math.pi / 360.0))


def world_to_view(
    points: torch.Tensor, rotation: torch.Tensor, translation: torch.Tensor
) -> torch.Tensor:
    """(B, N, 3) world points -> (B, N, 3) view-space points (camera looks down -Z)."""
    return points @ rotation.transpose(1, 2) + translation[:, None, :]


def view_to_pixels(
    points_view: torch.Tensor, focal: torch.Tensor, height: int, width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Perspective projection.

    Args:
        points_view: (B, N, 3) view-space points.
        focal: (B,) focal length in pixels.

    Returns:
        pixels (B, N, 2) as (x right, y down) in pixel units, and depth (B, N) = -z_view (positive
        in front of the camera). Points at or behind the camera get meaningless pixels; callers
        drop the faces that touch them (see ``RenderSettings.znear``).
    """
    depth = -points_view[..., 2]
    safe = torch.where(depth.abs() > 1e-12, depth, torch.full_like(depth, 1e-12))
    f = focal[:, None]
    x = 0.5 * width + f * points_view[..., 0] / safe
    y = 0.5 * height - f * points_view[..., 1] / safe
    return torch.stack([x, y], -1), depth


def pixel_rays(
    pixel_x: torch.Tensor, pixel_y: torch.Tensor, focal: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """View-space ray directions (not normalised, z = -1) through pixel positions.

    Args:
        pixel_x, pixel_y: (N,) pixel coordinates (use ``j + 0.5``, ``i + 0.5`` for centres).
        focal: (N,) focal length in pixels of each ray's camera.

    Returns:
        (N, 3) directions.
    """
    dx = (pixel_x - 0.5 * width) / focal
    dy = -(pixel_y - 0.5 * height) / focal
    return torch.stack([dx, dy, -torch.ones_like(dx)], -1)
