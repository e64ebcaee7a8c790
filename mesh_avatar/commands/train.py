"""``mesh-avatar train``: train the GAN on a dataset folder (synthetic set or photos).

Each run gets a numbered folder ``OUT/NNNNN-<data>-<resolution>px`` with ``config.json``,
``stats.jsonl``, ``tensorboard/``, ``reals.png``, ``samples-<step>.png`` and atomic
``checkpoint-<step>.pt`` files. ``--resume`` continues the newest run under OUT (or OUT itself when
it is a run folder) from its last checkpoint, with the saved configuration (``--steps`` may raise
the target).
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path

from mesh_avatar.commands.options import non_negative_int, positive_int

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train the GAN (coefficients -> renderer -> discriminator)",
        description="Train a generator of morphable-model coefficients against a folder of "
        "images (made by make-dataset, or photos). Under torchrun with CUDA it trains on every "
        "GPU.",
    )
    parser.add_argument("--data", type=Path, required=True, help="dataset folder")
    parser.add_argument("--out", type=Path, required=True, help="folder for numbered runs")
    parser.add_argument(
        "--steps",
        type=positive_int,
        help="training steps; the learning rates reach 0 there (default 3000)",
    )
    parser.add_argument("--resolution", type=positive_int, help="image side: 64, 128 or 256")
    parser.add_argument("--batch", type=positive_int, help="batch size (default 32)")
    parser.add_argument("--model", help="morphable model spec (default: default)")
    parser.add_argument("--renderer", help="renderer backend (default: auto)")
    parser.add_argument("--seed", type=non_negative_int, help="run seed (default 0)")
    parser.add_argument("--resume", action="store_true", help="continue the newest run in OUT")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the resolved config and check the data only"
    )
    parser.add_argument("--config", type=Path, help="JSON file with TrainConfig fields")
    parser.add_argument("--snapshot-every", type=positive_int, help="steps between sample grids")
    parser.add_argument("--checkpoint-every", type=positive_int, help="steps between checkpoints")
    parser.add_argument(
        "--no-tensorboard", action="store_true", help="do not write TensorBoard logs"
    )
    parser.add_argument(
        "--no-encoder",
        action="store_true",
        help="skip the coefficient encoder (its pretraining takes about 10 min at 64 px on 2 "
        "CPU cores) and its readout matching",
    )
    parser.set_defaults(func=run)


def resolve_config(args: argparse.Namespace):  # -> TrainConfig
    """Defaults < --config file < command-line options."""
    from mesh_avatar.gan.config import ConfigError, TrainConfig, config_from_dict

    data: dict = {}
    if args.config is not None:
        try:
            data = json.loads(Path(args.config).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"cannot read config file {args.config}: {exc}") from None
    data["data"] = str(args.data)
    flags = {
        "steps": args.steps,
        "resolution": args.resolution,
        "batch": args.batch,
        "model": args.model,
        "renderer": args.renderer,
        "seed": args.seed,
        "snapshot_every": args.snapshot_every,
        "checkpoint_every": args.checkpoint_every,
    }
    data.update({k: v for k, v in flags.items() if v is not None})
    if args.no_encoder:
        data["encoder"] = {**data.get("encoder", {}), "weight": 0.0}
    return config_from_dict(TrainConfig, data, where=str(args.config or "options"))


def run(args: argparse.Namespace) -> int:
    from mesh_avatar.datasets.synthetic import load_dataset
    from mesh_avatar.errors import MeshAvatarError
    from mesh_avatar.gan.config import TrainConfig, config_from_dict, config_to_dict
    from mesh_avatar.gan.rendering import make_render_fn
    from mesh_avatar.gan.training import (
        close_distributed,
        find_resumable,
        init_distributed,
        next_run_dir,
        train,
    )
    from mesh_avatar.io import atomic_write_bytes, ensure_writable_dir
    from mesh_avatar.morphable import load_model

    resume_from = None
    if args.resume:
        found = find_resumable(args.out)
        if found is None:
            raise MeshAvatarError(f"--resume: no run with a checkpoint under {args.out}")
        run_dir, resume_from = found
        saved = json.loads((run_dir / "config.json").read_text())
        config = config_from_dict(TrainConfig, saved, where=str(run_dir / "config.json"))
        if args.steps is not None:
            config = replace(config, steps=args.steps)
    else:
        config = resolve_config(args)
        run_dir = next_run_dir(args.out, f"{Path(config.data).name}-{config.resolution}px")
    config_json = json.dumps(config_to_dict(config), indent=1) + "\n"
    dataset = load_dataset(config.data, config.resolution)
    if args.dry_run:
        print(config_json, end="")  # noqa: T201
        print(f"run folder: {run_dir}")  # noqa: T201
        print(f"data: {len(dataset)} images at {config.resolution} px")  # noqa: T201
        return 0
    if config.encoder.weight > 0 and dataset.params is None:
        log.warning(
            "the coefficient encoder learns from renders of the morphable model; its readouts "
            'of photos can be wrong (a config with {"encoder": {"weight": 0}} turns it off)'
        )
    dist_info = init_distributed()
    model = load_model(config.model).to(dist_info.device)
    render = make_render_fn(config.resolution, config.renderer)
    if dist_info.is_main:
        ensure_writable_dir(run_dir)
        atomic_write_bytes(run_dir / "config.json", config_json.encode())
    log.info("run folder %s; %d real images", run_dir, len(dataset))
    try:
        state = train(
            config,
            run_dir,
            model,
            render,
            dataset.images.to(dist_info.device),
            resume_from=resume_from,
            dist_info=dist_info,
            tensorboard=not args.no_tensorboard,
        )
    finally:
        close_distributed(dist_info)
    if dist_info.is_main:
        print(f"trained to step {state.step}; run folder {run_dir.resolve()}")  # noqa: T201
    return 0
