"""FLAME 2020 reader on synthetic files in the real layout (chumpy pickle, texture npz, masks)."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures_models import (
    SyntheticModel,
    synthetic_model,
    write_flame,
    write_flame_masks,
    write_flame_texture,
)

from mesh_avatar.errors import ModelFileError
from mesh_avatar.morphable import flame as flame_module
from mesh_avatar.morphable.flame import read_flame
from mesh_avatar.morphable.loading import load_model
from mesh_avatar.morphable.uv_bake import cylindrical_uvs
from mesh_avatar.params import AvatarParams

N_SHAPE, N_EXPRESSION = 300, 100  # FLAME 2020: shapedirs (V, 3, 400)


@pytest.fixture(scope="module")
def truth() -> SyntheticModel:
    return synthetic_model(
        seed=7, n_shape=N_SHAPE, n_expression=N_EXPRESSION, n_colour=0, lat_lon=(14, 24)
    )


@pytest.fixture
def flame_dir(tmp_path: Path, truth: SyntheticModel) -> Path:
    write_flame(tmp_path / "generic_model.pkl", truth)
    return tmp_path


def _texture(
    truth: SyntheticModel, size: int = 32, k: int = 4, seed: int = 0
) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    mean = rng.uniform(0.2, 0.8, size=(size, size, 3))
    mean[..., 0] = 0.9  # red channel distinct, to see that BGR became RGB
    dirs = rng.normal(scale=0.05, size=(k, size, size, 3))
    vt, ft = cylindrical_uvs(truth.vertices, truth.faces)
    return mean, dirs, vt, ft


def test_flame_round_trip_without_texture(flame_dir: Path, truth: SyntheticModel) -> None:
    data = read_flame(flame_dir / "generic_model.pkl")
    assert data.name == "flame2020" and data.n_vertices == len(truth.vertices)
    np.testing.assert_allclose(data.vertices, truth.vertices, atol=1e-7)
    np.testing.assert_array_equal(data.faces, truth.faces)  # 0-based, already outward
    assert len(data.identity_std) == N_SHAPE and len(data.expression_std) == N_EXPRESSION
    # shapedirs are std-scaled: norms are the standard deviations, directions unchanged
    np.testing.assert_allclose(
        data.identity_basis * data.identity_std[:, None, None], truth.shape_dirs, atol=1e-6
    )
    np.testing.assert_allclose(
        data.expression_basis * data.expression_std[:, None, None], truth.expression_dirs,
        atol=1e-6,
    )  # fmt: skip
    assert data.expression_kind == "pca"
    assert data.albedo_space == "vertex" and data.albedo_names == ["skin_tone"]
    assert 0.0 <= data.uvs.min() and data.uvs.max() <= 1.0
    assert data.regions == {} and data.landmarks.size == 0


def test_flame_folder_spec_and_decode(flame_dir: Path, truth: SyntheticModel) -> None:
    model = load_model(f"flame:{flame_dir}")
    expression = torch.zeros(1, N_EXPRESSION)
    expression[0, 4] = -2.0
    params = AvatarParams.neutral(model.layout, 1).with_fields(expression=expression)
    decoded = model(params)
    want = truth.vertices - 2.0 * truth.expression_dirs[4]
    np.testing.assert_allclose(decoded.vertices[0].numpy(), want, atol=1e-5)


@pytest.mark.parametrize("one_based", [False, True])
def test_flame_texture_space(flame_dir: Path, truth: SyntheticModel, one_based: bool) -> None:
    mean, dirs, vt, ft = _texture(truth)
    write_flame_texture(flame_dir / "FLAME_texture.npz", mean, dirs, vt, ft + int(one_based))
    data = read_flame(flame_dir / "generic_model.pkl")
    assert data.albedo_space == "uv"
    np.testing.assert_allclose(data.albedo_mean, mean, atol=1e-6)  # BGR 0..255 -> RGB [0, 1]
    np.testing.assert_allclose(data.albedo_basis * data.albedo_std[:, None, None, None], dirs,
                               atol=1e-6)  # fmt: skip
    np.testing.assert_allclose(data.uvs, vt, atol=1e-6)
    np.testing.assert_array_equal(data.face_uvs, ft)


def test_flame_texture_basis_is_block_averaged(
    flame_dir: Path,
    truth: SyntheticModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(flame_module, "MAX_BASIS_SIZE", 16)
    mean, dirs, vt, ft = _texture(truth, size=64, k=3)
    write_flame_texture(flame_dir / "FLAME_texture.npz", mean, dirs, vt, ft)
    data = read_flame(flame_dir / "generic_model.pkl")
    assert data.albedo_mean.shape == (64, 64, 3) and data.albedo_basis.shape == (3, 16, 16, 3)
    want = dirs.reshape(3, 16, 4, 16, 4, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(data.albedo_basis * data.albedo_std[:, None, None, None], want,
                               atol=1e-6)  # fmt: skip


def test_flame_masks_become_regions(flame_dir: Path, truth: SyntheticModel) -> None:
    x = truth.vertices[:, 0]
    left = np.nonzero(x > 0.05)[0]  # subject's left is +X
    right = np.nonzero(x < -0.05)[0]
    # deliberately swapped names: the side the vertices lie on decides
    write_flame_masks(
        flame_dir / "FLAME_masks.pkl",
        {"left_eyeball": right, "right_eyeball": left, "face": np.arange(10), "boundary": [0]},
    )
    data = read_flame(flame_dir)
    assert set(data.regions) == {"eye_left", "eye_right", "face"}
    np.testing.assert_array_equal(np.nonzero(data.regions["eye_left"])[0], left)
    np.testing.assert_array_equal(np.nonzero(data.regions["eye_right"])[0], right)


def test_flame_refuses_foreign_objects(tmp_path: Path) -> None:
    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    path = tmp_path / "generic_model.pkl"
    path.write_bytes(pickle.dumps({"v_template": Evil()}, protocol=2))
    with pytest.raises(ModelFileError, match=r"refusing to load (posix|nt|os)\.system"):
        read_flame(path)


def test_flame_truncated_and_missing(flame_dir: Path, tmp_path: Path) -> None:
    data = (flame_dir / "generic_model.pkl").read_bytes()
    cut = tmp_path / "cut" / "generic_model.pkl"
    cut.parent.mkdir()
    cut.write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError, match=r"cut/generic_model\.pkl: truncated"):
        read_flame(cut)
    with pytest.raises(ModelFileError, match="no such file"):
        read_flame(tmp_path / "nowhere")


def test_flame_missing_key_and_bad_shape(tmp_path: Path, truth: SyntheticModel) -> None:
    path = tmp_path / "generic_model.pkl"
    path.write_bytes(pickle.dumps({"v_template": truth.vertices, "f": truth.faces}, protocol=2))
    with pytest.raises(ModelFileError, match="missing 'shapedirs'"):
        read_flame(path)
    path.write_bytes(
        pickle.dumps(
            {"v_template": truth.vertices, "f": truth.faces, "shapedirs": np.zeros((5, 3, 4))}, 2
        )
    )
    with pytest.raises(ModelFileError, match=r"'shapedirs' has shape \(5, 3, 4\)"):
        read_flame(path)


def test_flame_truncated_texture_is_named(flame_dir: Path, truth: SyntheticModel) -> None:
    mean, dirs, vt, ft = _texture(truth)
    texture = write_flame_texture(flame_dir / "FLAME_texture.npz", mean, dirs, vt, ft)
    texture.write_bytes(texture.read_bytes()[:200])
    with pytest.raises(ModelFileError, match=r"FLAME_texture\.npz"):
        read_flame(flame_dir)
