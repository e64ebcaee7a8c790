"""Throughput of the two render backends on the same batch of default-model avatars.

Renders B prior samples of a morphable model (default: the embedded default head) with the ``fast``
and ``pytorch3d`` backends at 64 and 128 px, forward only (``torch.no_grad``) and forward+backward
(gradients w.r.t. vertices, texture and SH lighting), and prints images/s for each and the
fast/pytorch3d ratios. Only the renderer call is timed (decoding happens once, before); the rate is
the batch size over the median batch time. The last line reads
``ratio 128px fwd+bwd fast/pytorch3d: X``.

    .venv/bin/python bench/render.py [--model default|synthetic|SPEC] [--batch 4] [--threads 1]
                                     [--texture-size 256] [--keep-freed-memory]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

from mesh_avatar.morphable import MorphableModel, load_model
from mesh_avatar.preview import portrait_camera
from mesh_avatar.sampling import sample_prior
from renderers import Lighting, RenderMeshes, RenderSettings, create_renderer


def keep_freed_memory() -> None:
    """Ask glibc to serve large blocks from the heap and keep freed memory (no mmap/munmap per
    call): a 1024^2 texture gradient is otherwise page-faulted in afresh on every backward pass."""
    import ctypes

    libc = ctypes.CDLL("libc.so.6")
    m_trim_threshold, m_mmap_threshold = -1, -3
    libc.mallopt(m_mmap_threshold, 1 << 30)
    libc.mallopt(m_trim_threshold, (1 << 31) - 1)


def synthetic_model() -> MorphableModel:
    """The test suite's synthetic ellipsoid head, refined to about 22k faces (no files needed)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from support.tiny_model import make_tiny_model_data

    return MorphableModel(make_tiny_model_data(n_lat=101, n_lon=110))


def make_batch(
    model_spec: str, batch: int, seed: int, texture_size: int | None = None
) -> tuple[RenderMeshes, object, Lighting]:
    model = synthetic_model() if model_spec == "synthetic" else load_model(model_spec)
    params = sample_prior(model, batch, seed)
    gen = torch.Generator().manual_seed(seed)
    pose = params.pose.clone()
    pose[:, :3] = (torch.rand(batch, 3, generator=gen) - 0.5) * torch.tensor([0.8, 0.3, 0.1])
    lighting = params.lighting.clone()
    lighting[:, 1:4] = (torch.rand(batch, 3, 3, generator=gen) - 0.5) * 1.0
    with torch.no_grad():
        decoded = model(
            type(params)(params.identity, params.expression, params.albedo, pose, lighting)
        )
    textured = decoded.albedo.ndim == 4
    if textured and texture_size:
        chw = decoded.albedo.permute(0, 3, 1, 2)
        chw = torch.nn.functional.interpolate(chw, size=(texture_size, texture_size), mode="area")
        decoded = type(decoded)(decoded.vertices, decoded.posed_vertices, chw.permute(0, 2, 3, 1))
    meshes = RenderMeshes(
        verts=decoded.posed_vertices.contiguous(),
        faces=model.faces,
        uvs=model.uvs if textured else None,
        face_uvs=model.face_uvs if textured else None,
        texture=decoded.albedo.clamp(0, 1).contiguous() if textured else None,
        vertex_colors=None if textured else decoded.albedo.clamp(0, 1).contiguous(),
    )
    print(
        f"model {model.name}: {model.n_vertices} vertices, {model.faces.shape[0]} faces, "
        f"albedo {tuple(decoded.albedo.shape[1:])}; batch {batch}"
    )
    return meshes, portrait_camera(model), Lighting(sh=lighting)


def with_grad(meshes: RenderMeshes, lighting: Lighting) -> tuple[RenderMeshes, Lighting, list]:
    verts = meshes.verts.detach().clone().requires_grad_(True)
    leaves = [verts]
    texture = colors = None
    if meshes.texture is not None:
        texture = meshes.texture.detach().clone().requires_grad_(True)
        leaves.append(texture)
    if meshes.vertex_colors is not None:
        colors = meshes.vertex_colors.detach().clone().requires_grad_(True)
        leaves.append(colors)
    sh = lighting.sh.detach().clone().requires_grad_(True)
    leaves.append(sh)
    m = RenderMeshes(verts, meshes.faces, meshes.uvs, meshes.face_uvs, texture, colors)
    return m, Lighting(sh=sh), leaves


def time_backend(
    backend, meshes, camera, lighting, size: int, backward: bool, min_seconds: float, max_iters: int
) -> float:
    """Images per second of one backend at one size: batch size / median batch time (after one
    warm-up call; at least 3 timed batches, then until ``min_seconds`` or ``max_iters``)."""
    renderer = create_renderer(backend)
    settings = RenderSettings(image_size=size)
    weights = torch.randn(
        meshes.batch_size, 3, size, size, generator=torch.Generator().manual_seed(1)
    )

    grad_meshes, grad_lighting, leaves = with_grad(meshes, lighting)

    def step() -> None:
        if backward:
            for leaf in leaves:
                leaf.grad = None
            out = renderer(grad_meshes, camera, grad_lighting, settings)
            ((out.images * weights).sum() + out.alpha.sum()).backward()
        else:
            with torch.no_grad():
                renderer(meshes, camera, lighting, settings)

    step()  # warm-up (caches, allocator)
    times: list[float] = []
    total = 0.0
    while len(times) < max_iters and (total < min_seconds or len(times) < 3):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
        total += times[-1]
    # The median batch time: robust to other processes stealing the CPU now and then.
    return meshes.batch_size / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--model", default="default", help="model spec (default: the embedded head)"
    )
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for both backends (1: on a shared 2-core machine, OpenMP barriers of "
        "2 threads stall whenever another process takes a core)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--texture-size", type=int, default=None, help="resample the UV albedo to this size"
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--fast-seconds", type=float, default=3.0, help="min timed seconds, fast")
    parser.add_argument("--p3d-iters", type=int, default=3, help="timed batches, pytorch3d")
    parser.add_argument(
        "--keep-freed-memory",
        action="store_true",
        help="glibc mallopt: no mmap/munmap of large blocks (see keep_freed_memory)",
    )
    args = parser.parse_args()
    if args.keep_freed_memory:
        keep_freed_memory()
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, "
        f"keep-freed-memory {'on' if args.keep_freed_memory else 'off'}"
    )
    meshes, camera, lighting = make_batch(args.model, args.batch, args.seed, args.texture_size)
    rates: dict[tuple[str, int, str], float] = {}
    for size in args.sizes:
        for mode, backward in (("fwd", False), ("fwd+bwd", True)):
            for backend in ("fast", "pytorch3d"):
                fast = backend == "fast"
                rate = time_backend(
                    backend, meshes, camera, lighting, size, backward,
                    min_seconds=args.fast_seconds if fast else 0.0,
                    max_iters=10_000 if fast else args.p3d_iters,
                )  # fmt: skip
                rates[(backend, size, mode)] = rate
                print(f"{backend:>9} {size:>4}px {mode:<7}: {rate:9.2f} images/s", flush=True)
    for size in args.sizes:
        for mode in ("fwd", "fwd+bwd"):
            ratio = rates[("fast", size, mode)] / rates[("pytorch3d", size, mode)]
            if (size, mode) != (128, "fwd+bwd"):
                print(f"ratio {size}px {mode} fast/pytorch3d: {ratio:.1f}")
    if 128 in args.sizes:
        ratio = rates[("fast", 128, "fwd+bwd")] / rates[("pytorch3d", 128, "fwd+bwd")]
        print(f"ratio 128px fwd+bwd fast/pytorch3d: {ratio:.1f}")


if __name__ == "__main__":
    main()
