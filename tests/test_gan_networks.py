"""Generator and discriminator: shapes, output bounds, minibatch stddev, gradient flow."""

from __future__ import annotations

import math

import pytest
import torch

from mesh_avatar.gan.config import ConfigError, DiscriminatorConfig, GeneratorConfig
from mesh_avatar.gan.discriminator import Discriminator, minibatch_stddev
from mesh_avatar.gan.generator import CoefficientGenerator, leaky_clamp, normalize_z
from mesh_avatar.params import CoefficientLayout, default_ambient_sh


def test_generator_shapes_and_valid_params(tiny_model):
    gen = CoefficientGenerator(tiny_model.layout, GeneratorConfig(detail_resolution=8))
    params = gen(torch.randn(5, gen.z_dim))
    assert params.identity.shape == (5, tiny_model.layout.n_identity)
    assert params.expression.shape == (5, tiny_model.layout.n_expression)
    assert params.albedo.shape == (5, tiny_model.layout.n_albedo)
    assert params.pose.shape == (5, 6)
    assert params.lighting.shape == (5, 9, 3)
    assert params.detail.shape == (5, 3, 8, 8)
    params.detach().validate(tiny_model.layout, tiny_model.param_ranges)


def test_generator_outputs_stay_in_bounds_for_extreme_latents(tiny_model):
    config = GeneratorConfig(identity_bound=2.0, yaw_bound=0.3, translation_bound=0.01)
    gen = CoefficientGenerator(tiny_model.layout, config)
    w = torch.randn(64, config.w_dim) * 1e4
    params = gen.synthesize(w).detach()
    assert params.identity.abs().max() <= 2.0
    assert params.albedo.abs().max() <= config.albedo_bound
    assert params.expression.min() >= 0 and params.expression.max() <= 1
    assert params.pose[:, 0].abs().max() <= 0.3
    assert params.pose[:, 3:].abs().max() <= 0.01
    # Light is white SH times an RGB tint, each bounded.
    tint, bound, ambient = config.light_tint_bound, config.lighting_bound, default_ambient_sh()
    dc = params.lighting[:, 0]  # (B, 3)
    assert dc.min() >= (ambient - bound) * (1 - tint) - 1e-5
    assert dc.max() <= (ambient + bound) * (1 + tint) + 1e-5
    assert (dc.max(1).values / dc.min(1).values).max() <= (1 + tint) / (1 - tint) + 1e-5
    assert (params.lighting[:, 1:].abs() <= config.lighting_bound * (1 + tint) + 1e-5).all()


def test_generator_starts_near_neutral_and_prior_like(tiny_model):
    torch.manual_seed(0)
    gen = CoefficientGenerator(tiny_model.layout, GeneratorConfig())
    params = gen(torch.randn(2000, gen.z_dim)).detach()
    assert 0.5 < float(params.identity.std()) < 1.6  # about the N(0, 1) prior
    assert float(params.expression.median()) < 0.1
    assert 0.2 < float((params.expression == 0).float().mean()) < 0.8  # exact zeros are reachable
    assert float(params.pose[:, :3].abs().mean()) < 0.05
    ambient = params.lighting[:, 0].mean()
    assert abs(float(ambient) - default_ambient_sh()) < 0.2


def test_truncation_zero_gives_the_mean_latent(tiny_model):
    gen = CoefficientGenerator(tiny_model.layout)
    gen.w_avg.normal_()
    a = gen(torch.randn(3, gen.z_dim), truncation=0.0).to_flat()
    expected = gen.synthesize(gen.w_avg[None]).to_flat()
    torch.testing.assert_close(a, expected.expand(3, -1))


def test_pca_expression_head_uses_tanh_bound(tiny_model):
    gen = CoefficientGenerator(tiny_model.layout, GeneratorConfig(), expression_kind="pca")
    params = gen.synthesize(torch.randn(16, 128) * 1e3)
    assert params.expression.abs().max() <= 3.0
    assert params.expression.min() < 0  # not a sigmoid


def test_leaky_clamp_values_and_gradient():
    h = torch.tensor([-1.0, 0.0, 0.5, 1.0, 2.0], requires_grad=True)
    out = leaky_clamp(h, leak=0.05)
    torch.testing.assert_close(out, torch.tensor([0.0, 0.0, 0.5, 1.0, 1.0]))
    out.sum().backward()
    # torch's clamp passes the gradient at the bounds themselves.
    torch.testing.assert_close(h.grad, torch.tensor([0.05, 1.05, 1.05, 1.05, 0.05]))


def test_normalize_z_unit_rms():
    z = torch.randn(4, 64) * 7
    assert torch.allclose(normalize_z(z).square().mean(1), torch.ones(4), atol=1e-5)


def test_generator_gradients_reach_every_head(tiny_model):
    gen = CoefficientGenerator(tiny_model.layout, GeneratorConfig(detail_resolution=4))
    params = gen(torch.randn(4, gen.z_dim))
    loss = sum(t.square().sum() for t in params.tensors().values())
    loss.backward()
    for name, p in gen.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("resolution", [16, 32, 64])
def test_discriminator_output_shape(resolution):
    disc = Discriminator(resolution, DiscriminatorConfig(channel_base=512, channel_max=32))
    logits = disc(torch.randn(6, 3, resolution, resolution))
    assert logits.shape == (6,)
    assert torch.isfinite(logits).all()


def test_discriminator_blocks_per_resolution():
    assert len(Discriminator(64).blocks) == 4  # 64 -> 32 -> 16 -> 8 -> 4
    assert len(Discriminator(256).blocks) == 6


def test_discriminator_rejects_wrong_input():
    disc = Discriminator(32)
    with pytest.raises(ValueError, match="expected images of shape"):
        disc(torch.randn(2, 3, 64, 64))
    with pytest.raises(ConfigError, match="resolutions"):
        Discriminator(48)


def test_minibatch_stddev_matches_naive_loop():
    x = torch.randn(8, 5, 4, 4)
    out = minibatch_stddev(x, group_size=4)
    assert out.shape == (8, 6, 4, 4)
    torch.testing.assert_close(out[:, :5], x)
    # Group g = samples {j, j+2, j+4, j+6} for j in (0, 1): B // G = 2 interleaved groups.
    for j in range(2):
        members = x[j::2]
        expected = members.std(dim=0, unbiased=False).mean()
        for i in range(j, 8, 2):
            assert math.isclose(float(out[i, 5, 0, 0]), float(expected), rel_tol=1e-4)
            assert torch.all(out[i, 5] == out[i, 5, 0, 0])


def test_minibatch_stddev_odd_batch_uses_divisor():
    out = minibatch_stddev(torch.randn(6, 2, 3, 3), group_size=4)  # 6 is split in groups of 3
    assert out.shape == (6, 3, 3, 3)
    assert torch.isfinite(out).all()


def test_mouth_close_never_exceeds_jaw_open():
    names = ["jawOpen", "mouthSmileLeft", "mouthClose"]
    layout = CoefficientLayout(4, len(names), 2)
    config = GeneratorConfig(expression_spread=2.0)
    gen = CoefficientGenerator(layout, config, expression_names=names)
    z = torch.randn(500, gen.z_dim, generator=torch.Generator().manual_seed(1))
    e = gen(z).expression.detach()
    assert (e[:, 2] <= e[:, 0]).all()
    assert (e[:, 2] > 0).any()  # limited, not switched off
    free = CoefficientGenerator(layout, config)  # no names: nothing is limited
    free.load_state_dict(gen.state_dict())
    e_free = free(z).expression.detach()
    assert (e_free[:, 2] > e_free[:, 0]).any()
    torch.testing.assert_close(e_free[:, :2], e[:, :2])


def test_latent_modes_are_equally_likely_and_each_adds_its_own_offset(tiny_model):
    from mesh_avatar.gan.generator import latent_mode

    z = torch.randn(40_000, 16, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(latent_mode(z, 5), minlength=5).float() / len(z)
    assert torch.allclose(counts, torch.full((5,), 0.2), atol=0.01)
    torch.testing.assert_close(
        latent_mode(torch.tensor([[0.1, 2.0, -1.0, 9.0]]), 3), torch.tensor([1])
    )

    torch.manual_seed(0)
    config = GeneratorConfig(z_dim=16, w_dim=32, latent_modes=4)
    gen = CoefficientGenerator(tiny_model.layout, config)
    assert gen.mode_offsets.shape == (4, 32)
    z = z[:64]
    plain = gen.mapping(z)
    # w is the mapping's output plus the offset of the latent's mode.
    torch.testing.assert_close(gen.map(z) - plain, gen.mode_offsets[latent_mode(z, 4)])
    # Offsets are trained: the loss of one mode's samples reaches that mode's offset only.
    mode = latent_mode(z, 4)
    gen.map(z)[mode == 2].sum().backward()
    moved = gen.mode_offsets.grad.abs().sum(dim=1) > 0
    assert moved.tolist() == [False, False, True, False]
    # Without modes there is no offset, and w is the mapping's output.
    no_modes = CoefficientGenerator(
        tiny_model.layout, GeneratorConfig(z_dim=16, w_dim=32, latent_modes=0)
    )
    assert no_modes.mode_offsets is None
    torch.testing.assert_close(no_modes.map(z), no_modes.mapping(z))
