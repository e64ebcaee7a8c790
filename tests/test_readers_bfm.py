"""BFM 2009 (.mat) and BFM 2017 (.h5) readers on synthetic files in the real layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures_models import synthetic_model, write_bfm2009, write_bfm2017

from mesh_avatar.errors import ModelFileError
from mesh_avatar.morphable import MorphableModel
from mesh_avatar.morphable.bfm import read_bfm
from mesh_avatar.morphable.loading import load_model, read_model_data
from mesh_avatar.params import AvatarParams


def _same_triangles(got: np.ndarray, want: np.ndarray) -> bool:
    """Equal as oriented triangles (a rotation of a triangle's corners is the same triangle)."""

    def canonical(faces: np.ndarray) -> set[tuple[int, ...]]:
        out = set()
        for tri in np.asarray(faces).tolist():
            k = tri.index(min(tri))
            out.add(tuple(tri[k:] + tri[:k]))
        return out

    return canonical(got) == canonical(want)


@pytest.fixture(scope="module")
def bfm2009(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    truth = synthetic_model(seed=1, face_only=True)
    path = write_bfm2009(tmp_path_factory.mktemp("bfm") / "01_MorphableModel.mat", truth)
    return path, truth


@pytest.fixture(scope="module")
def bfm2017(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    truth = synthetic_model(seed=2, face_only=True, n_expression=3)
    rng = np.random.default_rng(5)
    expression_mean = rng.normal(scale=0.001, size=truth.vertices.shape)
    path = tmp_path_factory.mktemp("bfm") / "model2017-1_bfm_nomouth.h5"
    return write_bfm2017(path, truth, expression_mean), truth


def test_bfm2009_round_trip(bfm2009: tuple[Path, object]) -> None:
    path, truth = bfm2009
    data = read_bfm(path)
    v = len(truth.vertices)
    assert data.name == "bfm2009" and data.n_vertices == v
    np.testing.assert_allclose(data.vertices, truth.vertices, atol=1e-7)  # micrometres -> metres
    assert _same_triangles(data.faces, truth.faces)  # 1-based clockwise -> 0-based outward
    np.testing.assert_allclose(data.identity_std, np.linalg.norm(
        truth.shape_dirs.reshape(len(truth.shape_dirs), -1), axis=1), rtol=1e-5)  # fmt: skip
    scaled = data.identity_basis * data.identity_std[:, None, None]
    np.testing.assert_allclose(scaled, truth.shape_dirs, atol=1e-7)  # std, not variance
    gram = (
        data.identity_basis.reshape(len(scaled), -1)
        @ data.identity_basis.reshape(len(scaled), -1).T
    )
    np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)
    assert data.albedo_space == "vertex" and data.expression_basis.shape == (0, v, 3)
    np.testing.assert_allclose(data.albedo_mean, truth.colour_mean, atol=1e-5)  # 0..255 -> [0, 1]
    np.testing.assert_allclose(
        data.albedo_basis * data.albedo_std[:, None, None], truth.colour_dirs, atol=1e-5
    )
    assert data.uvs.min() >= 0.0 and data.uvs.max() <= 1.0
    assert data.face_uvs.shape == data.faces.shape
    assert data.landmarks.size == 0 and data.regions["face"].all()


def test_bfm2017_round_trip(bfm2017: tuple[Path, object]) -> None:
    path, truth = bfm2017
    data = read_bfm(path)
    assert data.name == "bfm2017"
    # millimetres -> metres; the expression mean is part of the mean shape
    np.testing.assert_allclose(data.vertices, truth.vertices, atol=1e-6)
    assert _same_triangles(data.faces, truth.faces)  # (3, F) 0-based cells
    np.testing.assert_allclose(  # variances -> standard deviations
        data.identity_basis * data.identity_std[:, None, None], truth.shape_dirs, atol=1e-6
    )
    assert data.expression_kind == "pca" and len(data.expression_names) == 3
    np.testing.assert_allclose(
        data.expression_basis * data.expression_std[:, None, None], truth.expression_dirs,
        atol=1e-6,
    )  # fmt: skip
    np.testing.assert_allclose(data.albedo_mean, truth.colour_mean, atol=1e-6)


def test_bfm_through_load_model_decodes(bfm2017: tuple[Path, object]) -> None:
    path, truth = bfm2017
    model = load_model(f"bfm:{path}")
    assert isinstance(model, MorphableModel)
    params = AvatarParams.neutral(model.layout, 1)
    identity = torch.zeros(1, model.layout.n_identity)
    identity[0, 2] = 1.5
    decoded = model(params.with_fields(identity=identity))
    want = truth.vertices + 1.5 * truth.shape_dirs[2]
    np.testing.assert_allclose(decoded.vertices[0].numpy(), want, atol=1e-5)
    assert decoded.albedo.shape == (1, model.n_vertices, 3)


def test_bfm_vertex_albedo_bakes_to_texture(bfm2009: tuple[Path, object]) -> None:
    from mesh_avatar.avatar import build_avatar_mesh

    path, _ = bfm2009
    model = load_model(f"bfm:{path}")
    mesh = build_avatar_mesh(model, AvatarParams.neutral(model.layout, 1), texture_size=64)
    assert mesh.texture.shape == (64, 64, 3) and mesh.texture.dtype == np.uint8
    assert 60 < mesh.texture.mean() < 210  # colours of the model, no black background


def test_bfm_truncated_mat_names_file(bfm2009: tuple[Path, object], tmp_path: Path) -> None:
    path, _ = bfm2009
    cut = tmp_path / "01_MorphableModel.mat"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match=r"01_MorphableModel\.mat"):
        read_bfm(cut)


def test_bfm_missing_key_is_named(tmp_path: Path) -> None:
    import scipy.io

    truth = synthetic_model(seed=3, face_only=True)
    path = write_bfm2009(tmp_path / "full.mat", truth)
    arrays = scipy.io.loadmat(str(path))
    del arrays["tl"]
    broken = tmp_path / "broken.mat"
    scipy.io.savemat(str(broken), {k: v for k, v in arrays.items() if not k.startswith("__")})
    with pytest.raises(ModelFileError, match=r"broken\.mat.*'tl'"):
        read_bfm(broken)


def test_bfm_wrong_shape_is_explained(tmp_path: Path) -> None:
    import scipy.io

    truth = synthetic_model(seed=3, face_only=True)
    path = write_bfm2009(tmp_path / "full.mat", truth)
    arrays = {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}
    arrays["shapeEV"] = arrays["shapeEV"][:-1]
    scipy.io.savemat(str(tmp_path / "bad.mat"), arrays)
    with pytest.raises(ModelFileError, match=r"'shapeEV' has shape"):
        read_bfm(tmp_path / "bad.mat")


def test_bfm_out_of_range_triangles(tmp_path: Path) -> None:
    import scipy.io

    truth = synthetic_model(seed=3, face_only=True)
    path = write_bfm2009(tmp_path / "full.mat", truth)
    arrays = {k: v for k, v in scipy.io.loadmat(str(path)).items() if not k.startswith("__")}
    arrays["tl"] = arrays["tl"] - 1  # 0-based by mistake: index 0 appears
    scipy.io.savemat(str(tmp_path / "zero.mat"), arrays)
    with pytest.raises(ModelFileError, match=r"'tl' indexes vertices outside 1\.\."):
        read_bfm(tmp_path / "zero.mat")


def test_bfm2017_truncated_and_foreign_files(bfm2017: tuple[Path, object], tmp_path: Path) -> None:
    path, _ = bfm2017
    cut = tmp_path / "cut.h5"
    cut.write_bytes(path.read_bytes()[:4096])
    with pytest.raises(ModelFileError, match=r"cut\.h5"):
        read_bfm(cut)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="neither a MATLAB"):
        read_bfm(text)
    with pytest.raises(ModelFileError, match="no such file"):
        read_model_data(f"bfm:{tmp_path / 'absent.mat'}")


def test_bfm2017_variance_must_be_non_negative(tmp_path: Path) -> None:
    import h5py

    truth = synthetic_model(seed=4, face_only=True, n_expression=2)
    path = write_bfm2017(tmp_path / "m.h5", truth, np.zeros_like(truth.vertices))
    with h5py.File(path, "r+") as file:
        variance = file["shape/model/pcaVariance"][()]
        variance[1] = -1.0
        file["shape/model/pcaVariance"][...] = variance
    with pytest.raises(ModelFileError, match="negative variances"):
        read_bfm(path)
