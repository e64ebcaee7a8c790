"""Regenerate docs/viewer_window.png and docs/viewer_web.png from the real viewer.

    .venv/bin/python scripts/viewer_screenshots.py [--model default] [--seed 3] [--out docs]

The window shot runs the Open3D viewer on a private Xvfb display (started here when DISPLAY is
unset) and grabs the X screen; the web shot serves the viser page and photographs it in headless
Debian Chromium through Playwright. Both show avatar 0 of --seed with a smile.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
]
SMILE = (("expression/mouthSmileLeft", 0.7), ("expression/mouthSmileRight", 0.7))

WINDOW_DRIVER = r"""
import sys
from mesh_avatar.pipeline import AvatarSource
from mesh_avatar.viewer.state import ViewerConfig, ViewerState
from mesh_avatar.viewer.window import run_window
model, seed, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
SMILE = (("expression/mouthSmileLeft", 0.7), ("expression/mouthSmileRight", 0.7))
state = ViewerState(AvatarSource.open(model), ViewerConfig(seed=seed))
state.randomize(seed)
def automation(driver):
    driver.call(driver.viewer._sync_widgets)
    for key, value in SMILE:
        driver.move_slider(key, value)
    driver.grab_window().save(out)
run_window(state, size=(1280, 800), automation=automation)
"""


def window_shot(model: str, seed: int, out: Path) -> None:
    env = dict(os.environ)
    xvfb = None
    if not env.get("DISPLAY"):
        if shutil.which("Xvfb") is None:
            sys.exit("Xvfb is needed for the window screenshot (Debian package xvfb)")
        env["DISPLAY"] = ":178"
        xvfb = subprocess.Popen(
            ["Xvfb", ":178", "-screen", "0", "1400x900x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.5)
    try:
        subprocess.run(
            [sys.executable, "-c", WINDOW_DRIVER, model, str(seed), str(out)],
            env=env,
            check=True,
            timeout=600,
            cwd=REPO,
        )
    finally:
        if xvfb is not None:
            xvfb.terminate()
    print(f"wrote {out}")


def web_shot(model: str, seed: int, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    from mesh_avatar.pipeline import AvatarSource
    from mesh_avatar.viewer.state import ViewerConfig, ViewerState
    from mesh_avatar.viewer.web import WebViewer

    state = ViewerState(AvatarSource.open(model), ViewerConfig(seed=seed))
    state.randomize(seed)
    for key, value in SMILE:
        spec = state.spec(key)
        state.set_value(spec.group, spec.index, value)
    web = WebViewer(state, port=0).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(web.url)
            page.get_by_role("slider").first.wait_for(timeout=60_000)
            page.wait_for_timeout(4000)  # GLB decode + a few software-rendered frames
            for button in page.locator(".mantine-Notification-root button").all():
                button.click()  # the "software WebGL rendering" notice, if shown
            page.wait_for_timeout(500)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        web.stop()
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    parser.add_argument("--only", choices=("window", "web"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only in (None, "window"):
        window_shot(args.model, args.seed, args.out / "viewer_window.png")
    if args.only in (None, "web"):
        web_shot(args.model, args.seed, args.out / "viewer_web.png")


if __name__ == "__main__":
    main()
