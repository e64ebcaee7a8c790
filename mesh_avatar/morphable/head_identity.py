"""Identity basis of the default head: named semantic deformations, then smooth random fields,
orthonormalised in that order (so the first directions keep their meaning).

Each raw field is a (V, 3) displacement at one standard deviation, evaluated at the vertices'
anchors (:class:`~mesh_avatar.morphable.head_regions.HeadAnatomy`): eyeballs and the hidden eye
pits move rigidly with the eyeball centre, the bottom of the mouth line with the lip line.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from mesh_avatar.morphable.head_mesh import HeadTemplate
from mesh_avatar.morphable.head_regions import HeadAnatomy, eye_center, gaussian, paired

Field = Callable[[np.ndarray], np.ndarray]

N_IDENTITY = 50
RANDOM_SEED = 20240607


def _side(p: np.ndarray) -> np.ndarray:
    return np.sign(p[:, 0])


def _vec(*columns: np.ndarray) -> np.ndarray:
    return np.stack(columns, axis=1)


def _zeros(p: np.ndarray) -> np.ndarray:
    return np.zeros(len(p))


def _not_neck(p: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(p[:, 1] + 0.095) / 0.01))


def _semantic_fields() -> list[tuple[str, Field]]:
    """Named displacement fields at one standard deviation (metres)."""
    z0 = _zeros

    def head_width(p):
        return _vec(0.035 * p[:, 0] * _not_neck(p), z0(p), z0(p))

    def head_length(p):
        back = np.clip(-p[:, 2] - 0.01, 0.0, None) * _not_neck(p)
        return _vec(z0(p), z0(p), -0.06 * back)

    def head_height(p):
        top = np.clip(p[:, 1] - 0.03, 0.0, None)
        return _vec(z0(p), 0.05 * top, z0(p))

    def face_width(p):
        w = gaussian(p, (0.0, -0.02, 0.07), (0.09, 0.06, 0.07))
        return _vec(0.05 * p[:, 0] * w, z0(p), z0(p))

    def face_length(p):
        lower = np.clip(0.0 - p[:, 1], 0.0, None) * gaussian(
            p, (0.0, -0.06, 0.06), (0.09, 0.08, 0.08)
        )
        return _vec(z0(p), -0.05 * lower, 0.01 * lower)

    def jaw_width(p):
        w = paired(p, (0.05, -0.07, 0.01), (0.03, 0.035, 0.04))
        return _vec(0.003 * _side(p) * w, z0(p), z0(p))

    def chin_protrusion(p):
        return _vec(z0(p), z0(p), 0.0025 * gaussian(p, (0.0, -0.09, 0.085), (0.025, 0.02, 0.03)))

    def chin_height(p):
        w = gaussian(p, (0.0, -0.095, 0.07), (0.035, 0.025, 0.04))
        return _vec(z0(p), -0.0025 * w, z0(p))

    def cheekbones(p):
        w = paired(p, (0.05, 0.008, 0.058), (0.022, 0.016, 0.024))
        return _vec(0.0018 * _side(p) * w, 0.0005 * w, 0.0012 * w)

    def cheek_fullness(p):
        w = paired(p, (0.048, -0.035, 0.05), (0.022, 0.022, 0.03))
        return _vec(0.0022 * _side(p) * w, z0(p), 0.0012 * w)

    def forehead_slope(p):
        w = gaussian(p, (0.0, 0.08, 0.07), (0.06, 0.035, 0.05))
        return _vec(z0(p), z0(p), 0.003 * w)

    def brow_ridge(p):
        w = paired(p, (0.028, 0.05, 0.085), (0.026, 0.01, 0.02))
        return _vec(z0(p), 0.0003 * w, 0.0018 * w)

    def brow_height(p):
        w = paired(p, (0.03, 0.052, 0.08), (0.03, 0.013, 0.03))
        return _vec(z0(p), 0.002 * w, z0(p))

    def eye_spacing(p):
        w = paired(p, tuple(eye_center(1)), (0.02, 0.018, 0.03))
        return _vec(0.0018 * _side(p) * w, z0(p), z0(p))

    def eye_size(p):
        c = eye_center(1)
        q = p.copy()
        q[:, 0] = np.abs(q[:, 0])
        w = gaussian(q, tuple(c), (0.02, 0.016, 0.03))
        rel = (q - c) * w[:, None] * 0.05
        rel[:, 0] *= _side(p)
        return rel

    def eye_height(p):
        w = paired(p, tuple(eye_center(1)), (0.022, 0.018, 0.03))
        return _vec(z0(p), 0.0016 * w, z0(p))

    def eye_tilt(p):
        c = eye_center(1)
        w = paired(p, tuple(c), (0.02, 0.016, 0.03))
        return _vec(z0(p), 0.001 * (np.abs(p[:, 0]) - c[0]) / 0.015 * w, z0(p))

    def nose_length(p):
        w = gaussian(p, (0.0, -0.012, 0.105), (0.022, 0.018, 0.025))
        return _vec(z0(p), -0.0025 * w, 0.0008 * w)

    def nose_width(p):
        w = paired(p, (0.014, -0.014, 0.095), (0.012, 0.014, 0.02))
        return _vec(0.0018 * _side(p) * w, z0(p), z0(p))

    def nose_bridge(p):
        w = gaussian(p, (0.0, 0.018, 0.1), (0.009, 0.02, 0.02))
        return _vec(z0(p), z0(p), 0.0018 * w)

    def nose_tip(p):
        w = gaussian(p, (0.0, -0.009, 0.112), (0.012, 0.012, 0.014))
        return _vec(z0(p), 0.0004 * w, 0.002 * w)

    def lip_fullness(p):
        w = gaussian(p, (0.0, -0.051, 0.093), (0.024, 0.011, 0.014))
        dy = np.tanh((p[:, 1] + 0.051) / 0.008)
        return _vec(z0(p), 0.0008 * dy * w, 0.0016 * w)

    def mouth_width(p):
        w = gaussian(p, (0.0, -0.051, 0.088), (0.04, 0.018, 0.03))
        return _vec(0.06 * p[:, 0] * w, z0(p), z0(p))

    def upper_lip_height(p):
        w = gaussian(p, (0.0, -0.03, 0.1), (0.03, 0.012, 0.03))
        lower = gaussian(p, (0.0, -0.06, 0.09), (0.04, 0.03, 0.04))
        return _vec(z0(p), -0.0015 * np.maximum(w, lower), z0(p))

    def ear_size(p):
        c = np.array([0.074, 0.004, -0.014])
        q = p.copy()
        q[:, 0] = np.abs(q[:, 0])
        w = gaussian(q, tuple(c), (0.025, 0.04, 0.03)) * (q[:, 0] > 0.05)
        rel = (q - c) * w[:, None] * 0.08
        rel[:, 0] *= _side(p)
        return rel

    def ear_protrusion(p):
        w = paired(p, (0.078, 0.004, -0.022), (0.018, 0.035, 0.025)) * (np.abs(p[:, 0]) > 0.05)
        return _vec(0.003 * _side(p) * w, z0(p), z0(p))

    def neck_width(p):
        w = 1.0 - _not_neck(p)
        return _vec(0.05 * p[:, 0] * w, z0(p), 0.05 * (p[:, 2] + 0.016) * w)

    def temples(p):
        w = paired(p, (0.062, 0.045, 0.035), (0.02, 0.025, 0.03))
        return _vec(0.0018 * _side(p) * w, z0(p), z0(p))

    def occiput(p):
        w = gaussian(p, (0.0, 0.01, -0.1), (0.06, 0.05, 0.04))
        return _vec(z0(p), z0(p), -0.003 * w)

    def jaw_angle(p):
        w = paired(p, (0.05, -0.07, 0.0), (0.025, 0.02, 0.03))
        return _vec(z0(p), -0.002 * w, z0(p))

    def nose_bump(p):
        w = gaussian(p, (0.0, 0.012, 0.103), (0.007, 0.009, 0.015))
        return _vec(z0(p), z0(p), 0.0012 * w)

    def midface_depth(p):
        w = gaussian(p, (0.0, -0.02, 0.09), (0.045, 0.04, 0.05))
        return _vec(z0(p), z0(p), 0.0025 * w)

    return [
        ("head_width", head_width),
        ("head_length", head_length),
        ("head_height", head_height),
        ("face_width", face_width),
        ("face_length", face_length),
        ("jaw_width", jaw_width),
        ("chin_protrusion", chin_protrusion),
        ("chin_height", chin_height),
        ("cheekbones", cheekbones),
        ("cheek_fullness", cheek_fullness),
        ("forehead_slope", forehead_slope),
        ("brow_ridge", brow_ridge),
        ("brow_height", brow_height),
        ("eye_spacing", eye_spacing),
        ("eye_size", eye_size),
        ("eye_height", eye_height),
        ("eye_tilt", eye_tilt),
        ("nose_length", nose_length),
        ("nose_width", nose_width),
        ("nose_bridge", nose_bridge),
        ("nose_tip", nose_tip),
        ("lip_fullness", lip_fullness),
        ("mouth_width", mouth_width),
        ("upper_lip_height", upper_lip_height),
        ("ear_size", ear_size),
        ("ear_protrusion", ear_protrusion),
        ("neck_width", neck_width),
        ("temples", temples),
        ("occiput", occiput),
        ("jaw_angle", jaw_angle),
        ("nose_bump", nose_bump),
        ("midface_depth", midface_depth),
    ]


def _random_fields(
    surface: np.ndarray, count: int, rng: np.random.Generator
) -> list[tuple[str, Field]]:
    """Smooth random fields: a few gaussian blobs each, mostly mirror-symmetric."""
    fields: list[tuple[str, Field]] = []
    for k in range(count):
        symmetric = k % 4 != 3
        n_blobs = 3
        centers = surface[rng.integers(0, len(surface), n_blobs)]
        radii = rng.uniform(0.02, 0.045, n_blobs)
        vectors = rng.normal(0.0, 1.0, (n_blobs, 3))
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        amp = 0.0012 if symmetric else 0.0006

        def field(p, centers=centers, radii=radii, vectors=vectors, amp=amp, symmetric=symmetric):
            out = np.zeros_like(p)
            for c, r, vec in zip(centers, radii, vectors, strict=True):
                out += amp * gaussian(p, c, (r, r, r))[:, None] * vec
                if symmetric:
                    cm = c * np.array([-1.0, 1.0, 1.0])
                    vm = vec * np.array([-1.0, 1.0, 1.0])
                    out += amp * gaussian(p, cm, (r, r, r))[:, None] * vm
            return out

        fields.append((f"identity_{len(fields):03d}", field))
    return fields


def _rigid_eyes(
    template: HeadTemplate, anatomy: HeadAnatomy, name: str, field: Field
) -> np.ndarray:
    """Evaluate ``field`` at the anchors; the lids blend towards the eyeball's rigid motion (so the
    steep walls of the eye openings keep their orientation), and ``eye_size`` scales eyeballs
    about their centres."""
    values = field(anatomy.anchor)
    for label, side in ((1, 1), (2, -1)):
        center = eye_center(side)
        at_center = field(center[None])[0]
        dist = np.linalg.norm(template.vertices - center, axis=1)
        t = np.clip((dist - 0.0135) / 0.02, 0.0, 1.0)
        w = (1.0 - t * t * (3.0 - 2.0 * t)) * anatomy.skin
        mask = (template.part == label) | (anatomy.eye_pit == label)
        w[mask] = 1.0
        rigid = np.broadcast_to(at_center, values.shape)
        if name == "eye_size":
            rigid = 0.05 * (template.vertices - center)
        values = values + w[:, None] * (rigid - values)
    return values


def identity_basis(
    template: HeadTemplate, anatomy: HeadAnatomy, n_components: int = N_IDENTITY
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Orthonormal identity directions with their standard deviations and names.

    Returns:
        basis (K, V, 3) float64 with unit norm rows, std (K,) metres, names (K,).
    """
    rng = np.random.default_rng(RANDOM_SEED)
    semantic = _semantic_fields()
    surface = template.vertices[anatomy.skin & (template.vertices[:, 1] > -0.1)]
    fields = semantic + _random_fields(surface, n_components - len(semantic), rng)
    raw = np.stack(
        [_rigid_eyes(template, anatomy, name, f).reshape(-1) for name, f in fields[:n_components]]
    )
    basis = np.zeros_like(raw)
    std = np.zeros(len(raw))
    for k, row in enumerate(raw):  # Gram-Schmidt, twice for accuracy
        vec = row.copy()
        for _ in range(2):
            if k:
                vec -= basis[:k].T @ (basis[:k] @ vec)
        std[k] = np.linalg.norm(vec)
        basis[k] = vec / std[k]
    names = [name for name, _ in fields[:n_components]]
    return basis.reshape(len(raw), -1, 3), std, names
