"""MorphableModel: a thin torch module around the decode functions, holding the model as buffers."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
from torch import nn

from mesh_avatar.morphable.data import MorphableModelData
from mesh_avatar.morphable.decode import (
    albedo_texture,
    albedo_texture_uint8,
    apply_pose,
    blend_linear,
    vertex_normals,
)
from mesh_avatar.params import AvatarParams, CoefficientLayout, ParamRanges


@dataclass(frozen=True)
class DecodedAvatars:
    """Output of :meth:`MorphableModel.forward`.

    Attributes:
        vertices: (B, V, 3) model-space positions (metres, before pose).
        posed_vertices: (B, V, 3) positions after the head pose in ``params.pose``.
        albedo: (B, H, W, 3) UV texture or (B, V, 3) vertex colours, sRGB, unclamped.
    """

    vertices: torch.Tensor
    posed_vertices: torch.Tensor
    albedo: torch.Tensor


class MorphableModel(nn.Module):
    """Batched, differentiable decode of :class:`AvatarParams` into shapes and albedo.

    The model arrays are buffers, so ``.to(device)`` and ``state_dict()`` carry them. Build it with
    :meth:`from_data` (or :func:`mesh_avatar.morphable.load_model`).
    """

    faces: torch.Tensor
    face_uvs: torch.Tensor
    uvs: torch.Tensor
    mean_vertices: torch.Tensor
    identity_directions: torch.Tensor
    expression_directions: torch.Tensor
    albedo_mean: torch.Tensor
    albedo_directions: torch.Tensor

    def __init__(self, data: MorphableModelData) -> None:
        super().__init__()
        data.validate(data.name)
        self.data = data
        v = data.n_vertices

        def scaled(basis: np.ndarray, std: np.ndarray) -> torch.Tensor:
            flat = basis.reshape(basis.shape[0], int(np.prod(basis.shape[1:])))  # K may be 0
            return torch.from_numpy(flat * std[:, None]).float()

        self.register_buffer("faces", torch.from_numpy(data.faces.astype(np.int64)))
        self.register_buffer("face_uvs", torch.from_numpy(data.face_uvs.astype(np.int64)))
        self.register_buffer("uvs", torch.from_numpy(data.uvs).float())
        self.register_buffer(
            "mean_vertices", torch.from_numpy(data.vertices.reshape(v * 3)).float()
        )
        self.register_buffer("identity_directions", scaled(data.identity_basis, data.identity_std))
        self.register_buffer(
            "expression_directions", scaled(data.expression_basis, data.expression_std)
        )
        self.register_buffer("albedo_mean", torch.from_numpy(data.albedo_mean).float())
        albedo_dirs = data.albedo_basis * data.albedo_std.reshape(
            -1, *[1] * (data.albedo_basis.ndim - 1)
        )
        self.register_buffer("albedo_directions", torch.from_numpy(albedo_dirs).float())
        if data.albedo_space == "uv":  # for albedo_uint8; derived, not saved
            self.register_buffer(
                "albedo_mean_255", self.albedo_mean * 255.0 + 0.5, persistent=False
            )

    @classmethod
    def from_data(cls, data: MorphableModelData) -> MorphableModel:
        return cls(data)

    # ------------------------------------------------------------------------------ properties
    @property
    def name(self) -> str:
        return self.data.name

    @cached_property
    def eyeball_masks(self) -> dict[str, np.ndarray]:
        """``eye_left``/``eye_right`` -> (V,) bool: the eyeball meshes (fixed by the topology)."""
        from mesh_avatar.rig import eyeball_masks

        return eyeball_masks(self.data.n_vertices, self.data.faces, self.data.regions)

    @property
    def layout(self) -> CoefficientLayout:
        return self.data.layout

    @property
    def n_vertices(self) -> int:
        return self.data.n_vertices

    @property
    def expression_names(self) -> list[str]:
        return list(self.data.expression_names)

    @property
    def param_ranges(self) -> ParamRanges:
        """Ranges used to validate user-supplied params for this model."""
        if self.data.expression_kind == "blendshape":
            return ParamRanges(expression=(-0.5, 1.5))
        return ParamRanges(expression=(-5.0, 5.0))

    # ------------------------------------------------------------------------------ decode
    def shape(self, identity: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
        """(B, K_id), (B, K_exp) -> (B, V, 3) model-space vertices."""
        flat = blend_linear(self.mean_vertices, self.identity_directions, identity)
        if self.expression_directions.shape[0]:
            flat = flat + expression @ self.expression_directions
        return flat.reshape(-1, self.n_vertices, 3)

    def albedo(self, coeffs: torch.Tensor, detail: torch.Tensor | None = None) -> torch.Tensor:
        """(B, K_alb) [+ (B, 3, h, w) UV detail] -> (B, H, W, 3) texture or (B, V, 3) colours."""
        if self.data.albedo_space == "vertex":
            flat = blend_linear(
                self.albedo_mean.reshape(-1),
                self.albedo_directions.reshape(self.albedo_directions.shape[0], -1),
                coeffs,
            )
            return flat.reshape(-1, self.n_vertices, 3)
        texture = albedo_texture(self.albedo_mean, self.albedo_directions, coeffs)
        if detail is not None:
            height, width = texture.shape[1:3]
            if detail.shape[-2:] != (height, width):
                detail = nn.functional.interpolate(
                    detail, size=(height, width), mode="bilinear", align_corners=False
                )
            texture = texture + detail.permute(0, 2, 3, 1)
        return texture

    def albedo_uint8(self, coeffs: torch.Tensor) -> torch.Tensor:
        """(K_alb,) coefficients of one UV-albedo avatar -> (H, W, 3) uint8 texture, no detail."""
        return albedo_texture_uint8(self.albedo_mean_255, self.albedo_directions, coeffs)

    def forward(self, params: AvatarParams) -> DecodedAvatars:
        vertices = self.shape(params.identity, params.expression)
        return DecodedAvatars(
            vertices=vertices,
            posed_vertices=apply_pose(vertices, params.pose),
            albedo=self.albedo(params.albedo, params.detail),
        )

    def vertex_normals(self, vertices: torch.Tensor) -> torch.Tensor:
        """(B, V, 3) -> (B, V, 3) unit normals on this model's topology."""
        return vertex_normals(vertices, self.faces)

    def expression_deltas(self) -> torch.Tensor:
        """(K_exp, V, 3) per-unit-weight vertex offsets of each expression."""
        return self.expression_directions.reshape(-1, self.n_vertices, 3)
