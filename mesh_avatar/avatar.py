"""From coefficients to an exportable :class:`AvatarMesh` (one avatar, numpy)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from mesh_avatar import __version__
from mesh_avatar.errors import ParamsError
from mesh_avatar.mesh import AvatarMesh
from mesh_avatar.morphable.model import MorphableModel
from mesh_avatar.params import AvatarParams


def texture_to_uint8(texture: torch.Tensor, size: int | None = None) -> np.ndarray:
    """(H, W, 3) float sRGB texture -> (size, size, 3) uint8, clamped, area/bilinear resampled."""
    image = texture.clamp(0.0, 1.0)
    if size is not None and tuple(image.shape[:2]) != (size, size):
        chw = image.permute(2, 0, 1).unsqueeze(0)
        shrinking = size < image.shape[0]
        chw = F.interpolate(
            chw,
            size=(size, size),
            mode="area" if shrinking else "bilinear",
            **({} if shrinking else {"align_corners": False}),
        )
        image = chw[0].permute(1, 2, 0)
    return (image * 255.0 + 0.5).clamp(0, 255).to(torch.uint8).cpu().numpy()


def avatar_texture(model: MorphableModel, params: AvatarParams, size: int | None) -> np.ndarray:
    """Albedo of one avatar (batch size 1) as a (size, size, 3) uint8 UV texture."""
    height, width = model.albedo_mean.shape[:2]
    native = model.data.albedo_space == "uv" and height == width and size in (None, height)
    if native and params.detail is None:
        return model.albedo_uint8(params.albedo[0]).cpu().numpy()
    return bake_albedo(model, model.albedo(params.albedo, params.detail)[0], size)


def bake_albedo(model: MorphableModel, albedo: torch.Tensor, size: int | None) -> np.ndarray:
    """A decoded albedo as a uint8 UV texture; vertex albedo is baked into the model's UVs."""
    if model.data.albedo_space == "uv":
        return texture_to_uint8(albedo, size)
    from mesh_avatar.morphable.uv_bake import bake_vertex_colors

    baked = bake_vertex_colors(
        model.data.uvs, model.data.face_uvs, model.data.faces, albedo.cpu().numpy(), size or 1024
    )
    return texture_to_uint8(torch.from_numpy(baked))


def build_avatar_mesh(
    model: MorphableModel,
    params: AvatarParams,
    texture_size: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> AvatarMesh:
    """Decode one avatar into an :class:`AvatarMesh`.

    The mesh's ``vertices`` carry identity only (neutral expression) and the avatar's expression
    becomes the morph-target weights, so exported files animate from neutral. Pose and lighting are
    not baked in (they belong to a rendered view, not to the asset).

    Args:
        model: the morphable model the params belong to.
        params: AvatarParams with batch size 1, validated by the caller.
        texture_size: side of the square texture in pixels; ``None`` keeps the model's resolution.
        metadata: extra JSON-serialisable facts to record (seed, ...).
    """
    if params.batch_size != 1:
        raise ParamsError(f"build_avatar_mesh takes one avatar, got a batch of {params.batch_size}")
    with torch.no_grad():
        params = params.to(model.mean_vertices.device)
        zero_expression = torch.zeros_like(params.expression)
        vertices = model.shape(params.identity, zero_expression)
        texture = avatar_texture(model, params, texture_size)
        # Normals of the avatar as shown (with its expression): what a static export displays.
        shown = vertices + (params.expression @ model.expression_directions).reshape_as(vertices)
        normals = model.vertex_normals(shown)[0]
        deltas = model.expression_deltas()
    data = model.data
    from mesh_avatar.rig import head_joints

    vertex_groups = {name: mask.copy() for name, mask in data.regions.items()}
    vertices_np = vertices[0].cpu().numpy().astype(np.float32)
    info: dict[str, Any] = {
        "generator": f"mesh-avatar {__version__}",
        "model": data.name,
        "model_license": data.license,
        "coefficients": {k: v[0].tolist() for k, v in params.to_numpy().items() if k != "detail"},
    }
    info.update(metadata or {})
    return AvatarMesh(
        vertices=vertices_np,
        faces=data.faces.astype(np.int32),
        uvs=data.uvs.astype(np.float32),
        face_uvs=data.face_uvs.astype(np.int32),
        normals=normals.cpu().numpy().astype(np.float32),
        texture=texture,
        morph_targets={
            name: deltas[k].cpu().numpy().astype(np.float32)
            for k, name in enumerate(data.expression_names)
        },
        morph_weights=params.expression[0].cpu().numpy().astype(np.float32),
        vertex_groups=vertex_groups,
        joints=head_joints(vertices_np, vertex_groups, data.faces, model.eyeball_masks),
        metadata=info,
        template_vertices=data.vertices.astype(np.float32, copy=False),
    )
