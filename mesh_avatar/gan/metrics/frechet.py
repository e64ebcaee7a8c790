"""Frechet distance between two sets of vectors, each summarised by a Gaussian.

``FD = ||mu_a - mu_b||^2 + tr(C_a + C_b - 2 (C_a C_b)^(1/2))``.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg


def gaussian_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, D) samples -> mean (D,) and covariance (D, D) (unbiased, float64)."""
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need at least 2 samples of shape (N, D), got {x.shape}")
    return x.mean(0), np.atleast_2d(np.cov(x, rowvar=False))


def frechet_distance(
    mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray, cov_b: np.ndarray
) -> float:
    """Frechet distance between N(mu_a, cov_a) and N(mu_b, cov_b) (non-negative float)."""
    diff = mu_a - mu_b
    # A tiny ridge keeps sqrtm well defined when a set has constant columns (singular covariance).
    ridge = np.eye(cov_a.shape[0]) * 1e-9
    cov_a, cov_b = cov_a + ridge, cov_b + ridge
    covmean = np.real(scipy.linalg.sqrtm(cov_a @ cov_b))
    value = float(diff @ diff + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean))
    return max(value, 0.0)


def standardiser(
    reference: np.ndarray, floor: float | np.ndarray = 0.05
) -> tuple[np.ndarray, np.ndarray]:
    """Per-column centre and scale of ``reference`` (N, D); scales below ``floor`` are raised to it
    so constant columns do not blow up."""
    reference = np.asarray(reference, np.float64)
    return reference.mean(0), np.maximum(reference.std(0), floor)


def standardised_frechet(
    real: np.ndarray, fake: np.ndarray, floor: float | np.ndarray = 0.05
) -> float:
    """Frechet distance after z-scoring both sets with the real set's per-column statistics."""
    centre, scale = standardiser(real, floor)
    a = (np.asarray(real, np.float64) - centre) / scale
    b = (np.asarray(fake, np.float64) - centre) / scale
    return frechet_distance(*gaussian_stats(a), *gaussian_stats(b))
