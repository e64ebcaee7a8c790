"""How long a viewer slider move takes on this machine (the budget is 100 ms).

    python bench/viewer_update.py [--model default] [--moves 40] [--window]

Prints median / p90 milliseconds of
  - geometry update (incremental v += dv * d_k, normals, gather to render vertices) vs a full
    re-decode (``model(params)`` + normals) -- the ratio is the speed-up of the incremental path;
  - texture update (albedo decode + uint8), only when an albedo slider moves;
  - the web path: preview GLB build (geometry moves) and JPEG encode (albedo moves);
  - with --window: the Open3D window's flush (mesh re-add) under Xvfb (started if no DISPLAY).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mesh_avatar.pipeline import AvatarSource
from mesh_avatar.viewer.preview_glb import PreviewGlb, encode_texture
from mesh_avatar.viewer.state import ViewerState


def stats(name: str, values_ms: list[float]) -> float:
    ordered = sorted(values_ms)
    median = statistics.median(ordered)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    print(f"{name:<46} median {median:7.2f} ms   p90 {p90:7.2f} ms   (n={len(ordered)})")
    return median


def since(start: float) -> float:
    return (time.perf_counter() - start) * 1000


def bench_state(state: ViewerState, moves: int) -> None:
    rng = np.random.default_rng(0)
    model = state.model
    geometry, full, texture, glb_ms, jpeg_ms = [], [], [], [], []
    builder = PreviewGlb(state.topology.uvs, state.topology.faces)
    jpeg = encode_texture(state.texture())
    for _ in range(moves):
        group = "identity" if rng.random() < 0.5 else "expression"
        spec = [s for s in state.specs if s.group == group][int(rng.integers(10))]
        value = float(rng.uniform(spec.minimum, spec.maximum))
        start = time.perf_counter()
        state.set_value(spec.group, spec.index, value)
        positions, normals = state.geometry()
        geometry.append(since(start))
        params = state.params
        start = time.perf_counter()
        with torch.no_grad():
            model.vertex_normals(model(params).vertices)
        full.append(since(start))
        start = time.perf_counter()
        builder.build(positions, normals, jpeg)
        glb_ms.append(since(start))
    albedo = [s for s in state.specs if s.group == "albedo"]
    for k in range(max(moves // 4, 5)):
        spec = albedo[k % len(albedo)]
        value = float(rng.uniform(spec.minimum, spec.maximum))
        start = time.perf_counter()
        state.set_value("albedo", spec.index, value)
        image = state.texture()
        texture.append(since(start))
        start = time.perf_counter()
        encode_texture(image)
        jpeg_ms.append(since(start))
    incremental = stats("geometry update (incremental + normals)", geometry)
    reference = stats("full re-decode + normals (reference)", full)
    print(f"{'':<46} ratio full / incremental: {reference / incremental:.2f}x")
    stats(f"texture update {state.texture().shape[:2]}", texture)
    stats("web: preview GLB build (geometry move)", glb_ms)
    stats("web: JPEG encode (albedo move)", jpeg_ms)


WINDOW_DRIVER = r"""
import json, sys, numpy as np
from mesh_avatar.pipeline import AvatarSource
from mesh_avatar.viewer.state import ViewerState
from mesh_avatar.viewer.window import run_window
state = ViewerState(AvatarSource.open(sys.argv[1]))
moves = int(sys.argv[2])
out = {}
def automation(driver):
    rng = np.random.default_rng(1)
    specs = [s for s in state.specs if s.group in ("identity", "expression")]
    driver.viewer.timings.history.clear()
    for k in range(moves):
        spec = specs[int(rng.integers(len(specs)))]
        driver.move_slider(spec.key, float(rng.uniform(spec.minimum, spec.maximum)))
    out["geometry"] = list(driver.viewer.timings.history)
    driver.viewer.timings.history.clear()
    albedo = [s for s in state.specs if s.group == "albedo"]
    for k in range(max(moves // 4, 5)):
        spec = albedo[k % len(albedo)]
        driver.move_slider(spec.key, float(rng.uniform(spec.minimum, spec.maximum)))
    out["texture"] = list(driver.viewer.timings.history)
run_window(state, automation=automation)
print("RESULT" + json.dumps(out))
"""


def bench_window(model: str, moves: int) -> None:
    import json

    env = dict(os.environ)
    xvfb = None
    if not env.get("DISPLAY"):
        if shutil.which("Xvfb") is None:
            print("window: skipped (no DISPLAY and no Xvfb)")
            return
        env["DISPLAY"] = ":177"
        xvfb = subprocess.Popen(
            ["Xvfb", ":177", "-screen", "0", "1280x900x24"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.5)
    try:
        proc = subprocess.run(
            [sys.executable, "-c", WINDOW_DRIVER, model, str(moves)],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
    finally:
        if xvfb is not None:
            xvfb.terminate()
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")), None)
    if line is None:
        print("window: failed\n" + proc.stderr[-2000:])
        return
    result = json.loads(line[len("RESULT") :])
    geometry = result["geometry"]
    stats("window: decode + normals (geometry move)", [d for d, _, _ in geometry])
    stats("window: mesh upload (re-add, geometry move)", [u for _, u, _ in geometry])
    stats("window: total flush (geometry move)", [d + u + t for d, u, t in geometry])
    stats("window: texture upload (albedo move)", [t for _, _, t in result["texture"]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="default")
    parser.add_argument("--moves", type=int, default=40)
    parser.add_argument("--window", action="store_true", help="also time the Open3D window")
    args = parser.parse_args()
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    state = ViewerState(AvatarSource.open(args.model))
    model = state.model
    print(
        f"model {model.name}: {model.n_vertices} vertices, {model.faces.shape[0]} faces, "
        f"{state.topology.n_vertices} render vertices, layout {model.layout}, "
        f"torch threads {torch.get_num_threads()}"
    )
    bench_state(state, args.moves)
    if args.window:
        bench_window(args.model, args.moves)


if __name__ == "__main__":
    main()
