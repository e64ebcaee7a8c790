"""Differentiable augmentation (DiffAugment, Zhao et al. 2020) for small datasets.

The same random transformations are applied to real and generated images before the
discriminator; every function is differentiable with respect to the images and takes an explicit
``torch.Generator`` so runs are reproducible. Images are (B, 3, H, W) in [-1, 1].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mesh_avatar.gan.config import AugmentConfig


def _rand(shape: tuple[int, ...], generator: torch.Generator, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(shape, generator=generator).to(device=like.device, dtype=like.dtype)


def augment_color(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random brightness (+-0.5), saturation (x0..2) and contrast (x0.5..1.5) per image."""
    b = images.shape[0]
    x = images + (_rand((b, 1, 1, 1), generator, images) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_rand((b, 1, 1, 1), generator, images) * 2.0) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand((b, 1, 1, 1), generator, images) + 0.5) + mean


def augment_translation(
    images: torch.Tensor, generator: torch.Generator, ratio: float = 0.125
) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size in x and y, filling with zeros (grey)."""
    b, _, h, w = images.shape
    sx, sy = int(w * ratio + 0.5), int(h * ratio + 0.5)
    if sx == 0 and sy == 0:
        return images
    tx = (_rand((b,), generator, images) * (2 * sx + 1)).long().clamp(max=2 * sx) - sx
    ty = (_rand((b,), generator, images) * (2 * sy + 1)).long().clamp(max=2 * sy) - sy
    padded = F.pad(images, (sx, sx, sy, sy))
    rows = torch.arange(h, device=images.device)[None, :] + (sy - ty)[:, None]  # (B, H)
    cols = torch.arange(w, device=images.device)[None, :] + (sx - tx)[:, None]  # (B, W)
    batch = torch.arange(b, device=images.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2)


def augment_cutout(
    images: torch.Tensor, generator: torch.Generator, ratio: float = 0.5
) -> torch.Tensor:
    """Zero a random square of side ``ratio`` of the image in each image."""
    b, _, h, w = images.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    if ch == 0 or cw == 0:
        return images
    cy = (_rand((b,), generator, images) * (h + 1 - ch % 2)).long()
    cx = (_rand((b,), generator, images) * (w + 1 - cw % 2)).long()
    ys = torch.arange(h, device=images.device)[None, :, None]
    xs = torch.arange(w, device=images.device)[None, None, :]
    inside = (
        (ys >= (cy - ch // 2)[:, None, None])
        & (ys < (cy - ch // 2 + ch)[:, None, None])
        & (xs >= (cx - cw // 2)[:, None, None])
        & (xs < (cx - cw // 2 + cw)[:, None, None])
    )
    return images * (~inside).unsqueeze(1).to(images.dtype)


def diff_augment(
    images: torch.Tensor, config: AugmentConfig, generator: torch.Generator
) -> torch.Tensor:
    """Apply ``config.policy`` in the order colour, translation, cutout."""
    x = images
    if "color" in config.policy:
        x = augment_color(x, generator)
    if "translation" in config.policy:
        x = augment_translation(x, generator, config.translation)
    if "cutout" in config.policy:
        x = augment_cutout(x, generator, config.cutout)
    return x
