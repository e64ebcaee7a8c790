"""Regenerate every picture under docs/ (`make docs-images`).

    .venv/bin/python scripts/make_docs_images.py [--only grid,viewer,threejs] [--out docs]

- grid:    docs/model_grid.png, 16 default avatars (scripts/make_model_grid.py)
- viewer:  docs/viewer_window.png and docs/viewer_web.png (scripts/viewer_screenshots.py; Xvfb and
           Debian Chromium)
- threejs: docs/threejs_screenshot.png, avatar 0 of seed 7 as a GLB loaded by three.js's GLTFLoader
           in headless Chromium (tools/js/three_inspect.mjs; needs `make setup` for the npm tools)

Each step runs the project's own tools as subprocesses; a failing step stops the run with its
exit status.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEPS = ("grid", "viewer", "threejs")


def run(cmd: list[str], quiet: bool = False) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=REPO, check=True, stdout=subprocess.DEVNULL if quiet else None)


def make_grid(out: Path) -> None:
    run([sys.executable, "scripts/make_model_grid.py", "--out", str(out / "model_grid.png")])


def make_viewer(out: Path) -> None:
    run([sys.executable, "scripts/viewer_screenshots.py", "--out", str(out)])


def make_threejs(out: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="docs-threejs-") as tmp:
        cli = str(Path(sys.executable).with_name("mesh-avatar"))
        run([cli, "generate", "--n", "1", "--seed", "7", "--out", tmp, "--format", "glb"])
        [glb] = sorted(Path(tmp).glob("*.glb"))
        shot = out / "threejs_screenshot.png"
        run(["node", "tools/js/three_inspect.mjs", str(glb), "--screenshot", str(shot)], quiet=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(STEPS), help="comma list of " + ", ".join(STEPS))
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args(argv)
    steps = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        parser.error(f"unknown step(s): {', '.join(unknown)} (choose from {', '.join(STEPS)})")
    args.out.mkdir(parents=True, exist_ok=True)
    makers = {"grid": make_grid, "viewer": make_viewer, "threejs": make_threejs}
    try:
        for step in steps:
            makers[step](args.out.resolve())
    except subprocess.CalledProcessError as exc:
        print(f"error: {' '.join(exc.cmd)} failed (exit {exc.returncode})", file=sys.stderr)
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
