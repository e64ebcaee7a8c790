"""``mesh-avatar evaluate``: metrics of a trained generator against a dataset, as JSON."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from mesh_avatar.commands.options import non_negative_int, positive_int

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="measure a trained generator against a dataset",
        description="Frechet distance of coefficient distributions (generator and prior "
        "baseline), k-NN precision/recall, mixture coverage and which coefficient groups the "
        "run's discriminator judges (datasets with ground truth), image diversity and a "
        "mode-collapse check (always).",
    )
    parser.add_argument("--checkpoint", type=Path, required=True, help="checkpoint .pt file")
    parser.add_argument("--data", type=Path, required=True, help="dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="JSON file to write")
    parser.add_argument(
        "--model", default=None, metavar="SPEC", help="morphable model (default: the run's)"
    )
    parser.add_argument("--renderer", default=None, help="renderer backend (default: the run's)")
    parser.add_argument("--n", type=positive_int, default=5000, help="generated samples (5000)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="sampling seed (0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mesh_avatar.datasets.synthetic import load_dataset
    from mesh_avatar.gan.checkpoint import load_checkpoint, load_discriminator, load_generator
    from mesh_avatar.gan.config import TrainConfig, config_from_dict
    from mesh_avatar.gan.evaluation import evaluate_generator
    from mesh_avatar.gan.rendering import make_render_fn
    from mesh_avatar.io import atomic_write_bytes
    from mesh_avatar.morphable import load_model

    state = load_checkpoint(args.checkpoint)
    config = config_from_dict(TrainConfig, state["config"], where=f"{args.checkpoint}: config")
    model = load_model(args.model or config.model)
    generator, info = load_generator(args.checkpoint, model, state)
    dataset = load_dataset(args.data, config.resolution)
    render = make_render_fn(config.resolution, args.renderer or config.renderer)
    discriminator = load_discriminator(args.checkpoint, state)
    result = evaluate_generator(
        generator, model, render, dataset, args.n, args.seed, discriminator=discriminator
    )
    result = {
        "checkpoint": str(args.checkpoint),
        "step": info.step,
        "data": str(args.data),
        **result,
    }
    atomic_write_bytes(args.out, (json.dumps(result, indent=1) + "\n").encode())
    summary = {k: result[k] for k in ("frechet", "precision_recall", "bar") if k in result}
    print(json.dumps(summary, indent=1))  # noqa: T201
    return 0
