"""``mesh-avatar batch``: thousands of avatars per run, resumable, locally or on a Ray cluster."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from mesh_avatar.commands.options import (
    add_export_options,
    add_model_option,
    comma_choices,
    non_negative_int,
    positive_int,
)

#: View names for --renders (kept here so --help does not import the renderer).
RENDER_VIEWS = ("front", "three-quarter", "profile", "three-quarter-right", "profile-right")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="generate many avatars with a manifest; resumable; local processes or Ray",
        description="Generate avatars 0..N-1 of a seeded run into OUT with a JSONL manifest "
        "(id, seed, coefficients, files, sizes, SHA-256, triangle counts). Avatar i is "
        "byte-identical whatever the worker count or backend. Rerunning the same command on the "
        "same folder resumes it: finished avatars are verified by hash and kept.",
    )
    parser.add_argument("--n", type=positive_int, required=True, help="number of avatars")
    parser.add_argument("--seed", type=non_negative_int, default=0, help="run seed (default 0)")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    add_model_option(parser)
    parser.add_argument(
        "--checkpoint", type=Path, help="sample a trained generator instead of the model prior"
    )
    parser.add_argument(
        "--truncation", type=float, default=1.0, help="GAN truncation psi in (0, 1] (default 1)"
    )
    parser.add_argument(
        "--workers",
        type=non_negative_int,
        default=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1,
        help="worker processes or Ray actors (default: usable CPUs; 0 = in this process)",
    )
    parser.add_argument(
        "--ray",
        nargs="?",
        const="local",
        default=None,
        metavar="ADDRESS",
        help="run on Ray: without ADDRESS a local Ray instance, else a cluster address "
        "(auto, ray://HOST:10001); OUT must be a path all nodes share",
    )
    add_export_options(parser, default_formats="glb")
    parser.add_argument(
        "--sparse-morph-targets",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="glTF morph targets as sparse accessors, only the moving vertices (default; about "
        "4x smaller GLBs); --no-sparse-morph-targets writes dense ones",
    )
    labels = parser.add_argument_group("synthetic-data labels")
    labels.add_argument(
        "--renders",
        type=comma_choices(RENDER_VIEWS),
        default=(),
        metavar="VIEWS",
        help=f"also render these views with labels (2D landmarks, depth, normals, segmentation, "
        f"cameras): comma list of {', '.join(RENDER_VIEWS)}",
    )
    labels.add_argument(
        "--render-size", type=positive_int, default=256, metavar="PX", help="label image size"
    )
    parser.add_argument(
        "--fsync",
        action="store_true",
        help="fsync every file before renaming it into place (slower; without it a power loss "
        "can leave a damaged file, which the next run detects by hash and redoes)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from mesh_avatar.batch import BatchSpec, run_batch

    spec = BatchSpec(
        n=args.n,
        seed=args.seed,
        model=args.model,
        checkpoint=str(args.checkpoint) if args.checkpoint else None,
        truncation=args.truncation,
        formats=tuple(args.formats),
        lods=tuple(args.lod),
        texture_size=args.texture_size,
        texture_format=args.texture_format,
        sparse_morph_targets=args.sparse_morph_targets,
        renders=tuple(args.renders),
        render_size=args.render_size,
    )
    use_ray = args.ray is not None
    summary = run_batch(
        spec,
        args.out,
        workers=args.workers,
        use_ray=use_ray,
        ray_address=None if args.ray in (None, "local") else args.ray,
        progress=not args.quiet,
        fsync=args.fsync,
    )
    print(  # noqa: T201
        f"{summary.made + summary.kept} avatar(s) in {summary.out_dir} "
        f"(made {summary.made}, kept {summary.kept}; {summary.rate:.2f} avatars/s); "
        f"manifest {summary.manifest}"
    )
    return 0
