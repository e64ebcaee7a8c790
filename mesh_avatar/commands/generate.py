"""``mesh-avatar generate``: sample avatars (model prior or trained GAN) and export them."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from mesh_avatar.commands.options import (
    add_export_options,
    add_model_option,
    export_options,
    non_negative_int,
    positive_int,
)

log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "generate",
        help="sample avatars and write GLB/glTF/OBJ files",
        description="Sample avatars from the morphable model's prior (or a trained generator) and "
        "export them. Avatar i of seed S is the same file whether generated alone or in a batch.",
    )
    parser.add_argument("--n", type=positive_int, default=1, help="number of avatars (default 1)")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="run seed (default 0)")
    parser.add_argument(
        "--start", type=non_negative_int, default=0, help="index of the first avatar (default 0)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path("out/avatars"), help="output folder (default out/avatars)"
    )
    add_model_option(parser)
    parser.add_argument(
        "--checkpoint", type=Path, help="sample a trained generator instead of the model prior"
    )
    parser.add_argument(
        "--truncation", type=float, default=1.0, help="GAN truncation psi in (0, 1] (default 1)"
    )
    parser.add_argument("--preview", action="store_true", help="also write a rendered PNG each")
    parser.add_argument(
        "--renderer",
        choices=("auto", "fast", "pytorch3d"),
        default="auto",
        help="backend for --preview (auto: fast on CPU, pytorch3d on CUDA)",
    )
    add_export_options(parser, default_formats="glb,obj")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from mesh_avatar.io import ensure_writable_dir
    from mesh_avatar.pipeline import AvatarSource, write_avatar

    out_dir = ensure_writable_dir(args.out)
    options = export_options(args)
    source = AvatarSource.open(args.model, checkpoint=args.checkpoint, truncation=args.truncation)
    indices = range(args.start, args.start + args.n)
    written = 0
    for index in tqdm(indices, desc="avatars", unit="avatar", disable=args.n < 2):
        paths = write_avatar(
            source, args.seed, index, out_dir, options, args.formats, args.preview, args.renderer
        )
        written += len(paths)
    log.info("wrote %d avatar(s), %d file(s) to %s", args.n, written, out_dir.resolve())
    print(f"{args.n} avatar(s) written to {out_dir.resolve()}")  # noqa: T201
    return 0
