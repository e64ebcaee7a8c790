"""A few-minute version of the GAN benchmark (make-dataset -> train -> evaluate) on the tiny model."""

from __future__ import annotations

import json

import pytest

from mesh_avatar.cli import main
from mesh_avatar.morphable import save_model


@pytest.mark.slow
def test_short_benchmark_learns_towards_the_population(tiny_model_data, tmp_path, capsys):
    model = tmp_path / "tiny.npz"
    save_model(tiny_model_data, model)
    data, runs, result = tmp_path / "data", tmp_path / "runs", tmp_path / "eval.json"
    common = ["--model", str(model), "--renderer", "fast"]
    assert (
        main(["make-dataset", "--out", str(data), "--n", "600", "--resolution", "32", *common]) == 0
    )
    config = tmp_path / "config.json"
    encoder = {"images": 2000, "validation_images": 500, "steps": 300}  # about a minute
    config.write_text(
        json.dumps({"snapshot_every": 100, "checkpoint_every": 100, "encoder": encoder})
    )
    code = main(["train", "--data", str(data), "--out", str(runs), "--steps", "300",
                 "--batch", "16", "--resolution", "32", "--config", str(config),
                 "--no-tensorboard", *common])  # fmt: skip
    assert code == 0
    run_dir = runs / "00000-data-32px"
    assert json.loads((run_dir / "encoder.json").read_text())["readable"]
    checkpoint = run_dir / "checkpoint-000300.pt"
    assert checkpoint.is_file() and (run_dir / "samples-000300.png").is_file()
    code = main(["evaluate", "--checkpoint", str(checkpoint), "--data", str(data), "--out",
                 str(result), "--n", "600"])  # fmt: skip
    assert code == 0
    report = json.loads(result.read_text())
    assert set(report) >= {"frechet", "precision_recall", "coverage", "diversity", "bar"}
    assert report["visible_components"]["albedo"]  # skin tone is visible at 32 px
    # One spread ratio per visible coefficient, keyed like visible_components.
    spread = report["coordinate_spread"]
    assert {g: [int(k) for k in v] for g, v in spread.items()} == report["visible_components"]
    assert all(r >= 0 for ratios in spread.values() for r in ratios.values())
    # Learning signal: closer to the population than the prior is, and not collapsed.
    assert report["frechet"]["ratio"] < 0.8
    # The ceiling (real half against real half) is closer to the data than the prior is.
    halves, prior = report["precision_recall"]["real_halves"], report["precision_recall"]["prior"]
    assert halves["precision"] > prior["precision"] and halves["recall"] > 0.5
    assert report["frechet"]["real_halves"] < report["frechet"]["prior"]
    assert not report["diversity"]["collapsed"]
    # The run's discriminator scores the real set above the generated one (it is trained to).
    attribution = report["discriminator_attribution"]
    assert attribution["real"] > attribution["fake"]
    assert set(attribution["groups"]) == {"identity", "expression", "albedo", "pose", "lighting"}
