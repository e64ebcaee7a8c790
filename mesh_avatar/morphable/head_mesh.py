"""Mesh the default head: a ring grid cast onto the sculpt, plus two eyeballs, with one UV layout.

Topology (fixed, independent of the sculpt's numbers):

- vertex 0 is the crown; then ``n_rows`` rings of ``n_cols`` vertices each, top to bottom. Ring
  vertices of the head part lie where rays from the spine (:func:`ray_origin`; polar angle ``theta`` from +Y,
  azimuth ``phi`` from +Z towards +X) first leave the sculpt; the last rings are the neck, cast
  horizontally from the neck axis. The bottom ring is the only boundary (the neck cut).
- two eyeballs (UV spheres looking down +Z), subject's left (+X) first.

Column ``j`` and column ``(n_cols - j) % n_cols`` are mirror images (x -> -x); column ``n_cols/2``
faces +Z. UVs: the head grid fills ``v`` in [HEAD_V0, 1] (u follows the column index, so the
densely sampled face gets most texels; the seam runs down the back of the head); both eyeballs
share one square below it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from mesh_avatar.morphable.head_sdf import (
    EYE_CENTER,
    EYE_RADIUS,
    MOUTH_POLAR,
    NECK_AXIS_Z,
    NECK_BOTTOM_Y,
    NECK_TOP_Y,
    head_sdf,
    ray_origin,
)

Sdf = Callable[[np.ndarray], np.ndarray]

HEAD_V0 = 0.13  # the head grid occupies v in [HEAD_V0, 1]
EYE_UV_CENTER = (0.5, 0.064)
EYE_UV_RADIUS = 0.062
EYE_UV_POWER = 0.6  # disc radius ~ polar angle ** power: the iris gets more texels
FIXED_THETA = np.deg2rad(129.0)
LIP_RING_OFFSET = np.deg2rad(
    0.3
)  # polar offset of the rings just above/below the mouth line  # rings above this polar angle are shared by every column


@dataclass(frozen=True)
class GridSpec:
    """Resolution of the head mesh."""

    n_cols: int = 80
    n_head_rows: int = 51
    n_transition_rows: int = 7
    n_neck_rows: int = 5
    eye_rings: int = 11
    eye_segments: int = 16

    def __post_init__(self) -> None:
        if self.n_cols % 4 or self.n_cols < 8:
            raise ValueError("n_cols must be a multiple of 4 (mirror and front/back columns)")

    @property
    def n_rows(self) -> int:
        return self.n_head_rows + self.n_transition_rows + self.n_neck_rows


@dataclass(frozen=True)
class HeadTemplate:
    """The meshed mean head.

    Attributes:
        vertices: (V, 3) float64 metres.
        faces: (F, 3) int32, counter-clockwise seen from outside.
        uvs: (T, 2) float64; face_uvs: (F, 3) int32.
        part: (V,) int8: 0 skin, 1 left eyeball, 2 right eyeball.
        row, col: (V,) int32 grid position of skin vertices (crown: row -1, col 0; eyes: -1).
        phi, theta: (n_cols,) azimuths, (n_rows, n_cols) polar angles of the rays (neck rings: nan).
        mirror: (V,) int32 index of each vertex's mirror image under x -> -x.
        spec: the grid resolution.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    face_uvs: np.ndarray
    part: np.ndarray
    row: np.ndarray
    col: np.ndarray
    phi: np.ndarray
    theta: np.ndarray
    mirror: np.ndarray
    spec: GridSpec

    def grid_index(self, row: int, col: int) -> int:
        return 1 + row * self.spec.n_cols + col % self.spec.n_cols


# ------------------------------------------------------------------------------------ rays
def ray_directions(phi: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Unit directions from azimuth and polar angle arrays (same shape S) -> (S, 3)."""
    s = np.sin(theta)
    return np.stack([s * np.sin(phi), np.cos(theta), s * np.cos(phi)], -1)


def first_exit(
    sdf: Sdf, origins: np.ndarray, directions: np.ndarray, t_max: float = 0.26
) -> np.ndarray:
    """Distance along each ray to where it first leaves the solid (origins inside).

    Args:
        origins, directions: (N, 3); directions unit length.

    Returns:
        (N,) distances, bisected to about 1e-7 m.
    """
    step = 0.0005
    ts = np.arange(step, t_max + step, step)
    n = len(origins)
    hit = np.full(n, len(ts) - 1)
    found = np.zeros(n, bool)
    chunk = 64
    for start in range(0, len(ts), chunk):
        t = ts[start : start + chunk]
        points = origins[:, None, :] + directions[:, None, :] * t[None, :, None]
        outside = (sdf(points.reshape(-1, 3)) > 0).reshape(n, len(t))
        first = np.argmax(outside, axis=1)
        new = ~found & outside.any(axis=1)
        hit[new] = start + first[new]
        found |= new
        if found.all():
            break
    lo = np.where(hit > 0, ts[np.maximum(hit - 1, 0)], 0.0)
    hi = ts[hit]
    for _ in range(22):
        mid = 0.5 * (lo + hi)
        out = sdf(origins + directions * mid[:, None]) > 0
        hi = np.where(out, mid, hi)
        lo = np.where(out, lo, mid)
    return 0.5 * (lo + hi)


def cast_head(sdf: Sdf, phi: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Surface points of the head rays at (phi, theta), arrays of shape S -> (S, 3)."""
    dirs = ray_directions(phi, theta).reshape(-1, 3)
    origins = ray_origin(np.broadcast_to(theta, np.shape(phi)).reshape(-1))
    t = first_exit(sdf, origins, dirs)
    return (origins + dirs * t[:, None]).reshape(*np.shape(phi), 3)


def cast_neck(sdf: Sdf, psi: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Surface points of horizontal rays from the neck axis at height ``y`` and azimuth ``psi``."""
    dirs = np.stack([np.sin(psi), np.zeros_like(psi), np.cos(psi)], -1).reshape(-1, 3)
    origins = np.stack([np.zeros_like(y), y, np.full_like(y, NECK_AXIS_Z)], -1).reshape(-1, 3)
    t = first_exit(sdf, origins, dirs, t_max=0.12)
    return (origins + dirs * t[:, None]).reshape(*np.shape(psi), 3)


# ------------------------------------------------------------------------------------ grid
def column_azimuths(n_cols: int) -> np.ndarray:
    """(n_cols,) azimuths, column 0 at the back (-pi), n_cols/2 at the front, denser in front."""
    half = n_cols // 2
    s = np.arange(half + 1) / half  # 0 (front) .. 1 (back)
    a = 0.5
    front_half = np.pi * (a * s + (1.0 - a) * s**3)
    phi = np.empty(n_cols)
    phi[half:] = front_half[:half]  # columns half .. n-1: phi 0 .. (+X side)
    phi[:half] = -front_half[half:0:-1]  # columns 0 .. half-1: -pi .. (-X side)
    return phi


def head_row_angles(n_rows: int) -> np.ndarray:
    """(n_rows,) polar angles from near the crown down to FIXED_THETA, denser over the face,
    with one ring exactly on the mouth line."""
    grid = np.linspace(0.0, 1.0, 4001)
    theta_grid = grid * FIXED_THETA
    deg = np.rad2deg(theta_grid)
    density = 1.0 + 2.0 * np.exp(-(((deg - 100.0) / 30.0) ** 4))
    density += 2.5 * np.exp(-(((deg - np.rad2deg(MOUTH_POLAR)) / 3.5) ** 2))
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]))])
    cdf /= cdf[-1]
    targets = (np.arange(n_rows) + 1.0) / n_rows
    first = 0.55 / n_rows  # the first ring sits a little away from the crown
    targets = first + (1.0 - first) * (targets - targets[0]) / (targets[-1] - targets[0])
    theta = np.interp(targets, cdf, theta_grid)
    nearest = int(np.argmin(np.abs(theta - MOUTH_POLAR)))
    theta[nearest] = MOUTH_POLAR
    # The lip rings hug the mouth line, so the gap between the lips reads as a thin line.
    theta[nearest - 1] = MOUTH_POLAR - LIP_RING_OFFSET
    theta[nearest + 1] = MOUTH_POLAR + LIP_RING_OFFSET
    return theta


def _eyeball(spec: GridSpec, center: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UV sphere looking down +Z: (front pole, rings, back pole) vertices, faces, (V, 2) disc UVs."""
    rings, segs = spec.eye_rings, spec.eye_segments
    alpha = np.linspace(0.0, np.pi, rings + 2)[1:-1]
    alpha = np.pi * (alpha / np.pi) ** 1.25  # denser near the cornea
    beta = 2.0 * np.pi * np.arange(segs) / segs
    a, b = np.meshgrid(alpha, beta, indexing="ij")
    local = np.stack([np.sin(a) * np.cos(b), np.sin(a) * np.sin(b), np.cos(a)], -1).reshape(-1, 3)
    local = np.concatenate([[[0.0, 0.0, 1.0]], local, [[0.0, 0.0, -1.0]]])
    # A slight corneal bulge.
    polar = np.arccos(np.clip(local[:, 2], -1.0, 1.0))
    radius = EYE_RADIUS * (1.0 + 0.045 * np.clip(1.0 - polar / 0.75, 0.0, 1.0) ** 2)
    verts = center + local * radius[:, None]
    # Disc UVs: the front hemisphere fills the disc, the back folds into its rim.
    uv_r = EYE_UV_RADIUS * np.minimum(polar / (0.5 * np.pi), 1.0) ** EYE_UV_POWER
    azim = np.arctan2(local[:, 1], local[:, 0])
    uvs = np.stack(
        [EYE_UV_CENTER[0] + uv_r * np.cos(azim), EYE_UV_CENTER[1] + uv_r * np.sin(azim)], -1
    )
    back = len(verts) - 1

    def rid(i: int, k: int) -> int:
        return 1 + i * segs + k % segs

    faces = [[0, rid(0, k), rid(0, k + 1)] for k in range(segs)]
    for i in range(rings - 1):
        for k in range(segs):
            faces += [[rid(i, k), rid(i + 1, k), rid(i + 1, k + 1)]]
            faces += [[rid(i, k), rid(i + 1, k + 1), rid(i, k + 1)]]
    faces += [[back, rid(rings - 1, k + 1), rid(rings - 1, k)] for k in range(segs)]
    return verts, np.asarray(faces, np.int64), uvs


def _orient_outward(faces: np.ndarray, vertices: np.ndarray, center: np.ndarray) -> np.ndarray:
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    if float(np.sum(normal * (tri.mean(1) - center))) < 0:
        return faces[:, [0, 2, 1]]
    return faces


def build_template(spec: GridSpec = GridSpec(), sdf: Sdf = head_sdf) -> HeadTemplate:
    """Mesh the sculpt ``sdf`` on the fixed topology of ``spec``."""
    n_cols = spec.n_cols
    phi = column_azimuths(n_cols)
    head_theta = head_row_angles(spec.n_head_rows)
    # Transition rings: per column, down to the polar angle where the surface reaches the neck top.
    lo = np.full(n_cols, FIXED_THETA)
    hi = np.full(n_cols, np.deg2rad(178.0))
    for _ in range(24):
        mid = 0.5 * (lo + hi)
        below = cast_head(sdf, phi, mid)[:, 1] < NECK_TOP_Y
        hi = np.where(below, mid, hi)
        lo = np.where(below, lo, mid)
    last = 0.5 * (lo + hi)
    frac = (np.arange(spec.n_transition_rows) + 1.0) / spec.n_transition_rows
    trans_theta = FIXED_THETA + frac[:, None] * (last - FIXED_THETA)[None, :]
    theta = np.concatenate(
        [np.broadcast_to(head_theta[:, None], (len(head_theta), n_cols)), trans_theta]
    )
    ph = np.broadcast_to(phi[None, :], theta.shape)
    head_points = cast_head(sdf, ph, theta)
    # Neck rings: horizontal rays under the last head ring, same azimuth around the neck axis.
    ring = head_points[-1]
    psi = np.arctan2(ring[:, 0], ring[:, 2] - NECK_AXIS_Z)
    psi[n_cols // 2] = 0.0
    psi[0] = np.pi
    k = (np.arange(spec.n_neck_rows) + 1.0) / spec.n_neck_rows
    spacing = k**1.3
    y = ring[None, :, 1] + spacing[:, None] * (NECK_BOTTOM_Y - ring[None, :, 1])
    neck_points = cast_neck(sdf, np.broadcast_to(psi[None, :], y.shape), y)
    grid = np.concatenate([head_points, neck_points])  # (n_rows, n_cols, 3)
    theta_all = np.concatenate([theta, np.full((spec.n_neck_rows, n_cols), np.nan)])

    crown = cast_head(sdf, np.zeros(1), np.zeros(1))
    skin = np.concatenate([crown, grid.reshape(-1, 3)])
    n_rows = spec.n_rows

    def vid(r: int, c: int) -> int:
        return 1 + r * n_cols + c % n_cols

    faces = [[0, vid(0, c + 1), vid(0, c)] for c in range(n_cols)]
    for r in range(n_rows - 1):
        for c in range(n_cols):
            a, b, cc, d = vid(r, c), vid(r + 1, c), vid(r + 1, c + 1), vid(r, c + 1)
            # Split each quad along the shorter diagonal of the mean shape's mirror-symmetric
            # choice: columns left of the front use one diagonal, the mirror side the other.
            if c >= n_cols // 2:
                faces += [[a, cc, b], [a, d, cc]]
            else:
                faces += [[a, d, b], [d, cc, b]]
    faces = np.asarray(faces, np.int64)
    # UVs: (n_rows x (n_cols+1)) grid plus one crown UV per column.
    v_of_row = 1.0 - (np.arange(n_rows) + 1.0) / n_rows * (1.0 - HEAD_V0)
    uu, vv = np.meshgrid(np.arange(n_cols + 1) / n_cols, v_of_row, indexing="xy")
    grid_uvs = np.stack([uu, vv], -1).reshape(-1, 2)
    crown_uvs = np.stack([(np.arange(n_cols) + 0.5) / n_cols, np.ones(n_cols)], -1)
    head_uvs = np.concatenate([grid_uvs, crown_uvs])

    def uid(r: int, c: int) -> int:
        return r * (n_cols + 1) + c

    face_uvs = [[len(grid_uvs) + c, uid(0, c + 1), uid(0, c)] for c in range(n_cols)]
    for r in range(n_rows - 1):
        for c in range(n_cols):
            a, b, cc, d = uid(r, c), uid(r + 1, c), uid(r + 1, c + 1), uid(r, c + 1)
            if c >= n_cols // 2:
                face_uvs += [[a, cc, b], [a, d, cc]]
            else:
                face_uvs += [[a, d, b], [d, cc, b]]
    face_uvs = np.asarray(face_uvs, np.int64)
    center = np.array([0.0, 0.0, -0.01])
    flip = _orient_outward(faces, skin, center)
    if flip is not faces:
        faces, face_uvs = flip, face_uvs[:, [0, 2, 1]]

    vertices = [skin]
    all_faces = [faces]
    all_uvs = [head_uvs]
    all_face_uvs = [face_uvs]
    part = [np.zeros(len(skin), np.int8)]
    for label, sign in ((1, 1.0), (2, -1.0)):
        center_eye = EYE_CENTER * np.array([sign, 1.0, 1.0])
        ev, ef, euv = _eyeball(spec, center_eye)
        if sign < 0:  # mirror the left eye's vertex order so that mirror pairs line up
            ev = ev.copy()
        offset = sum(len(x) for x in vertices)
        uv_offset = sum(len(x) for x in all_uvs)
        vertices.append(ev)
        all_faces.append(_orient_outward(ef, ev, center_eye) + offset)
        all_uvs.append(euv)
        all_face_uvs.append(_orient_outward(ef, ev, center_eye) + uv_offset)
        part.append(np.full(len(ev), label, np.int8))
    verts = np.concatenate(vertices)
    part_all = np.concatenate(part)
    row = np.full(len(verts), -1, np.int32)
    col = np.full(len(verts), -1, np.int32)
    rr, cc_ = np.meshgrid(np.arange(n_rows), np.arange(n_cols), indexing="ij")
    row[1 : 1 + n_rows * n_cols] = rr.reshape(-1)
    col[1 : 1 + n_rows * n_cols] = cc_.reshape(-1)
    col[0] = 0
    mirror = _mirror_map(verts, part_all, row, col, n_cols)
    verts = _symmetrize(verts, mirror)
    return HeadTemplate(
        vertices=verts,
        faces=np.concatenate(all_faces).astype(np.int32),
        uvs=np.concatenate(all_uvs),
        face_uvs=np.concatenate(all_face_uvs).astype(np.int32),
        part=part_all,
        row=row,
        col=col,
        phi=phi,
        theta=theta_all,
        mirror=mirror,
        spec=spec,
    )


def _mirror_map(
    verts: np.ndarray, part: np.ndarray, row: np.ndarray, col: np.ndarray, n_cols: int
) -> np.ndarray:
    mirror = np.arange(len(verts), dtype=np.int32)
    grid = row >= 0
    idx = np.nonzero(grid)[0]
    mirror[idx] = 1 + row[idx] * n_cols + (n_cols - col[idx]) % n_cols
    left = np.nonzero(part == 1)[0]
    right = np.nonzero(part == 2)[0]
    # Eyeball vertices: match by mirrored position (the spheres are built identically).
    flipped = verts[left] * np.array([-1.0, 1.0, 1.0])
    dist = np.linalg.norm(flipped[:, None, :] - verts[right][None, :, :], axis=-1)
    match = right[np.argmin(dist, axis=1)]
    mirror[left] = match
    mirror[match] = left
    return mirror


def _symmetrize(verts: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    flipped = verts[mirror] * np.array([-1.0, 1.0, 1.0])
    out = 0.5 * (verts + flipped)
    on_plane = mirror == np.arange(len(verts))
    out[on_plane, 0] = 0.0
    return out
