"""A tiny differentiable stand-in for the renderer (GAN loop and dataset tests without rendering).

Images are ``tanh`` of a fixed random linear map of decoded geometry, albedo and lighting, so every
coefficient group moves the pixels and gradients flow back to the coefficients.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mesh_avatar.params import AvatarParams


class ToyRender:
    """``render(model, params) -> (B, 3, R, R)`` in [-1, 1]."""

    def __init__(self, resolution: int, seed: int = 0) -> None:
        self.resolution = resolution
        self.seed = seed
        self.matrix: torch.Tensor | None = None

    def __call__(self, model, params: AvatarParams) -> torch.Tensor:
        decoded = model(params)
        geometry = decoded.posed_vertices[:, ::7].flatten(1) * 20.0
        albedo = F.adaptive_avg_pool2d(decoded.albedo.permute(0, 3, 1, 2), 2).flatten(1) * 3.0
        features = torch.cat([geometry, albedo, params.lighting.flatten(1) * 0.3], dim=1)
        if self.matrix is None:
            gen = torch.Generator().manual_seed(self.seed)
            r = self.resolution
            self.matrix = torch.randn(features.shape[1], 3 * r * r, generator=gen)
            self.matrix /= features.shape[1] ** 0.5
        out = torch.tanh(features @ self.matrix)
        return out.reshape(-1, 3, self.resolution, self.resolution)
