"""Per-topology precomputation shared by every avatar of a model, and a small cache for it.

An :class:`~mesh_avatar.mesh.AvatarMesh` indexes positions and UVs separately (OBJ style). glTF
needs one index per vertex, so a vertex on a UV seam is split into one glTF vertex per distinct
(position, uv) corner. That split, the index buffer and the UV buffer depend only on the model's
topology: :class:`SplitTopology` computes them once and :func:`split_topology` caches them by a
digest of the arrays (a memo of a pure function: results never depend on what was cached before).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

T = TypeVar("T")

UNSIGNED_SHORT_LIMIT = 65535  # glTF reserves the largest value of an index type for restarts


class MemoCache(Generic[T]):
    """A small least-recently-used map from a hashable key to a computed value."""

    def __init__(self, maxsize: int = 8) -> None:
        self.maxsize = maxsize
        self._items: OrderedDict[Hashable, T] = OrderedDict()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        if key in self._items:
            self._items.move_to_end(key)
            return self._items[key]
        value = compute()
        self._items[key] = value
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)
        return value

    def put(self, key: Hashable, value: T) -> T:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.maxsize:
            self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        self._items.clear()


def array_digest(*arrays: Any) -> str:
    """A content digest of numpy arrays (dtype, shape and bytes)."""
    h = hashlib.blake2b(digest_size=16)
    for array in arrays:
        a = np.ascontiguousarray(array)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class SplitTopology:
    """glTF vertices of a mesh: one per distinct (vertex, uv) face corner.

    Attributes:
        key: digest of the topology arrays it was built from.
        vertex: (N,) int64 source vertex of each glTF vertex (sorted, so seams stay together).
        uv: (N,) int64 source uv of each glTF vertex.
        indices: (F * 3,) uint16 or uint32 triangle indices into the N glTF vertices.
        texcoords: (N, 2) float32 UVs in glTF convention (origin top-left: v flipped).
    """

    key: str
    vertex: np.ndarray
    uv: np.ndarray
    indices: np.ndarray
    texcoords: np.ndarray

    @property
    def n_vertices(self) -> int:
        return len(self.vertex)

    @classmethod
    def build(
        cls,
        n_vertices: int,
        faces: np.ndarray,
        uvs: np.ndarray,
        face_uvs: np.ndarray,
        key: str = "",
    ) -> SplitTopology:
        """Split (V positions, T uvs, faces, face_uvs) into glTF vertices."""
        corners = faces.astype(np.int64).ravel() * len(uvs) + face_uvs.astype(np.int64).ravel()
        unique, inverse = np.unique(corners, return_inverse=True)
        vertex, uv = np.divmod(unique, len(uvs))
        index_type = np.uint16 if len(unique) < UNSIGNED_SHORT_LIMIT else np.uint32
        texcoords = uvs[uv].astype(np.float32)
        texcoords[:, 1] = 1.0 - texcoords[:, 1]
        return cls(key, vertex, uv, inverse.astype(index_type), texcoords)


_SPLITS: MemoCache[SplitTopology] = MemoCache(maxsize=8)


def split_topology(
    n_vertices: int, faces: np.ndarray, uvs: np.ndarray, face_uvs: np.ndarray
) -> SplitTopology:
    """:meth:`SplitTopology.build`, cached by the arrays' content."""
    key = array_digest(np.int64(n_vertices), faces, uvs, face_uvs)
    return _SPLITS.get(key, lambda: SplitTopology.build(n_vertices, faces, uvs, face_uvs, key))
