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
    HEAD_ORIGIN,
    MOUTH_HALF_ANGLE,
    MOUTH_POLAR,
    NECK_TOP_Y,
    azimuth,
    polar_angle,
)

MIRROR = np.array([-1.0, 1.0, 1.0])


def gaussian(p: np.ndarray, center: tuple[float, ...] | np.ndarray, radii: tuple[float, ...]) -> np.ndarray:
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
    mouth_row = int(np.argmin(np.abs(template.theta[:, template.spec.n_cols // 2] - MOUTH_POLAR)))
    n_cols = template.spec.n_cols
    radius = np.linalg.norm(v - HEAD_ORIGIN, axis=1)
    row_idx = [template.grid_index(mouth_row, c) for c in range(n_cols)]
    above = [template.grid_index(mouth_row - 1, c) for c in range(n_cols)]
    below = [template.grid_index(mouth_row + 1, c) for c in range(n_cols)]
    deep = radius[row_idx] < 0.5 * (radius[above] + radius[below]) - 0.002
    mouth_pit = np.zeros(len(v), bool)
    mouth_pit[np.asarray(row_idx)[deep]] = True
    anchor = v.copy()
    for label, side in ((1, 1), (2, -1)):
        anchor[(template.part == label) | (eye_pit == label)] = eye_center(side)
    lip_line = 0.5 * (v[above] + v[below])
    anchor[np.asarray(row_idx)[deep]] = lip_line[deep]
    jaw = _jaw_weight(template, anchor, skin)
    return HeadAnatomy(skin, eye_pit, mouth_pit, anchor, jaw, mouth_row)


def _jaw_weight(template: HeadTemplate, anchor: np.ndarray, skin: np.ndarray) -> np.ndarray:
    """1 on the mandible (below the mouth line, in front of the ear), 0 above and on the neck."""
    p = anchor
    theta = polar_angle(p)
    phi = np.abs(azimuth(p))
    # Polar angle of the boundary: the mouth line in front, rising towards the jaw joint.
    corner = MOUTH_HALF_ANGLE + 0.05
    rise = np.clip((phi - corner) / (1.25 - corner), 0.0, 1.0)
    boundary = MOUTH_POLAR - 0.35 * rise**1.2
    # Ring spacing at the mouth line: upper lip ring -> 0, lip line -> 0.5, lower lip ring -> 1.
    step = float(np.median(np.diff(template.theta[:, template.spec.n_cols // 2])[40:45]))
    width = np.where(phi < corner, step, step + 0.18 * rise)
    lower = np.clip(0.5 + (theta - boundary) / (2.0 * width), 0.0, 1.0)
    lower = lower * lower * (3.0 - 2.0 * lower)
    lower *= 1.0 - smoothstep(phi, 1.25, 1.6)
    # The neck does not follow the jaw; the skin under the chin stretches.
    neck = 1.0 - smoothstep(p[:, 1], NECK_TOP_Y - 0.012, NECK_TOP_Y + 0.025)
    behind = smoothstep(-p[:, 2], -0.03, 0.01)
    w = lower * (1.0 - np.maximum(neck, behind * 0.0))
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
        ears[name] = skin & (q[:, 0] > 0.062) & (gaussian(q, (0.074, 0.004, -0.014), (0.03, 0.04, 0.03)) > 0.35)
    eyes = {}
    for name, label, side in (("eye_left", 1, 1), ("eye_right", 2, -1)):
        near = gaussian(v, eye_center(side) + [0.0, 0.0, 0.006], (0.021, 0.015, 0.02)) > 0.37
        eyes[name] = (template.part == label) | (skin & near)
    lips = skin & (gaussian(v, (0.0, -0.0515, 0.092), (0.029, 0.0125, 0.02)) > 0.37)
    lips |= anatomy.mouth_pit
    face = skin & (v[:, 2] > 0.02) & (v[:, 1] < 0.075) & ~neck
    for mask in ears.values():
        face &= ~mask
    scalp = skin & ~face & ~neck & ~ears["ear_left"] & ~ears["ear_right"] & (v[:, 1] > -0.03 + 0.3 * np.minimum(v[:, 2], 0.0))
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
        d = point - HEAD_ORIGIN
        d = d / np.linalg.norm(d)
        rel = v[candidates] - HEAD_ORIGIN
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
    for x, y in zip(brow_x, brow_y):
        points.append(on_ray(np.array([-x, y, 0.09])))
    for x, y in zip(brow_x[::-1], brow_y[::-1]):
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
    # 48-59 outer lips, 60-67 inner lips.
    mouth_y, mouth_z = -0.051, 0.094
    outer = [(-0.024, 0.0), (-0.016, 0.0075), (-0.007, 0.0095), (0.0, 0.0085), (0.007, 0.0095),
             (0.016, 0.0075), (0.024, 0.0), (0.015, -0.0095), (0.007, -0.012), (0.0, -0.0125),
             (-0.007, -0.012), (-0.015, -0.0095)]  # fmt: skip
    for x, dy in outer:
        points.append(on_ray(np.array([x, mouth_y + dy, mouth_z])))
    inner = [(-0.021, 0.0), (-0.008, 0.0025), (0.0, 0.0025), (0.008, 0.0025), (0.021, 0.0),
             (0.008, -0.0025), (0.0, -0.0025), (-0.008, -0.0025)]  # fmt: skip
    for x, dy in inner:
        points.append(on_ray(np.array([x, mouth_y + dy, mouth_z])))
    return np.asarray(points, np.int32)
