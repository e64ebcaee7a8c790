"""Improved precision and recall (Kynkaanniemi et al. 2019) with k-NN manifolds.

Each set's manifold is the union of balls around its points with the radius to the point's k-th
nearest neighbour in the same set. Precision: share of generated points inside the real manifold;
recall: share of real points inside the generated manifold.
"""

from __future__ import annotations

import numpy as np
import torch


def kth_neighbour_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """(N, D) -> (N,) distance from each point to its k-th nearest other point."""
    d = torch.cdist(x, x)
    return d.kthvalue(k + 1, dim=1).values  # +1: the point itself is at distance 0


def manifold_coverage(
    points: torch.Tensor, support: torch.Tensor, radii: torch.Tensor, chunk: int = 1024
) -> float:
    """Share of ``points`` (N, D) within ``radii`` (M,) of at least one ``support`` point (M, D)."""
    inside = 0
    for start in range(0, points.shape[0], chunk):
        d = torch.cdist(points[start : start + chunk], support)
        inside += int((d <= radii[None]).any(dim=1).sum())
    return inside / points.shape[0]


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> dict[str, float]:
    """{"precision", "recall"} of ``fake`` (M, D) against ``real`` (N, D), k nearest neighbours."""
    a = torch.as_tensor(np.asarray(real), dtype=torch.float64)
    b = torch.as_tensor(np.asarray(fake), dtype=torch.float64)
    if min(a.shape[0], b.shape[0]) <= k:
        raise ValueError(f"need more than k={k} samples in each set")
    precision = manifold_coverage(b, a, kth_neighbour_radii(a, k))
    recall = manifold_coverage(a, b, kth_neighbour_radii(b, k))
    return {"precision": precision, "recall": recall}
