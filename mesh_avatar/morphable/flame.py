"""Reader for FLAME 2020 (``generic_model.pkl``), with ``FLAME_texture.npz`` and
``FLAME_masks.pkl`` beside it when present.

``generic_model.pkl`` is a Python 2 pickle (read with ``encoding="latin1"``) of a dict:

============== ================= ==================================================================
key            shape             meaning
============== ================= ==================================================================
v_template     (5023, 3)         mean head, **metres**, +Y up, face towards +Z
f              (9976, 3)         triangles, 0-based (uint32)
shapedirs      (5023, 3, 400)    first 300: identity, last 100: expression; each column is a PCA
                                 direction **already multiplied by its standard deviation**, so
                                 its norm is the standard deviation and coefficients are in std
posedirs, J_regressor, weights, kintree_table, J: the skinning rig (not used: poses are rigid here)
============== ================= ==================================================================

Several values are ``chumpy`` objects. chumpy is not needed: the reader uses a restricted unpickler
that allows only numpy arrays, plain containers and stand-ins for chumpy and scipy.sparse classes;
a chumpy ``Ch`` pickles its array in its ``x`` attribute, which the stand-in hands back.

``FLAME_texture.npz`` (the FLAME texture space): ``mean`` (512, 512, 3) and ``tex_dir``
(512, 512, 3, 200), 0..255 in **BGR** channel order (as DECA reads it), ``vt`` (T, 2) UVs and ``ft``
(9976, 3) UV triangles. Without it the head gets a cylindrical UV unwrap and a plain skin-coloured
per-vertex albedo with one skin-tone component. ``FLAME_masks.pkl`` (vertex index lists) gives the
regions. The 68 landmarks of FLAME are barycentric embeddings, not vertices: none are set.
"""

from __future__ import annotations

import codecs
import copyreg
import io
import logging
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from mesh_avatar.errors import ModelFileError
from mesh_avatar.morphable.data import MorphableModelData
from mesh_avatar.morphable.reader_common import (
    orthonormal_basis,
    outward_winding,
    require,
    triangles_from,
)
from mesh_avatar.morphable.uv_bake import cylindrical_uvs

log = logging.getLogger(__name__)

LICENSE = "FLAME: non-commercial scientific research only (MPI-IS FLAME licence)"
MODEL_FILE = "generic_model.pkl"
TEXTURE_FILE = "FLAME_texture.npz"
MASKS_FILE = "FLAME_masks.pkl"
N_SHAPE = 300
#: The texture components are kept at most at this resolution (block-averaged; saves memory).
MAX_BASIS_SIZE = 128
#: Plain albedo used without a texture space: skin colour and a light-to-dark direction (per std).
PLAIN_SKIN = np.array([0.66, 0.49, 0.40])
PLAIN_TONE = np.array([-0.11, -0.095, -0.08])
#: FLAME mask name -> region name (left/right re-checked by the side the mask lies on).
_MASK_REGIONS = {
    "face": "face",
    "scalp": "scalp",
    "lips": "lips",
    "neck": "neck",
    "left_ear": "ear",
    "right_ear": "ear",
    "left_eyeball": "eye",
    "right_eyeball": "eye",
}


class _ChumpyStandIn:
    """Stands in for a pickled chumpy object; its state holds the array as ``x``."""

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def array(self, what: str, source: Path) -> np.ndarray:
        state = getattr(self, "state", None)
        value = state.get("x") if isinstance(state, dict) else None
        if not isinstance(value, np.ndarray):
            raise ModelFileError(
                f"{source}: {what!r} is a chumpy expression, not a stored array; cannot read it "
                "without chumpy"
            )
        return value


class _Opaque:
    """Stands in for objects the reader does not use (scipy.sparse matrices of the rig)."""

    def __setstate__(self, state: Any) -> None:
        self.state = state


def _numpy_global(name: str) -> Any:
    try:
        from numpy._core import multiarray
    except ImportError:  # numpy < 2
        from numpy.core import multiarray  # type: ignore[no-redef]
    return getattr(multiarray, name)


_ALLOWED: dict[tuple[str, str], Any] = {
    ("copy_reg", "_reconstructor"): copyreg._reconstructor,
    ("copyreg", "_reconstructor"): copyreg._reconstructor,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
    ("__builtin__", "set"): set,
    ("builtins", "set"): set,
    ("__builtin__", "frozenset"): frozenset,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): codecs.encode,  # bytes in protocol-2 pickles written by Python 3
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}
_NUMPY_MODULES = ("numpy.core.multiarray", "numpy._core.multiarray")
_SPARSE_MODULES = ("scipy.sparse.csc", "scipy.sparse.csr", "scipy.sparse._csc", "scipy.sparse._csr")


class _Refused(pickle.UnpicklingError):
    """The pickle names a class or function the reader does not allow."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Builds numpy arrays, plain containers and stand-ins; refuses every other global."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module in _NUMPY_MODULES and name in ("_reconstruct", "scalar"):
            return _numpy_global(name)
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStandIn
        if module in _SPARSE_MODULES and name in ("csc_matrix", "csr_matrix"):
            return _Opaque
        raise _Refused(f"refusing to load {module}.{name}")


def load_pickle(path: Path) -> Any:
    """Unpickle a FLAME file safely (see :class:`_RestrictedUnpickler`)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except _Refused as exc:
        raise ModelFileError(f"{path}: not a FLAME pickle ({exc})") from None
    except (
        pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
        KeyError,
    ) as exc:  # fmt: skip
        raise ModelFileError(f"{path}: truncated or damaged pickle ({exc!r})") from None


def _as_array(value: Any, what: str, source: Path) -> np.ndarray:
    if isinstance(value, _ChumpyStandIn):
        return value.array(what, source)
    if isinstance(value, np.ndarray):
        return value
    raise ModelFileError(f"{source}: {what!r} is a {type(value).__name__}, not an array")


def find_model_file(path: Path) -> Path:
    path = Path(path).expanduser()
    if path.is_dir():
        path = path / MODEL_FILE
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file (expected FLAME's {MODEL_FILE})")
    return path


def read_flame(path: Path) -> MorphableModelData:
    """Read FLAME 2020 (see the module docstring); ``path`` is the ``.pkl`` or its folder.

    Raises:
        ModelFileError: missing, truncated or malformed files, naming the file and the problem.
    """
    path = find_model_file(path)
    model = load_pickle(path)
    if not isinstance(model, dict):
        raise ModelFileError(f"{path}: expected a pickled dict, got {type(model).__name__}")
    arrays = {
        key: _as_array(model[key], key, path)
        for key in ("v_template", "f", "shapedirs")
        if key in model
    }
    vertices = require(arrays, "v_template", (None, 3), path).astype(np.float64)
    v = len(vertices)
    faces = triangles_from(require(arrays, "f", (None, 3), path), v, path, "'f'", one_based=False)
    shapedirs = require(arrays, "shapedirs", (v, 3, None), path).astype(np.float64)
    n_shape = min(N_SHAPE, shapedirs.shape[2])
    # column k of the (3V, K) matrix is std_k * u_k
    directions = shapedirs.reshape(v * 3, -1).T
    identity_basis, identity_std, _ = orthonormal_basis(directions[:n_shape], path, "shape")
    expression_basis, expression_std, _ = orthonormal_basis(
        directions[n_shape:], path, "expression"
    )
    faces = outward_winding(vertices, faces)
    texture_file = path.parent / TEXTURE_FILE
    if texture_file.is_file():
        albedo = _read_texture(texture_file, len(faces))
        uvs, face_uvs = albedo.pop("uvs"), albedo.pop("face_uvs")
    else:
        log.info("%s: no %s beside it; plain skin-coloured albedo", path, TEXTURE_FILE)
        uvs, face_uvs = cylindrical_uvs(vertices, faces)
        albedo = _plain_albedo(v)
    masks_file = path.parent / MASKS_FILE
    regions = _read_masks(masks_file, vertices) if masks_file.is_file() else {}
    k_id, k_exp = len(identity_std), len(expression_std)
    return MorphableModelData(
        name="flame2020",
        license=LICENSE,
        vertices=vertices.astype(np.float32),
        faces=faces,
        uvs=uvs,
        face_uvs=face_uvs,
        identity_basis=identity_basis.reshape(k_id, v, 3),
        identity_std=identity_std,
        identity_names=[f"shape_{k:03d}" for k in range(k_id)],
        expression_basis=expression_basis.reshape(k_exp, v, 3),
        expression_std=expression_std,
        expression_names=[f"expression_{k:03d}" for k in range(k_exp)],
        expression_kind="pca",
        regions=regions,
        description=f"FLAME from {path}: {k_id} shape, {k_exp} expression components"
        + (f", texture space {TEXTURE_FILE}" if texture_file.is_file() else ", plain albedo"),
        **albedo,
    ).validate(str(path))


def _read_texture(path: Path, n_faces: int) -> dict[str, Any]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in ("mean", "tex_dir", "vt", "ft") if key in npz.files}
    except (OSError, ValueError, EOFError) as exc:
        raise ModelFileError(f"{path}: cannot read the texture space ({exc})") from None
    except Exception as exc:  # zipfile.BadZipFile and friends on truncated files
        raise ModelFileError(f"{path}: truncated or not an .npz file ({exc})") from None
    mean = require(arrays, "mean", (None, None, 3), path).astype(np.float64)
    h, w = mean.shape[:2]
    tex_dir = require(arrays, "tex_dir", (h, w, 3, None), path)
    uvs = require(arrays, "vt", (None, 2), path).astype(np.float64)
    ft = require(arrays, "ft", (n_faces, 3), path)
    one_based = ft.max() == len(uvs)  # DECA's copy is 0-based; an index equal to T is not
    face_uvs = triangles_from(ft, len(uvs), path, "'ft'", one_based=bool(one_based))
    k = tex_dir.shape[3]
    factor = 1
    while max(h, w) // factor > MAX_BASIS_SIZE and h % (2 * factor) == 0 and w % (2 * factor) == 0:
        factor *= 2
    hs, ws = h // factor, w // factor
    basis = np.empty((k, hs, ws, 3), np.float32)
    for start in range(0, k, 16):  # a few components at a time: the full array is large
        block = np.asarray(tex_dir[..., start : start + 16], np.float32)[:, :, ::-1]  # BGR->RGB
        block = block.reshape(hs, factor, ws, factor, 3, -1).mean(axis=(1, 3))
        basis[start : start + 16] = np.moveaxis(block, -1, 0) / 255.0
    std = np.linalg.norm(basis.reshape(k, -1), axis=1)
    if not np.all(std > 0):
        raise ModelFileError(f"{path}: a texture component is all zeros")
    return {
        "uvs": np.clip(uvs, 0.0, 1.0).astype(np.float32),
        "face_uvs": face_uvs,
        "albedo_space": "uv",
        "albedo_mean": (mean[:, :, ::-1] / 255.0).astype(np.float32),
        "albedo_basis": basis / std[:, None, None, None],
        "albedo_std": std.astype(np.float32),
        "albedo_names": [f"texture_{j:03d}" for j in range(k)],
    }


def _plain_albedo(n_vertices: int) -> dict[str, Any]:
    direction = np.tile(PLAIN_TONE, (n_vertices, 1))
    std = float(np.linalg.norm(direction))
    return {
        "albedo_space": "vertex",
        "albedo_mean": np.tile(PLAIN_SKIN, (n_vertices, 1)).astype(np.float32),
        "albedo_basis": (direction / std)[None].astype(np.float32),
        "albedo_std": np.array([std], np.float32),
        "albedo_names": ["skin_tone"],
    }


def _read_masks(path: Path, vertices: np.ndarray) -> dict[str, np.ndarray]:
    masks = load_pickle(path)
    if not isinstance(masks, dict):
        raise ModelFileError(f"{path}: expected a pickled dict of vertex index arrays")
    v = len(vertices)
    regions: dict[str, np.ndarray] = {}
    for key, region in _MASK_REGIONS.items():
        if key not in masks:
            continue
        ids = np.asarray(_as_array(masks[key], key, path))
        if (
            ids.ndim != 1
            or ids.dtype.kind not in "iu"
            or (ids.size and (ids.min() < 0 or ids.max() >= v))
        ):
            raise ModelFileError(f"{path}: {key!r} must be a list of vertex indices below {v}")
        mask = np.zeros(v, bool)
        mask[ids] = True
        if region in ("ear", "eye"):  # the side the vertices lie on decides left (+X) or right
            side = "left" if vertices[mask, 0].mean() > 0 else "right"
            region = f"{region}_{side}"
        regions[region] = regions.get(region, np.zeros(v, bool)) | mask
    return regions
