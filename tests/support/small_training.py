"""A tiny GAN training setup (16 px, a few steps) shared by the training and torchrun tests."""

from __future__ import annotations

import torch

from mesh_avatar.gan.config import (
    DiscriminatorConfig,
    EncoderConfig,
    GeneratorConfig,
    LossConfig,
    TrainConfig,
)

RES = 16

#: A small encoder for the tiny model at 16 px (about 2 s of pretraining; with the toy renderer
#: it learns to read the head rotation).
TINY_ENCODER = EncoderConfig(
    weight=1.0,
    images=512,
    validation_images=128,
    steps=300,
    batch=32,
    lr=0.003,
    channels=8,
    channel_max=16,
    real_samples=8,
    directions=4,
)


def small_config(**changes) -> TrainConfig:
    """A TrainConfig with small networks, R1 every 2 steps, frequent files and no coefficient
    encoder; ``changes`` override."""
    base = dict(
        data="unused",
        resolution=RES,
        batch=4,
        steps=4,
        seed=3,
        log_every=1,
        snapshot_every=2,
        checkpoint_every=2,
        grid_size=4,
        generator=GeneratorConfig(z_dim=8, w_dim=16, mapping_layers=2),
        discriminator=DiscriminatorConfig(channel_base=64, channel_max=8),
        loss=LossConfig(r1_gamma=0.1, r1_interval=2),
        encoder=EncoderConfig(weight=0.0),
    )
    base.update(changes)
    return TrainConfig(**base)


def random_images() -> torch.Tensor:
    """(10, 3, RES, RES) uint8 noise images (seed 0), a stand-in real set."""
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (10, 3, RES, RES), generator=gen, dtype=torch.uint8)
