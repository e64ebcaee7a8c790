"""Discriminator: a residual CNN (StyleGAN2 "resnet" D) with a minibatch standard-deviation layer.

(B, 3, R, R) images in [-1, 1] -> (B,) logits. Blocks halve the resolution from R down to 4; at
resolution r a block has ``min(channel_base // r, channel_max)`` channels.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from mesh_avatar.gan.config import RESOLUTIONS, ConfigError, DiscriminatorConfig
from mesh_avatar.gan.layers import EqualConv2d, EqualLinear, leaky_relu


def minibatch_stddev(x: torch.Tensor, group_size: int) -> torch.Tensor:
    """Append the mean standard deviation over groups of samples as one extra channel.

    Args:
        x: (B, C, H, W) features.
        group_size: samples per group; the largest divisor of B not above it is used.

    Returns:
        (B, C + 1, H, W): each sample gets the statistic of its group (samples ``i, i+G', ...``
        share a group, where G' = B // group).
    """
    batch, channels, height, width = x.shape
    group = min(group_size, batch)
    while batch % group:
        group -= 1
    y = x.reshape(group, batch // group, channels, height, width)
    y = y - y.mean(dim=0)
    y = (y.square().mean(dim=0) + 1e-8).sqrt()  # (B/G, C, H, W)
    y = y.mean(dim=(1, 2, 3))  # (B/G,)
    y = (
        y.reshape(1, -1, 1, 1, 1)
        .expand(group, -1, 1, height, width)
        .reshape(batch, 1, height, width)
    )
    return torch.cat([x, y], dim=1)


class ResidualBlock(nn.Module):
    """(B, C_in, r, r) -> (B, C_out, r/2, r/2): two 3x3 convs and a 1x1 skip, averaged by 1/sqrt(2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(F.avg_pool2d(x, 2))
        y = leaky_relu(self.conv0(x))
        y = leaky_relu(self.conv1(F.avg_pool2d(y, 2)))
        return (y + skip) * (1.0 / math.sqrt(2.0))


class Discriminator(nn.Module):
    """Residual CNN discriminator for square images of side ``resolution`` (16 to 256)."""

    def __init__(self, resolution: int, config: DiscriminatorConfig | None = None) -> None:
        super().__init__()
        if resolution not in RESOLUTIONS:
            raise ConfigError(
                f"the discriminator supports resolutions {RESOLUTIONS}, got {resolution}"
            )
        config = config or DiscriminatorConfig()
        self.resolution = resolution
        self.config = config

        def channels(res: int) -> int:
            return max(1, min(config.channel_base // res, config.channel_max))

        self.from_rgb = EqualConv2d(3, channels(resolution), 1)
        blocks = []
        res = resolution
        while res > 4:
            blocks.append(ResidualBlock(channels(res), channels(res // 2)))
            res //= 2
        self.blocks = nn.ModuleList(blocks)
        c4 = channels(4)
        self.conv = EqualConv2d(c4 + 1, c4, 3)
        self.fc = EqualLinear(c4 * 16, c4)
        self.out = EqualLinear(c4, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(B, 3, R, R) in [-1, 1] -> (B,) logits (real is positive)."""
        if images.ndim != 4 or images.shape[1:] != (3, self.resolution, self.resolution):
            raise ValueError(
                f"expected images of shape (B, 3, {self.resolution}, {self.resolution}), "
                f"got {tuple(images.shape)}"
            )
        x = leaky_relu(self.from_rgb(images))
        for block in self.blocks:
            x = block(x)
        x = minibatch_stddev(x, self.config.mbstd_group)
        x = leaky_relu(self.conv(x))
        x = leaky_relu(self.fc(x.flatten(1)))
        return self.out(x).squeeze(1)
