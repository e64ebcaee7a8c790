"""Helpers shared by the readers of public 3DMMs (ICT-FaceKit, BFM, FLAME): winding, bases, checks."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from mesh_avatar.errors import ModelFileError

log = logging.getLogger(__name__)

#: Largest |cosine| between two unit basis rows that still counts as orthogonal.
ORTHOGONALITY_TOLERANCE = 1e-4


def outward_winding(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Return ``faces`` wound counter-clockwise seen from outside (flipped if they were not).

    "Outside" is away from the mesh centroid: the area-weighted sum of ``normal . (c_f - c)`` over
    faces (``c_f`` a face centroid, ``c`` the mesh centroid) must be positive. For a closed mesh this
    is three times its signed volume; for an open shell such as a face mask it measures whether the
    normals point away from the head's inside.

    Args:
        vertices: (V, 3) positions.
        faces: (F, 3) triangles.

    Returns:
        (F, 3) triangles, the input itself or with its last two columns swapped.
    """
    v = np.asarray(vertices, np.float64)
    tri = v[faces]
    area_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    spread = tri.mean(axis=1) - v[np.unique(faces)].mean(axis=0)
    if np.einsum("ij,ij->", area_normals, spread) >= 0.0:
        return faces
    log.info("triangles were wound clockwise seen from outside; flipped them")
    return faces[:, [0, 2, 1]].copy()


def facing_direction(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(3,) unit vector of the area-weighted mean face normal (zero for a closed surface)."""
    tri = np.asarray(vertices, np.float64)[faces]
    total = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]).sum(axis=0)
    norm = np.linalg.norm(total)
    return total / norm if norm > 0 else total


def orthonormal_basis(
    directions: np.ndarray, source: str | Path, what: str
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Unit directions and their standard deviations from std-scaled directions.

    A model stores component k as ``d_k = std_k * u_k``. If the ``u_k`` are orthonormal, they and
    ``std_k = |d_k|`` are returned unchanged in meaning: coefficient k keeps the model's meaning.
    If they are not (for example after dropping parts of a mesh), the directions are replaced by
    the principal axes of the same Gaussian: with ``D = U S Vt`` (rows ``d_k``), the basis is the
    rows of ``Vt`` and the standard deviations ``S``, so ``sum_k c_k d_k`` with ``c ~ N(0, I)`` and
    ``sum_j z_j S_j Vt_j`` with ``z ~ N(0, I)`` have the same distribution (``z = U^T c``).
    Each new axis gets the sign that makes its largest ``U`` entry positive.

    Args:
        directions: (K, N) scaled directions (N = 3V for shapes).
        source: file name for messages.
        what: "identity", "expression", ... for messages.

    Returns:
        basis (K, N) float32 with orthonormal rows, std (K,) float32, and whether it was rotated.

    Raises:
        ModelFileError: if a direction is zero or the directions are linearly dependent.
    """
    d = np.asarray(directions, np.float64)
    if d.shape[0] == 0:
        return d.astype(np.float32), np.zeros(0, np.float32), False
    norms = np.linalg.norm(d, axis=1)
    if not np.all(norms > 0):
        k = int(np.argmin(norms))
        raise ModelFileError(f"{source}: {what} component {k} is all zeros")
    unit = d / norms[:, None]
    gram = unit @ unit.T
    off = np.abs(gram - np.eye(len(gram))).max()
    if off <= ORTHOGONALITY_TOLERANCE:
        return unit.astype(np.float32), norms.astype(np.float32), False
    u, s, vt = np.linalg.svd(d, full_matrices=False)
    if s[-1] <= s[0] * 1e-6:
        raise ModelFileError(f"{source}: the {what} components are linearly dependent")
    signs = np.sign(u[np.argmax(np.abs(u), axis=0), np.arange(u.shape[1])])
    vt = vt * signs[:, None]
    log.info(
        "%s: %s components were not orthogonal (largest |cos| %.3g); replaced them by their "
        "principal axes (same distribution, rotated coefficients)",
        source,
        what,
        off,
    )
    return vt.astype(np.float32), s.astype(np.float32), True


def require(
    arrays: Mapping[str, np.ndarray], key: str, shape: Sequence[int | None], source: str | Path
) -> np.ndarray:
    """``arrays[key]`` as a numeric array of ``shape`` (``None`` = any size), or ModelFileError."""
    if key not in arrays:
        raise ModelFileError(f"{source}: missing {key!r} (not a complete model file?)")
    value = np.asarray(arrays[key])
    if value.dtype.kind not in "fiub":
        raise ModelFileError(f"{source}: {key!r} is not numeric (dtype {value.dtype})")
    if value.ndim != len(shape) or any(
        want is not None and got != want for got, want in zip(value.shape, shape, strict=True)
    ):
        want_txt = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
        raise ModelFileError(f"{source}: {key!r} has shape {value.shape}, expected {want_txt}")
    if value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ModelFileError(f"{source}: {key!r} contains NaN or infinite values")
    return value


def triangles_from(
    cells: np.ndarray, n_vertices: int, source: str | Path, what: str, one_based: bool
) -> np.ndarray:
    """(F, 3) int32 0-based triangles from 0- or 1-based indices, range-checked."""
    faces = np.asarray(cells).astype(np.int64) - (1 if one_based else 0)
    if faces.size == 0:
        raise ModelFileError(f"{source}: {what} holds no triangles")
    if faces.min() < 0 or faces.max() >= n_vertices:
        base = 1 if one_based else 0
        raise ModelFileError(
            f"{source}: {what} indexes vertices outside {base}..{n_vertices - 1 + base}"
        )
    return faces.astype(np.int32)
