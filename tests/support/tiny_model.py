"""A small synthetic morphable model for fast tests (no file, no real data).

An ellipsoidal "head" from a latitude/longitude grid, open at the bottom (the neck), with a UV seam down
the front (longitude 0 faces +Z), a few orthonormal identity directions, four ARKit-named localized expressions, a UV albedo
model whose basis has a lower resolution than the mean, region masks and 68 landmark indices.
"""

from __future__ import annotations

import numpy as np

from mesh_avatar.morphable.data import MorphableModelData

TINY_EXPRESSIONS = ("eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "mouthSmileLeft")


def make_tiny_model_data(
    n_lat: int = 16, n_lon: int = 24, n_identity: int = 6, seed: int = 0
) -> MorphableModelData:
    rng = np.random.default_rng(seed)
    # Rings from near the top (theta small) down to the neck opening; longitude 0 faces +Z.
    theta = np.linspace(0.0, 0.8 * np.pi, n_lat)[1:]
    phi = np.linspace(0.0, 2.0 * np.pi, n_lon, endpoint=False)
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    radii = np.array([0.075, 0.11, 0.095])
    ring = np.stack(
        [np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], axis=-1
    ).reshape(-1, 3)
    top = np.array([[0.0, 1.0, 0.0]])
    unit = np.concatenate([top, ring])
    vertices = (unit * radii).astype(np.float32)
    rows = n_lat - 1

    def vid(r: int, c: int) -> int:
        return 1 + r * n_lon + (c % n_lon)

    faces, face_uvs = [], []
    # UVs: one column more than vertices so the seam (at longitude 0, the front) gets u = 0 and u = 1.
    uv_grid = np.stack(
        np.meshgrid(np.arange(n_lon + 1) / n_lon, np.arange(rows), indexing="xy"), -1
    )
    uvs = np.concatenate(
        [
            np.stack([uv_grid[..., 0], 1.0 - (uv_grid[..., 1] + 1) / (rows + 1)], -1).reshape(
                -1, 2
            ),
            [[0.5, 1.0]],
        ]
    ).astype(np.float32)
    top_uv = len(uvs) - 1

    def uid(r: int, c: int) -> int:
        return r * (n_lon + 1) + c

    for c in range(n_lon):
        faces.append([0, vid(0, c), vid(0, c + 1)])
        face_uvs.append([top_uv, uid(0, c), uid(0, c + 1)])
    for r in range(rows - 1):
        for c in range(n_lon):
            a, b, cc, d = vid(r, c), vid(r + 1, c), vid(r + 1, c + 1), vid(r, c + 1)
            ua, ub, uc, ud = uid(r, c), uid(r + 1, c), uid(r + 1, c + 1), uid(r, c + 1)
            faces += [[a, b, cc], [a, cc, d]]
            face_uvs += [[ua, ub, uc], [ua, uc, ud]]
    faces = np.asarray(faces, np.int32)
    face_uvs = np.asarray(face_uvs, np.int32)
    # Make the winding counter-clockwise seen from outside.
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    if float(np.sum(normal * tri.mean(1))) < 0:
        faces = faces[:, [0, 2, 1]]
        face_uvs = face_uvs[:, [0, 2, 1]]

    v = len(vertices)
    fields = np.stack([unit[:, 0] ** 2, unit[:, 1], unit[:, 2] ** 3, unit[:, 0] * unit[:, 1]], 0)
    random = rng.standard_normal((n_identity, v))
    raw = np.concatenate([fields, random])[:n_identity, :, None] * unit[None]
    q, _ = np.linalg.qr(raw.reshape(n_identity, -1).T)
    identity_basis = q.T.reshape(n_identity, v, 3).astype(np.float32)
    identity_std = np.linspace(0.01, 0.002, n_identity).astype(np.float32)

    front = unit[:, 2] > 0.3
    regions = {
        "eye_left": front & (unit[:, 0] > 0.2) & (unit[:, 1] > 0.1) & (unit[:, 1] < 0.5),
        "eye_right": front & (unit[:, 0] < -0.2) & (unit[:, 1] > 0.1) & (unit[:, 1] < 0.5),
        "jaw": front & (unit[:, 1] < -0.3),
        "neck": unit[:, 1] < -0.75,
        "face": front,
        "lips": front & (unit[:, 1] < -0.2) & (unit[:, 1] > -0.5) & (np.abs(unit[:, 0]) < 0.4),
    }
    expression_basis = np.zeros((len(TINY_EXPRESSIONS), v, 3), np.float32)
    expression_basis[0, regions["eye_left"], 1] = -0.005
    expression_basis[1, regions["eye_right"], 1] = -0.005
    expression_basis[2, regions["jaw"], 1] = -0.02
    expression_basis[3, regions["lips"] & (unit[:, 0] > 0), 0] = 0.006

    h = 64
    yy, xx = np.mgrid[0:h, 0:h] / (h - 1)
    albedo_mean = np.stack([0.75 + 0.05 * xx, 0.55 + 0.05 * yy, 0.45 + 0.0 * xx], -1)
    low = 16
    basis = rng.standard_normal((3, low, low, 3))
    basis[0] = np.array([1.0, 0.8, 0.6])  # a skin-tone-like global axis
    basis /= np.linalg.norm(basis.reshape(3, -1), axis=1)[:, None, None, None]
    return MorphableModelData(
        name="tiny-test",
        license="CC0 (synthetic test model)",
        vertices=vertices,
        faces=faces,
        uvs=uvs,
        face_uvs=face_uvs,
        identity_basis=identity_basis,
        identity_std=identity_std,
        identity_names=[f"identity_{k:03d}" for k in range(n_identity)],
        expression_basis=expression_basis,
        expression_std=np.ones(len(TINY_EXPRESSIONS), np.float32),
        expression_names=list(TINY_EXPRESSIONS),
        expression_kind="blendshape",
        albedo_space="uv",
        albedo_mean=albedo_mean.astype(np.float32),
        albedo_basis=basis.astype(np.float32),
        albedo_std=np.array([0.8, 0.3, 0.3], np.float32),
        albedo_names=["skin_tone", "albedo_001", "albedo_002"],
        landmarks=np.nonzero(front)[0][:68].astype(np.int32),
        regions=regions,
        description="synthetic ellipsoid used by the test suite",
    )
