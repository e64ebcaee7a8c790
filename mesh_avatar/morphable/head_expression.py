"""The 52 ARKit blendshapes of the default head, as smooth localized displacement fields.

Each function returns (V, 3) deltas at weight 1 for the subject's LEFT side (+X) where the shape
is paired; the right side is its mirror image (through the template's mirror map). Lids rotate
over the eyeball about its centre, the mandible rotates about a hinge axis through the jaw joints,
eyeballs rotate rigidly for the look directions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mesh_avatar.morphable.data import ARKIT_BLENDSHAPES
from mesh_avatar.morphable.head_mesh import HeadTemplate, cast_head
from mesh_avatar.morphable.head_regions import (
    HeadAnatomy,
    eye_center,
    gaussian,
    smoothstep,
)
from mesh_avatar.morphable.head_sdf import head_sdf

JAW_HINGE = np.array([0.0, -0.004, -0.008])
JAW_OPEN_ANGLE = 0.32  # radians at jawOpen = 1


def rotate_about_x(p: np.ndarray, center: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Rotate (N, 3) points about the x axis through ``center``; positive lowers the front."""
    q = p - center
    c, s = np.cos(angle), np.sin(angle)
    y = c * q[:, 1] - s * q[:, 2]
    z = s * q[:, 1] + c * q[:, 2]
    return np.stack([q[:, 0], y, z], 1) + center


def rotate_about_y(p: np.ndarray, center: np.ndarray, angle: np.ndarray | float) -> np.ndarray:
    """Rotate about the y axis through ``center``; positive turns +Z towards +X."""
    q = p - center
    c, s = np.cos(angle), np.sin(angle)
    x = c * q[:, 0] + s * q[:, 2]
    z = -s * q[:, 0] + c * q[:, 2]
    return np.stack([x, q[:, 1], z], 1) + center


class _Context:
    """Shared per-vertex quantities for the expression fields."""

    def __init__(self, template: HeadTemplate, anatomy: HeadAnatomy) -> None:
        self.t = template
        self.a = anatomy
        self.v = template.vertices
        self.p = anatomy.anchor
        self.skin = anatomy.skin & (anatomy.eye_pit == 0)
        self.left = self.p[:, 0] > 0
        self.zero = np.zeros_like(self.v)
        c = eye_center(1)
        rel = self.v - c
        #: angle above the eye's horizontal plane, seen from the side (about the x axis)
        self.eye_beta = np.arctan2(rel[:, 1], rel[:, 2])

    def field(self, weights: np.ndarray, vector: tuple[float, float, float]) -> np.ndarray:
        return weights[:, None] * np.asarray(vector)[None, :]

    def skin_only(self, delta: np.ndarray) -> np.ndarray:
        delta = delta.copy()
        delta[~self.a.skin] = 0.0
        return delta


# ------------------------------------------------------------------------------------ eyes
def _upper_lid(ctx: _Context, reach: float = 0.012) -> np.ndarray:
    """(V,) smooth weight of the left upper lid skin (and the hidden socket behind it)."""
    c = eye_center(1)
    w = gaussian(ctx.v, c + np.array([0.0, 0.004, 0.006]), (0.02, reach, 0.02))
    return w * (ctx.eye_beta > -0.1) * (ctx.v[:, 0] > 0)


def _lower_lid(ctx: _Context) -> np.ndarray:
    c = eye_center(1)
    w = gaussian(ctx.v, c + np.array([0.002, -0.008, 0.008]), (0.018, 0.008, 0.02))
    return w * (ctx.eye_beta < 0.1) * (ctx.v[:, 0] > 0)


def _rotate_lid(ctx: _Context, angle: np.ndarray) -> np.ndarray:
    """Skin rotated about the eyeball's horizontal axis by per-vertex angles (> 0 lowers)."""
    new = rotate_about_x(ctx.v, eye_center(1), angle)
    delta = new - ctx.v
    delta[ctx.t.part != 0] = 0.0
    return delta


def eye_blink(ctx: _Context) -> np.ndarray:
    """Closed lids: every ray around the left eye re-cast on the sculpt without the eye opening,
    so the socket vertices (hidden inside the eyeball while open) come out as lid skin."""
    t = ctx.t
    c = eye_center(1)
    dist = np.linalg.norm(ctx.v - c, axis=1)
    near = np.nonzero((t.row >= 0) & (t.part == 0) & (ctx.v[:, 0] > 0) & (dist < 0.035))[0]
    theta = t.theta[t.row[near], t.col[near]]
    phi = t.phi[t.col[near]]
    closed = cast_head(lambda p: head_sdf(p, eyes_open=False), phi, theta)
    delta = ctx.zero.copy()
    fade = 1.0 - smoothstep(dist[near], 0.022, 0.035)
    delta[near] = (closed - ctx.v[near]) * fade[:, None]
    return delta


def eye_wide(ctx: _Context) -> np.ndarray:
    return _rotate_lid(ctx, -0.14 * _upper_lid(ctx))


def eye_squint(ctx: _Context) -> np.ndarray:
    c = eye_center(1)
    cheek = gaussian(ctx.p, c + np.array([0.006, -0.022, 0.0]), (0.018, 0.012, 0.03))
    lids = _rotate_lid(ctx, -0.2 * _lower_lid(ctx) + 0.1 * _upper_lid(ctx))
    return ctx.skin_only(lids + ctx.field(cheek * (ctx.p[:, 0] > 0), (0.0, 0.0015, 0.0003)))


def _eyeball_rotation(ctx: _Context, yaw: float, pitch: float) -> np.ndarray:
    """Rigid rotation of the left eyeball; yaw > 0 looks towards +X, pitch > 0 looks down."""
    mask = ctx.t.part == 1
    c = eye_center(1)
    p = ctx.v[mask]
    rotated = rotate_about_x(rotate_about_y(p, c, yaw), c, pitch)
    delta = ctx.zero.copy()
    delta[mask] = rotated - p
    return delta


def eye_look_down(ctx: _Context) -> np.ndarray:
    return _eyeball_rotation(ctx, 0.0, 0.42) + _rotate_lid(ctx, 0.2 * _upper_lid(ctx))


def eye_look_up(ctx: _Context) -> np.ndarray:
    return _eyeball_rotation(ctx, 0.0, -0.38) + _rotate_lid(ctx, -0.1 * _upper_lid(ctx))


def eye_look_in(ctx: _Context) -> np.ndarray:
    return _eyeball_rotation(ctx, -0.45, 0.0)  # the left eye looks towards the nose (-X)


def eye_look_out(ctx: _Context) -> np.ndarray:
    return _eyeball_rotation(ctx, 0.45, 0.0)


# ------------------------------------------------------------------------------------ jaw
def jaw_open(ctx: _Context) -> np.ndarray:
    rotated = rotate_about_x(ctx.v, JAW_HINGE, JAW_OPEN_ANGLE)
    return ctx.skin_only((rotated - ctx.v) * ctx.a.jaw[:, None])


def jaw_forward(ctx: _Context) -> np.ndarray:
    return ctx.skin_only(ctx.field(ctx.a.jaw, (0.0, 0.0, 0.006)))


def jaw_left(ctx: _Context) -> np.ndarray:
    return ctx.skin_only(ctx.field(ctx.a.jaw, (0.006, 0.0, 0.0)))


def mouth_close(ctx: _Context) -> np.ndarray:
    """Lips together while the jaw is open: undo jawOpen on the lower lip (and its pit)."""
    lips = gaussian(ctx.p, (0.0, -0.058, 0.09), (0.03, 0.009, 0.02))
    lips = np.where(ctx.a.mouth_pit, 0.5, lips * ctx.a.jaw)
    return -jaw_open(ctx) * lips[:, None] * 0.9


# ------------------------------------------------------------------------------------ mouth
_MOUTH = np.array([0.0, -0.051, 0.092])
_CORNER = np.array([0.025, -0.05, 0.084])


def _corner(ctx: _Context, radius: float = 0.014) -> np.ndarray:
    return gaussian(ctx.p, _CORNER, (radius, radius, radius * 1.4))


def _lip(ctx: _Context, upper: bool) -> np.ndarray:
    y = -0.046 if upper else -0.057
    w = gaussian(ctx.p, (0.0, y, 0.092), (0.028, 0.008, 0.016))
    side = ctx.a.jaw < 0.5 if upper else ctx.a.jaw >= 0.5
    return np.where(side & ~ctx.a.mouth_pit, w, 0.5 * w * ctx.a.mouth_pit)


def _mouth_region(ctx: _Context) -> np.ndarray:
    return gaussian(ctx.p, _MOUTH, (0.035, 0.022, 0.03))


def mouth_smile(ctx: _Context) -> np.ndarray:
    """Corner pulled up, out and back towards the cheekbone (about 12 mm, as in scanned smiles),
    the cheek above it lifted and pushed forward."""
    w = _corner(ctx, 0.024)
    cheek = gaussian(ctx.p, (0.04, -0.02, 0.068), (0.024, 0.022, 0.03))
    d = ctx.field(w, (0.007, 0.009, -0.004)) + ctx.field(cheek, (0.001, 0.004, 0.003))
    return ctx.skin_only(d)


def mouth_frown(ctx: _Context) -> np.ndarray:
    return ctx.skin_only(ctx.field(_corner(ctx, 0.016), (0.001, -0.005, -0.001)))


def mouth_dimple(ctx: _Context) -> np.ndarray:
    return ctx.skin_only(ctx.field(_corner(ctx, 0.014), (0.003, 0.0, -0.003)))


def mouth_stretch(ctx: _Context) -> np.ndarray:
    return ctx.skin_only(ctx.field(_corner(ctx, 0.018), (0.005, -0.003, -0.0015)))


def mouth_press(ctx: _Context) -> np.ndarray:
    upper = _lip(ctx, True) * (ctx.p[:, 0] > -0.005)
    lower = _lip(ctx, False) * (ctx.p[:, 0] > -0.005)
    d = ctx.field(upper, (0.0, -0.0012, -0.001)) + ctx.field(lower, (0.0, 0.0012, -0.001))
    return ctx.skin_only(d)


def mouth_lower_down(ctx: _Context) -> np.ndarray:
    w = gaussian(ctx.p, (0.012, -0.058, 0.09), (0.016, 0.01, 0.02)) * (ctx.a.jaw >= 0.5)
    return ctx.skin_only(ctx.field(w, (0.0, -0.004, 0.0005)))


def mouth_upper_up(ctx: _Context) -> np.ndarray:
    w = gaussian(ctx.p, (0.012, -0.044, 0.094), (0.016, 0.01, 0.02)) * (ctx.a.jaw < 0.5)
    return ctx.skin_only(ctx.field(w, (0.0, 0.004, 0.0005)))


def mouth_funnel(ctx: _Context) -> np.ndarray:
    w = _mouth_region(ctx)
    upper, lower = _lip(ctx, True), _lip(ctx, False)
    d = ctx.field(w, (0.0, 0.0, 0.004)) - 0.25 * ctx.p * np.array([1.0, 0.0, 0.0]) * w[:, None]
    d += ctx.field(upper, (0.0, 0.002, 0.0)) + ctx.field(lower, (0.0, -0.002, 0.0))
    return ctx.skin_only(d)


def mouth_pucker(ctx: _Context) -> np.ndarray:
    w = _mouth_region(ctx)
    d = ctx.field(w, (0.0, 0.0, 0.005)) - 0.35 * ctx.p * np.array([1.0, 0.0, 0.0]) * w[:, None]
    return ctx.skin_only(d)


def mouth_left(ctx: _Context) -> np.ndarray:
    return ctx.skin_only(ctx.field(_mouth_region(ctx), (0.006, 0.0, -0.001)))


def mouth_roll(ctx: _Context, upper: bool) -> np.ndarray:
    w = _lip(ctx, upper)
    return ctx.skin_only(ctx.field(w, (0.0, -0.002 if upper else 0.002, -0.004)))


def mouth_shrug(ctx: _Context, upper: bool) -> np.ndarray:
    if upper:
        w = _lip(ctx, True)
        return ctx.skin_only(ctx.field(w, (0.0, 0.0025, 0.001)))
    w = gaussian(ctx.p, (0.0, -0.07, 0.088), (0.025, 0.02, 0.025))
    return ctx.skin_only(ctx.field(w, (0.0, 0.003, 0.0015)))


# ------------------------------------------------------------------------------------ brows, cheeks, nose
def brow_down(ctx: _Context) -> np.ndarray:
    w = gaussian(ctx.p, (0.028, 0.05, 0.082), (0.022, 0.012, 0.025))
    return ctx.skin_only(ctx.field(w, (-0.0015, -0.004, 0.0008)))


def brow_inner_up(ctx: _Context) -> np.ndarray:
    w = gaussian(
        ctx.p * np.array([0.0, 1.0, 1.0]) + np.abs(ctx.p) * np.array([1.0, 0, 0]),
        (0.012, 0.055, 0.088),
        (0.018, 0.015, 0.025),
    )
    return ctx.skin_only(ctx.field(w, (0.0, 0.005, 0.0)))


def brow_outer_up(ctx: _Context) -> np.ndarray:
    w = gaussian(ctx.p, (0.045, 0.052, 0.072), (0.018, 0.014, 0.03))
    return ctx.skin_only(ctx.field(w, (0.0, 0.005, 0.0)))


def cheek_puff(ctx: _Context) -> np.ndarray:
    q = ctx.p.copy()
    q[:, 0] = np.abs(q[:, 0])
    w = gaussian(q, (0.042, -0.045, 0.06), (0.02, 0.02, 0.03))
    direction = np.stack([np.sign(ctx.p[:, 0]) * 0.8, np.zeros(len(q)), np.full(len(q), 0.6)], 1)
    return ctx.skin_only(0.006 * w[:, None] * direction)


def cheek_squint(ctx: _Context) -> np.ndarray:
    w = gaussian(ctx.p, (0.042, -0.005, 0.066), (0.018, 0.015, 0.03))
    return ctx.skin_only(ctx.field(w, (0.0, 0.003, 0.0008)))


def nose_sneer(ctx: _Context) -> np.ndarray:
    w = gaussian(ctx.p, (0.013, -0.008, 0.094), (0.01, 0.014, 0.02))
    return ctx.skin_only(ctx.field(w, (0.0008, 0.003, 0.0005)))


def tongue_out(ctx: _Context) -> np.ndarray:
    """No tongue mesh: the floor of the mouth line pushes out between the lips, jaw slightly open."""
    pit = ctx.a.mouth_pit & (np.abs(ctx.p[:, 0]) < 0.016)
    w = np.where(pit, np.cos(np.clip(ctx.p[:, 0] / 0.016, -1, 1) * np.pi / 2) ** 2, 0.0)
    # Pit vertices move to just outside the lip line.
    target = ctx.p + np.array([0.0, -0.004, 0.012])
    d = (target - ctx.v) * w[:, None]
    return ctx.skin_only(d + 0.35 * jaw_open(ctx))


# ------------------------------------------------------------------------------------ assembly
Shape = Callable[[_Context], np.ndarray]

_LEFT: dict[str, Shape] = {
    "eyeBlink": eye_blink,
    "eyeLookDown": eye_look_down,
    "eyeLookIn": eye_look_in,
    "eyeLookOut": eye_look_out,
    "eyeLookUp": eye_look_up,
    "eyeSquint": eye_squint,
    "eyeWide": eye_wide,
    "mouthSmile": mouth_smile,
    "mouthFrown": mouth_frown,
    "mouthDimple": mouth_dimple,
    "mouthStretch": mouth_stretch,
    "mouthPress": mouth_press,
    "mouthLowerDown": mouth_lower_down,
    "mouthUpperUp": mouth_upper_up,
    "browDown": brow_down,
    "browOuterUp": brow_outer_up,
    "cheekSquint": cheek_squint,
    "noseSneer": nose_sneer,
}
_LEFT_RIGHT: dict[str, tuple[str, Shape]] = {
    "jawLeft": ("jawRight", jaw_left),
    "mouthLeft": ("mouthRight", mouth_left),
}
_CENTRAL: dict[str, Shape] = {
    "jawForward": jaw_forward,
    "jawOpen": jaw_open,
    "mouthClose": mouth_close,
    "mouthFunnel": mouth_funnel,
    "mouthPucker": mouth_pucker,
    "mouthRollLower": lambda ctx: mouth_roll(ctx, upper=False),
    "mouthRollUpper": lambda ctx: mouth_roll(ctx, upper=True),
    "mouthShrugLower": lambda ctx: mouth_shrug(ctx, upper=False),
    "mouthShrugUpper": lambda ctx: mouth_shrug(ctx, upper=True),
    "browInnerUp": brow_inner_up,
    "cheekPuff": cheek_puff,
    "tongueOut": tongue_out,
}


def _mirror(delta: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    out = np.empty_like(delta)
    out[mirror] = delta * np.array([-1.0, 1.0, 1.0])
    return out


def _keep_side(delta: np.ndarray, p: np.ndarray, smooth: bool = True) -> np.ndarray:
    """Fade a left-side shape out across the midline (paired shapes stay one-sided)."""
    w = smoothstep(p[:, 0], -0.006, 0.006) if smooth else (p[:, 0] > 0).astype(float)
    return delta * w[:, None]


def expression_basis(template: HeadTemplate, anatomy: HeadAnatomy) -> np.ndarray:
    """(52, V, 3) deltas in :data:`ARKIT_BLENDSHAPES` order."""
    ctx = _Context(template, anatomy)
    shapes: dict[str, np.ndarray] = {}
    for stem, fn in _LEFT.items():
        left = fn(ctx)
        if stem.startswith(("mouth", "cheek", "nose", "brow")):
            left = _keep_side(left, ctx.p)
        shapes[f"{stem}Left"] = left
        shapes[f"{stem}Right"] = _mirror(left, template.mirror)
    for name, (mirror_name, fn) in _LEFT_RIGHT.items():
        shapes[name] = fn(ctx)
        shapes[mirror_name] = _mirror(shapes[name], template.mirror)
    for name, fn in _CENTRAL.items():
        shapes[name] = fn(ctx)
    missing = set(ARKIT_BLENDSHAPES) - set(shapes)
    if missing:
        raise RuntimeError(f"expressions not built: {sorted(missing)}")
    return np.stack([shapes[name] for name in ARKIT_BLENDSHAPES])
