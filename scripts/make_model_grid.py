"""Render a 4x4 grid of random default avatars (prior samples, varied expressions) for the docs.

    python scripts/make_model_grid.py --out docs/model_grid.png [--seed 7] [--size 256]

Each tile is one prior sample (identity, albedo and a few random ARKit expressions) seen from a
slightly different angle, rendered with the project's renderer (``renderers``) under soft ambient
light plus one key light.
"""

from __future__ import annotations

import argparse
import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from mesh_avatar.io import atomic_write_bytes
from mesh_avatar.morphable import load_model
from mesh_avatar.sampling import sample_prior
from renderers import AMBIENT_SH0, Camera, Lighting, RenderMeshes, RenderSettings, create_renderer

GRID = 4


def render_grid(model_spec: str, seed: int, size: int, backend: str = "auto") -> np.ndarray:
    """(GRID*size, GRID*size, 3) uint8 image of GRID*GRID prior samples."""
    model = load_model(model_spec)
    n = GRID * GRID
    params = sample_prior(model, n, seed)
    with torch.no_grad():
        decoded = model(params)
    renderer = create_renderer(backend)
    angles = torch.linspace(-0.5, 0.5, n)[
        torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    ]
    camera = Camera.orbit(
        yaw=angles, pitch=torch.full((n,), 0.08), distance=0.7, fov_deg=24.0,
        target=(0.0, -0.015, 0.0),
    )  # fmt: skip
    sh = torch.zeros(n, 9, 3)
    sh[:, 0] = AMBIENT_SH0 * 0.55
    lighting = Lighting(
        sh=sh,
        directional_dir=torch.tensor([[0.45, 0.55, 0.75]]).expand(n, 3),
        directional_color=torch.full((n, 3), 0.65),
    )
    texture = decoded.albedo.clamp(0.0, 1.0)
    settings = RenderSettings(image_size=size, background=(0.16, 0.17, 0.19))
    images = []
    for start in range(0, n, 4):  # small batches keep memory modest on CPU
        part = slice(start, start + 4)
        meshes = RenderMeshes(
            verts=decoded.vertices[part], faces=model.faces, uvs=model.uvs,
            face_uvs=model.face_uvs, texture=texture[part],
        )  # fmt: skip
        view = Camera(camera.rotation[part], camera.translation[part], camera.fov_deg[part])
        light = Lighting(
            sh=lighting.sh[part],
            directional_dir=lighting.directional_dir[part],
            directional_color=lighting.directional_color[part],
        )
        images.append(renderer(meshes, view, light, settings).images)
    batch = torch.cat(images)  # (n, 3, size, size) in [-1, 1]
    tiles = ((batch.clamp(-1, 1) + 1) * 127.5 + 0.5).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    rows = [np.concatenate(list(tiles[r * GRID : (r + 1) * GRID]), axis=1) for r in range(GRID)]
    return np.concatenate(rows, axis=0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/model_grid.png"))
    parser.add_argument("--model", default="default")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--backend", default="auto", choices=("auto", "fast", "pytorch3d"))
    args = parser.parse_args(argv)
    image = render_grid(args.model, args.seed, args.size, args.backend)
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=True)
    atomic_write_bytes(args.out, buffer.getvalue())
    print(
        f"wrote {args.out} ({image.shape[1]}x{image.shape[0]}, {math.ceil(len(buffer.getvalue()) / 1024)} KiB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
