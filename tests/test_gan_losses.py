"""Losses on known inputs, augmentation, EMA."""

from __future__ import annotations

import math

import torch

from mesh_avatar.gan.augment import (
    augment_color,
    augment_cutout,
    augment_translation,
    diff_augment,
)
from mesh_avatar.gan.config import AugmentConfig
from mesh_avatar.gan.ema import ema_beta, update_ema
from mesh_avatar.gan.losses import (
    discriminator_loss,
    generator_loss,
    lazy_r1_loss,
    r1_penalty,
)


def test_losses_at_zero_logits_are_log2():
    zero = torch.zeros(5)
    assert math.isclose(float(generator_loss(zero)), math.log(2), rel_tol=1e-6)
    assert math.isclose(float(discriminator_loss(zero, zero)), 2 * math.log(2), rel_tol=1e-6)


def test_losses_match_the_log_formulas():
    real = torch.tensor([2.0, -1.0, 0.5])
    fake = torch.tensor([-3.0, 0.2])
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected_g = -torch.log(d_fake).mean()
    expected_d = -torch.log(d_real).mean() - torch.log(1 - d_fake).mean()
    torch.testing.assert_close(generator_loss(fake), expected_g)
    torch.testing.assert_close(discriminator_loss(real, fake), expected_d)


def test_losses_are_stable_for_large_logits():
    big = torch.tensor([1e4, -1e4])
    assert torch.isfinite(generator_loss(big))
    assert math.isclose(float(discriminator_loss(torch.tensor([1e4]), torch.tensor([-1e4]))), 0.0,
                        abs_tol=1e-6)  # fmt: skip


def test_r1_penalty_of_a_linear_discriminator_is_weight_norm():
    w = torch.randn(3, 4, 4)
    x = torch.randn(5, 3, 4, 4, requires_grad=True)
    logits = (x * w).sum(dim=(1, 2, 3))
    penalty = r1_penalty(x, logits)
    torch.testing.assert_close(penalty, w.square().sum())
    torch.testing.assert_close(lazy_r1_loss(penalty, 0.2, 16), penalty * 1.6)


def test_r1_penalty_is_differentiable_for_the_discriminator():
    w = torch.randn(3, 2, 2, requires_grad=True)
    x = torch.randn(2, 3, 2, 2, requires_grad=True)
    logits = ((x * w).sum(dim=(1, 2, 3))) ** 2
    r1_penalty(x, logits).backward()
    assert w.grad is not None and w.grad.abs().sum() > 0


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_translation_moves_content_and_fills_zeros():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(8, 3, 1, 1) + 1
    y = augment_translation(x, gen(), ratio=0.25)
    assert y.shape == x.shape
    for b in range(8):
        kept = y[b, 0][y[b, 0] != 0]
        assert set(kept.tolist()) <= set(x[b, 0].flatten().tolist())
    assert (y != x).any()
    torch.testing.assert_close(augment_translation(x, gen(), ratio=0.0), x)


def test_cutout_zeroes_a_square_of_the_given_ratio():
    x = torch.ones(4, 3, 8, 8)
    y = augment_cutout(x, gen(), ratio=0.5)
    zeros_per_image = (y[:, 0] == 0).flatten(1).sum(1)
    assert ((zeros_per_image > 0) & (zeros_per_image <= 16)).all()


def test_augmentation_is_reproducible_and_differentiable():
    x = torch.randn(4, 3, 16, 16, requires_grad=True)
    config = AugmentConfig(policy=("color", "translation", "cutout"))
    a = diff_augment(x, config, gen(3))
    b = diff_augment(x, config, gen(3))
    torch.testing.assert_close(a, b)
    a.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert augment_color(x, gen()).shape == x.shape


def test_ema_beta_halflife():
    assert math.isclose(ema_beta(32, 10**9, 3200, 0.0) ** 100, 0.5, rel_tol=1e-9)
    assert ema_beta(32, 0, 3200, 0.05) == 0.0  # rampup: follow G at the start
    assert ema_beta(32, 64000, 3200, 0.05) == ema_beta(32, 10**9, 3200, 0.0)


def test_update_ema_interpolates_parameters_and_copies_buffers():
    model, ema = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    with torch.no_grad():
        model.weight.fill_(2.0)
        ema.weight.fill_(0.0)
        model.running_mean.fill_(5.0)
    update_ema(ema, model, beta=0.75)
    torch.testing.assert_close(ema.weight, torch.full((3,), 0.5))
    torch.testing.assert_close(ema.running_mean, torch.full((3,), 5.0))


def test_prior_penalty_known_values():
    from mesh_avatar.gan.losses import prior_penalty
    from mesh_avatar.params import AvatarParams, CoefficientLayout

    params = AvatarParams.neutral(CoefficientLayout(2, 2, 1), batch_size=2)
    params = params.with_fields(
        identity=torch.tensor([[1.0, -1.0], [-1.0, 1.0]]),  # columns: mean 0, variance 1
        expression=torch.tensor([[0.5, 0.0], [0.25, 0.25]]),
        albedo=torch.tensor([[2.0], [0.0]]),  # mean 1, variance 1
    )
    # KL per identity column 0, albedo 0.5 * 1^2; blendshape mean weights 0.375 and 0.125.
    assert math.isclose(float(prior_penalty(params)), (0.5 + 0.375 + 0.125) / 5, rel_tol=1e-3)
    # PCA expressions get the KL too: columns (0.5, 0.25) and (0, 0.25), variance 1/64 each
    # (plus the 1e-4 that keeps the log finite).
    var = 1 / 64 + 1e-4
    kl = [0.5 * (m * m + var - 1 - math.log(var)) for m in (0.375, 0.125)]
    pca = prior_penalty(params, expression_kind="pca")
    assert math.isclose(float(pca), (0.5 + sum(kl)) / 5, rel_tol=1e-3)


def test_prior_penalty_pulls_a_distribution_to_the_prior_without_collapsing_it():
    from mesh_avatar.gan.losses import gaussian_kl

    x = torch.randn(4096, 8, generator=torch.Generator().manual_seed(0))
    assert float(gaussian_kl(x).max()) < 0.01  # the prior itself: (almost) no penalty
    assert float(gaussian_kl(0.1 * x).min()) > 1.0  # collapsed to a point: penalised
    assert float(gaussian_kl(x + 2.0).min()) > 1.9  # shifted by 2: about 0.5 * 2^2
    # cap_only: narrower than the prior is free, wider and shifted are not.
    assert float(gaussian_kl(0.1 * x, cap_only=True).max()) < 0.01
    assert float(gaussian_kl(3.0 * x, cap_only=True).min()) > 0.5 * (9 - 1 - math.log(9)) - 0.3
    assert float(gaussian_kl(0.1 * x + 2.0, cap_only=True).min()) > 1.9


def test_total_correlation_known_values():
    from mesh_avatar.gan.losses import total_correlation

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(20_000, 4, generator=gen)
    assert float(total_correlation(x)) < 0.01  # independent columns
    assert float(total_correlation(x * torch.tensor([0.1, 1.0, 5.0, 2.0]))) < 0.01  # any scale
    # Two columns with correlation rho: -0.5 * log(1 - rho^2).
    rho = 0.8
    pair = torch.stack([x[:, 0], rho * x[:, 0] + math.sqrt(1 - rho**2) * x[:, 1]], dim=1)
    expected = -0.5 * math.log(1 - rho**2)
    assert math.isclose(float(total_correlation(pair)), expected, rel_tol=0.05)
    assert float(total_correlation(x[:, :1])) == 0.0
    # Fewer samples than columns: finite (the ridge), and large.
    few = total_correlation(torch.randn(3, 8, generator=gen))
    assert torch.isfinite(few) and float(few) > 5.0


def test_prior_penalty_with_correlation_counts_what_the_columns_share():
    from mesh_avatar.gan.losses import prior_penalty, total_correlation
    from mesh_avatar.params import AvatarParams, CoefficientLayout

    gen = torch.Generator().manual_seed(1)
    layout = CoefficientLayout(6, 2, 3)
    independent = torch.randn(4096, 6, generator=gen)
    shared = torch.randn(4096, 1, generator=gen)
    correlated = 0.8 * shared + 0.6 * independent  # the same N(0, 1) marginals
    params = AvatarParams.neutral(layout, batch_size=4096)
    params = params.with_fields(albedo=torch.randn(4096, 3, generator=gen))
    plain = params.with_fields(identity=independent)
    moved = params.with_fields(identity=correlated)
    # The per-column terms cannot tell the two apart; the correlation term can.
    assert math.isclose(float(prior_penalty(plain)), float(prior_penalty(moved)), abs_tol=2e-3)
    on = {"correlation": True}
    with_correlation = prior_penalty(moved, **on) - prior_penalty(plain, **on)
    without = prior_penalty(moved) - prior_penalty(plain)
    # Its share is the group's total correlation over the 11 coordinates (6 + 2 + 3).
    expected = (total_correlation(correlated) - total_correlation(independent)) / 11
    assert float(with_correlation - without) > 0.05
    assert math.isclose(float(with_correlation - without), float(expected), rel_tol=1e-4)


def test_prior_penalty_with_correlation_decorrelates_a_generator():
    """Minimising the penalty alone: the correlation term pulls a generator's identity
    coordinates apart, which the per-column terms leave as they are."""
    from mesh_avatar.gan.config import GeneratorConfig
    from mesh_avatar.gan.generator import CoefficientGenerator
    from mesh_avatar.gan.losses import prior_penalty
    from mesh_avatar.params import CoefficientLayout

    def largest_correlation(generator: CoefficientGenerator) -> float:
        z = torch.randn(8192, 4, generator=torch.Generator().manual_seed(9))
        with torch.no_grad():
            corr = torch.corrcoef(generator(z).identity.T)
        return float((corr - torch.eye(corr.shape[0])).abs().max())

    results = {}
    for correlation in (False, True):
        torch.manual_seed(0)
        layout = CoefficientLayout(6, 2, 2)
        config = GeneratorConfig(z_dim=4, w_dim=16, mapping_layers=2, latent_modes=0)
        generator = CoefficientGenerator(layout, config)
        optimizer = torch.optim.Adam(generator.parameters(), lr=3e-3)
        gen = torch.Generator().manual_seed(1)
        before = largest_correlation(generator)
        for _ in range(150):
            optimizer.zero_grad()
            params = generator(torch.randn(256, 4, generator=gen))
            prior_penalty(params, correlation=correlation).backward()
            optimizer.step()
        results[correlation] = largest_correlation(generator)
    assert before > 0.5  # 6 coordinates from 4 noise inputs start strongly correlated
    assert results[False] > 0.5
    assert results[True] < 0.1
