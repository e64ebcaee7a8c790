"""Config validation and JSON round trip."""

from __future__ import annotations

import json

import pytest

from mesh_avatar.gan.config import (
    AugmentConfig,
    ConfigError,
    GeneratorConfig,
    LossConfig,
    OptimConfig,
    TrainConfig,
    config_from_dict,
    config_to_dict,
)


def test_round_trip_through_json():
    config = TrainConfig(
        data="d", resolution=32, batch=8, generator=GeneratorConfig(z_dim=16),
        augment=AugmentConfig(policy=("color", "cutout")),
    )  # fmt: skip
    text = json.dumps(config_to_dict(config))
    assert config_from_dict(TrainConfig, json.loads(text)) == config


def test_unknown_and_missing_keys_are_reported():
    with pytest.raises(ConfigError, match=r"config.generator: unknown option\(s\) zdim"):
        config_from_dict(TrainConfig, {"data": "x", "generator": {"zdim": 3}})
    with pytest.raises(ConfigError, match="missing option"):
        config_from_dict(TrainConfig, {})
    with pytest.raises(ConfigError, match="expected int"):
        config_from_dict(TrainConfig, {"data": "x", "batch": "many"})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"resolution": 48}, "resolution must be one of"),
        ({"batch": 1}, "at least 2"),
        ({"steps": 0}, "steps must be positive"),
    ],
)
def test_invalid_values(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(data="d", **kwargs)


def test_unknown_augmentation():
    with pytest.raises(ConfigError, match="unknown augmentation"):
        AugmentConfig(policy=("blur",))


def test_generator_config_checks():
    with pytest.raises(ConfigError, match="expression_leak"):
        GeneratorConfig(expression_leak=1.5)
    with pytest.raises(ConfigError, match="expression_spread"):
        GeneratorConfig(expression_spread=0.0)
    with pytest.raises(ConfigError, match="must be positive"):
        GeneratorConfig(identity_bound=-1.0)
    for modes in (1, 65, -2):
        with pytest.raises(ConfigError, match=r"latent_modes must be 0 or lie in \[2, z_dim=64\]"):
            GeneratorConfig(latent_modes=modes)
    assert GeneratorConfig(latent_modes=64).latent_modes == 64


def test_loss_config_prior_spread_choices():
    assert LossConfig(prior_spread="cap").prior_spread == "cap"
    with pytest.raises(ConfigError, match="prior_spread must be 'match' or 'cap', got 'wide'"):
        LossConfig(prior_spread="wide")


def test_optim_config_schedule_choices():
    assert OptimConfig(schedule="cosine").schedule == "cosine"
    with pytest.raises(ConfigError, match="schedule must be 'constant' or 'cosine', got 'linear'"):
        OptimConfig(schedule="linear")
