"""Render :class:`AvatarParams` through a :class:`MorphableModel` (glue over ``renderers``).

The CLI ``--preview``, viewer screenshots, the dataset maker and the GAN all call
:func:`render_avatars`; :func:`images_to_uint8` and :func:`save_png` turn its images into files.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np
import torch

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.io import atomic_write_bytes
from mesh_avatar.morphable.model import MorphableModel
from mesh_avatar.params import AvatarParams
from renderers import (
    Camera,
    Lighting,
    Renderer,
    RenderInputError,
    RenderMeshes,
    RenderOutput,
    RenderSettings,
    create_renderer,
)

#: Vertical field of view of the default portrait camera, degrees.
PORTRAIT_FOV_DEG = 20.0
#: Fraction of the image height the head's bounding box fills in the default portrait framing.
PORTRAIT_FILL = 0.85


class RenderError(MeshAvatarError, ValueError):
    """The avatar cannot be rendered (bad renderer name, camera or non-finite geometry)."""


def portrait_camera(
    model: MorphableModel,
    batch_size: int = 1,
    fov_deg: float = PORTRAIT_FOV_DEG,
    fill: float = PORTRAIT_FILL,
    region: str | None = None,
) -> Camera:
    """A frontal camera framing the model's mean head (the same for every avatar of the model).

    The camera looks down -Z at the centre of the mean shape's bounding box from a distance at
    which the box's height (or width, if larger) fills ``fill`` of the image height. With
    ``region`` (a vertex group such as ``"face"``) the box is that region's, when the model has
    it, so a face crop can fill the image; models without the region get the whole head.
    """
    mean = model.mean_vertices.reshape(-1, 3)
    mask = model.data.regions.get(region) if region is not None else None
    if mask is not None and mask.any():
        mean = mean[torch.from_numpy(np.asarray(mask, bool)).to(mean.device)]
    lo, hi = mean.amin(0), mean.amax(0)
    center = (lo + hi) * 0.5
    half = float(torch.maximum(hi[1] - lo[1], hi[0] - lo[0])) * 0.5
    half_depth = float(hi[2] - lo[2]) * 0.5
    distance = half / (fill * math.tan(math.radians(fov_deg) / 2.0)) + half_depth
    return Camera.orbit(
        yaw=0.0,
        pitch=0.0,
        distance=distance,
        fov_deg=fov_deg,
        target=center,
        batch_size=batch_size,
        device=mean.device,
    )


def render_avatars(
    model: MorphableModel,
    params: AvatarParams,
    *,
    image_size: int = 256,
    camera: Camera | None = None,
    renderer: str | Renderer = "auto",
    background: tuple[float, float, float] | torch.Tensor = (1.0, 1.0, 1.0),
) -> RenderOutput:
    """Decode and render a batch of avatars with their own pose and lighting.

    Args:
        model: the morphable model of ``params``.
        params: a batch of B avatars (pose and SH lighting are used).
        image_size: output side in pixels.
        camera: a batch-1 or batch-B camera; default: :func:`portrait_camera`.
        renderer: backend name (``auto``, ``fast``, ``pytorch3d``) or a renderer instance (reuse
            one across calls to keep its caches).
        background: sRGB colour in [0, 1] or a (B, 3, H, W) image in [-1, 1].

    Returns:
        :class:`renderers.RenderOutput`; ``images`` (B, 3, H, W) in [-1, 1] are differentiable
        with respect to every field of ``params``.

    Raises:
        RenderError: unknown renderer name or input the renderer rejects.
    """
    device = model.mean_vertices.device
    try:
        backend = create_renderer(renderer, device) if isinstance(renderer, str) else renderer
        decoded = model(params)
        textured = decoded.albedo.ndim == 4
        meshes = RenderMeshes(
            verts=decoded.posed_vertices,
            faces=model.faces,
            uvs=model.uvs if textured else None,
            face_uvs=model.face_uvs if textured else None,
            texture=decoded.albedo.clamp(0.0, 1.0) if textured else None,
            vertex_colors=None if textured else decoded.albedo.clamp(0.0, 1.0),
        )
        cam = camera if camera is not None else portrait_camera(model)
        settings = RenderSettings(image_size=image_size, background=background)
        return backend(meshes, cam, Lighting(sh=params.lighting), settings)
    except RenderInputError as exc:
        raise RenderError(f"cannot render the avatars: {exc}") from None


def images_to_uint8(images: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) images in [-1, 1] -> (B, H, W, 3) uint8 (clamped, rounded)."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise RenderError(f"images must be (B, 3, H, W), got {tuple(images.shape)}")
    scaled = ((images.detach().float() + 1.0) * 127.5).round().clamp(0, 255)
    return scaled.to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def png_bytes(image: np.ndarray) -> bytes:
    """(H, W, 3) or (H, W, 4) uint8 -> PNG file bytes."""
    from PIL import Image

    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4):
        raise RenderError(f"expected an (H, W, 3|4) uint8 image, got {image.dtype} {image.shape}")
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def save_png(path: str | os.PathLike[str], image: np.ndarray) -> Path:
    """Write an (H, W, 3|4) uint8 image as PNG, atomically. Returns the path."""
    return atomic_write_bytes(path, png_bytes(image))
