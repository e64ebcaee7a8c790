"""``mesh-avatar make-dataset``: render a synthetic "real" set from a population of avatars."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mesh_avatar.commands.options import add_model_option, non_negative_int, positive_int

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "make-dataset",
        help="render a synthetic training set with ground-truth coefficients",
        description="Draw avatars from a population (a JSON file of distributions over "
        "coefficients, pose and light; the built-in example without --population), render them "
        "and write PNG images plus the ground-truth coefficients.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--n", type=positive_int, required=True, help="number of images")
    parser.add_argument("--population", type=Path, help="population JSON file")
    parser.add_argument("--resolution", type=positive_int, default=64, help="image side (64)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="draw seed (0)")
    parser.add_argument("--renderer", default="auto", help="renderer backend (auto)")
    parser.add_argument("--batch", type=positive_int, default=64, help="renders per batch (64)")
    add_model_option(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mesh_avatar.datasets.population import Population, example_population
    from mesh_avatar.datasets.synthetic import make_dataset
    from mesh_avatar.gan.rendering import make_render_fn
    from mesh_avatar.morphable import load_model

    population = Population.load(args.population) if args.population else example_population()
    model = load_model(args.model)
    render = make_render_fn(args.resolution, args.renderer)
    folder = make_dataset(
        args.out,
        args.n,
        model,
        render,
        population,
        args.resolution,
        seed=args.seed,
        renderer_name=args.renderer,
        batch=args.batch,
    )
    print(f"{args.n} images written to {folder.resolve()}")  # noqa: T201
    return 0
