"""Levels of detail: decimate a model's template once, then map every avatar through it by index.

The decimation is a sequence of half-edge collapses (a vertex ``u`` merges into a neighbour ``v``
that stays where it is), ordered by a quadric error (Garland-Heckbert) plus a deformation term
that keeps vertices which move differently under the expressions. Kept vertices are therefore a
subset of the original vertices, so identity shapes, morph targets, normals and skin weights of
any avatar map through by index. Boundary vertices, UV-seam vertices and non-manifold vertices
are never removed, so seams, the neck cut and holes keep their exact outline; collapses that
would flip a triangle (in 3D or in UV space) or break the manifold (link condition) are skipped.

One pass records every requested level (for example 50% and 20% of the triangles), and the result
is cached per template (a memo of a pure function).
"""

from __future__ import annotations

import heapq
import logging
from dataclasses import dataclass, replace

import numpy as np

from mesh_avatar.export.options import LOD_RATIOS
from mesh_avatar.export.topology import MemoCache, array_digest
from mesh_avatar.mesh import AvatarMesh

log = logging.getLogger(__name__)

_MIN_NORMAL_COS = 0.2  # a collapse may turn a triangle by at most ~78 degrees
_DEFORMATION_WEIGHT = 1.0


@dataclass(frozen=True, eq=False)
class LodTopology:
    """One decimated level of a template.

    Attributes:
        ratio: requested fraction of the original triangles.
        vertex: (V',) int64 original indices of the kept vertices (increasing).
        faces: (F', 3) int32 triangles indexing the kept vertices (0..V'-1).
        face_uvs: (F', 3) int32 indices into the ORIGINAL uvs array.
    """

    ratio: float
    vertex: np.ndarray
    faces: np.ndarray
    face_uvs: np.ndarray

    @property
    def n_faces(self) -> int:
        return len(self.faces)


def decimate(
    vertices: np.ndarray,
    faces: np.ndarray,
    face_uvs: np.ndarray,
    uvs: np.ndarray,
    ratios: tuple[float, ...],
    deltas: np.ndarray | None = None,
) -> list[LodTopology]:
    """Decimate a template to each fraction in ``ratios`` of its triangles (one pass).

    Args:
        vertices: (V, 3) template positions.
        faces: (F, 3) triangles; face_uvs: (F, 3) uv indices; uvs: (T, 2).
        ratios: target fractions in (0, 1], any order.
        deltas: optional (M, V, 3) morph-target deltas; collapses that join vertices moving
            differently under an expression cost more.

    Returns:
        One :class:`LodTopology` per ratio, in the order given. A level the constraints cannot
        reach stops at the fewest triangles reachable (logged).
    """
    state = _Decimator(vertices, faces, face_uvs, uvs, deltas)
    order = sorted(range(len(ratios)), key=lambda k: -ratios[k])
    results: dict[int, LodTopology] = {}
    for k in order:
        target = max(1, round(ratios[k] * len(faces)))
        reached = state.run(target)
        if reached > target:
            log.warning(
                "decimation stopped at %d triangles (asked %d): seams and boundaries are kept",
                reached,
                target,
            )
        results[k] = state.snapshot(ratios[k])
    return [results[k] for k in range(len(ratios))]


class _Decimator:
    """State of a half-edge-collapse decimation (plain Python lists: many tiny updates)."""

    def __init__(
        self,
        vertices: np.ndarray,
        faces: np.ndarray,
        face_uvs: np.ndarray,
        uvs: np.ndarray,
        deltas: np.ndarray | None,
    ) -> None:
        v = np.asarray(vertices, np.float64)
        f = np.asarray(faces, np.int64)
        self.n_vertices = len(v)
        self.pos = v.tolist()
        self.uv = np.asarray(uvs, np.float64).tolist()
        self.faces = f.tolist()
        self.face_uvs = np.asarray(face_uvs, np.int64).tolist()
        self.face_alive = [True] * len(f)
        self.n_alive = len(f)
        self.vertex_faces: list[set[int]] = [set() for _ in range(len(v))]
        for index, tri in enumerate(self.faces):
            for corner in tri:
                self.vertex_faces[corner].add(index)
        self.removable = self._removable(f, np.asarray(face_uvs, np.int64))
        self.quadric, self.fan_area = _quadrics(v, f)
        self.features = None
        if deltas is not None and len(deltas):
            d = np.asarray(deltas, np.float64)
            self.features = np.ascontiguousarray(d.transpose(1, 0, 2))  # (V, M, 3)
        self.stamp = [0] * len(v)
        self.heap: list[tuple[float, int, int, int, int]] = []
        for u in range(len(v)):
            if self.removable[u]:
                for w in self._neighbours(u):
                    self._push(u, w)

    # -------------------------------------------------------------------------------- setup
    def _removable(self, faces: np.ndarray, face_uvs: np.ndarray) -> list[bool]:
        n = self.n_vertices
        locked = np.zeros(n, bool)
        edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
        edges.sort(axis=1)
        unique, counts = np.unique(edges, axis=0, return_counts=True)
        locked[unique[counts != 2].ravel()] = True  # boundary and non-manifold edges
        # Seams: a vertex whose corners use more than one uv.
        pairs = np.unique(np.stack([faces.ravel(), face_uvs.ravel()], 1), axis=0)
        uv_count = np.bincount(pairs[:, 0], minlength=n)
        locked |= uv_count != 1
        # Non-manifold vertices (two fans meeting at a point): faces around != edges around.
        valence = np.bincount(faces.ravel(), minlength=n)
        edge_valence = np.bincount(unique.ravel(), minlength=n)
        locked |= valence != edge_valence
        return (~locked).tolist()

    def _neighbours(self, x: int) -> set[int]:
        out: set[int] = set()
        for f in self.vertex_faces[x]:
            out.update(self.faces[f])
        out.discard(x)
        return out

    # --------------------------------------------------------------------------------- costs
    def _cost(self, u: int, v: int) -> float:
        qu, qv = self.quadric[u], self.quadric[v]
        q = [a + b for a, b in zip(qu, qv, strict=True)]
        x, y, z = self.pos[v]
        cost = (
            q[0] * x * x + 2 * q[1] * x * y + 2 * q[2] * x * z + 2 * q[3] * x
            + q[4] * y * y + 2 * q[5] * y * z + 2 * q[6] * y
            + q[7] * z * z + 2 * q[8] * z + q[9]
        )  # fmt: skip
        if self.features is not None:
            diff = self.features[u] - self.features[v]
            cost += _DEFORMATION_WEIGHT * self.fan_area[u] * float((diff * diff).sum(1).max())
        return max(cost, 0.0)

    def _push(self, u: int, v: int) -> None:
        heapq.heappush(self.heap, (self._cost(u, v), u, v, self.stamp[u], self.stamp[v]))

    # ------------------------------------------------------------------------------ collapse
    def run(self, target: int) -> int:
        while self.n_alive > target and self.heap:
            _, u, v, su, sv = heapq.heappop(self.heap)
            if su != self.stamp[u] or sv != self.stamp[v] or not self.vertex_faces[u]:
                continue
            if self._try_collapse(u, v):
                self.stamp[v] += 1
                for w in self._neighbours(v):
                    if self.removable[w]:
                        self._push(w, v)
                    if self.removable[v]:
                        self._push(v, w)
        return self.n_alive

    def _try_collapse(self, u: int, v: int) -> bool:
        fu = self.vertex_faces[u]
        shared = fu & self.vertex_faces[v]
        if len(shared) != 2:
            return False
        # Link condition: the only common neighbours are the two opposite corners.
        opposite = set()
        for f in shared:
            opposite.update(self.faces[f])
        opposite -= {u, v}
        if self._neighbours(u) & self._neighbours(v) != opposite:
            return False
        uv_v = {self.face_uvs[f][self.faces[f].index(v)] for f in shared}
        if len(uv_v) != 1:
            return False
        new_uv = uv_v.pop()
        moved = fu - shared
        for f in moved:
            if not self._keeps_orientation(f, u, v, new_uv):
                return False
        for f in shared:
            self.face_alive[f] = False
            for corner in self.faces[f]:
                self.vertex_faces[corner].discard(f)
        for f in moved:
            corner = self.faces[f].index(u)
            self.faces[f][corner] = v
            self.face_uvs[f][corner] = new_uv
            self.vertex_faces[v].add(f)
        self.vertex_faces[u] = set()
        self.quadric[v] = [a + b for a, b in zip(self.quadric[v], self.quadric[u], strict=True)]
        self.fan_area[v] += self.fan_area[u]
        self.n_alive -= 2
        return True

    def _keeps_orientation(self, f: int, u: int, v: int, new_uv: int) -> bool:
        tri = self.faces[f]
        corner = tri.index(u)
        old = [self.pos[i] for i in tri]
        new = list(old)
        new[corner] = self.pos[v]
        n_old, n_new = _normal(old), _normal(new)
        len_old = _dot(n_old, n_old) ** 0.5
        len_new = _dot(n_new, n_new) ** 0.5
        if len_new <= 1e-30 or _dot(n_old, n_new) <= _MIN_NORMAL_COS * len_old * len_new:
            return False
        uv_tri = [self.uv[i] for i in self.face_uvs[f]]
        area_old = _area2(uv_tri)
        uv_tri[corner] = self.uv[new_uv]
        area_new = _area2(uv_tri)
        return area_old * area_new > 0.0

    # ------------------------------------------------------------------------------ results
    def snapshot(self, ratio: float) -> LodTopology:
        alive = [k for k, keep in enumerate(self.face_alive) if keep]
        faces = np.asarray([self.faces[k] for k in alive], np.int64).reshape(-1, 3)
        face_uvs = np.asarray([self.face_uvs[k] for k in alive], np.int64).reshape(-1, 3)
        kept = np.unique(faces)
        remap = np.full(self.n_vertices, -1, np.int64)
        remap[kept] = np.arange(len(kept))
        return LodTopology(ratio, kept, remap[faces].astype(np.int32), face_uvs.astype(np.int32))


def _normal(p: list[list[float]]) -> tuple[float, float, float]:
    ax, ay, az = p[1][0] - p[0][0], p[1][1] - p[0][1], p[1][2] - p[0][2]
    bx, by, bz = p[2][0] - p[0][0], p[2][1] - p[0][1], p[2][2] - p[0][2]
    return (ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx)


def _dot(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _area2(p: list[list[float]]) -> float:
    return (p[1][0] - p[0][0]) * (p[2][1] - p[0][1]) - (p[1][1] - p[0][1]) * (p[2][0] - p[0][0])


def _quadrics(v: np.ndarray, f: np.ndarray) -> tuple[list[list[float]], list[float]]:
    """Area-weighted plane quadrics per vertex as 10 coefficients, and each vertex's fan area."""
    tri = v[f]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    double_area = np.linalg.norm(cross, axis=1)
    n = cross / np.maximum(double_area, 1e-30)[:, None]
    d = -(n * tri[:, 0]).sum(1)
    a, b, c = n[:, 0], n[:, 1], n[:, 2]
    coeffs = np.stack([a * a, a * b, a * c, a * d, b * b, b * c, b * d, c * c, c * d, d * d], 1)
    coeffs *= 0.5 * double_area[:, None]
    quadric = np.zeros((len(v), 10))
    area = np.zeros(len(v))
    for corner in range(3):
        np.add.at(quadric, f[:, corner], coeffs)
        np.add.at(area, f[:, corner], 0.5 * double_area)
    return quadric.tolist(), area.tolist()


# ----------------------------------------------------------------------------- avatar meshes
_LEVELS: MemoCache[dict[int, LodTopology]] = MemoCache(maxsize=4)


def template_levels(mesh: AvatarMesh) -> dict[int, LodTopology]:
    """Every decimated level of ``mesh``'s template (level -> topology), cached per template.

    The template is ``mesh.template_vertices`` (the model's mean shape, the same for every avatar
    of the model) when the mesh carries it, else the mesh's own vertices.
    """
    template = mesh.template_vertices
    if template is None:
        template = mesh.vertices
    deltas = np.stack(list(mesh.morph_targets.values())) if mesh.morph_targets else None
    # The deltas are a model's constant: a strided sample identifies them cheaply.
    sample = deltas.reshape(-1)[::97] if deltas is not None else np.zeros(0, np.float32)
    key = array_digest(template, mesh.faces, mesh.face_uvs, mesh.uvs, sample)
    levels = tuple(level for level in LOD_RATIOS if level > 0)

    def compute() -> dict[int, LodTopology]:
        ratios = tuple(LOD_RATIOS[level] for level in levels)
        topologies = decimate(template, mesh.faces, mesh.face_uvs, mesh.uvs, ratios, deltas)
        return dict(zip(levels, topologies, strict=True))

    return _LEVELS.get(key, compute)


def lod_mesh(mesh: AvatarMesh, level: int) -> AvatarMesh:
    """``mesh`` at level of detail ``level`` (0 returns ``mesh`` itself).

    Vertices, normals, morph targets and vertex groups are subsets of the original by index; UVs
    are pruned to the ones still used; joints, texture and morph weights are unchanged.
    """
    if level == 0:
        return mesh
    lod = template_levels(mesh)[level]
    keep = lod.vertex
    used_uvs, face_uvs = np.unique(lod.face_uvs, return_inverse=True)
    metadata = {**mesh.metadata, "lod": level, "lod_triangle_ratio": LOD_RATIOS[level]}
    changes = {
        "vertices": mesh.vertices[keep],
        "faces": lod.faces,
        "uvs": mesh.uvs[used_uvs],
        "face_uvs": face_uvs.reshape(-1, 3).astype(np.int32),
        "normals": mesh.normals[keep],
        "morph_targets": {name: delta[keep] for name, delta in mesh.morph_targets.items()},
        "vertex_groups": {name: mask[keep] for name, mask in mesh.vertex_groups.items()},
        "metadata": metadata,
    }
    if mesh.template_vertices is not None:
        changes["template_vertices"] = mesh.template_vertices[keep]
    return replace(mesh, **changes)
