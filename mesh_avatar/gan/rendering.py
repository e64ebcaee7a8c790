"""The one place the GAN calls the project's renderer: params -> (B, 3, R, R) images in [-1, 1].

Like :func:`mesh_avatar.preview.render_avatars` (SH lighting from the params, pose applied), with
three differences: the camera frames the face (a face crop, see :data:`FACE_FILL`), one renderer
instance and camera are reused across calls, and the UV albedo is computed directly at twice the
image size (the default model's 1024 px texture, per avatar, would cost 400 MB and most of the
time of a batch of 32 renders at 64 px). Training, ``make-dataset`` and ``evaluate`` all use this
function, so real and generated images are rendered identically.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.params import AvatarParams

#: ``render(model, params) -> (B, 3, R, R)`` in [-1, 1], differentiable with respect to params.
RenderFn = Callable[[Any, AvatarParams], torch.Tensor]

BACKGROUND = (1.0, 1.0, 1.0)
#: The GAN's images are face crops, like aligned face photos: the mean face region (forehead to
#: chin) fills this share of the image height. Framing the whole head and neck instead left the
#: features a 64 px discriminator must judge (expressions, face shape) a few pixels big.
FACE_REGION = "face"
FACE_FILL = 0.9


def resample(texture: torch.Tensor, size: int) -> torch.Tensor:
    """(..., H, W, 3) -> (..., size, size, 3): area when shrinking, bilinear when enlarging."""
    lead = texture.shape[:-3]
    x = texture.reshape(-1, *texture.shape[-3:]).permute(0, 3, 1, 2)
    if x.shape[-1] == size and x.shape[-2] == size:
        return texture
    if size < x.shape[-1]:
        x = F.interpolate(x, size=(size, size), mode="area")
    else:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    return x.permute(0, 2, 3, 1).reshape(*lead, size, size, 3)


class AlbedoAtSize:
    """UV albedo of a model computed directly at ``size`` px (mean and directions resampled once).

    Equal to resampling the full-resolution albedo, up to the order of two linear resamplings.
    """

    def __init__(self, model: Any, size: int) -> None:
        self.size = size
        self.mean = resample(model.albedo_mean, size)
        dirs = model.albedo_directions
        self.directions = resample(dirs, size) if dirs.shape[0] else dirs

    def __call__(self, coeffs: torch.Tensor, detail: torch.Tensor | None) -> torch.Tensor:
        batch = coeffs.shape[0]
        texture = self.mean.expand(batch, -1, -1, -1)
        if self.directions.shape[0]:
            k = self.directions.shape[0]
            offset = coeffs @ self.directions.reshape(k, -1)
            texture = texture + offset.reshape(batch, self.size, self.size, 3)
        if detail is not None:
            detail = F.interpolate(detail, size=(self.size, self.size), mode="bilinear",
                                   align_corners=False)  # fmt: skip
            texture = texture + detail.permute(0, 2, 3, 1)
        return texture


def make_direct_render_fn(resolution: int, renderer: str = "auto") -> RenderFn:
    """Render through :mod:`renderers`: a frontal face-crop camera, SH lighting from params."""
    try:
        from mesh_avatar.preview import portrait_camera
        from renderers import Lighting, RenderMeshes, RenderSettings, create_renderer
    except ImportError as exc:
        raise MeshAvatarError(f"the renderers are not available ({exc})") from None
    settings = RenderSettings(image_size=resolution, background=BACKGROUND)
    cache: dict[str, Any] = {}

    def render(model: Any, params: AvatarParams) -> torch.Tensor:
        device = model.mean_vertices.device
        if cache.get("model") is not model:
            cache.clear()
            cache.update(
                model=model,
                backend=create_renderer(renderer, device=device),
                camera=portrait_camera(model, fill=FACE_FILL, region=FACE_REGION),
                albedo=AlbedoAtSize(model, 2 * resolution) if model.data.albedo_space == "uv" else None,
            )  # fmt: skip
        vertices = model.shape(params.identity, params.expression)
        from mesh_avatar.morphable.decode import apply_pose

        posed = apply_pose(vertices, params.pose)
        if cache["albedo"] is not None:
            texture = cache["albedo"](params.albedo, params.detail).clamp(0.0, 1.0)
            meshes = RenderMeshes(posed, model.faces, model.uvs, model.face_uvs, texture=texture)
        else:
            colors = model.albedo(params.albedo).clamp(0.0, 1.0)
            meshes = RenderMeshes(posed, model.faces, vertex_colors=colors)
        out = cache["backend"](meshes, cache["camera"], Lighting(sh=params.lighting), settings)
        return out.images

    return render


def make_render_fn(resolution: int, renderer: str = "auto") -> RenderFn:
    """The render function of the GAN (training, make-dataset and evaluate use the same one)."""
    return make_direct_render_fn(resolution, renderer)
