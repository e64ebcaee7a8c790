"""Option types and option groups shared by several subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

FORMATS = ("glb", "gltf", "obj")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def comma_choices(choices: Sequence[str]) -> Callable[[str], tuple[str, ...]]:
    """An argparse type for a comma-separated list drawn from ``choices`` (order kept, no repeats)."""

    def parse(text: str) -> tuple[str, ...]:
        items = [item.strip().lower() for item in text.split(",") if item.strip()]
        if not items:
            raise argparse.ArgumentTypeError("expected at least one value")
        unknown = [item for item in items if item not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(
                f"unknown value(s) {', '.join(unknown)}; choose from {', '.join(choices)}"
            )
        return tuple(dict.fromkeys(items))

    return parse


def lod_list(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(dict.fromkeys(int(item) for item in text.split(",") if item.strip()))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected levels like 0,1,2, got {text!r}") from None
    if not levels or any(level not in (0, 1, 2) for level in levels):
        raise argparse.ArgumentTypeError(f"levels must be among 0, 1, 2, got {text!r}")
    return levels


def add_model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default="default",
        metavar="SPEC",
        help="morphable model: default | PATH.npz | ict:PATH | bfm:PATH | flame:PATH "
        "(see `mesh-avatar models`)",
    )


def add_export_options(parser: argparse.ArgumentParser, default_formats: str = "glb") -> None:
    group = parser.add_argument_group("export")
    group.add_argument(
        "--format",
        "--formats",
        dest="formats",
        type=comma_choices(FORMATS),
        default=comma_choices(FORMATS)(default_formats),
        metavar="LIST",
        help=f"comma list of {', '.join(FORMATS)} (default: {default_formats})",
    )
    group.add_argument(
        "--lod", type=lod_list, default=(0,), metavar="LIST", help="levels of detail, e.g. 0,1,2"
    )
    group.add_argument(
        "--texture-size", type=positive_int, default=1024, metavar="PX", help="256 to 2048"
    )
    group.add_argument("--texture-format", choices=("jpeg", "png"), default="jpeg")


def export_options(args: argparse.Namespace) -> Any:
    """The :class:`~mesh_avatar.export.ExportOptions` described by the export option group."""
    from mesh_avatar.export import ExportOptions

    return ExportOptions(
        texture_size=args.texture_size, texture_format=args.texture_format, lods=args.lod
    )
