"""The sculpt of the default head: a signed distance function built from smooth primitives.

Everything here is a pure numpy function of points ``p`` with shape (N, 3) in metres (+Y up, face
towards +Z), returning (N,) signed distances (negative inside). The head is symmetric in x: paired
features (eyes, ears, cheekbones, ...) are evaluated on ``|x|``. Distances are only approximate away
from the surface; the mesher only needs the zero crossing along rays.

Anatomical reference (adult, metres): head breadth ~0.15, head length ~0.19, vertex to chin ~0.23,
inter-pupillary distance ~0.063, mouth width ~0.05, nose width ~0.035.
"""

from __future__ import annotations

import numpy as np

#: Rays of the head part start on a short vertical "spine" inside the head: high for the crown
#: and the eyes (so the brow does not overhang the lids), lower for the mouth and the chin (so the
#: lips meet along a nearly horizontal line). See :func:`ray_origin`.
SPINE_Z = 0.008
SPINE_TOP_Y = 0.024
SPINE_BOTTOM_Y = -0.04
SPINE_THETA = (np.deg2rad(62.0), np.deg2rad(122.0))
#: Eyeball centre of the subject's left eye (+X); the right eye mirrors it.
EYE_CENTER = np.array([0.0318, 0.0305, 0.0665])
EYE_RADIUS = 0.0121
#: The mouth line (the gap between the lips): one ring of the mesh runs exactly along it.
MOUTH_LINE_POINT = np.array([0.0, -0.0505, 0.0985])
MOUTH_HALF_ANGLE = 0.285  # azimuth half-width of the mouth opening, radians
NECK_AXIS_Z = -0.016
NECK_BOTTOM_Y = -0.165
NECK_TOP_Y = -0.112


def ray_origin(theta: np.ndarray) -> np.ndarray:
    """(S,) polar angles -> (S, 3) origins of the head rays on the spine."""
    lo, hi = SPINE_THETA
    t = np.clip((np.asarray(theta, dtype=float) - lo) / (hi - lo), 0.0, 1.0)
    s = t * t * (3.0 - 2.0 * t)
    y = SPINE_TOP_Y + (SPINE_BOTTOM_Y - SPINE_TOP_Y) * s
    return np.stack([np.zeros_like(y), y, np.full_like(y, SPINE_Z)], -1)


def polar_angle(p: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """(N, 3) -> (N,) angle from +Y of ``p - origin``, radians in [0, pi]."""
    d = p - origin
    horizontal = np.hypot(d[:, 0], d[:, 2])
    return np.arctan2(horizontal, d[:, 1])


def azimuth(p: np.ndarray) -> np.ndarray:
    """(N, 3) -> (N,) angle around +Y from +Z towards +X, radians in (-pi, pi]."""
    return np.arctan2(p[:, 0], p[:, 2] - SPINE_Z)


def spine_polar(p: np.ndarray) -> np.ndarray:
    """(N, 3) -> (N,) polar angle of the head ray that passes through each point."""
    lo = np.zeros(len(p))
    hi = np.full(len(p), np.pi)
    for _ in range(50):  # polar(p - origin(theta)) - theta decreases with theta
        mid = 0.5 * (lo + hi)
        above = polar_angle(p, ray_origin(mid)) > mid
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return 0.5 * (lo + hi)


MOUTH_POLAR = float(spine_polar(MOUTH_LINE_POINT[None])[0])
MOUTH_ORIGIN = ray_origin(np.array([MOUTH_POLAR]))[0]


# ------------------------------------------------------------------------------------ primitives
def smin(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth minimum (union) with blend radius ``k`` metres."""
    h = np.clip(0.5 + 0.5 * (b - a) / k, 0.0, 1.0)
    return b + (a - b) * h - k * h * (1.0 - h)


def smax(a: np.ndarray, b: np.ndarray, k: float) -> np.ndarray:
    """Polynomial smooth maximum (intersection / subtraction with ``-b``)."""
    return -smin(-a, -b, k)


def ellipsoid(p: np.ndarray, center: tuple[float, ...], radii: tuple[float, ...]) -> np.ndarray:
    """Approximate distance to an axis-aligned ellipsoid."""
    q = p - np.asarray(center)
    r = np.asarray(radii)
    k0 = np.linalg.norm(q / r, axis=1)
    k1 = np.linalg.norm(q / (r * r), axis=1)
    return k0 * (k0 - 1.0) / np.maximum(k1, 1e-12)


def round_cone(
    p: np.ndarray, a: tuple[float, ...], b: tuple[float, ...], ra: float, rb: float
) -> np.ndarray:
    """Distance to a capsule from ``a`` (radius ``ra``) to ``b`` (radius ``rb``), linear taper."""
    a_, b_ = np.asarray(a), np.asarray(b)
    ab = b_ - a_
    t = np.clip(((p - a_) @ ab) / float(ab @ ab), 0.0, 1.0)
    closest = a_ + t[:, None] * ab
    return np.linalg.norm(p - closest, axis=1) - (ra + (rb - ra) * t)


def rotate_x(p: np.ndarray, center: tuple[float, ...], angle: float) -> np.ndarray:
    """Points expressed in a frame rotated by ``angle`` about the x axis through ``center``."""
    q = p - np.asarray(center)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([q[:, 0], c * q[:, 1] - s * q[:, 2], s * q[:, 1] + c * q[:, 2]], 1)


def rotate_y(p: np.ndarray, center: tuple[float, ...], angle: float) -> np.ndarray:
    q = p - np.asarray(center)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([c * q[:, 0] - s * q[:, 2], q[:, 1], s * q[:, 0] + c * q[:, 2]], 1)


# ------------------------------------------------------------------------------------ the head
def _skull_and_face(q: np.ndarray) -> np.ndarray:
    """The head without eyes, mouth line and neck; ``q`` has x mirrored to x >= 0."""
    cranium = ellipsoid(q, (0.0, 0.028, -0.014), (0.0745, 0.098, 0.097))
    forehead = ellipsoid(q, (0.0, 0.045, 0.030), (0.062, 0.060, 0.058))
    d = smin(cranium, forehead, 0.02)
    # Upper face (maxilla, cheeks) and lower face (mandible body).
    midface = ellipsoid(q, (0.0, -0.012, 0.036), (0.060, 0.045, 0.056))
    d = smin(d, midface, 0.02)
    muzzle = ellipsoid(q, (0.0, -0.047, 0.066), (0.034, 0.032, 0.031))
    d = smin(d, muzzle, 0.014)
    jaw_body = round_cone(q, (0.046, -0.068, 0.002), (0.012, -0.089, 0.070), 0.012, 0.015)
    ramus = round_cone(q, (0.052, -0.008, -0.006), (0.046, -0.068, 0.002), 0.014, 0.012)
    chin = ellipsoid(q, (0.0, -0.088, 0.078), (0.021, 0.017, 0.015))
    jaw = smin(smin(jaw_body, ramus, 0.01), chin, 0.012)
    d = smin(d, jaw, 0.02)
    cheekbone = ellipsoid(q, (0.049, 0.008, 0.056), (0.020, 0.013, 0.022))
    d = smin(d, cheekbone, 0.012)
    brow = ellipsoid(q, (0.026, 0.047, 0.077), (0.030, 0.011, 0.016))
    d = smin(d, brow, 0.01)
    # Nose: dorsum, tip, alae.
    dorsum = round_cone(q, (0.0, 0.036, 0.083), (0.0, -0.004, 0.106), 0.0065, 0.0075)
    tip = ellipsoid(q, (0.0, -0.009, 0.104), (0.0105, 0.0095, 0.0105))
    ala = ellipsoid(q, (0.0125, -0.016, 0.092), (0.0085, 0.0075, 0.0095))
    nose = smin(smin(dorsum, tip, 0.006), ala, 0.004)
    d = smin(d, nose, 0.008)
    # Lips.
    upper_lip = ellipsoid(q, (0.0, -0.0455, 0.0925), (0.0245, 0.0075, 0.0105))
    lower_lip = ellipsoid(q, (0.0, -0.0565, 0.0905), (0.0215, 0.0078, 0.0105))
    d = smin(d, smin(upper_lip, lower_lip, 0.003), 0.006)
    # Ears: a thick, slightly tilted shell fused to the head.
    ear_q = rotate_x(q, (0.072, 0.004, -0.014), -0.2)
    ear = ellipsoid(ear_q, (0.0, 0.0, 0.0), (0.0115, 0.031, 0.0185))
    d = smin(d, ear, 0.006)
    return d


def _neck(p: np.ndarray) -> np.ndarray:
    q = p.copy()
    q[:, 2] = (q[:, 2] - NECK_AXIS_Z) * (0.056 / 0.052)
    q[:, 0] = q[:, 0]
    return round_cone(q, (0.0, -0.30, 0.0), (0.0, -0.035, -0.004), 0.056, 0.05)


def _eye_openings(q: np.ndarray) -> np.ndarray:
    """Almond-shaped holes around the eyeballs (subtracted from the head)."""
    local = rotate_y(q, tuple(EYE_CENTER), -0.15)
    return ellipsoid(local, (0.0, 0.0, 0.0105), (0.0152, 0.0082, 0.0085))


def _mouth_slit(p: np.ndarray) -> np.ndarray:
    """A thin sheet cut along the mouth cone, from the lips back to the mouth cavity."""
    d = p - MOUTH_ORIGIN
    r = np.linalg.norm(d, axis=1)
    across = np.abs(polar_angle(p, MOUTH_ORIGIN) - MOUTH_POLAR) * r
    half_width = MOUTH_HALF_ANGLE * r
    along = np.abs(np.arctan2(d[:, 0], d[:, 2])) * r
    taper = np.clip(1.0 - (along / half_width) ** 4, 0.0, 1.0)
    thickness = 0.0025 * r * taper  # half the gap, as an angle: inside the lip rings' offset
    return np.maximum(np.maximum(across - thickness, along - half_width), 0.06 - r)


def head_sdf(p: np.ndarray, eyes_open: bool = True, mouth_line: bool = True) -> np.ndarray:
    """Signed distance of the default head's mean shape.

    Args:
        p: (N, 3) points, metres.
        eyes_open: False closes the eye openings with lid skin over the eyeballs.
        mouth_line: False leaves the lips fused (no gap between them).

    Returns:
        (N,) signed distances, negative inside.
    """
    q = p.copy()
    q[:, 0] = np.abs(q[:, 0])
    # The floor of the mouth fills the space between the jaw and the neck (a flat under-chin
    # that meets the throat low, so that every ray leaves the surface only once).
    floor = round_cone(q, (0.0, -0.086, 0.052), (0.0, -0.083, 0.005), 0.016, 0.03)
    d = smin(_skull_and_face(q), floor, 0.015)
    d = smin(d, _neck(p), 0.018)
    # Orbits: a shallow socket around each eye, then lids wrapped over the eyeball, then (open
    # eyes) the almond-shaped opening cut through the lids.
    orbit = ellipsoid(q, tuple(EYE_CENTER + np.array([0.0, 0.003, 0.019])), (0.02, 0.014, 0.0135))
    d = smax(d, -orbit, 0.011)
    lid = ellipsoid(q, tuple(EYE_CENTER), (EYE_RADIUS + 0.0016,) * 3)
    d = smin(d, lid, 0.006)
    if eyes_open:
        d = smax(d, -_eye_openings(q), 0.0012)
    if mouth_line:
        d = np.maximum(d, -_mouth_slit(p))
    return d
