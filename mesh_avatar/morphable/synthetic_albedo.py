"""A procedural albedo (UV texture) model for heads that come without one (ICT-FaceKit Light).

The painter needs only the mean mesh, its UV layout, a material label per triangle, the 68 iBUG
landmarks and an ear mask; everything else is measured from them (eye centres, brow lines, lip
contour, hairline), so it is not tied to one mesh. Each texel of the UV atlas is mapped back to a
point of the mean shape (:mod:`~mesh_avatar.morphable.uv_bake`), and colours are smooth functions
of that point: skin with cheek, nose, ear and under-eye tints, lips inside the outer lip contour,
brows along the brow landmarks, a lash line on the upper lids, short hair above a hairline that
follows the head round, eyes (sclera, iris, pupil by the angle from the cornea's apex), mouth,
gums and teeth. Components are named colour directions with standard deviations chosen so that
+-3 sigma of each keeps all but a few brow and lash texels within sRGB [0, 1] (melanin spans very
fair to dark brown skin).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from mesh_avatar.morphable.uv_bake import interpolate, nearest_covered, uv_coverage


class Material(IntEnum):
    """What a triangle is made of (painted differently)."""

    SKIN = 0
    SCALP = 1  # back of the head and neck (gets hair above the hairline)
    MOUTH = 2  # mouth socket (inside of the cheeks)
    EYE_SOCKET = 3
    GUMS = 4  # gums and tongue
    TEETH = 5
    SCLERA = 6  # the visible eyeball (sclera, iris and pupil painted by angle)


SKIN = np.array([0.66, 0.49, 0.40])
LIPS = np.array([0.66, 0.38, 0.35])
HAIR = np.array([0.22, 0.16, 0.12])
BROW = np.array([0.25, 0.18, 0.14])
LASH = np.array([0.12, 0.08, 0.07])
MOUTH_INSIDE = np.array([0.45, 0.2, 0.2])
GUMS = np.array([0.72, 0.38, 0.38])
TEETH = np.array([0.86, 0.83, 0.74])
SCLERA = np.array([0.9, 0.87, 0.84])
IRIS = np.array([0.36, 0.27, 0.18])
PUPIL = np.array([0.03, 0.03, 0.03])

#: Half-angles (radians) from the cornea's apex, seen from the eyeball centre.
PUPIL_ANGLE = 0.2
IRIS_ANGLE = 0.52


@dataclass(frozen=True)
class PaintSurface:
    """The mean head the texture is painted on.

    Attributes:
        vertices: (V, 3) mean shape, metres, +Y up, face towards +Z, subject's left = +X.
        faces: (F, 3) triangles.
        uvs: (T, 2) texture coordinates in [0, 1].
        face_uvs: (F, 3) indices into ``uvs``.
        face_material: (F,) :class:`Material` of each triangle.
        landmarks: (68,) iBUG landmark vertex indices.
        ear: (V,) float in [0, 1], 1 on the ears.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    face_uvs: np.ndarray
    face_material: np.ndarray
    landmarks: np.ndarray
    ear: np.ndarray


@dataclass(frozen=True)
class AlbedoModel:
    """mean (H, W, 3), basis (K, h, w, 3) unit-norm rows, std (K,), names (K,)."""

    mean: np.ndarray
    basis: np.ndarray
    std: np.ndarray
    names: list[str]


@dataclass(frozen=True)
class _Texels:
    """Mean-shape attributes of the covered texels of one texture size."""

    position: np.ndarray  # (N, 3) metres
    material: np.ndarray  # (N,) int
    covered: np.ndarray  # (S, S) bool; the N texels are covered.ravel()'s True entries
    nearest: tuple[np.ndarray, np.ndarray]  # (S, S) row and column of the nearest covered texel
    size: int


@dataclass(frozen=True)
class _Anatomy:
    """Landmark-derived facts of the mean head (metres)."""

    landmarks: np.ndarray  # (68, 3)
    eye_centre: dict[int, np.ndarray]  # side (+1 left, -1 right) -> landmark eye centre
    eyeball: dict[int, tuple[np.ndarray, np.ndarray]]  # side -> (centre, forward unit axis)
    iod: float  # distance between the eye centres
    head_centre: np.ndarray
    ears: list[tuple[np.ndarray, np.ndarray]]  # (centre, radii) of an ellipsoid around each ear


def paint_albedo(
    surface: PaintSurface, mean_size: int = 1024, basis_size: int = 128
) -> AlbedoModel:
    """The mean texture at ``mean_size`` and the named components at ``basis_size``."""
    anatomy = _anatomy(surface)
    texels = _sample(surface, mean_size)
    masks = _masks(texels, anatomy)
    mean = _to_image(texels, _paint(texels, masks))
    small = _sample(surface, basis_size)
    small_masks = _masks(small, anatomy)
    components = _components(small, small_masks)
    names = [name for name, _ in components]
    raw = np.stack([_to_image(small, values) for _, values in components])
    std = np.linalg.norm(raw.reshape(len(raw), -1), axis=1)
    basis = raw / std[:, None, None, None]
    return AlbedoModel(
        mean=mean.astype(np.float32),
        basis=basis.astype(np.float32),
        std=std.astype(np.float32),
        names=names,
    )


# ---------------------------------------------------------------------------------- sampling
def _sample(surface: PaintSurface, size: int) -> _Texels:
    coverage = uv_coverage(surface.uvs, surface.face_uvs, size)
    covered = coverage.covered
    position = interpolate(coverage, surface.faces, surface.vertices)[covered]
    return _Texels(
        position=position.astype(np.float64),
        material=np.asarray(surface.face_material)[coverage.face[covered]],
        covered=covered,
        nearest=nearest_covered(covered),
        size=size,
    )


def _to_image(texels: _Texels, values: np.ndarray) -> np.ndarray:
    """(N, 3) colours of the covered texels -> (S, S, 3), uncovered texels from the nearest."""
    image = np.zeros((texels.size, texels.size, 3))
    image[texels.covered] = values
    rows, cols = texels.nearest
    return image[rows, cols]


def _anatomy(surface: PaintSurface) -> _Anatomy:
    v = np.asarray(surface.vertices, np.float64)
    lm = v[np.asarray(surface.landmarks)]
    eye_centre = {-1: lm[36:42].mean(0), 1: lm[42:48].mean(0)}
    iod = float(np.linalg.norm(eye_centre[1] - eye_centre[-1]))
    sclera_faces = surface.faces[np.asarray(surface.face_material) == Material.SCLERA]
    eyeball = {}
    for side in (-1, 1):
        ids = np.unique(sclera_faces)
        ids = ids[np.sign(v[ids, 0]) == side]
        if len(ids) < 4:  # no eyeball mesh: a sphere behind the landmark eye centre
            centre = eye_centre[side] - np.array([0.0, 0.0, 0.012])
            eyeball[side] = (centre, np.array([0.0, 0.0, 1.0]))
            continue
        points = v[ids]
        apex = points[np.argmax(points[:, 2])]
        centre = 0.5 * (points.min(0) + points.max(0))
        centre[2] = apex[2] - 0.5 * (points[:, 1].max() - points[:, 1].min())
        axis = apex - centre
        eyeball[side] = (centre, axis / np.linalg.norm(axis))
    skin = np.unique(surface.faces[np.asarray(surface.face_material) <= Material.SCALP])
    z = v[skin, 2]
    head_centre = np.array(
        [0.0, 0.5 * (eye_centre[1][1] + eye_centre[-1][1]), 0.5 * (z.min() + z.max())]
    )
    ears = []
    ear = np.asarray(surface.ear) > 0.5
    for side in (-1, 1):
        points = v[ear & (np.sign(v[:, 0]) == side)]
        if len(points):
            lo, hi = points.min(0), points.max(0)
            ears.append((0.5 * (lo + hi), np.maximum(0.5 * (hi - lo), 1e-3)))
    return _Anatomy(lm, eye_centre, eyeball, iod, head_centre, ears)


# ---------------------------------------------------------------------------------- fields
def _smoothstep(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _gaussian(p: np.ndarray, centre: np.ndarray, radii: tuple[float, float, float]) -> np.ndarray:
    q = (p - centre) / np.asarray(radii)
    return np.exp(-np.sum(q * q, axis=1))


def polyline_distance(
    p: np.ndarray, points: np.ndarray, radius: float = np.inf
) -> tuple[np.ndarray, np.ndarray]:
    """Distance from (N, 3) ``p`` to the polyline through (M, 3) ``points``, and the arc fraction
    in [0, 1] of the nearest point along it. Points farther than ``radius`` from the polyline's
    bounding box get distance ``inf`` (and are skipped: faster)."""
    best = np.full(len(p), np.inf)
    where = np.zeros(len(p))
    near = np.all((p > points.min(0) - radius) & (p < points.max(0) + radius), axis=1)
    q = p[near]
    lengths = np.linalg.norm(np.diff(points, axis=0), axis=1)
    start = np.concatenate([[0.0], np.cumsum(lengths)]) / max(lengths.sum(), 1e-12)
    d_best = np.full(len(q), np.inf)
    t_best = np.zeros(len(q))
    for k in range(len(points) - 1):
        a, b = points[k], points[k + 1]
        ab = b - a
        t = np.clip((q - a) @ ab / max(ab @ ab, 1e-12), 0.0, 1.0)
        d = np.linalg.norm(q - (a + t[:, None] * ab), axis=1)
        closer = d < d_best
        d_best[closer] = d[closer]
        t_best[closer] = (start[k] + t * (start[k + 1] - start[k]))[closer]
    best[near] = d_best
    where[near] = t_best
    return best, where


def inside_polygon_xy(p: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd test of (N, 3) points against a closed (M, 3) polygon, both projected on XY."""
    x, y = p[:, 0], p[:, 1]
    inside = np.zeros(len(p), bool)
    px, py = polygon[:, 0], polygon[:, 1]
    for k in range(len(polygon)):
        x0, y0, x1, y1 = px[k - 1], py[k - 1], px[k], py[k]
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < x_cross)
    return inside


def _hairline(texels: _Texels, a: _Anatomy) -> np.ndarray:
    """Height of the hairline (metres) at each texel's azimuth around the head's vertical axis."""
    p = texels.position - a.head_centre
    azimuth = np.degrees(np.abs(np.arctan2(p[:, 0], p[:, 2])))  # 0 front, 180 back
    lm, s = a.landmarks, a.iod
    brow_y = lm[17:27, 1].max()
    eye_y = 0.5 * (a.eye_centre[1][1] + a.eye_centre[-1][1])
    mouth_y = lm[48:60, 1].mean()
    knots = np.array([0.0, 30.0, 62.0, 80.0, 100.0, 130.0, 180.0])
    heights = np.array(
        [
            brow_y + 0.85 * s,
            brow_y + 0.8 * s,
            eye_y + 0.75 * s,  # temple
            eye_y + 0.35 * s,  # sideburn over the ear
            eye_y + 0.3 * s,  # behind the ear
            mouth_y,
            mouth_y - 0.3 * s,  # nape
        ]
    )
    return np.interp(azimuth, knots, heights)


def _masks(texels: _Texels, a: _Anatomy) -> dict[str, np.ndarray]:
    p, mat, lm, s = texels.position, texels.material, a.landmarks, a.iod
    skin = (mat == Material.SKIN) | (mat == Material.SCALP)
    front = p[:, 2] > lm[0:17, 2].min() - 0.1 * s
    # Lips: inside the outer lip contour (projected on XY), near its depth.
    lip_contour = lm[48:60]
    near_mouth = np.abs(p[:, 2] - lip_contour[:, 2].mean()) < 0.35 * s
    inside = inside_polygon_xy(p, lip_contour) & near_mouth & (mat == Material.SKIN)
    edge, _ = polyline_distance(p, np.concatenate([lip_contour, lip_contour[:1]]), 0.05 * s)
    lips = np.where(inside, 1.0, 0.0) * _smoothstep(edge, 0.0, 0.012 * s)
    lips = np.maximum(lips, inside * 0.7)
    # Brows: along the brow landmarks, thicker near the nose.
    brows = np.zeros(len(p))
    for ids in (slice(17, 22), slice(22, 27)):
        line = lm[ids].copy()
        line[:, 1] -= 0.02 * s  # landmarks sit on the upper edge: centre the band on the brow
        d, t = polyline_distance(p, line, 0.1 * s)
        inner_first = line[0, 0] < line[-1, 0] if ids.start == 22 else line[0, 0] > line[-1, 0]
        along = t if inner_first else 1.0 - t  # 0 at the inner end
        half = (0.085 - 0.035 * along) * s
        brows = np.maximum(brows, 1.0 - _smoothstep(d, 0.55 * half, half))
    brows *= skin * front
    # Lash line: along the upper lid contour of each eye.
    lash = np.zeros(len(p))
    for ids in ([36, 37, 38, 39], [42, 43, 44, 45]):
        d, _ = polyline_distance(p, lm[ids], 0.05 * s)
        lash = np.maximum(lash, 1.0 - _smoothstep(d, 0.012 * s, 0.035 * s))
    lash *= skin
    ear = np.zeros(len(p))
    for centre, radii in a.ears:  # smooth ellipsoids around the ears (the vertex mask is blocky)
        r = np.sqrt(np.sum(((p - centre) / radii) ** 2, axis=1))
        ear = np.maximum(ear, 1.0 - _smoothstep(r, 0.9, 1.25))
    hairline = _hairline(texels, a)
    hair = _smoothstep(p[:, 1] - hairline, -0.02 * s, 0.06 * s) * skin * (1.0 - ear)
    cheeks = np.zeros(len(p))
    under_eye = np.zeros(len(p))
    for side in (-1, 1):
        corner = lm[48] if side < 0 else lm[54]
        eye = a.eye_centre[side]
        centre = 0.5 * (eye + corner) + np.array([0.25 * side * s, 0.0, -0.1 * s])
        cheeks = np.maximum(cheeks, _gaussian(p, centre, (0.35 * s, 0.3 * s, 0.4 * s)))
        below = eye + np.array([0.0, -0.22 * s, 0.0])
        under_eye = np.maximum(under_eye, _gaussian(p, below, (0.28 * s, 0.1 * s, 0.25 * s)))
    nose = _gaussian(p, lm[30], (0.2 * s, 0.2 * s, 0.3 * s))
    chin_centre = 0.5 * (lm[8] + lm[57]) + np.array([0.0, 0.0, -0.1 * s])
    beard = _gaussian(p, chin_centre, (0.9 * s, 0.55 * s, 0.9 * s))
    beard *= _smoothstep(lm[33, 1] - p[:, 1], 0.05 * s, 0.2 * s) * front
    beard *= 1.0 - _smoothstep(lm[8, 1] - p[:, 1], 0.15 * s, 0.4 * s)
    ear = ear * skin
    # Eyeballs: angle from the cornea's apex.
    polar = np.full(len(p), np.pi)
    sclera = mat == Material.SCLERA
    for side in (-1, 1):
        centre, axis = a.eyeball[side]
        on = sclera & (np.sign(p[:, 0]) == side)
        q = p[on] - centre
        cos = (q @ axis) / np.maximum(np.linalg.norm(q, axis=1), 1e-12)
        polar[on] = np.arccos(np.clip(cos, -1.0, 1.0))
    iris = sclera * (1.0 - _smoothstep(polar, IRIS_ANGLE - 0.04, IRIS_ANGLE + 0.02))
    pupil = sclera * (1.0 - _smoothstep(polar, PUPIL_ANGLE - 0.02, PUPIL_ANGLE + 0.02))
    limbus = sclera * np.exp(-(((polar - IRIS_ANGLE) / 0.05) ** 2))
    mouth_depth = _smoothstep(lm[48:60, 2].mean() - p[:, 2], 0.05 * s, 0.5 * s)
    return {
        "skin": skin * (1.0 - hair),
        "lips": lips * (1.0 - hair),
        "brows": brows * (1.0 - hair),
        "lash": lash * (1.0 - lips),
        "hair": hair,
        "cheeks": cheeks * skin * (1.0 - hair) * (1.0 - lips),
        "under_eye": under_eye * skin * (1.0 - hair),
        "nose": nose * skin,
        "beard": beard * skin * (1.0 - hair) * (1.0 - lips),
        "ear": ear,
        "sclera": sclera.astype(float),
        "iris": iris,
        "pupil": pupil,
        "limbus": limbus,
        "mouth": (mat == Material.MOUTH).astype(float),
        "mouth_depth": mouth_depth,
        "eye_socket": (mat == Material.EYE_SOCKET).astype(float),
        "gums": (mat == Material.GUMS).astype(float),
        "teeth": (mat == Material.TEETH).astype(float),
    }


def _mix(base: np.ndarray, colour: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return base + (colour[None, :] - base) * weight[:, None]


def _paint(texels: _Texels, m: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 3) mean sRGB colour of every covered texel."""
    n = len(texels.position)
    colour = np.tile(SKIN, (n, 1))
    colour += m["cheeks"][:, None] * np.array([0.04, -0.015, -0.01])
    colour += m["nose"][:, None] * np.array([0.025, -0.01, -0.01])
    colour += m["ear"][:, None] * np.array([0.03, -0.01, -0.01])
    colour += m["under_eye"][:, None] * np.array([-0.03, -0.035, -0.02])
    colour = _mix(colour, LIPS, m["lips"])
    colour = _mix(colour, BROW, 0.8 * m["brows"])
    colour = _mix(colour, LASH, 0.85 * m["lash"])
    colour = _mix(colour, HAIR, m["hair"])
    colour = _mix(colour, SKIN * 0.55, m["eye_socket"])
    mouth = _mix(np.tile(MOUTH_INSIDE, (n, 1)), MOUTH_INSIDE * 0.45, m["mouth_depth"])
    colour = _mix(colour, np.zeros(3), m["mouth"])
    colour += mouth * m["mouth"][:, None]
    colour = _mix(colour, GUMS, m["gums"])
    colour = _mix(colour, TEETH, m["teeth"])
    colour = _mix(colour, SCLERA, m["sclera"])
    colour = _mix(colour, IRIS, m["iris"])
    colour = _mix(colour, IRIS * 0.5, 0.6 * m["limbus"])
    colour = _mix(colour, PUPIL, m["pupil"])
    return np.clip(colour, 0.0, 1.0)


def _components(texels: _Texels, m: dict[str, np.ndarray]) -> list[tuple[str, np.ndarray]]:
    """Named (N, 3) colour offsets of one standard deviation each."""
    p = texels.position
    head = np.clip(m["skin"] + m["lips"] + m["hair"] + m["brows"] + m["eye_socket"], 0.0, 1.0)
    head = head[:, None]
    skin_like = np.clip(m["skin"] + m["lips"], 0.0, 1.0)[:, None]
    rng = np.random.default_rng(11)
    blotch = np.zeros(len(p))
    skin_points = p[m["skin"] > 0.5] if (m["skin"] > 0.5).any() else p
    scale = float(np.ptp(skin_points[:, 1])) or 1.0
    for _ in range(24):
        centre = skin_points[rng.integers(0, len(skin_points))]
        blotch += rng.normal() * _gaussian(p, centre, (0.1 * scale,) * 3)
    blotch /= max(float(np.abs(blotch).max()), 1e-9)
    iris = (m["iris"] * (1.0 - m["pupil"]))[:, None]
    hairy = (m["hair"] + 0.6 * m["brows"])[:, None]
    return [
        # Darker skin with more melanin: +3 sigma is dark brown, -3 sigma very fair. The same
        # shift over the whole head surface (brows and lash line too; less on the already dark
        # hair), so no sharp edge of a painted feature shows at the components' lower resolution.
        ("melanin", -head * (1.0 - 0.7 * m["hair"])[:, None] * np.array([0.1, 0.09, 0.075])),
        ("haemoglobin", skin_like * np.array([0.03, -0.015, -0.01])),
        ("carotene", m["skin"][:, None] * np.array([0.01, 0.01, -0.025])),
        ("lip_colour", m["lips"][:, None] * np.array([0.05, -0.03, -0.01])),
        ("lip_darkness", m["lips"][:, None] * np.array([-0.05, -0.045, -0.04])),
        ("cheek_redness", m["cheeks"][:, None] * np.array([0.035, -0.02, -0.015])),
        ("brow_darkness", m["brows"][:, None] * np.array([-0.035, -0.028, -0.02])),
        ("eyelash_darkness", m["lash"][:, None] * np.array([-0.03, -0.025, -0.02])),
        ("iris_colour", iris * np.array([-0.04, 0.04, 0.1])),
        ("iris_darkness", iris * np.array([-0.05, -0.04, -0.03])),
        ("hair_lightness", hairy * np.array([0.06, 0.045, 0.035])),
        ("hair_redness", hairy * np.array([0.04, 0.0, -0.02])),
        ("beard_shadow", m["beard"][:, None] * np.array([-0.04, -0.035, -0.025])),
        ("under_eye_darkness", m["under_eye"][:, None] * np.array([-0.025, -0.025, -0.015])),
        ("skin_blotches", (blotch * m["skin"])[:, None] * np.array([0.025, 0.008, 0.004])),
        ("teeth_yellowness", m["teeth"][:, None] * np.array([0.0, -0.01, -0.035])),
    ]
