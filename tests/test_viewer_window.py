"""The Open3D window under Xvfb: move sliders programmatically, check the mesh and the image change.

The window runs in a subprocess (Open3D's GUI application is a per-process singleton) on a private
Xvfb display started by the fixture. The no-display message is checked in the fast suite.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]

DRIVER = r"""
import json, sys
from pathlib import Path
import numpy as np
from mesh_avatar.pipeline import AvatarSource
from mesh_avatar.viewer.state import ViewerState
from mesh_avatar.viewer.window import run_window

model_path, out = Path(sys.argv[1]), Path(sys.argv[2])
state = ViewerState(AvatarSource.open(str(model_path)))
result = {}

def automation(driver):
    before_vertices = state.model_vertices()
    before = driver.capture_scene()
    driver.move_slider("expression/jawOpen", 1.0)
    driver.move_slider("identity/identity_000", 3.0)
    after_vertices = state.model_vertices()
    after = driver.capture_scene()
    driver.move_slider("albedo/skin_tone", -3.0)
    textured = driver.capture_scene()
    driver.grab_window().save(out / "window.png")
    driver.set_export_path(out / "exported.glb")
    driver.press("export")
    result["status"] = driver.status()
    result["timings"] = driver.viewer.timings.history
    result["slider_value"] = driver.call(lambda: driver.viewer.sliders["expression/jawOpen"].double_value)
    np.savez(out / "captures.npz", before=before, after=after, textured=textured,
             before_vertices=before_vertices, after_vertices=after_vertices)

run_window(state, size=(960, 640), automation=automation)
(out / "result.json").write_text(json.dumps(result))
"""


@pytest.fixture
def xvfb_display():
    """A private Xvfb display; yields its name (``:N``)."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian package xvfb)")
    for number in range(140, 200):
        if (
            not Path(f"/tmp/.X11-unix/X{number}").exists()
            and not Path(f"/tmp/.X{number}-lock").exists()
        ):
            break
    display = f":{number}"
    proc = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while not Path(f"/tmp/.X11-unix/X{number}").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"Xvfb did not start on {display}")
        time.sleep(0.1)
    yield display
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def tiny_model_file(tiny_model_data, tmp_path) -> Path:
    from mesh_avatar.morphable import save_model

    return save_model(tiny_model_data, tmp_path / "tiny.npz")


def test_no_display_prints_how_to_run(tiny_model_file):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "viewer.py"), "--model", str(tiny_model_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "no display found" in proc.stderr
    assert "--web" in proc.stderr and "--screenshot" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.e2e
def test_window_slider_moves_change_mesh_and_image(xvfb_display, tiny_model_file, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, DISPLAY=xvfb_display)
    env.pop("WAYLAND_DISPLAY", None)
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(tiny_model_file), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads((out / "result.json").read_text())
    captures = np.load(out / "captures.npz")
    # The mesh changed where the jaw and identity sliders act.
    moved = np.linalg.norm(captures["after_vertices"] - captures["before_vertices"], axis=1)
    assert moved.max() > 0.005
    assert result["slider_value"] == pytest.approx(1.0)
    # The rendered view shows a lit avatar, and it changed after the slider moves.
    before, after, textured = captures["before"], captures["after"], captures["textured"]
    assert before.ndim == 3 and before.shape[2] == 3 and before.std() > 5
    assert np.abs(after.astype(int) - before).mean() > 0.5
    assert np.abs(textured.astype(int) - after).mean() > 0.5  # albedo slider: texture update
    # Export wrote a GLB from the window.
    assert result["status"].startswith("wrote "), result["status"]
    glb = out / "exported.glb"
    assert glb.read_bytes()[:4] == b"glTF"
    assert (out / "exported.params.json").is_file()
    assert (out / "window.png").is_file()
    # Each update (decode + normals + upload) stayed well inside an interactive budget.
    assert len(result["timings"]) >= 3
