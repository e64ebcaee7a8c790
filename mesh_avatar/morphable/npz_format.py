"""The project's own morphable-model file: a deterministic ``.npz`` archive.

Entries (all plain arrays, loaded with ``allow_pickle=False``):

- ``meta``: uint8 bytes of a UTF-8 JSON object with ``format`` (``"mesh-avatar-3dmm"``),
  ``version`` (1), ``name``, ``license``, ``description``, ``expression_kind``, ``albedo_space``,
  ``identity_names``, ``expression_names``, ``albedo_names`` and ``regions`` (list of names);
- the arrays of :class:`MorphableModelData` under their attribute names (float arrays may be
  stored as float16 to keep the file small; they are widened to float32 on load);
- ``region_<name>``: one bool mask per region.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from mesh_avatar.errors import ModelFileError
from mesh_avatar.io import atomic_write_bytes
from mesh_avatar.morphable.data import MorphableModelData
from mesh_avatar.npz import npz_bytes

FORMAT_NAME = "mesh-avatar-3dmm"
FORMAT_VERSION = 1

_FLOAT_ARRAYS = (
    "vertices", "uvs", "identity_basis", "identity_std", "expression_basis", "expression_std",
    "albedo_mean", "albedo_basis", "albedo_std",
)  # fmt: skip
_INT_ARRAYS = ("faces", "face_uvs", "landmarks")


def model_to_bytes(data: MorphableModelData, float16: tuple[str, ...] = ()) -> bytes:
    """Serialise a model; the float arrays named in ``float16`` are stored at half precision."""
    data.validate("model to write")
    meta = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "name": data.name,
        "license": data.license,
        "description": data.description,
        "expression_kind": data.expression_kind,
        "albedo_space": data.albedo_space,
        "identity_names": list(data.identity_names),
        "expression_names": list(data.expression_names),
        "albedo_names": list(data.albedo_names),
        "regions": sorted(data.regions),
    }
    arrays: dict[str, np.ndarray] = {
        "meta": np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    }
    for key in _FLOAT_ARRAYS:
        dtype = np.float16 if key in float16 else np.float32
        arrays[key] = np.asarray(getattr(data, key), dtype=dtype)
    for key in _INT_ARRAYS:
        arrays[key] = np.asarray(getattr(data, key), dtype=np.int32)
    for region in sorted(data.regions):
        arrays[f"region_{region}"] = np.asarray(data.regions[region], dtype=np.bool_)
    return npz_bytes(arrays)


def save_model(
    data: MorphableModelData, path: str | os.PathLike[str], **kwargs: tuple[str, ...]
) -> Path:
    """Write a model file atomically (see :func:`model_to_bytes` for options)."""
    return atomic_write_bytes(path, model_to_bytes(data, **kwargs))


def load_model_npz(path: str | os.PathLike[str]) -> MorphableModelData:
    """Read and validate a model file.

    Raises:
        ModelFileError: the file is missing, not an archive, truncated, of another format or
            version, or its arrays are inconsistent. The message names the file.
    """
    source = Path(path)
    if not source.is_file():
        raise ModelFileError(f"model file not found: {source}")
    try:
        with np.load(source, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (zipfile.BadZipFile, EOFError) as exc:
        raise ModelFileError(f"{source}: not a complete .npz archive (truncated?): {exc}") from None
    except (OSError, ValueError, zipfile.LargeZipFile) as exc:
        raise ModelFileError(f"{source}: cannot read model archive: {exc}") from None
    if "meta" not in arrays:
        raise ModelFileError(f"{source}: no 'meta' entry; not a {FORMAT_NAME} file")
    try:
        meta = json.loads(arrays.pop("meta").tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{source}: 'meta' entry is not valid JSON ({exc})") from None
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(
            f"{source}: format is {meta.get('format')!r}, expected {FORMAT_NAME!r}"
        )
    if meta.get("version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{source}: format version {meta.get('version')!r} is not supported "
            f"(this mesh-avatar reads version {FORMAT_VERSION})"
        )
    missing = [k for k in (*_FLOAT_ARRAYS, *_INT_ARRAYS) if k not in arrays]
    missing += [f"region_{r}" for r in meta.get("regions", []) if f"region_{r}" not in arrays]
    if missing:
        raise ModelFileError(f"{source}: missing array(s) {', '.join(missing)}")
    try:
        data = MorphableModelData(
            name=str(meta["name"]),
            license=str(meta["license"]),
            description=str(meta.get("description", "")),
            expression_kind=meta["expression_kind"],
            albedo_space=meta["albedo_space"],
            identity_names=[str(n) for n in meta["identity_names"]],
            expression_names=[str(n) for n in meta["expression_names"]],
            albedo_names=[str(n) for n in meta["albedo_names"]],
            regions={r: arrays[f"region_{r}"].astype(np.bool_) for r in meta.get("regions", [])},
            **{k: arrays[k].astype(np.float32) for k in _FLOAT_ARRAYS},
            **{k: arrays[k].astype(np.int32) for k in _INT_ARRAYS},
        )
    except KeyError as exc:
        raise ModelFileError(f"{source}: 'meta' lacks the field {exc}") from None
    return data.validate(str(source))
