"""The coefficient encoder: view sampling, readout targets, pretraining, readout matching."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch
from support.small_training import RES, TINY_ENCODER, random_images, small_config
from support.toy_render import ToyRender

from mesh_avatar.gan.checkpoint import load_checkpoint
from mesh_avatar.gan.config import ConfigError, EncoderConfig, OptimConfig
from mesh_avatar.gan.encoder import (
    CoefficientEncoder,
    key_light_sh,
    pretrain_encoder,
    readout_names,
    readout_targets,
    sample_views,
)
from mesh_avatar.gan.losses import pair_directions, sliced_wasserstein
from mesh_avatar.gan.training import build_state, generator_step, readout_matching, train
from mesh_avatar.sampling import studio_lighting


def test_readout_targets_order_and_names(tiny_model):
    layout = tiny_model.layout
    params = sample_views(tiny_model, 3, seed=0, config=TINY_ENCODER)
    targets = readout_targets(params)
    names = readout_names(tiny_model)
    assert targets.shape == (3, len(names))
    k_id, k_alb = layout.n_identity, layout.n_albedo
    assert torch.equal(targets[:, :k_id], params.identity)
    assert torch.equal(targets[:, k_id : k_id + k_alb], params.albedo)
    assert names[k_id + k_alb] == tiny_model.data.expression_names[0]
    assert names[-12:-9] == ["yaw", "pitch", "roll"]
    assert torch.equal(targets[:, -12:-9], params.pose[:, :3])
    assert torch.allclose(targets[:, -9:], params.lighting.mean(dim=2))


def test_key_light_matches_studio_lighting():
    direction = torch.nn.functional.normalize(torch.tensor([[0.45, 0.5, 0.75]]), dim=1)
    sh = key_light_sh(direction, torch.tensor([0.8]), torch.tensor([0.5]))
    assert torch.allclose(sh[0], studio_lighting()[:, 0], atol=1e-6)


def test_sample_views_is_seeded_and_follows_the_config(tiny_model):
    config = EncoderConfig(yaw_std=0.3, pitch_std=0.0, roll_std=0.1)
    a = sample_views(tiny_model, 400, seed=5, config=config)
    b = sample_views(tiny_model, 400, seed=5, config=config)
    c = sample_views(tiny_model, 400, seed=6, config=config)
    assert torch.equal(a.pose, b.pose) and torch.equal(a.lighting, b.lighting)
    assert not torch.equal(a.pose, c.pose)
    assert a.pose[:, 0].std() == pytest.approx(0.3, rel=0.15)
    assert torch.all(a.pose[:, 1] == 0) and torch.all(a.pose[:, 3:] == 0)
    assert a.lighting.shape == (400, 9, 3)
    # White ambient between 0.5 and 1.1 of unit light, times a tint within +-15 %.
    ambient = a.lighting[:, 0, :] / (2.0 * math.sqrt(math.pi))
    assert ambient.min() > 0.5 * 0.85 and ambient.max() < (1.1 + 0.6 * 0.2) * 1.15


def test_encoder_shapes_and_readable_columns(tiny_model):
    names = readout_names(tiny_model)
    encoder = CoefficientEncoder(RES, len(names), channels=8, channel_max=16, readable_r2=0.7)
    assert encoder(torch.zeros(2, 3, RES, RES)).shape == (2, len(names))
    encoder.r2[[0, 3]] = 0.9
    encoder.target_mean[0], encoder.target_std[0] = 1.0, 2.0
    params = sample_views(tiny_model, 4, seed=0, config=TINY_ENCODER)
    identity = params.identity.clone().requires_grad_(True)
    picked = encoder.readable_coefficients(params.with_fields(identity=identity))
    assert picked.shape == (4, 2)
    assert torch.allclose(picked[:, 0], (identity[:, 0] - 1.0) / 2.0)
    picked.sum().backward()
    assert identity.grad is not None and identity.grad[:, 0].abs().sum() > 0
    assert encoder.read(random_images()).shape == (10, 2)


def test_pretraining_learns_to_read_the_coefficients(tiny_model):
    render = ToyRender(RES)
    encoder, stats = pretrain_encoder(tiny_model, render, RES, TINY_ENCODER, seed=1, progress=False)
    assert not encoder.training and not any(p.requires_grad for p in encoder.parameters())
    names = readout_names(tiny_model)
    yaw = names.index("yaw")
    # Held-out R^2 of the yaw against an encoder of the same seed trained for one step.
    untrained, _ = pretrain_encoder(
        tiny_model, render, RES, replace(TINY_ENCODER, steps=1), seed=1,
        progress=False,
    )  # fmt: skip
    assert encoder.r2[yaw] > 0.7 and untrained.r2[yaw] < 0.2
    assert torch.equal(encoder.readable, encoder.r2 >= TINY_ENCODER.readable_r2)
    assert "yaw" in stats["readable"]
    assert stats["readable"] == [
        n for n, r in zip(names, encoder.r2, strict=True) if r >= TINY_ENCODER.readable_r2
    ]


def test_sliced_wasserstein_values():
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(64, 3, generator=gen)
    directions = pair_directions(3, 16, gen)
    assert directions.shape == (3, 19) and torch.equal(directions[:, :3], torch.eye(3))
    assert torch.allclose(directions.norm(dim=0), torch.ones(19))
    assert torch.all((directions[:, 3:] != 0).sum(0) == 2)
    assert sliced_wasserstein(x, x[torch.randperm(64, generator=gen)], directions) < 1e-10
    shift = torch.tensor([1.0, -2.0, 0.5])
    expected = ((shift @ directions) ** 2).mean()
    assert sliced_wasserstein(x, x + shift, directions) == pytest.approx(float(expected), rel=1e-5)
    # A unimodal set is far from a two-cluster one with the same mean and spread.
    signs = torch.where(torch.rand(512, 1, generator=gen) < 0.5, -1.0, 1.0)
    clusters = signs * torch.tensor([[2.0, 0.0, 0.0]]) + 0.1 * torch.randn(512, 3, generator=gen)
    matched = clusters[torch.randperm(512, generator=gen)[:64]]
    unimodal = clusters.std(0) * torch.randn(64, 3, generator=gen)
    assert sliced_wasserstein(unimodal, clusters, directions) > 3 * sliced_wasserstein(
        matched, clusters, directions
    )
    with pytest.raises(ValueError, match="expected x"):
        sliced_wasserstein(x, x[:, :2], directions)


def test_readout_matching_pulls_the_generator(tiny_model):
    config = small_config(encoder=TINY_ENCODER)
    state = build_state(config, tiny_model)
    render = ToyRender(RES)
    state.encoder, _ = pretrain_encoder(
        tiny_model, render, RES, TINY_ENCODER, seed=0, progress=False
    )
    state.real_readouts = state.encoder.read(random_images())
    params = state.generator(torch.randn(4, config.generator.z_dim))
    fakes = render(tiny_model, params)
    stats = generator_step(state, fakes, params, config, torch.Generator().manual_seed(0))
    assert stats["readout_distance"] > 0
    # An encoder that reads nothing leaves the loss without the term.
    r2 = state.encoder.r2.clone()
    state.encoder.r2.fill_(-1.0)
    state.real_readouts = state.encoder.read(random_images())
    params = state.generator(torch.randn(4, config.generator.z_dim))
    stats = generator_step(state, render(tiny_model, params), params, config,
                           torch.Generator().manual_seed(0))  # fmt: skip
    assert "readout_distance" not in stats
    state.encoder.r2.copy_(r2)
    state.real_readouts = state.encoder.read(random_images())
    # The readable yaw (see above) feeds the loss on its own: the pose head gets its gradient.
    state.generator.zero_grad()
    params = state.generator(torch.randn(4, config.generator.z_dim))
    readout_matching(state, params, config).backward()
    assert state.generator.pose_head.weight.grad[0].abs().sum() > 0


def test_training_with_the_encoder_checkpoints_and_resumes_it(tiny_model, tmp_path, monkeypatch):
    config = small_config(encoder=TINY_ENCODER, optim=OptimConfig(schedule="constant"))
    render, images = ToyRender(RES), random_images()
    full = train(config, tmp_path / "full", tiny_model, render, images, progress=False)
    assert (tmp_path / "full" / "encoder.json").is_file()
    killed = small_config(steps=2, encoder=TINY_ENCODER, optim=config.optim)
    train(killed, tmp_path / "part", tiny_model, render, images, progress=False)
    checkpoint = tmp_path / "part" / "checkpoint-000002.pt"
    assert "encoder" in load_checkpoint(checkpoint)

    def no_pretraining(*args, **kwargs):
        raise AssertionError("a resumed run must take the encoder from its checkpoint")

    monkeypatch.setattr("mesh_avatar.gan.training.pretrain_encoder", no_pretraining)
    resumed = train(config, tmp_path / "part", tiny_model, render, images,
                    resume_from=checkpoint, progress=False)  # fmt: skip
    for a, b in ((full.encoder, resumed.encoder), (full.generator, resumed.generator)):
        pairs = zip(a.state_dict().values(), b.state_dict().values(), strict=True)
        assert all(torch.equal(x, y) for x, y in pairs)


def test_encoder_config_is_validated():
    with pytest.raises(ConfigError, match="readable_r2"):
        EncoderConfig(readable_r2=1.5)
    with pytest.raises(ConfigError, match="weight"):
        EncoderConfig(weight=-1.0)
    with pytest.raises(ConfigError, match="validation_images"):
        EncoderConfig(validation_images=1)
