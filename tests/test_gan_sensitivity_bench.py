"""bench/gan_sensitivity.py: what it takes away from the avatars, and that its D training learns."""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from mesh_avatar.datasets.population import PopulationSampler, example_population
from mesh_avatar.gan.config import TrainConfig

BENCH = Path(__file__).resolve().parents[1] / "bench" / "gan_sensitivity.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("gan_sensitivity", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def drawn(tiny_model_data):
    sampler = PopulationSampler(example_population(), tiny_model_data)
    return sampler, sampler.sample(2000, seed=0).params


def test_identity_and_albedo_lose_their_mixture_and_nothing_else(bench, drawn):
    sampler, params = drawn
    rng = torch.Generator().manual_seed(0)
    for group in ("identity", "albedo"):
        taken, ceiling = bench.take_away(params, sampler, group, rng)
        assert ceiling == 1.0
        columns = torch.as_tensor(getattr(sampler, group).specified)
        before, after = getattr(params, group), getattr(taken, group)
        assert torch.equal(after[:, ~columns], before[:, ~columns])
        squashed = after[:, columns]
        assert squashed.mean(0).abs().max() < 0.05
        assert torch.allclose(squashed.std(0), torch.full((int(columns.sum()),), 0.35), atol=0.03)
        # The mixture was wider than that (clusters at +-1.6 to +-2 std).
        assert (before[:, columns].std(0) > 0.9).all()
        for other in ("identity", "albedo", "expression", "pose", "lighting"):
            if other != group:
                assert torch.equal(getattr(taken, other), getattr(params, other))


def test_expression_is_zeroed_and_its_ceiling_counts_the_smiling_share(bench, drawn):
    sampler, params = drawn
    taken, ceiling = bench.take_away(params, sampler, "expression", torch.Generator())
    assert taken.expression.abs().max() == 0 and params.expression.abs().max() > 0.5
    assert ceiling == pytest.approx(0.5 + 0.3 / 2, abs=0.02)  # 30 % of the population smiles
    same, chance = bench.take_away(params, sampler, "none", torch.Generator())
    assert same is params and chance == 0.5


def test_discriminator_training_separates_what_differs_and_not_what_does_not(
    bench, tiny_model, capsys
):
    config = TrainConfig(data="unused", resolution=16, batch=16)
    config = replace(config, discriminator=replace(config.discriminator, channel_base=128))
    rng = torch.Generator().manual_seed(0)
    base = 0.3 * torch.randn(400, 3, 16, 16, generator=rng)
    brighter = (base + 0.4).clamp(-1, 1)
    trace = bench.train_and_watch(config, tiny_model, base, brighter, 100, 60, 30, "brightness")
    assert [step for step, _ in trace] == [0, 30, 60]
    assert trace[-1][1] > 0.9
    same = 0.3 * torch.randn(400, 3, 16, 16, generator=rng)
    trace = bench.train_and_watch(config, tiny_model, base, same, 100, 60, 30, "none")
    assert max(accuracy for _, accuracy in trace) < 0.65
    assert "brightness  step    60  held-out accuracy" in capsys.readouterr().out
    assert bench.first_step_at([(0, 0.5), (30, 0.8)], 0.75) == "step 30"
    assert bench.first_step_at([(0, 0.5)], 0.75) == "never"
