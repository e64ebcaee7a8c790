"""A coefficient encoder: reads morphable-model coefficients back from images.

The image discriminator learns from scratch which features tell real from generated images, and
at 64 px it never learns some that matter (on the benchmark: head width and height, so the
generator never splits into the population's identity clusters). The encoder gives the generator
a second, direct view of the real images:

1. Pretraining, without any real image: a CNN learns to regress the coefficients of renders of
   random avatars (the model's prior, random head pose and light: :func:`sample_views`).
2. A held-out set of such renders measures, per coefficient, how well it is read (R^2). The
   coordinates read with ``R^2 >= readable_r2`` are the *readable* ones; others (the back of the
   skull, most blendshapes at 64 px) are left out.
3. The encoder reads every real image once. During training, the generator's coefficients on the
   readable coordinates are pulled towards the distribution of these readouts
   (:func:`~mesh_avatar.gan.losses.sliced_wasserstein`).

The generator's own coefficients, not the encoder's readouts of its renders, are compared with
the readouts. On the benchmark, judging the readouts of generated renders instead (a projected
discriminator, and a straight-through variant of this matching) sent the generator within 1,000
steps to renders the encoder misread (identity 0 read as -0.4 where it was 1.6). The threshold
on R^2 keeps the comparison fair: a poorly read coordinate's readouts are shrunk towards its
mean, which the generator's exact coefficients would be pulled into.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mesh_avatar.gan.config import EncoderConfig
from mesh_avatar.gan.rendering import RenderFn
from mesh_avatar.params import POSE_DIM, SH_BANDS, AvatarParams, default_ambient_sh
from mesh_avatar.preview import images_to_uint8
from mesh_avatar.sampling import COSINE_LOBE, PriorConfig, sample_prior
from renderers.lighting import sh_basis

log = logging.getLogger(__name__)


def readout_targets(params: AvatarParams) -> torch.Tensor:
    """(B, T) the coefficients an encoder reads: identity, albedo, expression, yaw/pitch/roll and
    the white (RGB mean) SH light, in that order; ``T = K_id + K_alb + K_exp + 3 + 9``."""
    return torch.cat(
        [
            params.identity,
            params.albedo,
            params.expression,
            params.pose[:, :3],
            params.lighting.mean(dim=2),
        ],
        dim=1,
    )


def readout_names(model: Any) -> list[str]:
    """Names of the :func:`readout_targets` columns (``identity_0``, ``jawOpen``, ``yaw``, ...)."""
    layout = model.layout
    names = [f"identity_{i}" for i in range(layout.n_identity)]
    names += [f"albedo_{i}" for i in range(layout.n_albedo)]
    if model.data.expression_kind == "blendshape":
        names += list(model.data.expression_names)
    else:
        names += [f"expression_{i}" for i in range(layout.n_expression)]
    return names + ["yaw", "pitch", "roll"] + [f"light_sh{k}" for k in range(SH_BANDS)]


def key_light_sh(
    direction: torch.Tensor, intensity: torch.Tensor, ambient: torch.Tensor
) -> torch.Tensor:
    """(B, 3) unit directions, (B,) key intensities and ambient levels -> (B, 9) white SH light:
    ambient light plus one distant key light (as :func:`~mesh_avatar.sampling.studio_lighting`)."""
    sh = COSINE_LOBE.to(direction) * intensity[:, None] * sh_basis(direction)
    return sh + F.pad((ambient * default_ambient_sh())[:, None], (0, SH_BANDS - 1))


def sample_views(model: Any, n: int, seed: int, config: EncoderConfig) -> AvatarParams:
    """(n) random avatars under random viewing conditions, for pretraining the encoder.

    Coefficients come from the model's prior (blendshapes active with
    ``config.expression_probability``); yaw, pitch and roll are Gaussian with the configured
    stds; the light is a random ambient level plus a key light from the front hemisphere,
    slightly tinted. None of it depends on the data the GAN is trained on.
    """
    prior = PriorConfig(
        expression_probability=config.expression_probability, max_expression_weight=1.0
    )
    params = sample_prior(model, n, seed, config=prior)
    gen = torch.Generator().manual_seed(seed)
    rotation_std = torch.tensor([config.yaw_std, config.pitch_std, config.roll_std])
    pose = torch.zeros(n, POSE_DIM)
    pose[:, :3] = torch.randn(n, 3, generator=gen) * rotation_std
    azimuth = torch.rand(n, generator=gen) * 2.0 - 1.0
    elevation = torch.rand(n, generator=gen) * 1.2 - 0.35
    direction = torch.stack(
        [
            elevation.cos() * azimuth.sin(),
            elevation.sin(),
            elevation.cos() * azimuth.cos(),
        ],
        dim=1,
    )
    intensity = torch.rand(n, generator=gen) * 0.6
    ambient = 0.5 + torch.rand(n, generator=gen) * 0.6
    tint = 1.0 + (torch.rand(n, 3, generator=gen) - 0.5) * 0.3
    lighting = key_light_sh(direction, intensity, ambient)[:, :, None] * tint[:, None, :]
    return params.with_fields(pose=pose, lighting=lighting)


@torch.no_grad()
def render_uint8(
    model: Any, render: RenderFn, params: AvatarParams, chunk: int = 64
) -> torch.Tensor:
    """(N, 3, R, R) uint8 renders of ``params`` (rendered ``chunk`` at a time, kept on the CPU)."""
    device = model.mean_vertices.device
    parts = []
    for start in range(0, params.batch_size, chunk):
        images = render(model, params.select(slice(start, start + chunk)).to(device))
        parts.append(torch.from_numpy(images_to_uint8(images)).permute(0, 3, 1, 2))
    return torch.cat(parts)


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """(B, C_in, r, r) -> (B, C_out, r/2, r/2): two 3x3 convolutions, then 2x2 average pooling."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(out_channels, out_channels, 3, padding=1),
        nn.LeakyReLU(0.2),
        nn.AvgPool2d(2),
    )


class CoefficientEncoder(nn.Module):
    """(B, 3, R, R) images in [-1, 1] -> (B, T) standardised :func:`readout_targets`.

    A plain CNN: blocks of :func:`conv_block` from R down to 4 px, with ``channels``,
    ``2 * channels``, ... (at most ``channel_max``) channels, then two linear layers. (A copy of
    the discriminator's equalised-learning-rate residual trunk with its narrow 64 px layers read
    identity 2 with R^2 0.39 after 2,000 steps; this one 0.89.) Buffers: ``target_mean`` and
    ``target_std`` (T,) standardise the targets; ``r2`` (T,) is the held-out R^2 of each readout
    (0 until pretrained). The coordinates with ``r2 >= readable_r2`` are :attr:`readable`.
    """

    def __init__(
        self, resolution: int, n_targets: int, channels: int, channel_max: int, readable_r2: float
    ):
        super().__init__()
        self.resolution = resolution
        self.readable_r2 = readable_r2
        blocks, res, width, previous = [], resolution, channels, 3
        while res > 4:
            blocks.append(conv_block(previous, width))
            previous, width, res = width, min(width * 2, channel_max), res // 2
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(previous * 16, 512)
        self.out = nn.Linear(512, n_targets)
        self.register_buffer("target_mean", torch.zeros(n_targets))
        self.register_buffer("target_std", torch.ones(n_targets))
        self.register_buffer("r2", torch.zeros(n_targets))

    @property
    def readable(self) -> torch.Tensor:
        """(T,) bool: the coordinates read with held-out R^2 of at least ``readable_r2``."""
        return self.r2 >= self.readable_r2

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.blocks(images).flatten(1)
        return self.out(F.leaky_relu(self.fc(x), 0.2))

    def standardise(self, targets: torch.Tensor) -> torch.Tensor:
        """(B, T) raw targets -> (B, T) in the encoder's standardised units."""
        return (targets - self.target_mean) / self.target_std

    def readable_coefficients(self, params: AvatarParams) -> torch.Tensor:
        """(B, T_readable) standardised readable coordinates of ``params`` (differentiable)."""
        return self.standardise(readout_targets(params))[:, self.readable]

    @torch.no_grad()
    def predict(self, images: torch.Tensor, chunk: int = 256) -> torch.Tensor:
        """(N, 3, R, R) uint8 images -> (N, T) standardised readouts, ``chunk`` at a time."""
        device = self.target_mean.device
        return torch.cat([self(c.to(device).float() / 127.5 - 1.0) for c in images.split(chunk)])

    def read(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, R, R) uint8 images -> (N, T_readable) standardised readouts of the readable
        coordinates."""
        return self.predict(images)[:, self.readable]


def build_encoder(resolution: int, n_targets: int, config: EncoderConfig) -> CoefficientEncoder:
    return CoefficientEncoder(
        resolution, n_targets, config.channels, config.channel_max, config.readable_r2
    )


def pretrain_encoder(
    model: Any,
    render: RenderFn,
    resolution: int,
    config: EncoderConfig,
    seed: int,
    progress: bool = True,
) -> tuple[CoefficientEncoder, dict[str, Any]]:
    """Train an encoder on renders of :func:`sample_views` and mark its readable coordinates.

    ``config.images`` training and ``config.validation_images`` held-out renders are drawn
    (seeds derived from ``seed``); training runs ``config.steps`` Adam steps of ``config.batch``
    images (MSE on standardised targets, cosine learning rate) on the model's device.

    Returns:
        (encoder in eval mode without gradients, stats: seconds spent (in all and rendering),
        final training loss, the readable coordinates' names and every coordinate's R^2).
    """
    from tqdm import tqdm

    start = time.perf_counter()
    device = model.mean_vertices.device
    train_params = sample_views(model, config.images, seed * 2 + 1, config)
    held_out = sample_views(model, config.validation_images, seed * 2 + 2, config)
    bar = tqdm(total=config.steps, desc="encoder", unit="step", disable=not progress)
    bar.set_postfix_str("rendering")
    train_images = render_uint8(model, render, train_params)
    held_out_images = render_uint8(model, render, held_out)
    rendered = time.perf_counter() - start

    targets = readout_targets(train_params)
    torch.manual_seed(seed)
    encoder = build_encoder(resolution, targets.shape[1], config).to(device)
    encoder.target_mean.copy_(targets.mean(0))
    encoder.target_std.copy_(targets.std(0).clamp_min(1e-6))
    targets = encoder.standardise(targets.to(device))
    optimiser = torch.optim.Adam(encoder.parameters(), lr=config.lr)
    gen = torch.Generator().manual_seed(seed)
    loss = torch.zeros(())
    for step in range(config.steps):
        for group in optimiser.param_groups:
            group["lr"] = config.lr * 0.5 * (1.0 + math.cos(math.pi * step / config.steps))
        index = torch.randint(0, len(train_images), (config.batch,), generator=gen)
        images = train_images[index].to(device).float() / 127.5 - 1.0
        loss = F.mse_loss(encoder(images), targets[index.to(device)])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        bar.update(1)
        if step % 50 == 0:
            bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
    bar.close()

    encoder.eval().requires_grad_(False)
    with torch.no_grad():
        truth = encoder.standardise(readout_targets(held_out).to(device))
        predicted = encoder.predict(held_out_images)
        residual = (predicted - truth).square().mean(0)
        encoder.r2.copy_(1.0 - residual / truth.var(0, unbiased=False).clamp_min(1e-6))
    names = readout_names(model)
    readable = [n for n, keep in zip(names, encoder.readable.tolist(), strict=True) if keep]
    stats = {
        "seconds": time.perf_counter() - start,
        "render_seconds": rendered,
        "loss": float(loss.detach()),
        "readable": readable,
        "r2": {n: round(float(r), 4) for n, r in zip(names, encoder.r2.tolist(), strict=True)},
    }
    log.info(
        "encoder: %d of %d coordinates readable (R^2 >= %g) after %.0f s",
        len(readable), len(names), config.readable_r2, stats["seconds"],
    )  # fmt: skip
    return encoder, stats
