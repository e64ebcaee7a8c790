"""Command line of ``viewer.py``: a window, a browser page (``--web``) or a PNG (``--screenshot``)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from mesh_avatar.cli import OneLineErrorParser
from mesh_avatar.commands.options import non_negative_int
from mesh_avatar.errors import MeshAvatarError

log = logging.getLogger(__name__)

NO_DISPLAY_MESSAGE = (
    "viewer: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so no window can open.\n"
    "  In a browser (works over SSH):  python viewer.py --web --port 8080\n"
    "      then on your machine:       ssh -L 8080:localhost:8080 HOST  and open "
    "http://localhost:8080\n"
    "  As a PNG, no display needed:    python viewer.py --screenshot avatar.png [--params FILE]\n"
    "  A window on a virtual display:  xvfb-run -s '-screen 0 1280x800x24' python viewer.py"
)


def _port(text: str) -> int:
    value = non_negative_int(text)
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must lie in 1..65535, got {value}")
    return value


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if not (16 <= width <= 4096 and 16 <= height <= 4096):
        raise argparse.ArgumentTypeError(f"each side must lie in 16..4096, got {text!r}")
    return width, height


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="viewer.py",
        description="Live avatar preview with sliders: a window (default), a browser page "
        "(--web) or a headless PNG (--screenshot).",
    )
    parser.add_argument(
        "--model",
        default="default",
        metavar="SPEC",
        help="morphable model: default | PATH.npz | ict:PATH | bfm:PATH | flame:PATH",
    )
    parser.add_argument("--checkpoint", type=Path, help="GAN checkpoint: Random samples from it")
    parser.add_argument(
        "--seed",
        type=non_negative_int,
        help="start with avatar 0 of this run seed (default: the mean face)",
    )
    parser.add_argument(
        "--truncation", type=float, default=1.0, help="truncation psi in (0, 1] (default 1)"
    )
    parser.add_argument("--params", type=Path, help="start from a params file (.json or .npz)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--web", action="store_true", help="serve the viewer as a web page")
    mode.add_argument(
        "--screenshot", type=Path, metavar="PATH", help="write the view as PNG and exit"
    )
    parser.add_argument("--host", default="127.0.0.1", help="--web: address to bind")
    parser.add_argument("--port", type=_port, default=8080, help="--web: port (default 8080)")
    parser.add_argument(
        "--size", type=_size, default=None, metavar="WxH", help="window or screenshot size"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    return parser


def open_state(args: argparse.Namespace):  # -> ViewerState
    """Load the model (and generator) and build the state the front ends show."""
    from mesh_avatar.params import AvatarParams
    from mesh_avatar.pipeline import AvatarSource
    from mesh_avatar.viewer.state import ViewerConfig, ViewerState, check_truncation

    check_truncation(args.truncation)
    source = AvatarSource.open(args.model, checkpoint=args.checkpoint, truncation=args.truncation)
    config = ViewerConfig(seed=args.seed or 0, truncation=args.truncation)
    state = ViewerState(source, config)
    if args.params is not None:
        state.set_params(AvatarParams.load(args.params), source=str(args.params))
    elif args.seed is not None:
        state.randomize(args.seed)
    return state


def run(args: argparse.Namespace) -> int:
    if args.screenshot is None and not args.web:
        from mesh_avatar.viewer.window import has_display

        if not has_display():  # checked before loading anything: fail fast and clearly
            print(NO_DISPLAY_MESSAGE, file=sys.stderr)  # noqa: T201
            return 2
    state = open_state(args)
    if args.screenshot is not None:
        from mesh_avatar.viewer.screenshot import write_screenshot

        size = args.size or (768, 768)
        path = write_screenshot(state.model, state.params, args.screenshot, size)
        print(f"wrote {path.resolve()}")  # noqa: T201
        return 0
    if args.web:
        from mesh_avatar.viewer.web import serve_forever

        serve_forever(state, args.host, args.port)
        return 0
    from mesh_avatar.viewer.window import run_window

    run_window(state, size=args.size or (1280, 800))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return run(args)
    except MeshAvatarError as exc:
        print(f"viewer: error: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        return 130
