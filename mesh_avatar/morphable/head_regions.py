"""Where things are on the default head: soft weights, region masks, landmarks, field anchors.

All functions take the meshed template (:class:`~mesh_avatar.morphable.head_mesh.HeadTemplate`)
and return per-vertex arrays. The subject's left is +X.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mesh_avatar.morphable.head_mesh import HeadTemplate
from mesh_avatar.morphable.head_sdf import (
    EYE_CENTER,
    EYE_RADIUS,
    MOUTH_HALF_ANGLE,
    MOUTH_POLAR,
    NECK_TOP_Y,
    azimuth,
)

#: A point inside the head from which landmark targets are projected onto the surface.
_PROJECTION_CENTER = np.array([0.0, -0.01, 0.0])

MIRROR = np.array([-1.0, 1.0, 1.0])


def gaussian(
    p: np.ndarray, center: tuple[float, ...] | np.ndarray, radii: tuple[float, ...]
) -> np.ndarray:
    """(N, 3) -> (N,) ``exp(-|(p - c) / r|^2)``."""
    q = (p - np.asarray(center)) / np.asarray(radii)
    return np.exp(-np.sum(q * q, axis=1))


def paired(p: np.ndarray, center: tuple[float, ...], radii: tuple[float, ...]) -> np.ndarray:
    """Gaussian on both sides: ``center`` is given for the left (+X) side."""
    q = p.copy()
    q[:, 0] = np.abs(q[:, 0])
    return gaussian(q, center, radii)


def smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class HeadAnatomy:
    """Per-vertex facts of the template that the bases and the albedo use.

    Attributes:
        skin: (V,) bool, the head surface (not eyeballs).
        eye_pit: (V,) int8, 1/2 for skin vertices hidden inside the left/right eyeball, else 0.
        mouth_pit: (V,) bool, skin vertices at the bottom of the mouth line.
        anchor: (V, 3) where deformation fields are evaluated for each vertex: itself for skin,
            the eyeball centre for eyeballs and eye pits, the lip line for the mouth pit.
        jaw: (V,) jaw weight in [0, 1] (1 moves with the mandible).
        mouth_row: index of the grid ring on the mouth line.
    """

    skin: np.ndarray
    eye_pit: np.ndarray
    mouth_pit: np.ndarray
    anchor: np.ndarray
    jaw: np.ndarray
    mouth_row: int


def eye_center(side: int) -> np.ndarray:
    """Eyeball centre of the left (+1) or right (-1) eye."""
    return EYE_CENTER * np.array([float(side), 1.0, 1.0])


def analyse(template: HeadTemplate) -> HeadAnatomy:
    v = template.vertices
    skin = template.part == 0
    eye_pit = np.zeros(len(v), np.int8)
    for label, side in ((1, 1), (2, -1)):
        inside = np.linalg.norm(v - eye_center(side), axis=1) < EYE_RADIUS + 0.0004
        eye_pit[skin & inside] = label
    mouth_row = int(
        np.nanargmin(np.abs(template.theta[:, template.spec.n_cols // 2] - MOUTH_POLAR))
    )
    n_cols = template.spec.n_cols
    row_idx = [template.grid_index(mouth_row, c) for c in range(n_cols)]
    above = [template.grid_index(mouth_row - 1, c) for c in range(n_cols)]
    below = [template.grid_index(mouth_row + 1, c) for c in range(n_cols)]
    deep = v[row_idx, 2] < 0.5 * (v[above, 2] + v[below, 2]) - 0.002
    mouth_pit = np.zeros(len(v), bool)
    mouth_pit[np.asarray(row_idx)[deep]] = True
    anchor = v.copy()
    for label, side in ((1, 1), (2, -1)):
        anchor[(template.part == label) | (eye_pit == label)] = eye_center(side)
    # The floor of the mouth line and the two lip rings around it move together (the walls of
    # the gap are about a millimetre tall and must not shear).
    lip_line = 0.5 * (v[above] + v[below])
    for ring in (row_idx, above, below):
        anchor[np.asarray(ring)[deep]] = lip_line[deep]
    jaw = _jaw_weight(template, anchor, skin)
    return HeadAnatomy(skin, eye_pit, mouth_pit, anchor, jaw, mouth_row)


def _jaw_weight(template: HeadTemplate, anchor: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """1 on the mandible (below the mouth line, in front of the ear), 0 above and on the neck."""
    p = anchor
    # Polar angle of each vertex's ray (neck rings: below everything); the mouth floor sits on
    # the mouth ring, so it gets exactly half the jaw motion.
    theta = np.full(len(p), np.pi)
    grid = template.row >= 0
    theta[grid] = template.theta[template.row[grid], template.col[grid]]
    theta = np.nan_to_num(theta, nan=np.pi)
    theta[template.row < 0] = 0.0
    phi = np.abs(azimuth(p))
    # Polar angle of the boundary: the mouth line in front, rising towards the jaw joint.
    corner = MOUTH_HALF_ANGLE + 0.05
    rise = np.clip((phi - corner) / (1.25 - corner), 0.0, 1.0)
    boundary = MOUTH_POLAR - 0.35 * rise**1.2
    # Ring spacing at the mouth line: upper lip ring -> 0, lip line -> 0.5, lower lip ring -> 1.
    front = template.theta[:, template.spec.n_cols // 2]
    m = int(np.nanargmin(np.abs(front - MOUTH_POLAR)))
    step = 0.5 * float(front[m + 1] - front[m - 1])
    width = np.where(phi < corner, step, step + 0.18 * rise)
    lower = np.clip(0.5 + (theta - boundary) / (2.0 * width), 0.0, 1.0)
    lower = lower * lower * (3.0 - 2.0 * lower)
    lower *= 1.0 - smoothstep(phi, 1.25, 1.6)
    # The neck does not follow the jaw; the skin under the chin stretches.
    follow = np.maximum(
        smoothstep(p[:, 1], NECK_TOP_Y - 0.004, NECK_TOP_Y + 0.018),
        smoothstep(p[:, 2], 0.035, 0.075),
    )
    w = lower * follow
    w[template.row >= template.spec.n_head_rows + template.spec.n_transition_rows] = 0.0
    return np.where(skin, w, 0.0)


# ------------------------------------------------------------------------------------ regions
def region_masks(template: HeadTemplate, anatomy: HeadAnatomy) -> dict[str, np.ndarray]:
    """Bool masks for the names in :data:`~mesh_avatar.morphable.data.REGION_NAMES`."""
    v = template.vertices
    skin = anatomy.skin
    neck_rows = template.row >= template.spec.n_head_rows + template.spec.n_transition_rows
    neck = skin & (neck_rows | (v[:, 1] < NECK_TOP_Y + 0.004) & (v[:, 2] < 0.05))
    ears = {}
    for name, side in (("ear_left", 1), ("ear_right", -1)):
        q = v * np.array([side, 1.0, 1.0])
        ears[name] = (
            skin
            & (q[:, 0] > 0.062)
            & (gaussian(q, (0.074, 0.004, -0.014), (0.03, 0.04, 0.03)) > 0.35)
        )
    eyes = {}
    for name, label, side in (("eye_left", 1, 1), ("eye_right", 2, -1)):
        near = (
            gaussian(v, eye_center(side) + np.array([0.0, 0.0, 0.006]), (0.021, 0.015, 0.02)) > 0.37
        )
        eyes[name] = (template.part == label) | (skin & near)
    lips = skin & (gaussian(v, (0.0, -0.0515, 0.092), (0.029, 0.0125, 0.02)) > 0.37)
    lips |= anatomy.mouth_pit
    face = skin & (v[:, 2] > 0.02) & (v[:, 1] < 0.075) & ~neck
    for mask in ears.values():
        face &= ~mask
    scalp = (
        skin
        & ~face
        & ~neck
        & ~ears["ear_left"]
        & ~ears["ear_right"]
        & (v[:, 1] > -0.03 + 0.3 * np.minimum(v[:, 2], 0.0))
    )
    jaw = skin & (anatomy.jaw > 0.5)
    return {
        "face": face,
        "scalp": scalp,
        "ear_left": ears["ear_left"],
        "ear_right": ears["ear_right"],
        "eye_left": eyes["eye_left"],
        "eye_right": eyes["eye_right"],
        "lips": lips,
        "neck": neck,
        "jaw": jaw,
    }


# ------------------------------------------------------------------------------------ landmarks
def landmark_indices(template: HeadTemplate, anatomy: HeadAnatomy) -> np.ndarray:
    """(68,) vertex indices in iBUG / Multi-PIE order (point 0 on the subject's right, -X)."""
    v = template.vertices
    candidates = np.nonzero(anatomy.skin & (anatomy.eye_pit == 0) & ~anatomy.mouth_pit)[0]

    def nearest(point: np.ndarray) -> int:
        d = np.linalg.norm(v[candidates] - point, axis=1)
        return int(candidates[np.argmin(d)])

    def on_ray(point: np.ndarray) -> int:
        """The candidate closest to the ray from the head origin through ``point``."""
        d = point - _PROJECTION_CENTER
        d = d / np.linalg.norm(d)
        rel = v[candidates] - _PROJECTION_CENTER
        along = rel @ d
        off = np.linalg.norm(rel - along[:, None] * d, axis=1) - 0.05 * np.maximum(along, 0)
        return int(candidates[np.argmin(off)])

    points: list[int] = []
    # 0-16 jaw line, subject's right ear -> chin -> left ear.
    for t in np.linspace(-1.0, 1.0, 17):
        angle = t * 1.25
        y = -0.002 - 0.093 * (1.0 - abs(t) ** 1.6)
        point = np.array([0.075 * np.sin(angle), y, 0.085 * np.cos(angle) - 0.015])
        points.append(on_ray(point))
    # 17-21 right brow (outer -> inner), 22-26 left brow (inner -> outer).
    brow_x = np.linspace(0.050, 0.013, 5)
    brow_y = np.array([0.047, 0.053, 0.055, 0.054, 0.051])
    for x, y in zip(brow_x, brow_y, strict=True):
        points.append(on_ray(np.array([-x, y, 0.09])))
    for x, y in zip(brow_x[::-1], brow_y[::-1], strict=True):
        points.append(on_ray(np.array([x, y, 0.09])))
    # 27-30 nose bridge to tip, 31-35 nostril base right -> left.
    for y in np.linspace(0.034, -0.009, 4):
        points.append(on_ray(np.array([0.0, y, 0.11])))
    for x in (-0.012, -0.006, 0.0, 0.006, 0.012):
        points.append(on_ray(np.array([x, -0.021 + 0.004 * abs(x) / 0.012, 0.1])))
    # 36-41 right eye, 42-47 left eye: from the corner at smaller x along the upper lid to the
    # other corner, then back along the lower lid (image left to right = -X to +X).
    ring = [(-1.0, 0.0), (-0.4, 1.0), (0.4, 1.0), (1.0, 0.0), (0.4, -1.0), (-0.4, -1.0)]
    for side in (-1, 1):
        c = eye_center(side)
        for a, b in ring:
            point = np.array([c[0] + a * 0.0148, c[1] + b * 0.0072, c[2] + 0.0135])
            points.append(nearest(point))
    # 48-59 outer lips, 60-67 inner lips; the inner lip points and all four corners lie on the
    # rings around the mouth line.
    m = anatomy.mouth_row
    pit_cols = template.col[anatomy.mouth_pit]
    n_cols = template.spec.n_cols
    left_col, right_col = int(pit_cols.max()) + 1, int(pit_cols.min()) - 1

    def ring_at(row: int, x: float) -> int:
        ids = np.array([template.grid_index(row, c) for c in range(right_col, left_col + 1)])
        return int(ids[np.argmin(np.abs(v[ids, 0] - x))])

    mouth_y, mouth_z = -0.051, 0.094
    outer = [(-0.016, 0.0075), (-0.007, 0.0095), (0.0, 0.0085), (0.007, 0.0095), (0.016, 0.0075),
             (None, None), (0.015, -0.0095), (0.007, -0.012), (0.0, -0.0125), (-0.007, -0.012),
             (-0.015, -0.0095)]  # fmt: skip
    points.append(template.grid_index(m, (right_col - 1) % n_cols))
    for x, dy in outer:
        if x is None:
            points.append(template.grid_index(m, (left_col + 1) % n_cols))
            continue
        points.append(on_ray(np.array([x, mouth_y + dy, mouth_z])))
    points.append(template.grid_index(m, right_col))
    points += [ring_at(m - 1, x) for x in (-0.008, 0.0, 0.008)]
    points.append(template.grid_index(m, left_col))
    points += [ring_at(m + 1, x) for x in (0.008, 0.0, -0.008)]
    return np.asarray(points, np.int32)
