"""What a fresh discriminator learns to see, property by property (``make bench-gan-sensitivity``).

A GAN generator learns only what its discriminator tells apart. This trains a new discriminator
with the training recipe (the default run config's network, augmentation, lazy R1 and Adam
settings) to tell a synthetic set's real images from renders of the same set's avatars with one
property taken away, and prints its held-out accuracy every ``--every`` steps:

==========  ====================================================================================
none        nothing taken away (the control: accuracy stays near 0.5)
identity    the identity coordinates the population's mixture names, redrawn from one narrow
            Gaussian N(0, 0.35^2): unimodal, at a quarter of the example population's spread on
            them (the ``bench-gan`` generator's is unimodal at about a third)
albedo      the same for the albedo coordinates the mixture names (skin tone)
expression  every expression weight set to 0 (in the example population: the smile)
==========  ====================================================================================

The best reachable accuracy is 1 when every real image shows the property, and
``0.5 + share / 2`` when only a share of them does (30 % smile: 0.65). Fakes are other avatars of
the set than the reals they are compared with, and both are split into training and held-out
parts.

Usage: .venv/bin/python bench/gan_sensitivity.py [--data out/bench-gan/data] [--model default]
       [--take none identity albedo expression] [--steps 1500] [--every 250]
       [--channel-base 1024] [--channel-max 128] [--r1-gamma 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from mesh_avatar.datasets.population import PopulationSampler, ResolvedDistribution
from mesh_avatar.datasets.synthetic import Dataset, load_dataset
from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.gan.config import TrainConfig
from mesh_avatar.gan.discriminator import Discriminator
from mesh_avatar.gan.evaluation import check_dataset_model, render_in_chunks
from mesh_avatar.gan.rendering import make_render_fn
from mesh_avatar.gan.training import build_state, discriminator_step
from mesh_avatar.morphable import load_model
from mesh_avatar.params import AvatarParams

PROPERTIES = ("none", "identity", "albedo", "expression")
#: Spread of the single Gaussian that replaces a mixture (std units of the model's prior).
NARROW_STD = 0.35


def squash_mixture(
    values: torch.Tensor, dist: ResolvedDistribution, generator: torch.Generator
) -> torch.Tensor:
    """(N, K) -> (N, K) with the coordinates ``dist`` specifies redrawn from N(0, NARROW_STD^2)."""
    out = values.clone()
    columns = torch.as_tensor(dist.specified)
    noise = NARROW_STD * torch.randn(values.shape[0], int(columns.sum()), generator=generator)
    out[:, columns] = noise.to(values)
    return out


def take_away(
    params: AvatarParams, sampler: PopulationSampler, prop: str, generator: torch.Generator
) -> tuple[AvatarParams, float]:
    """Params with ``prop`` taken away, and the best accuracy a discriminator can reach on them."""
    if prop == "none":
        return params, 0.5
    if prop in ("identity", "albedo"):
        dist = getattr(sampler, prop)
        if not dist.specified.any():
            raise SystemExit(f"the population's {prop} mixture names no coordinate")
        return params.with_fields(
            **{prop: squash_mixture(getattr(params, prop), dist, generator)}
        ), 1.0
    share = float((params.expression.abs().amax(dim=1) > 0).float().mean())
    return params.with_fields(expression=torch.zeros_like(params.expression)), 0.5 + share / 2


def held_out_accuracy(
    discriminator: Discriminator, real: torch.Tensor, fake: torch.Tensor
) -> float:
    """Mean of the shares of reals with a positive and fakes with a negative logit."""
    with torch.no_grad():
        real_logits = torch.cat([discriminator(c) for c in real.split(128)])
        fake_logits = torch.cat([discriminator(c) for c in fake.split(128)])
    return 0.5 * float((real_logits > 0).float().mean() + (fake_logits < 0).float().mean())


def train_and_watch(
    config: TrainConfig,
    model: Any,
    real: torch.Tensor,
    fake: torch.Tensor,
    held_out: int,
    steps: int,
    every: int,
    label: str,
) -> list[tuple[int, float]]:
    """Train a fresh D of a new run for ``model`` with the training's own
    :func:`~mesh_avatar.gan.training.discriminator_step` (at the run's first learning rate) on
    ``real`` vs ``fake`` ((N, 3, R, R) in [-1, 1]; the last ``held_out`` of each are only
    scored) and return (step, held-out accuracy) every ``every`` steps."""
    state = build_state(config, model)
    n_train = real.shape[0] - held_out
    draw = torch.Generator().manual_seed(config.seed)
    trace = []
    t0 = time.perf_counter()
    for step in range(steps + 1):
        if step % every == 0:
            accuracy = held_out_accuracy(state.discriminator, real[n_train:], fake[n_train:])
            trace.append((step, accuracy))
            print(f"{label:<11} step {step:>5}  held-out accuracy {accuracy:.3f}  "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)  # fmt: skip
        if step == steps:
            break
        i = torch.randint(0, n_train, (config.batch,), generator=draw)
        j = torch.randint(0, n_train, (config.batch,), generator=draw)
        discriminator_step(state, real[i], fake[j], config, draw)
        state.step += 1
    return trace


def first_step_at(trace: list[tuple[int, float]], level: float) -> str:
    steps = [step for step, accuracy in trace if accuracy >= level]
    return f"step {steps[0]}" if steps else "never"


def load_synthetic(path: Path) -> Dataset:
    if not (path / "dataset.json").is_file():
        raise SystemExit(f"{path}: no synthetic set (`make bench-gan-sensitivity` renders one)")
    dataset = load_dataset(path)
    if dataset.params is None or dataset.population is None:
        raise SystemExit(f"{path}: needs a set with ground truth and its population (make-dataset)")
    return dataset


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=Path("out/bench-gan/data"))
    p.add_argument(
        "--model", default="default", help="the morphable model the set was rendered with"
    )
    p.add_argument("--take", nargs="+", choices=PROPERTIES, default=list(PROPERTIES))
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--every", type=int, default=250)
    p.add_argument("--held-out", type=int, default=1000, help="images of each side only scored")
    p.add_argument("--channel-base", type=int, default=None)
    p.add_argument("--channel-max", type=int, default=None)
    p.add_argument("--r1-gamma", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def main() -> None:
    args = parse()
    dataset = load_synthetic(args.data)
    try:
        model = load_model(args.model)
        check_dataset_model(dataset, model)
    except MeshAvatarError as exc:
        raise SystemExit(str(exc)) from None
    resolution = int(dataset.images.shape[-1])
    config = TrainConfig(data=str(args.data), resolution=resolution, seed=args.seed)
    overrides = {"channel_base": args.channel_base, "channel_max": args.channel_max}
    config = replace(config, discriminator=replace(
        config.discriminator, **{k: v for k, v in overrides.items() if v is not None}))  # fmt: skip
    if args.r1_gamma is not None:
        config = replace(config, loss=replace(config.loss, r1_gamma=args.r1_gamma))
    n = len(dataset)
    if not 0 < args.held_out < n // 2:
        raise SystemExit(f"--held-out must lie in (0, {n // 2}) for a set of {n} images")
    render = make_render_fn(resolution, dataset.meta.get("renderer", "fast"))
    sampler = PopulationSampler(dataset.population, model)
    real = dataset.images.float() / 127.5 - 1.0
    generator = torch.Generator().manual_seed(args.seed + 1)
    d = config.discriminator
    print(f"{n} images at {resolution} px; D channel_base {d.channel_base}, channel_max "
          f"{d.channel_max}; R1 gamma {config.loss.r1_gamma}; {args.steps} steps x {config.batch}")  # fmt: skip
    summary = []
    for prop in args.take:
        others = torch.randperm(n, generator=generator)  # fakes show other avatars than the reals
        params, ceiling = take_away(dataset.params.select(others), sampler, prop, generator)
        fake = render_in_chunks(model, render, params)
        trace = train_and_watch(
            config, model, real, fake, args.held_out, args.steps, args.every, prop
        )
        best = max(accuracy for _, accuracy in trace)
        if prop == "none":
            summary.append(f"{prop}: best held-out accuracy {best:.3f} (chance 0.5)")
        else:
            halfway = 0.5 + (ceiling - 0.5) / 2
            summary.append(f"{prop}: best {best:.3f} of a reachable {ceiling:.3f}; halfway "
                           f"({halfway:.3f}) at {first_step_at(trace, halfway)}")  # fmt: skip
    print("\n".join(summary))


if __name__ == "__main__":
    sys.exit(main())
