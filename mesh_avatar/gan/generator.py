"""Generator: noise -> mapping MLP (+ a learned offset per latent mode) -> w -> named, bounded
coefficient heads -> AvatarParams.

========== ======================================================================================
head       output
========== ======================================================================================
identity   ``identity_bound * tanh(h / identity_bound)`` (std units; std 0.5 to 0.9 at init)
expression blendshape models: ``clamp(h, 0, 1)`` with a leaky gradient (:func:`leaky_clamp`),
           so a weight can be exactly 0 as most are in real faces; PCA models:
           ``pca_expression_bound * tanh(h / bound)``
albedo     ``albedo_bound * tanh(h / albedo_bound)``
pose       yaw/pitch/roll ``bound * tanh(h)`` (radians), translation ``bound * tanh(h)`` (metres)
lighting   white SH ``default ambient + lighting_bound * tanh(h)`` (9 coefficients) times a colour
           tint ``1 + light_tint_bound * tanh(h')`` per RGB channel
detail     optional (B, 3, r, r) UV residual ``detail_bound * tanh(h)``
========== ======================================================================================

Pose, lighting and detail heads start with small weights, so a new generator renders frontal,
evenly lit faces whose shape and albedo follow roughly the model's prior. Light is white with a
bounded tint rather than 27 free SH values: free colour per SH band let a generator trade albedo
for light colour (and saturate in purple and green light it could not leave again).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

from mesh_avatar.expressions import limit_mouth_close, mouth_close_columns
from mesh_avatar.gan.config import GeneratorConfig
from mesh_avatar.gan.layers import EqualLinear, leaky_relu
from mesh_avatar.params import (
    POSE_DIM,
    SH_BANDS,
    AvatarParams,
    CoefficientLayout,
    default_ambient_sh,
)


def normalize_z(z: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(B, Z) -> (B, Z) scaled to unit root-mean-square per sample (StyleGAN's pixel norm)."""
    return z * torch.rsqrt(z.square().mean(dim=1, keepdim=True) + eps)


def latent_mode(z: torch.Tensor, modes: int) -> torch.Tensor:
    """(B, Z) noise -> (B,) mode index in [0, modes): the position of the largest of the first
    ``modes`` coordinates. For Gaussian noise every mode is equally likely, and the mode stays a
    function of the one latent tensor (seeds, sampling and checkpoints need nothing new)."""
    return z[:, :modes].argmax(dim=1)


def leaky_clamp(h: torch.Tensor, leak: float) -> torch.Tensor:
    """``clamp(h, 0, 1)`` whose gradient is 1 inside and ``leak`` outside the interval.

    A sigmoid never reaches 0 (a blendshape population where most weights are exactly 0 is out of
    its reach) and its gradient vanishes where it nearly does; a plain clamp kills the gradient of
    every weight at 0, so a smile the generator never made could never be learned.
    """
    return h.clamp(0.0, 1.0) + leak * (h - h.detach())


def tinted_white_lighting(white: torch.Tensor, tint: torch.Tensor) -> torch.Tensor:
    """(B, 9) white SH and (B, 3) RGB gains -> (B, 27) flat SH lighting (band-major, RGB inner)."""
    return (white[:, :, None] * tint[:, None, :]).flatten(1)


class MappingNetwork(nn.Module):
    """(B, z_dim) noise -> (B, w_dim) latent; the last layer is linear so w is centred at init."""

    def __init__(self, z_dim: int, w_dim: int, layers: int) -> None:
        super().__init__()
        sizes = [z_dim] + [w_dim] * layers
        self.fcs = nn.ModuleList(EqualLinear(a, b) for a, b in pairwise(sizes))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = normalize_z(z)
        for index, fc in enumerate(self.fcs):
            x = fc(x)
            if index < len(self.fcs) - 1:
                x = leaky_relu(x)
        return x


class CoefficientGenerator(nn.Module):
    """Maps noise to :class:`AvatarParams` for one morphable model layout.

    Args:
        layout: the morphable model's coefficient layout.
        config: network sizes and output bounds.
        expression_kind: ``"blendshape"`` (weights clamped to [0, 1]) or ``"pca"`` (tanh, std units).
        expression_names: the blendshape names; with ARKit's ``mouthClose`` and ``jawOpen`` among
            them, ``mouthClose`` is kept at or below ``jawOpen``
            (see :func:`~mesh_avatar.expressions.limit_mouth_close`).
    """

    w_avg: torch.Tensor

    def __init__(
        self,
        layout: CoefficientLayout,
        config: GeneratorConfig | None = None,
        expression_kind: str = "blendshape",
        expression_names: Sequence[str] = (),
    ) -> None:
        super().__init__()
        config = config or GeneratorConfig()
        self.layout = layout
        self.config = config
        self.expression_kind = expression_kind
        c = config
        self.mapping = MappingNetwork(c.z_dim, c.w_dim, c.mapping_layers)
        self.identity_head = EqualLinear(c.w_dim, layout.n_identity)
        self.expression_head = EqualLinear(c.w_dim, layout.n_expression)
        self.albedo_head = EqualLinear(c.w_dim, layout.n_albedo)
        self.pose_head = EqualLinear(c.w_dim, POSE_DIM)
        self.lighting_head = EqualLinear(c.w_dim, SH_BANDS + 3)  # white SH, then RGB tint
        self.detail_head = (
            EqualLinear(c.w_dim, 3 * c.detail_resolution**2) if c.detail_resolution else None
        )
        with torch.no_grad():
            blend = expression_kind == "blendshape"
            self.expression_head.weight.mul_(c.expression_spread if blend else 0.5)
            self.pose_head.weight.mul_(0.05)
            self.lighting_head.weight.mul_(0.05)
            if self.detail_head is not None:
                self.detail_head.weight.mul_(0.01)
        self.mouth_close_jaw = (
            mouth_close_columns(expression_names) if expression_kind == "blendshape" else None
        )
        self.register_buffer("w_avg", torch.zeros(c.w_dim))
        self.mode_offsets = (
            nn.Parameter(c.latent_mode_scale * torch.randn(c.latent_modes, c.w_dim))
            if c.latent_modes
            else None
        )
        bounds = [c.yaw_bound, c.pitch_bound, c.roll_bound] + [c.translation_bound] * 3
        self.register_buffer("pose_bounds", torch.tensor(bounds), persistent=False)

    @property
    def z_dim(self) -> int:
        return self.config.z_dim

    def map(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """(B, z_dim) -> (B, w_dim) (plus the offset of the latent's mode, with ``latent_modes``),
        pulled towards the running mean ``w_avg`` by ``truncation``."""
        w = self.mapping(z)
        if self.mode_offsets is not None:
            w = w + self.mode_offsets[latent_mode(z, self.mode_offsets.shape[0])]
        if truncation != 1.0:
            w = self.w_avg + truncation * (w - self.w_avg)
        return w

    @torch.no_grad()
    def update_w_avg(self, w: torch.Tensor) -> None:
        """Track the running mean of w (call in training with the batch's w)."""
        self.w_avg.lerp_(w.detach().mean(0), 1.0 - self.config.w_avg_beta)

    def synthesize(self, w: torch.Tensor) -> AvatarParams:
        """(B, w_dim) -> AvatarParams with every group inside its bounds."""
        c = self.config
        identity = c.identity_bound * torch.tanh(self.identity_head(w) / c.identity_bound)
        h_exp = self.expression_head(w)
        if self.expression_kind == "blendshape":
            expression = leaky_clamp(h_exp, c.expression_leak)
            if self.mouth_close_jaw is not None:
                expression = limit_mouth_close(expression, *self.mouth_close_jaw)
        else:
            expression = c.pca_expression_bound * torch.tanh(h_exp / c.pca_expression_bound)
        albedo = c.albedo_bound * torch.tanh(self.albedo_head(w) / c.albedo_bound)
        pose = self.pose_bounds * torch.tanh(self.pose_head(w))
        light = torch.tanh(self.lighting_head(w))
        white = c.lighting_bound * light[:, :SH_BANDS]
        white = torch.cat([white[:, :1] + default_ambient_sh(), white[:, 1:]], dim=1)
        tint = 1.0 + c.light_tint_bound * light[:, SH_BANDS:]
        lighting = tinted_white_lighting(white, tint)
        flat = torch.cat([identity, expression, albedo, pose, lighting], dim=1)
        params = AvatarParams.from_flat(flat, self.layout)
        if self.detail_head is not None:
            r = c.detail_resolution
            detail = c.detail_bound * torch.tanh(self.detail_head(w)).reshape(-1, 3, r, r)
            params = params.with_fields(detail=detail)
        return params

    def forward(self, z: torch.Tensor, truncation: float = 1.0) -> AvatarParams:
        """(B, z_dim) noise -> AvatarParams (batch B)."""
        return self.synthesize(self.map(z, truncation))
