"""Training loop with a toy differentiable renderer: steps, checkpoints, resume, determinism."""

from __future__ import annotations

import json

import pytest
import torch
from support.small_training import RES, random_images, small_config
from support.toy_render import ToyRender

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.gan.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_discriminator,
    load_generator,
    sample_generator,
)
from mesh_avatar.gan.config import OptimConfig
from mesh_avatar.gan.training import (
    build_state,
    find_resumable,
    lazy_r1_ratio,
    learning_rates,
    list_checkpoints,
    next_run_dir,
    restore_state,
    train,
    train_step,
)
from mesh_avatar.morphable import MorphableModel


@pytest.fixture
def images() -> torch.Tensor:
    return random_images()


def flat_weights(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.state_dict().values()])


def test_train_step_updates_both_networks_and_logs_losses(tiny_model, images):
    config = small_config()
    state = build_state(config, tiny_model)
    g0, d0 = flat_weights(state.generator), flat_weights(state.discriminator)
    stats = train_step(state, tiny_model, ToyRender(RES), images, config)
    assert state.step == 1 and state.images_seen == 4
    assert {"loss_g", "loss_d", "d_real", "d_fake", "r1"} <= set(stats)
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())
    assert not torch.equal(g0, flat_weights(state.generator))
    assert not torch.equal(d0, flat_weights(state.discriminator))
    assert not torch.equal(flat_weights(state.generator_ema), g0)


def test_generator_gradient_comes_through_the_renderer(tiny_model, images):
    config = small_config()
    state = build_state(config, tiny_model)
    z = torch.randn(4, config.generator.z_dim)
    params = state.generator(z)
    logits = state.discriminator(ToyRender(RES)(tiny_model, params))
    logits.sum().backward()
    for name in ("identity_head", "albedo_head", "pose_head", "lighting_head", "expression_head"):
        grad = getattr(state.generator, name).weight.grad
        assert grad is not None and grad.abs().sum() > 0, name


def test_training_is_deterministic_and_resume_matches_an_uninterrupted_run(
    tiny_model, images, tmp_path
):
    # Constant rates: the run killed after step 2 is emulated by a 2-step run (the cosine
    # schedule, which depends on the step count, has its own resume test below).
    config = small_config(optim=OptimConfig(schedule="constant"))
    render = ToyRender(RES)
    full = train(config, tmp_path / "full", tiny_model, render, images, progress=False)
    again = train(config, tmp_path / "again", tiny_model, render, images, progress=False)
    assert torch.equal(flat_weights(full.generator), flat_weights(again.generator))

    # A run killed after step 2 resumes from checkpoint-000002.pt and ends bit-identical.
    part_dir = tmp_path / "part"
    killed = small_config(steps=2, optim=config.optim)
    train(killed, part_dir, tiny_model, render, images, progress=False)
    checkpoint = list_checkpoints(part_dir)[-1]
    assert checkpoint.name == "checkpoint-000002.pt"
    resumed = train(config, part_dir, tiny_model, render, images, resume_from=checkpoint,
                    progress=False)  # fmt: skip
    assert resumed.step == 4
    for a, b in ((full.generator, resumed.generator), (full.discriminator, resumed.discriminator),
                 (full.generator_ema, resumed.generator_ema)):  # fmt: skip
        assert torch.equal(flat_weights(a), flat_weights(b))
    steps = [
        json.loads(line)["step"] for line in (part_dir / "stats.jsonl").read_text().splitlines()
    ]
    assert steps == [1, 2, 3, 4]
    assert (part_dir / "samples-000004.png").is_file() and (part_dir / "reals.png").is_file()
    assert [p.name for p in list_checkpoints(part_dir)] == [
        "checkpoint-000002.pt",
        "checkpoint-000004.pt",
    ]


def test_cosine_schedule_falls_to_zero_and_a_resumed_run_follows_the_same_curve(
    tiny_model, images, tmp_path
):
    config = small_config(optim=OptimConfig(lr_g=0.002, lr_d=0.004, schedule="cosine"))
    ratio = lazy_r1_ratio(config)
    assert learning_rates(config, 0) == pytest.approx((0.002, 0.004 * ratio))
    assert learning_rates(config, 2) == pytest.approx((0.001, 0.002 * ratio))  # steps / 2
    assert learning_rates(config, 4) == pytest.approx((0.0, 0.0))
    assert learning_rates(config, 9) == pytest.approx((0.0, 0.0))
    constant = small_config(optim=OptimConfig(lr_g=0.002, lr_d=0.004, schedule="constant"))
    assert learning_rates(constant, 3) == pytest.approx((0.002, 0.004 * ratio))

    render = ToyRender(RES)
    full = train(config, tmp_path / "full", tiny_model, render, images, progress=False)
    # The last update (step 3 of 4) used the rates of step 3.
    assert full.opt_g.param_groups[0]["lr"] == pytest.approx(learning_rates(config, 3)[0])
    assert full.opt_d.param_groups[0]["lr"] == pytest.approx(learning_rates(config, 3)[1])
    resumed = train(config, tmp_path / "part", tiny_model, render, images, progress=False,
                    resume_from=tmp_path / "full" / "checkpoint-000002.pt")  # fmt: skip
    assert torch.equal(flat_weights(full.generator), flat_weights(resumed.generator))
    assert torch.equal(flat_weights(full.discriminator), flat_weights(resumed.discriminator))
    flat = train(constant, tmp_path / "flat", tiny_model, render, images, progress=False)
    assert not torch.equal(flat_weights(full.generator), flat_weights(flat.generator))


def test_checkpoint_round_trip_and_sampling(tiny_model, images, tmp_path):
    config = small_config(steps=2)
    state = train(config, tmp_path, tiny_model, ToyRender(RES), images, progress=False,
                  tensorboard=False)  # fmt: skip
    path = list_checkpoints(tmp_path)[-1]
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "mesh-avatar-gan" and raw["step"] == 2
    generator, info = load_generator(path, tiny_model)
    assert info.step == 2 and info.model_name == "tiny-test"
    assert torch.equal(flat_weights(generator), flat_weights(state.generator_ema))
    discriminator = load_discriminator(path)
    assert torch.equal(flat_weights(discriminator), flat_weights(state.discriminator))
    assert not discriminator.training
    read = load_checkpoint(path)  # a caller that has the file's content already passes it on
    assert torch.equal(
        flat_weights(load_generator(path, tiny_model, read)[0]), flat_weights(generator)
    )
    assert torch.equal(flat_weights(load_discriminator(path, read)), flat_weights(discriminator))
    batch = sample_generator(generator, 5, seed=7)
    alone = sample_generator(generator, 1, seed=7, start=3)
    assert torch.equal(batch.select(3).to_flat(), alone.to_flat())
    batch.validate(tiny_model.layout, tiny_model.param_ranges)
    truncated = sample_generator(generator, 5, seed=7, truncation=0.0)
    assert torch.allclose(truncated.to_flat(), truncated.to_flat()[:1].expand(5, -1))
    with pytest.raises(MeshAvatarError, match="truncation"):
        sample_generator(generator, 1, seed=0, truncation=1.5)


def test_checkpoint_refuses_another_model(tiny_model, tiny_model_data, images, tmp_path):
    from support.tiny_model import make_tiny_model_data

    train(small_config(steps=2), tmp_path, tiny_model, ToyRender(RES), images, progress=False,
          tensorboard=False)  # fmt: skip
    other = MorphableModel(make_tiny_model_data(seed=1))
    with pytest.raises(CheckpointError, match="trained with morphable model 'tiny-test'"):
        load_generator(list_checkpoints(tmp_path)[-1], other)


def test_checkpoint_of_another_network_version_is_refused_clearly(tiny_model, images, tmp_path):
    train(small_config(steps=2), tmp_path, tiny_model, ToyRender(RES), images, progress=False,
          tensorboard=False)  # fmt: skip
    path = list_checkpoints(tmp_path)[-1]
    raw = torch.load(path, weights_only=True)
    raw["generator_ema"]["mapping.fcs.0.weight"] = torch.zeros(16, 3)
    del raw["discriminator"]["out.bias"]
    torch.save(raw, tmp_path / "old.pt")
    with pytest.raises(CheckpointError, match=r"old.pt: its generator weights do not fit .*"
                       r"mapping.fcs.0.weight"):  # fmt: skip
        load_generator(tmp_path / "old.pt", tiny_model)
    with pytest.raises(CheckpointError, match=r"old.pt: its discriminator weights .*out.bias"):
        load_discriminator(tmp_path / "old.pt")
    state = build_state(small_config(), tiny_model)
    raw["generator"] = raw["generator_ema"] = state.generator.state_dict()
    with pytest.raises(CheckpointError, match=r"its discriminator weights .*out.bias"):
        restore_state(state, raw, tiny_model, str(tmp_path / "old.pt"))


def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "none.pt")
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
    torch.save({"format": "other"}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a mesh-avatar GAN checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_run_folders_are_numbered_and_resumable(tmp_path):
    first = next_run_dir(tmp_path, "data-64px")
    assert first.name == "00000-data-64px"
    first.mkdir()
    assert next_run_dir(tmp_path, "x").name == "00001-x"
    assert find_resumable(tmp_path) is None
    (first / "config.json").write_text("{}")
    (first / "checkpoint-000010.pt").write_bytes(b"")
    assert find_resumable(tmp_path) == (first, first / "checkpoint-000010.pt")
