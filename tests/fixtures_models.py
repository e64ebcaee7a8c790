"""Small synthetic model files written in the exact layout of the real BFM 2009, BFM 2017 and
FLAME 2020 files (keys, array shapes in the real order, dtypes, units, 0/1-based triangles,
standard deviations vs variances, BGR textures, chumpy objects in the pickle), with the ground
truth in project units (metres, [0, 1] colours, counter-clockwise outward triangles) to compare
what the readers return against.
"""

from __future__ import annotations

import contextlib
import pickle
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class SyntheticModel:
    """Ground truth of a synthetic model, in project units.

    Attributes:
        vertices: (V, 3) mean shape in metres (for BFM 2017: shape mean + expression mean).
        faces: (F, 3) counter-clockwise seen from outside.
        shape_dirs: (K, V, 3) orthogonal directions scaled by their std, metres.
        expression_dirs: (Ke, V, 3) likewise (Ke may be 0).
        colour_mean: (V, 3) per-vertex colour in [0, 1].
        colour_dirs: (Kc, V, 3) colour directions scaled by their std, [0, 1] units.
    """

    vertices: np.ndarray
    faces: np.ndarray
    shape_dirs: np.ndarray
    expression_dirs: np.ndarray
    colour_mean: np.ndarray
    colour_dirs: np.ndarray


def head_mesh(n_lat: int = 12, n_lon: int = 20, face_only: bool = False) -> tuple[np.ndarray, ...]:
    """An ellipsoidal head (metres, +Y up, face towards +Z), counter-clockwise outward triangles.

    ``face_only`` keeps the front half (z > 0) as an open mask, like the BFM.
    """
    theta = np.linspace(0.0, np.pi, n_lat + 2)[1:-1]
    phi = np.linspace(-np.pi, np.pi, n_lon, endpoint=False)
    th, ph = np.meshgrid(theta, phi, indexing="ij")
    unit = np.stack([np.sin(th) * np.sin(ph), np.cos(th), np.sin(th) * np.cos(ph)], -1)
    ring = unit.reshape(-1, 3)
    vertices = np.concatenate([[[0.0, 1.0, 0.0]], ring, [[0.0, -1.0, 0.0]]])
    vertices = vertices * np.array([0.075, 0.11, 0.095])
    top, bottom = 0, len(vertices) - 1

    def vid(r: int, c: int) -> int:
        return 1 + r * n_lon + c % n_lon

    faces = []
    for c in range(n_lon):
        faces.append([top, vid(0, c), vid(0, c + 1)])
        faces.append([bottom, vid(n_lat - 1, c + 1), vid(n_lat - 1, c)])
    for r in range(n_lat - 1):
        for c in range(n_lon):
            a, b, cc, d = vid(r, c), vid(r, c + 1), vid(r + 1, c), vid(r + 1, c + 1)
            faces.append([a, cc, d])
            faces.append([a, d, b])
    faces = np.asarray(faces, np.int64)
    if face_only:
        keep_vertex = vertices[:, 2] > 1e-9
        keep_face = keep_vertex[faces].all(axis=1)
        new_index = np.cumsum(keep_vertex) - 1
        vertices, faces = vertices[keep_vertex], new_index[faces[keep_face]]
    return vertices, faces


def orthogonal_directions(
    rng: np.random.Generator, k: int, n_vertices: int, std: np.ndarray
) -> np.ndarray:
    """(k, V, 3) mutually orthogonal directions with norms ``std``."""
    q, _ = np.linalg.qr(rng.normal(size=(n_vertices * 3, k)))
    return (q.T * std[:, None]).reshape(k, n_vertices, 3)


def synthetic_model(
    seed: int = 0,
    face_only: bool = False,
    n_shape: int = 6,
    n_expression: int = 0,
    n_colour: int = 5,
    lat_lon: tuple[int, int] = (12, 20),
) -> SyntheticModel:
    rng = np.random.default_rng(seed)
    vertices, faces = head_mesh(*lat_lon, face_only=face_only)
    v = len(vertices)
    return SyntheticModel(
        vertices=vertices,
        faces=faces,
        shape_dirs=orthogonal_directions(rng, n_shape, v, np.linspace(0.02, 0.005, n_shape)),
        expression_dirs=orthogonal_directions(
            rng, n_expression, v, np.linspace(0.01, 0.002, n_expression)
        ),
        colour_mean=rng.uniform(0.3, 0.8, size=(v, 3)),
        colour_dirs=orthogonal_directions(rng, n_colour, v, np.linspace(0.4, 0.1, n_colour)),
    )


def _columns(dirs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(K, V, 3) std-scaled directions -> (3V, K) unit columns and (K,) std."""
    flat = dirs.reshape(len(dirs), -1)
    std = np.linalg.norm(flat, axis=1)
    return (flat / std[:, None]).T, std


# ------------------------------------------------------------------------------------- BFM 2009
def write_bfm2009(path: Path, model: SyntheticModel) -> Path:
    """``01_MorphableModel.mat``: micrometres, std (not variance), 0..255 colour, 1-based ``tl``
    wound clockwise seen from outside, (3V, 1) column vectors, float32 like the real file."""
    import scipy.io

    micrometres = 1e6
    shape_pc, shape_std = _columns(model.shape_dirs)
    tex_pc, tex_std = _columns(model.colour_dirs)
    arrays = {
        "shapeMU": (model.vertices.reshape(-1, 1) * micrometres).astype(np.float32),
        "shapePC": shape_pc.astype(np.float32),
        "shapeEV": (shape_std * micrometres).reshape(-1, 1).astype(np.float32),
        "texMU": (model.colour_mean.reshape(-1, 1) * 255.0).astype(np.float32),
        "texPC": tex_pc.astype(np.float32),
        "texEV": (tex_std * 255.0).reshape(-1, 1).astype(np.float32),
        "tl": (model.faces[:, [0, 2, 1]] + 1).astype(np.float64),  # clockwise, 1-based
        "segbin": np.ones((len(model.vertices), 4), np.uint8),
    }
    scipy.io.savemat(str(path), arrays, format="5", do_compression=False)
    return path


# ------------------------------------------------------------------------------------- BFM 2017
def write_bfm2017(path: Path, model: SyntheticModel, expression_mean: np.ndarray) -> Path:
    """A statismo ``.h5``: millimetres, variances, (3, F) 0-based cells, [0, 1] colour, an
    expression model whose mean adds to the shape mean (``model.vertices`` includes it)."""
    import h5py

    millimetres = 1e3
    shape_pc, shape_std = _columns(model.shape_dirs)
    colour_pc, colour_std = _columns(model.colour_dirs)
    expr_pc, expr_std = _columns(model.expression_dirs)
    shape_mean = (model.vertices - expression_mean).reshape(-1) * millimetres
    with h5py.File(path, "w") as file:
        for group, mean, basis, variance in (
            ("shape", shape_mean, shape_pc, (shape_std * millimetres) ** 2),
            ("color", model.colour_mean.reshape(-1), colour_pc, colour_std**2),
            ("expression", expression_mean.reshape(-1) * millimetres, expr_pc,
             (expr_std * millimetres) ** 2),
        ):  # fmt: skip
            file[f"{group}/model/mean"] = mean.astype(np.float32)
            file[f"{group}/model/pcaBasis"] = basis.astype(np.float32)
            file[f"{group}/model/pcaVariance"] = variance.astype(np.float32)
            file[f"{group}/model/noiseVariance"] = np.float32(0.0)
            file[f"{group}/representer/points"] = (model.vertices.T * millimetres).astype(
                np.float32
            )
            file[f"{group}/representer/cells"] = model.faces.T.astype(np.uint32)
        file["metadata/README"] = "synthetic test model"
    return path


# ------------------------------------------------------------------------------------- FLAME
class _FakeCh:
    """Pickles like chumpy's ``Ch``: class ``chumpy.ch.Ch``, state dict with the array as ``x``."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x

    def __getstate__(self) -> dict:
        return {
            "x": self.x,
            "_dirty_vars": set(),
            "_itr": None,
            "_depends_on_deps": {},
            "_make_dense": False,
            "_make_sparse": False,
        }


@contextlib.contextmanager
def _fake_chumpy() -> Iterator[None]:
    """Register ``chumpy.ch.Ch`` while pickling, so the pickle names chumpy's class."""
    package, module = types.ModuleType("chumpy"), types.ModuleType("chumpy.ch")
    _FakeCh.__module__, _FakeCh.__qualname__, _FakeCh.__name__ = "chumpy.ch", "Ch", "Ch"
    module.Ch = _FakeCh
    package.ch = module
    saved = {name: sys.modules.get(name) for name in ("chumpy", "chumpy.ch")}
    sys.modules.update({"chumpy": package, "chumpy.ch": module})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = value


def flame_shapedirs(model: SyntheticModel) -> np.ndarray:
    """(V, 3, K) FLAME layout: std-scaled directions, shape first, then expression."""
    dirs = np.concatenate([model.shape_dirs, model.expression_dirs])
    return np.moveaxis(dirs, 0, -1)


def write_flame(path: Path, model: SyntheticModel) -> Path:
    """``generic_model.pkl``: protocol-2 pickle of a dict with chumpy ``Ch`` values, metres,
    0-based uint32 faces, shapedirs (V, 3, 300 + K_exp) already scaled by std, and the rig."""
    import scipy.sparse

    v = len(model.vertices)
    rig_joints = 5
    content = {
        "f": model.faces.astype(np.uint32),
        "v_template": _FakeCh(model.vertices.astype(np.float64)),
        "shapedirs": _FakeCh(flame_shapedirs(model).astype(np.float64)),
        "posedirs": np.zeros((v, 3, 36)),
        "J_regressor": scipy.sparse.csc_matrix(np.full((rig_joints, v), 1.0 / v)),
        "weights": _FakeCh(np.full((v, rig_joints), 1.0 / rig_joints)),
        "kintree_table": np.array([[4294967295, 0, 1, 1, 1], [0, 1, 2, 3, 4]], np.int64),
        "J": _FakeCh(np.zeros((rig_joints, 3))),
        "bs_style": "lbs",
        "bs_type": "lrotmin",
    }
    with _fake_chumpy():
        path.write_bytes(pickle.dumps(content, protocol=2))
    return path


def write_flame_texture(
    path: Path,
    rgb_mean: np.ndarray,
    rgb_dirs: np.ndarray,
    vt: np.ndarray,
    ft: np.ndarray,
) -> Path:
    """``FLAME_texture.npz``: ``mean`` (H, W, 3) and ``tex_dir`` (H, W, 3, K), 0..255, BGR."""
    np.savez(
        path,
        mean=(rgb_mean[..., ::-1] * 255.0).astype(np.float64),
        tex_dir=(np.moveaxis(rgb_dirs, 0, -1)[:, :, ::-1] * 255.0).astype(np.float64),
        vt=vt.astype(np.float64),
        ft=ft.astype(np.int64),
    )
    return path


def write_flame_masks(path: Path, masks: dict[str, np.ndarray]) -> Path:
    """``FLAME_masks.pkl``: a protocol-2 pickle of region name -> vertex index array."""
    path.write_bytes(pickle.dumps({k: np.asarray(v, np.int64) for k, v in masks.items()}, 2))
    return path
