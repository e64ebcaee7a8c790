"""Albedo (UV texture) model of the default head: a painted mean map and named linear components.

Painting happens in UV space: each texel of the head part is mapped back to a point of the mean
shape (the UV layout is the mesh's ring grid, so a texel's grid position gives it directly), and
colours are smooth functions of that point and of per-vertex labels; eyeball texels (one disc
shared by both eyes) are painted from their angle to the pupil. Colours are sRGB in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mesh_avatar.morphable.head_mesh import (
    EYE_UV_CENTER,
    EYE_UV_POWER,
    EYE_UV_RADIUS,
    HEAD_V0,
    HeadTemplate,
)
from mesh_avatar.morphable.head_regions import HeadAnatomy, eye_center, gaussian, paired, smoothstep

SKIN = np.array([0.69, 0.53, 0.445])
LIPS = np.array([0.68, 0.41, 0.38])
HAIR = np.array([0.3, 0.21, 0.15])
MOUTH_INSIDE = np.array([0.33, 0.12, 0.12])
SCLERA = np.array([0.9, 0.88, 0.85])
IRIS = np.array([0.34, 0.27, 0.2])
PUPIL = np.array([0.03, 0.03, 0.03])
LASH = np.array([0.12, 0.08, 0.07])


@dataclass(frozen=True)
class TexelSamples:
    """Mean-shape attributes at every texel centre of an (H, W) map (flattened to H*W)."""

    position: np.ndarray  # (N, 3) metres
    head: np.ndarray  # (N,) bool: texel belongs to the head grid
    eye_polar: np.ndarray  # (N,) angle from the pupil axis on the eyeball disc (nan off the disc)
    eye_pit: np.ndarray  # (N,) interpolated indicator of hidden eye-socket vertices
    mouth_pit: np.ndarray  # (N,) interpolated indicator of the mouth-line floor
    jaw: np.ndarray  # (N,) interpolated jaw weight
    size: int


def sample_texels(template: HeadTemplate, anatomy: HeadAnatomy, size: int) -> TexelSamples:
    n_rows, n_cols = template.spec.n_rows, template.spec.n_cols
    u = (np.arange(size) + 0.5) / size
    v = 1.0 - (np.arange(size) + 0.5) / size
    uu, vv = np.meshgrid(u, v, indexing="xy")
    uu, vv = uu.reshape(-1), vv.reshape(-1)
    head = vv >= HEAD_V0
    r = (1.0 - vv) / (1.0 - HEAD_V0) * n_rows - 1.0  # -1 at the crown
    c = uu * n_cols
    r0 = np.clip(np.floor(r), -1, n_rows - 2).astype(int)
    fr = np.clip(r - r0, 0.0, 1.0)
    c0 = np.floor(c).astype(int)
    fc = c - c0

    def vid(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        return np.where(rr < 0, 0, 1 + np.maximum(rr, 0) * n_cols + cc % n_cols)

    corners = [
        (vid(r0, c0), (1 - fr) * (1 - fc)),
        (vid(r0, c0 + 1), (1 - fr) * fc),
        (vid(r0 + 1, c0), fr * (1 - fc)),
        (vid(r0 + 1, c0 + 1), fr * fc),
    ]

    def interp(values: np.ndarray) -> np.ndarray:
        out = 0.0
        for idx, w in corners:
            out = out + values[idx] * (w if values.ndim == 1 else w[:, None])
        return out

    position = interp(template.vertices)
    du = (uu - EYE_UV_CENTER[0]) / EYE_UV_RADIUS
    dv = (vv - EYE_UV_CENTER[1]) / EYE_UV_RADIUS
    rho = np.hypot(du, dv)
    eye_polar = np.where(~head & (rho <= 1.0), rho ** (1.0 / EYE_UV_POWER) * 0.5 * np.pi, np.nan)
    return TexelSamples(
        position=position,
        head=head,
        eye_polar=eye_polar,
        eye_pit=interp((anatomy.eye_pit > 0).astype(float)),
        mouth_pit=interp(anatomy.mouth_pit.astype(float)),
        jaw=interp(anatomy.jaw),
        size=size,
    )


# ------------------------------------------------------------------------------------ masks
def _masks(s: TexelSamples) -> dict[str, np.ndarray]:
    p = s.position
    head = s.head.astype(float)
    hairline_y = 0.078 - 0.0 * p[:, 0]
    # Hair: above a hairline that runs over the forehead, down the temples, behind the ears.
    front_edge = smoothstep(p[:, 1], hairline_y - 0.004, hairline_y + 0.006)
    side = smoothstep(np.abs(p[:, 0]), 0.05, 0.066) * smoothstep(p[:, 1], 0.028, 0.04)
    side *= smoothstep(-p[:, 2], -0.045, -0.03)
    back = smoothstep(-p[:, 2], 0.0, 0.02) * smoothstep(p[:, 1], -0.075, -0.055)
    ear_zone = paired(p, (0.076, 0.004, -0.014), (0.017, 0.036, 0.026))
    hair = np.clip(np.maximum.reduce([front_edge, side, back]), 0.0, 1.0) * (1.0 - ear_zone)
    hair *= head * (1.0 - smoothstep(p[:, 1], -0.09, -0.07) * 0.0)
    lips_shape = gaussian(p, (0.0, -0.0512, 0.093), (0.026, 0.0095, 0.02))
    lips = smoothstep(lips_shape, 0.3, 0.55) * head
    mouth = smoothstep(s.mouth_pit, 0.12, 0.5) * head
    eye_pit = smoothstep(s.eye_pit, 0.05, 0.5) * head
    brow_shape = np.zeros(len(p))
    for side_sign in (1.0, -1.0):
        q = p * np.array([side_sign, 1.0, 1.0])
        t = np.clip((q[:, 0] - 0.012) / 0.04, 0.0, 1.0)
        arch_y = 0.049 + 0.006 * np.sin(np.pi * np.clip(t * 0.9 + 0.1, 0, 1)) - 0.004 * t
        thick = 0.0055 * (1.0 - 0.5 * t)
        inside = (q[:, 0] > 0.008) & (q[:, 0] < 0.056) & (q[:, 2] > 0.04)
        brow_shape = np.maximum(
            brow_shape,
            inside
            * np.exp(-(((q[:, 1] - arch_y) / thick) ** 4))
            * smoothstep(q[:, 0], 0.008, 0.016)
            * (1.0 - smoothstep(q[:, 0], 0.05, 0.057)),
        )
    brows = brow_shape * head
    lash = np.zeros(len(p))
    for side_sign in (1.0, -1.0):
        c = eye_center(int(side_sign))
        dist = np.linalg.norm(p - c, axis=1)
        rim = np.exp(-(((dist - 0.0135) / 0.0011) ** 2)) * (p[:, 2] > c[2])
        lash = np.maximum(lash, rim * smoothstep(p[:, 1] - c[1], -0.012, 0.0))
    lash = lash * head * (1.0 - eye_pit)
    cheeks = paired(p, (0.045, -0.012, 0.07), (0.02, 0.018, 0.03)) * head
    nose = gaussian(p, (0.0, -0.008, 0.11), (0.012, 0.012, 0.015)) * head
    ears = ear_zone * (np.abs(p[:, 0]) > 0.06) * head
    beard = gaussian(p, (0.0, -0.07, 0.06), (0.06, 0.04, 0.06)) * head
    beard *= smoothstep(p[:, 2], 0.0, 0.03) * (1.0 - lips) * (1.0 - mouth)
    beard *= 1.0 - gaussian(p, (0.0, -0.02, 0.1), (0.02, 0.02, 0.03))
    under_eye = np.zeros(len(p))
    for side_sign in (1.0, -1.0):
        c = eye_center(int(side_sign))
        under_eye = np.maximum(
            under_eye, gaussian(p, c + np.array([0.0, -0.013, 0.008]), (0.013, 0.006, 0.01))
        )
    under_eye *= head
    eye = np.isfinite(s.eye_polar)
    polar = np.nan_to_num(s.eye_polar, nan=np.pi)
    iris = eye * (1.0 - smoothstep(polar, 0.47, 0.52))
    pupil = eye * (1.0 - smoothstep(polar, 0.17, 0.2))
    limbus = eye * np.exp(-(((polar - 0.49) / 0.03) ** 2))
    skin = head * (1.0 - hair) * (1.0 - mouth) * (1.0 - eye_pit)
    return {
        "hair": hair * (1.0 - mouth),
        "lips": lips * (1.0 - mouth),
        "mouth": mouth,
        "eye_pit": eye_pit,
        "brows": brows * (1.0 - hair),
        "lash": lash,
        "cheeks": cheeks,
        "nose": nose,
        "ears": ears,
        "beard": beard * (1.0 - hair),
        "under_eye": under_eye,
        "eye": eye.astype(float),
        "iris": iris,
        "pupil": pupil,
        "limbus": limbus,
        "skin": skin,
    }


def _mix(base: np.ndarray, colour: np.ndarray, weight: np.ndarray) -> np.ndarray:
    return base + (colour[None, :] - base) * weight[:, None]


def _paint(s: TexelSamples, m: dict[str, np.ndarray]) -> np.ndarray:
    """(N, 3) mean colour of every texel."""
    n = len(s.position)
    colour = np.tile(SKIN, (n, 1))
    colour = colour + m["cheeks"][:, None] * np.array([0.03, -0.015, -0.01])
    colour = colour + m["nose"][:, None] * np.array([0.02, -0.01, -0.01])
    colour = colour + m["ears"][:, None] * np.array([0.02, -0.015, -0.01])
    colour = colour + m["under_eye"][:, None] * np.array([-0.03, -0.035, -0.02])
    colour = _mix(colour, LIPS, m["lips"])
    colour = _mix(colour, HAIR * 0.9, 0.75 * m["brows"])
    colour = _mix(colour, LASH, 0.8 * m["lash"])
    colour = _mix(colour, HAIR, m["hair"])
    colour = _mix(colour, MOUTH_INSIDE, m["mouth"])
    colour = _mix(colour, SKIN * 0.9, m["eye_pit"])  # seen only as closed lids
    # Eyeballs.
    colour = _mix(colour, SCLERA, m["eye"])
    colour = _mix(colour, IRIS, m["iris"])
    colour = _mix(colour, IRIS * 0.55, 0.6 * m["limbus"])
    colour = _mix(colour, PUPIL, m["pupil"])
    # Texels outside every part (unused corners of the UV square) stay neutral grey.
    unused = ~s.head & ~np.isfinite(s.eye_polar)
    colour[unused] = 0.5
    return np.clip(colour, 0.0, 1.0)


def mean_albedo(template: HeadTemplate, anatomy: HeadAnatomy, size: int) -> np.ndarray:
    """(size, size, 3) mean texture, sRGB [0, 1]."""
    s = sample_texels(template, anatomy, size)
    return _paint(s, _masks(s)).reshape(size, size, 3)


def albedo_basis(
    template: HeadTemplate, anatomy: HeadAnatomy, size: int
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Named albedo components at ``size`` resolution.

    Returns:
        basis (K, size, size, 3) with unit norm rows, std (K,), names (K,).
    """
    s = sample_texels(template, anatomy, size)
    m = _masks(s)
    skin_like = np.clip(m["skin"] + m["lips"], 0.0, 1.0)
    p = s.position
    rng = np.random.default_rng(7)
    blotch = np.zeros(len(p))
    for _ in range(24):
        c = p[rng.integers(0, len(p))]
        blotch += rng.normal() * gaussian(p, c, (0.03, 0.03, 0.03))
    blotch = blotch / max(np.abs(blotch).max(), 1e-9)
    colour = _paint(s, m)
    hairy = (m["hair"] + 0.5 * m["brows"])[:, None]
    # Iris components fade towards the (dark) pupil in proportion to the mean colour.
    brightness = np.clip(colour.mean(axis=1) / IRIS.mean(), 0.0, 1.0) ** 2
    polar = np.nan_to_num(s.eye_polar, nan=np.pi)
    iris = (m["iris"] * smoothstep(polar, 0.2, 0.3) * brightness)[:, None]
    # Melanin darkens in proportion to the colour (and a little more in blue): skin, lips, lids.
    melanin = skin_like[:, None] * (0.12 * colour + np.array([0.0, 0.006, 0.012]))
    components = [
        ("melanin", -melanin),
        ("haemoglobin", skin_like[:, None] * np.array([0.016, -0.009, -0.006])),
        ("carotene", m["skin"][:, None] * np.array([0.006, 0.007, -0.014])),
        ("lip_colour", m["lips"][:, None] * np.array([0.05, -0.025, -0.01])),
        ("lip_darkness", m["lips"][:, None] * np.array([-0.04, -0.035, -0.03])),
        ("cheek_redness", (m["cheeks"] * m["skin"])[:, None] * np.array([0.03, -0.018, -0.012])),
        ("brow_darkness", m["brows"][:, None] * np.array([-0.035, -0.028, -0.02])),
        ("eyelash_darkness", m["lash"][:, None] * np.array([-0.025, -0.02, -0.02])),
        ("iris_colour", iris * np.array([-0.025, 0.03, 0.07])),
        ("iris_darkness", iris * np.array([-0.025, -0.022, -0.018])),
        ("hair_lightness", hairy * np.array([0.075, 0.06, 0.042])),
        ("hair_redness", hairy * np.array([0.02, 0.0, -0.012])),
        (
            "beard_shadow",
            m["beard"][:, None] * m["skin"][:, None] * np.array([-0.03, -0.028, -0.02]),
        ),
        ("under_eye_darkness", m["under_eye"][:, None] * np.array([-0.02, -0.022, -0.012])),
        ("skin_blotches", (blotch * m["skin"])[:, None] * np.array([0.012, 0.004, 0.002])),
    ]
    names = [name for name, _ in components]
    raw = np.stack([values.reshape(size, size, 3) for _, values in components])
    std = np.linalg.norm(raw.reshape(len(raw), -1), axis=1)
    return raw / std[:, None, None, None], std, names
