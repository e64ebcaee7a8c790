"""Run under ``torchrun --nproc_per_node 2``: a few training steps with gradients averaged across
processes, then every rank's weights gathered; rank 0 writes ``{"max_difference": ...}`` as JSON
to the path in argv[1]. Used by tests/test_gan_distributed.py (Gloo on the CPU)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mesh_avatar.gan.training import build_state, close_distributed, init_distributed, train_step
from mesh_avatar.morphable import MorphableModel
from support.small_training import RES, random_images, small_config
from support.tiny_model import make_tiny_model_data
from support.toy_render import ToyRender


def main() -> None:
    dist_info = init_distributed()
    config = small_config(batch=8)
    model = MorphableModel(make_tiny_model_data())
    state = build_state(config, model)
    images = random_images()
    for _ in range(3):
        train_step(state, model, ToyRender(RES), images, config, dist_info)
    weights = torch.cat(
        [
            p.detach().flatten()
            for m in (state.generator, state.discriminator)
            for p in m.parameters()
        ]
    )
    gathered = [torch.empty_like(weights) for _ in range(dist_info.world)]
    dist.all_gather(gathered, weights)
    if dist_info.is_main:
        difference = max(float((g - gathered[0]).abs().max()) for g in gathered)
        Path(sys.argv[1]).write_text(
            json.dumps({"world": dist_info.world, "max_difference": difference})
        )
    close_distributed(dist_info)


if __name__ == "__main__":
    main()
