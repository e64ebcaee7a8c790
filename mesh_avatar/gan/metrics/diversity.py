"""Image-space diversity and a mode-collapse check.

Diversity is the mean pairwise root-mean-square distance between images (downsampled to 32 px to
look at faces, not pixel noise). The generator's diversity is compared with the real images':
a ratio far below 1, or many near-duplicate pairs, means mode collapse.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def pairwise_rms(images: torch.Tensor, size: int = 32) -> torch.Tensor:
    """(N, 3, H, W) in [-1, 1] -> (N, N) RMS distances in [0, 1] units after resizing to ``size``."""
    x = images.float()
    if x.shape[-1] != size:
        x = F.interpolate(x, size=(size, size), mode="area")
    flat = x.flatten(1) * 0.5  # [-1, 1] -> unit range
    return torch.cdist(flat, flat) / flat.shape[1] ** 0.5


def image_diversity(images: torch.Tensor, size: int = 32) -> float:
    """Mean pairwise RMS distance between distinct images (N >= 2)."""
    n = images.shape[0]
    if n < 2:
        raise ValueError("diversity needs at least two images")
    d = pairwise_rms(images, size)
    return float(d.sum() / (n * (n - 1)))


def mode_collapse_check(
    fake: torch.Tensor,
    real: torch.Tensor,
    size: int = 32,
    ratio_threshold: float = 0.5,
) -> dict[str, float | bool]:
    """Compare diversity of generated and real images.

    A generated pair counts as a near duplicate when it is closer than the closest 1% of real
    pairs. ``collapsed`` is true when the diversity ratio falls below ``ratio_threshold`` or more
    than 10% of the generated pairs are near duplicates.
    """
    d_real = pairwise_rms(real, size)
    d_fake = pairwise_rms(fake, size)
    off_real = d_real[~torch.eye(len(d_real), dtype=torch.bool)]
    off_fake = d_fake[~torch.eye(len(d_fake), dtype=torch.bool)]
    threshold = float(torch.quantile(off_real, 0.01))
    duplicates = float((off_fake < threshold).float().mean())
    ratio = float(off_fake.mean() / off_real.mean().clamp_min(1e-12))
    return {
        "diversity_generated": float(off_fake.mean()),
        "diversity_real": float(off_real.mean()),
        "diversity_ratio": ratio,
        "near_duplicate_share": duplicates,
        "near_duplicate_threshold": threshold,
        "collapsed": bool(ratio < ratio_threshold or duplicates > 0.10),
    }
