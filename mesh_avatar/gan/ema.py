"""Exponential moving average of the generator's weights (evaluated and sampled instead of G)."""

from __future__ import annotations

import torch
from torch import nn


def ema_beta(batch: int, images_seen: int, halflife_images: float, rampup: float) -> float:
    """Decay per step for a half-life in images; with ``rampup > 0`` the half-life is at most
    ``rampup * images_seen`` early in training (StyleGAN2-ADA), so the EMA follows G quickly."""
    halflife = float(halflife_images)
    if rampup > 0:
        halflife = min(halflife, images_seen * rampup)
    if halflife <= 0:
        return 0.0
    return 0.5 ** (batch / halflife)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, beta: float) -> None:
    """``ema = beta * ema + (1 - beta) * model`` for parameters; buffers are copied."""
    for p_ema, p in zip(ema.parameters(), model.parameters(), strict=True):
        p_ema.lerp_(p.detach(), 1.0 - beta)
    for b_ema, b in zip(ema.buffers(), model.buffers(), strict=True):
        b_ema.copy_(b)
