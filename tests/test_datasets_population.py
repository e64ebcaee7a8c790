"""Population files: parsing, reproducible sampling, mixtures, skew, presets, assignment."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from mesh_avatar.datasets.population import (
    SH_C1,
    Population,
    PopulationError,
    PopulationSampler,
    assign_components,
    detect_presets,
    example_population,
    sh_lighting,
    skew_normal_standard,
)
from mesh_avatar.params import default_ambient_sh


def test_example_population_round_trips_through_json(tmp_path):
    population = example_population()
    path = tmp_path / "pop.json"
    path.write_text(population.to_json())
    assert Population.load(path) == population


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colour": {}}, r"unknown key\(s\) colour"),
        ({"identity": {"mixture": []}}, "non-empty list"),
        ({"identity": {"mixture": [{"weight": -1}]}}, "outside"),
        ({"identity": {"mixture": [{"mean": {"0": "big"}}]}}, "expected a number"),
        ({"pose": {"yaw": [0.1]}}, r"expected \[mean, std\]"),
        ({"pose": {"spin": [0, 1]}}, "unknown key"),
        (
            {"expression": {"presets": [{"share": 0.7, "weights": {"jawOpen": [0, 1]}}] * 2}},
            "more than 1",
        ),
        (
            {"expression": {"presets": [{"share": 0.2, "weights": {"jawOpen": [0.8, 0.2]}}]}},
            "outside",
        ),
    ],
)
def test_parse_errors_name_the_problem(data, message):
    with pytest.raises(PopulationError, match=message):
        Population.from_dict(data, "pop.json")


def test_load_reports_bad_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text("{nope")
    with pytest.raises(PopulationError, match="not valid JSON"):
        Population.load(path)
    with pytest.raises(PopulationError, match="not found"):
        Population.load(tmp_path / "missing.json")


def test_unknown_component_for_the_model(tiny_model_data):
    population = Population.from_dict({"identity": {"mixture": [{"mean": {"nose_length": 1.0}}]}})
    with pytest.raises(PopulationError, match="'nose_length' does not exist"):
        PopulationSampler(population, tiny_model_data)


def test_components_by_name(tiny_model_data):
    population = Population.from_dict(
        {
            "albedo": {
                "rest_std": 0.0,
                "mixture": [{"mean": {"skin_tone": 2.0}, "std": {"skin_tone": 0.0}}],
            }
        }
    )
    drawn = PopulationSampler(population, tiny_model_data).sample(4, seed=0)
    torch.testing.assert_close(drawn.params.albedo[:, 0], torch.full((4,), 2.0))
    torch.testing.assert_close(drawn.params.albedo[:, 1:], torch.zeros(4, 2))


def test_avatar_is_the_same_alone_or_in_a_batch(tiny_model_data):
    sampler = PopulationSampler(example_population(), tiny_model_data)
    batch = sampler.sample(6, seed=11)
    alone = sampler.sample(1, seed=11, start=4)
    torch.testing.assert_close(
        batch.params.select(4).to_flat(), alone.params.to_flat(), rtol=0, atol=0
    )
    assert batch.labels["identity"][4] == alone.labels["identity"][0]
    other = sampler.sample(6, seed=12)
    assert not torch.equal(batch.params.to_flat(), other.params.to_flat())


def test_example_population_statistics(tiny_model_data):
    sampler = PopulationSampler(example_population(), tiny_model_data)
    drawn = sampler.sample(3000, seed=0)
    drawn.params.validate(tiny_model_data.layout)
    shares = np.bincount(drawn.labels["identity"], minlength=3) / 3000
    assert np.allclose(shares, 1 / 3, atol=0.04)
    smiling = drawn.labels["expression"] == 0
    assert abs(smiling.mean() - 0.3) < 0.03
    exp = drawn.params.expression.numpy()
    assert (exp[smiling, 3] >= 0.6).all() and (exp[~smiling] == 0).all()  # mouthSmileLeft
    # Bimodal skin tone: the albedo component 0 follows the label's mode.
    tone = drawn.params.albedo[:, 0].numpy()
    dark = drawn.labels["albedo"] == 1
    assert tone[dark].mean() == pytest.approx(1.6, abs=0.05)
    assert tone[~dark].mean() == pytest.approx(-1.6, abs=0.05)
    assert drawn.params.identity[:, 3:].std() == pytest.approx(0.6, rel=0.05)
    # Components and presets are recovered from coefficients alone.
    assigned = assign_components(sampler.identity, drawn.params.identity.numpy())
    assert (assigned == drawn.labels["identity"]).mean() > 0.98
    # Gated at 99 %: real members stay (skewed albedo too); points between clusters belong to none.
    gated = assign_components(sampler.identity, drawn.params.identity.numpy(), within=0.99)
    assert (gated == drawn.labels["identity"]).mean() > 0.97
    tone_gated = assign_components(sampler.albedo, drawn.params.albedo.numpy(), within=0.99)
    assert (tone_gated == drawn.labels["albedo"]).mean() > 0.97
    between = np.zeros((4, drawn.params.identity.shape[1]))  # identity 0 lies between the clusters
    assert (assign_components(sampler.identity, between, within=0.99) == -1).all()
    assert (assign_components(sampler.identity, between) >= 0).all()
    nothing = np.zeros(between.shape[1], bool)
    with pytest.raises(ValueError, match="selects no coordinate"):
        assign_components(sampler.identity, between, columns=nothing)
    assert (detect_presets(sampler, exp) == drawn.labels["expression"]).all()


def test_skew_normal_is_standardised_and_skewed():
    rng = np.random.default_rng(0)
    x = np.array([skew_normal_standard(rng, np.array([4.0])) for _ in range(20000)])[:, 0]
    assert x.mean() == pytest.approx(0.0, abs=0.03)
    assert x.std() == pytest.approx(1.0, abs=0.03)
    assert ((x - x.mean()) ** 3).mean() > 0.3


def test_presets_need_a_known_blendshape(tiny_model_data):
    population = Population.from_dict(
        {"expression": {"presets": [{"share": 0.5, "weights": {"tongueOut": [0.5, 1.0]}}]}}
    )
    with pytest.raises(PopulationError, match="none of its blendshapes"):
        PopulationSampler(population, tiny_model_data)


def test_sh_lighting_is_ambient_plus_directional():
    sh = sh_lighting(ambient=0.8, directional=0.3, azimuth=0.0, elevation=0.0)
    assert sh.shape == (9, 3)
    assert sh[0, 0] == pytest.approx(0.8 * default_ambient_sh())
    # Light from the front (+Z): only the Y10 (z) band-1 coefficient is set.
    assert sh[2, 0] == pytest.approx(0.3 / SH_C1)
    assert sh[1, 0] == pytest.approx(0.0, abs=1e-12) and sh[3, 0] == pytest.approx(0.0, abs=1e-12)
    # Irradiance at the normal facing the light: ambient + directional.
    y = [1 / (2 * math.sqrt(math.pi)), 0.0, SH_C1, 0.0]
    assert float(np.dot(sh[:4, 0], y)) == pytest.approx(1.1)


def test_population_json_is_plain(tmp_path):
    data = json.loads(example_population().to_json())
    assert data["format"] == "mesh-avatar-population"
    assert len(data["identity"]["mixture"]) == 3
