"""Synthetic target sets: folder layout, round trip, reproducibility, CLI dry run and errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from support.toy_render import ToyRender

from mesh_avatar.cli import main
from mesh_avatar.datasets.image_folder import DatasetError
from mesh_avatar.datasets.population import example_population
from mesh_avatar.datasets.synthetic import load_dataset, make_dataset, resize_uint8
from mesh_avatar.morphable import save_model


@pytest.fixture
def dataset_dir(tiny_model, tmp_path):
    out = tmp_path / "set"
    make_dataset(out, 10, tiny_model, ToyRender(16), example_population(), 16, seed=5, batch=4,
                 progress=False)  # fmt: skip
    return out


def test_folder_layout_and_round_trip(dataset_dir, tiny_model):
    names = sorted(p.name for p in dataset_dir.iterdir())
    assert names == ["coefficients.npz", "dataset.json", "images", "population.json"]
    assert len(list((dataset_dir / "images").glob("*.png"))) == 10
    meta = json.loads((dataset_dir / "dataset.json").read_text())
    assert meta["count"] == 10 and meta["resolution"] == 16 and meta["seed"] == 5
    assert meta["model"]["name"] == "tiny-test"
    loaded = load_dataset(dataset_dir)
    assert loaded.images.shape == (10, 3, 16, 16) and loaded.images.dtype == torch.uint8
    assert loaded.population == example_population()
    assert set(loaded.labels) == {"identity", "albedo", "expression"}
    loaded.params.validate(tiny_model.layout)
    # The PNGs hold the renders of the stored coefficients.
    expected = ToyRender(16)(tiny_model, loaded.params.select(slice(0, 3)))
    got = loaded.images[:3].float() / 127.5 - 1
    assert torch.allclose(got, expected.detach(), atol=1 / 127.5 + 1e-6)


def test_same_seed_same_bytes(dataset_dir, tiny_model, tmp_path):
    again = tmp_path / "again"
    make_dataset(again, 10, tiny_model, ToyRender(16), example_population(), 16, seed=5, batch=3,
                 progress=False)  # fmt: skip
    for name in ("coefficients.npz", "images/000007.png"):
        assert (again / name).read_bytes() == (dataset_dir / name).read_bytes()


def test_refuses_to_overwrite_and_reports_missing(dataset_dir, tiny_model, tmp_path):
    with pytest.raises(DatasetError, match="already holds a dataset"):
        make_dataset(dataset_dir, 2, tiny_model, ToyRender(16), example_population(), 16,
                     progress=False)  # fmt: skip
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "nope")


def test_resize_on_load(dataset_dir):
    assert load_dataset(dataset_dir, resolution=8).images.shape == (10, 3, 8, 8)
    x = torch.full((2, 3, 4, 4), 200, dtype=torch.uint8)
    assert torch.equal(resize_uint8(x, 8), torch.full((2, 3, 8, 8), 200, dtype=torch.uint8))


def test_image_folder_fallback(tmp_path):
    from PIL import Image

    Image.fromarray(np.zeros((40, 30, 3), np.uint8)).save(tmp_path / "a.png")
    loaded = load_dataset(tmp_path, resolution=16)
    assert loaded.images.shape == (1, 3, 16, 16) and loaded.params is None


def test_train_dry_run_prints_resolved_config(dataset_dir, tiny_model_data, tmp_path, capsys):
    model_file = tmp_path / "tiny.npz"
    save_model(tiny_model_data, model_file)
    config_file = tmp_path / "cfg.json"
    config_file.write_text(json.dumps({"loss": {"r1_gamma": 0.5}, "batch": 8}))
    code = main(["train", "--data", str(dataset_dir), "--out", str(tmp_path / "runs"),
                 "--model", str(model_file), "--resolution", "16", "--config", str(config_file),
                 "--steps", "7", "--no-encoder", "--dry-run"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    config = json.loads(out[: out.index("run folder")])
    assert config["steps"] == 7 and config["batch"] == 8 and config["loss"]["r1_gamma"] == 0.5
    assert config["encoder"]["weight"] == 0.0
    assert "00000-set-16px" in out and "10 images at 16 px" in out
    assert not (tmp_path / "runs").exists()


def test_cli_errors_are_one_line(tmp_path, capsys):
    code = main(["train", "--data", str(tmp_path / "missing"), "--out", str(tmp_path),
                 "--dry-run"])  # fmt: skip
    assert code == 2
    assert "dataset folder not found" in capsys.readouterr().err
    code = main(["train", "--data", str(tmp_path), "--out", str(tmp_path), "--resume"])
    assert code == 2
    assert "no run with a checkpoint" in capsys.readouterr().err
    code = main(["train", "--data", str(tmp_path), "--out", str(tmp_path), "--resolution", "48",
                 "--dry-run"])  # fmt: skip
    assert code == 2
    assert "resolution must be one of" in capsys.readouterr().err
