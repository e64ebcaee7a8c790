"""The ``mesh-avatar`` command line: a dispatcher over the subcommand modules in ``commands/``.

Each subcommand module has ``register(subparsers)`` (adds its parser and sets ``func``) and keeps
heavy imports inside its ``run`` function, so ``mesh-avatar --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn

from mesh_avatar import __version__
from mesh_avatar.commands import batch, evaluate, export, generate, make_dataset, models, train
from mesh_avatar.errors import MeshAvatarError

SUBCOMMANDS = (generate, export, batch, make_dataset, train, evaluate, models)


class OneLineErrorParser(argparse.ArgumentParser):
    """Argument errors become one line on stderr (with a pointer to --help) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="mesh-avatar",
        description="3D avatar heads for VR: generate, train, export, batch.",
    )
    parser.add_argument("--version", action="version", version=f"mesh-avatar {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=OneLineErrorParser
    )
    subparsers.required = True
    for module in SUBCOMMANDS:
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.func(args) or 0)
    except MeshAvatarError as exc:
        print(f"mesh-avatar {args.command}: error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        print("mesh-avatar: interrupted", file=sys.stderr)  # noqa: T201
        return 130


if __name__ == "__main__":
    sys.exit(main())
