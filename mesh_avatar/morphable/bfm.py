"""Readers for the Basel Face Model: BFM 2009 (``01_MorphableModel.mat``) and BFM 2017 (``.h5``).

BFM 2009 (MATLAB v5 file, read with ``scipy.io.loadmat``):

=========== ============ =========================================================================
key         shape        meaning
=========== ============ =========================================================================
shapeMU     (3V, 1)      mean shape, x1 y1 z1 x2 ..., **micrometres**
shapePC     (3V, K)      orthonormal shape directions (columns)
shapeEV     (K, 1)       **standard deviations** of the shape coefficients (micrometres)
texMU       (3V, 1)      mean per-vertex colour, r1 g1 b1 ..., 0..255
texPC       (3V, K)      orthonormal colour directions
texEV       (K, 1)       standard deviations of the colour coefficients (0..255 units)
tl          (F, 3)       triangles, **1-based**, wound clockwise seen from outside
=========== ============ =========================================================================

BFM 2017 / 2019 (HDF5, statismo layout; ``model2017-1_bfm_nomouth.h5``, ``..._face12_nomouth.h5``):

============================== ======== ===========================================================
dataset                        shape    meaning
============================== ======== ===========================================================
shape/model/mean               (3V,)    mean shape, **millimetres**
shape/model/pcaBasis           (3V, K)  orthonormal directions
shape/model/pcaVariance        (K,)     **variances** (mm^2)
shape/representer/cells        (3, F)   triangles, **0-based**, one triangle per column
color/model/mean|pcaBasis|...           per-vertex colour in [0, 1], same layout
expression/model/mean|...               expression PCA; its mean is added to the shape mean
============================== ======== ===========================================================

Both have +Y up and the face towards +Z. The reader converts to metres, makes triangles
counter-clockwise seen from outside (checked geometrically, whatever the file's convention),
keeps colours as per-vertex albedo (``albedo_space="vertex"``) and adds a cylindrical UV unwrap so
avatars can be exported with a baked texture. Neither file has 68 iBUG landmarks; ``face`` is the
only region (the whole mask). BFM 2009 has no expression model.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mesh_avatar.errors import ModelFileError
from mesh_avatar.morphable.data import MorphableModelData
from mesh_avatar.morphable.reader_common import (
    facing_direction,
    orthonormal_basis,
    outward_winding,
    require,
    triangles_from,
)
from mesh_avatar.morphable.uv_bake import cylindrical_uvs

if TYPE_CHECKING:
    import h5py

log = logging.getLogger(__name__)

LICENSE = "Basel Face Model: non-commercial research use only (University of Basel licence)"
MICROMETRE = 1e-6
MILLIMETRE = 1e-3
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_BFM2009_KEYS = ("shapeMU", "shapePC", "shapeEV", "texMU", "texPC", "texEV", "tl")


def read_bfm(path: Path) -> MorphableModelData:
    """Read a BFM 2009 ``.mat`` or BFM 2017/2019 ``.h5`` file (told apart by content).

    Raises:
        ModelFileError: missing, truncated or malformed file, naming the file and the problem.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file (expected 01_MorphableModel.mat or a BFM .h5)")
    with path.open("rb") as stream:
        head = stream.read(128)
    if head.startswith(_HDF5_SIGNATURE):
        return read_bfm2017(path)
    if head.startswith(b"MATLAB"):
        return read_bfm2009(path)
    raise ModelFileError(f"{path}: neither a MATLAB .mat file nor an HDF5 file (not a BFM model)")


def read_bfm2009(path: Path) -> MorphableModelData:
    """BFM 2009 ``01_MorphableModel.mat`` (see the module docstring)."""
    arrays = _load_mat(path)
    mean = require(arrays, "shapeMU", (None, 1), path).astype(np.float64)
    if mean.shape[0] % 3:
        raise ModelFileError(f"{path}: 'shapeMU' length {mean.shape[0]} is not a multiple of 3")
    n3 = mean.shape[0]
    k = require(arrays, "shapePC", (n3, None), path).shape[1]
    shape_pc = require(arrays, "shapePC", (n3, k), path)
    shape_ev = require(arrays, "shapeEV", (k, 1), path)
    tex_mu = require(arrays, "texMU", (n3, 1), path)
    k_tex = require(arrays, "texPC", (n3, None), path).shape[1]
    tex_pc = require(arrays, "texPC", (n3, k_tex), path)
    tex_ev = require(arrays, "texEV", (k_tex, 1), path)
    cells = require(arrays, "tl", (None, 3), path)
    v = n3 // 3
    faces = triangles_from(cells, v, path, "'tl'", one_based=True)
    # direction k = std_k * unit column k (micrometres -> metres)
    shape_dirs = (shape_pc * shape_ev[:, 0]).T * MICROMETRE
    colour_dirs = (tex_pc * tex_ev[:, 0]).T / 255.0
    return _assemble(
        path,
        name="bfm2009",
        vertices=mean.reshape(v, 3) * MICROMETRE,
        faces=faces,
        shape_dirs=shape_dirs,
        expression_dirs=np.zeros((0, n3)),
        colour_mean=tex_mu.reshape(v, 3) / 255.0,
        colour_dirs=colour_dirs,
    )


def read_bfm2017(path: Path) -> MorphableModelData:
    """BFM 2017 / 2019 statismo ``.h5`` (see the module docstring)."""
    import h5py

    try:
        with h5py.File(path, "r") as file:
            if "shape" in file and "model" in file["shape"]:
                return _read_statismo(path, file)
            raise ModelFileError(
                f"{path}: HDF5 file without 'shape/model' (not a BFM 2017/2019 model)"
            )
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read as HDF5 (truncated or damaged: {exc})") from None


# ---------------------------------------------------------------------------------- internals
def _load_mat(path: Path) -> dict[str, np.ndarray]:
    import scipy.io

    try:
        return scipy.io.loadmat(str(path), variable_names=list(_BFM2009_KEYS))
    except NotImplementedError:  # MATLAB v7.3 (HDF5 underneath): not how BFM 2009 ships
        raise ModelFileError(
            f"{path}: a MATLAB v7.3 file; use the original BFM 2009 file or re-save it with -v7"
        ) from None
    except Exception as exc:  # scipy raises many types (ValueError, OSError, zlib.error, ...)
        raise ModelFileError(f"{path}: cannot read the MATLAB file ({exc})") from None


def _dataset(file: h5py.File, key: str, path: Path) -> np.ndarray:
    if key not in file:
        raise ModelFileError(f"{path}: missing {key!r} (not a complete BFM 2017 model)")
    try:
        return np.asarray(file[key][()])
    except (OSError, KeyError, ValueError) as exc:
        raise ModelFileError(f"{path}: cannot read {key!r} (truncated? {exc})") from None


def _pca_block(
    file: h5py.File, group: str, n3: int | None, path: Path
) -> tuple[np.ndarray, np.ndarray]:
    """(mean (3V,), directions (K, 3V) = std-scaled basis columns) of one statismo model group."""
    arrays = {
        name: _dataset(file, f"{group}/model/{name}", path)
        for name in ("mean", "pcaBasis", "pcaVariance")
    }
    arrays = {f"{group}/model/{name}": value for name, value in arrays.items()}
    mean = require(arrays, f"{group}/model/mean", (n3,), path).astype(np.float64)
    n3 = mean.shape[0]
    basis = require(arrays, f"{group}/model/pcaBasis", (n3, None), path)
    variance = require(arrays, f"{group}/model/pcaVariance", (basis.shape[1],), path)
    if (variance < 0).any():
        raise ModelFileError(f"{path}: '{group}/model/pcaVariance' has negative variances")
    return mean, (basis * np.sqrt(variance)).T


def _read_statismo(path: Path, file: h5py.File) -> MorphableModelData:
    shape_mean, shape_dirs = _pca_block(file, "shape", None, path)
    n3 = shape_mean.shape[0]
    if n3 % 3:
        raise ModelFileError(f"{path}: 'shape/model/mean' length {n3} is not a multiple of 3")
    v = n3 // 3
    cells = require(
        {"cells": _dataset(file, "shape/representer/cells", path)}, "cells", (3, None), path
    )
    faces = triangles_from(cells.T, v, path, "'shape/representer/cells'", one_based=False)
    colour_mean, colour_dirs = _pca_block(file, "color", n3, path)
    if "expression" in file:
        expression_mean, expression_dirs = _pca_block(file, "expression", n3, path)
    else:
        expression_mean, expression_dirs = np.zeros(n3), np.zeros((0, n3))
    scale = 255.0 if colour_mean.max() > 1.5 else 1.0  # [0, 1] in the public files
    return _assemble(
        path,
        name="bfm2017",
        vertices=(shape_mean + expression_mean).reshape(v, 3) * MILLIMETRE,
        faces=faces,
        shape_dirs=shape_dirs * MILLIMETRE,
        expression_dirs=expression_dirs * MILLIMETRE,
        colour_mean=colour_mean.reshape(v, 3) / scale,
        colour_dirs=colour_dirs / scale,
    )


def _assemble(
    path: Path,
    *,
    name: str,
    vertices: np.ndarray,
    faces: np.ndarray,
    shape_dirs: np.ndarray,
    expression_dirs: np.ndarray,
    colour_mean: np.ndarray,
    colour_dirs: np.ndarray,
) -> MorphableModelData:
    v = len(vertices)
    faces = outward_winding(vertices, faces)
    facing = facing_direction(vertices, faces)
    if facing[2] < 0.5:
        log.warning(
            "%s: the face does not look down +Z (mean normal %s); avatars may be rotated",
            path,
            np.round(facing, 2),
        )
    identity_basis, identity_std, _ = orthonormal_basis(shape_dirs, path, "shape")
    expression_basis, expression_std, _ = orthonormal_basis(expression_dirs, path, "expression")
    colour_std = np.linalg.norm(colour_dirs, axis=1)
    if not np.all(colour_std > 0):
        raise ModelFileError(f"{path}: a colour component is all zeros")
    uvs, face_uvs = cylindrical_uvs(vertices, faces)
    k_id, k_exp, k_alb = len(identity_std), len(expression_std), len(colour_std)
    return MorphableModelData(
        name=name,
        license=LICENSE,
        vertices=vertices.astype(np.float32),
        faces=faces.astype(np.int32),
        uvs=uvs,
        face_uvs=face_uvs,
        identity_basis=identity_basis.reshape(k_id, v, 3),
        identity_std=identity_std,
        identity_names=[f"shape_{k:03d}" for k in range(k_id)],
        expression_basis=expression_basis.reshape(k_exp, v, 3),
        expression_std=expression_std,
        expression_names=[f"expression_{k:03d}" for k in range(k_exp)],
        expression_kind="pca",
        albedo_space="vertex",
        albedo_mean=colour_mean.astype(np.float32),
        albedo_basis=(colour_dirs / colour_std[:, None]).reshape(k_alb, v, 3).astype(np.float32),
        albedo_std=colour_std.astype(np.float32),
        albedo_names=[f"colour_{k:03d}" for k in range(k_alb)],
        regions={"face": np.ones(v, bool)},
        description=f"{name} from {path}: {k_id} shape, {k_exp} expression, {k_alb} colour "
        "components; cylindrical UVs",
    ).validate(str(path))
