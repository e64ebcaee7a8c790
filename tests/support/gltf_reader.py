"""Read a GLB back with pygltflib (an independent reader) and decode accessors to numpy. For tests.

doc = read_glb(data)            # bytes or path
positions = accessor_array(doc, prim.attributes.POSITION)
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pygltflib

_DTYPES = {5120: "<i1", 5121: "<u1", 5122: "<i2", 5123: "<u2", 5125: "<u4", 5126: "<f4"}
_WIDTH = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def read_glb(source: bytes | str | os.PathLike[str]) -> pygltflib.GLTF2:
    if isinstance(source, bytes | bytearray):
        return pygltflib.GLTF2.load_from_bytes(bytes(source))
    return pygltflib.GLTF2().load(str(Path(source)))


def _view_bytes(doc: pygltflib.GLTF2, index: int) -> bytes:
    view = doc.bufferViews[index]
    blob = doc.binary_blob()
    return blob[view.byteOffset or 0 : (view.byteOffset or 0) + view.byteLength]


def accessor_array(doc: pygltflib.GLTF2, index: int) -> np.ndarray:
    """Accessor ``index`` as an (count, width) array (sparse accessors applied, not normalised)."""
    acc = doc.accessors[index]
    dtype = np.dtype(_DTYPES[acc.componentType])
    width = _WIDTH[acc.type]
    if acc.bufferView is None:
        out = np.zeros((acc.count, width), dtype)
    else:
        raw = _view_bytes(doc, acc.bufferView)
        start = acc.byteOffset or 0
        out = np.frombuffer(raw, dtype, acc.count * width, start).reshape(acc.count, width).copy()
    if acc.sparse is not None:
        sp = acc.sparse
        idx_dtype = np.dtype(_DTYPES[sp.indices.componentType])
        idx = np.frombuffer(_view_bytes(doc, sp.indices.bufferView), idx_dtype, sp.count)
        values = np.frombuffer(_view_bytes(doc, sp.values.bufferView), dtype, sp.count * width)
        out[idx.astype(np.int64)] = values.reshape(sp.count, width)
    return out
