"""Batch runs that sample a trained generator (checkpoint) instead of the model prior."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from mesh_avatar.batch import BatchError, BatchSpec, run_batch
from mesh_avatar.batch.manifest import read_manifest
from mesh_avatar.morphable import MorphableModel, load_model_npz, save_model


@pytest.fixture
def checkpoint(tmp_path, tiny_model_data) -> tuple[Path, Path]:
    from mesh_avatar.gan.checkpoint import build_generator, model_record, save_checkpoint
    from mesh_avatar.gan.config import TrainConfig, config_to_dict

    model_file = tmp_path / "tiny.npz"
    save_model(tiny_model_data, model_file)
    model = MorphableModel(tiny_model_data)
    config = TrainConfig(data="unused")
    torch.manual_seed(0)
    generator = build_generator(config, model)
    path = tmp_path / "g.pt"
    save_checkpoint(
        path,
        {
            "step": 0,
            "images_seen": 0,
            "config": config_to_dict(config),
            "model": model_record(model),
            "generator_ema": generator.state_dict(),
        },
    )
    return model_file, path


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_generator_samples_are_the_same_for_any_worker_count(tmp_path, checkpoint):
    from mesh_avatar.gan.checkpoint import load_generator, sample_generator

    model_file, ckpt = checkpoint
    spec = BatchSpec(
        n=3, seed=2, model=str(model_file), checkpoint=str(ckpt), truncation=0.7, texture_size=256
    )
    run_batch(spec, tmp_path / "a", workers=0, progress=False)
    run_batch(spec, tmp_path / "b", workers=2, progress=False)
    assert _tree(tmp_path / "a") == _tree(tmp_path / "b")

    model = MorphableModel(load_model_npz(model_file))
    generator, _ = load_generator(ckpt, model)
    for row in read_manifest(tmp_path / "a" / "manifest.jsonl"):
        expected = sample_generator(generator, 1, 2, start=row["index"], truncation=0.7)
        got = torch.tensor(row["coefficients"]["identity"])
        assert torch.equal(got, expected.identity[0])

    # Another checkpoint file cannot silently continue this run.
    ckpt.write_bytes(ckpt.read_bytes() + b"\0")
    with pytest.raises(BatchError, match="checkpoint"):
        run_batch(spec, tmp_path / "a", workers=0, progress=False)
