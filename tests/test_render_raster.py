"""The fast backend's visibility rasterizer and the topology precomputation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from renderers import raster
from renderers.raster import rasterize_visibility
from renderers.topology import TopologyCache, edge_neighbors


def naive_visibility(
    pixels: np.ndarray, depth: np.ndarray, faces: np.ndarray, h: int, w: int, znear: float
) -> np.ndarray:
    """Every pixel centre against every face, float64, nearest perspective-correct depth wins."""
    out = np.full((h, w), -1)
    best = np.full((h, w), np.inf)
    ys, xs = np.mgrid[0:h, 0:w] + 0.5
    for f, (a, b, c) in enumerate(faces):
        if min(depth[a], depth[b], depth[c]) < znear:
            continue
        (x0, y0), (x1, y1), (x2, y2) = pixels[a], pixels[b], pixels[c]
        area = (x1 - x0) * (y2 - y0) - (y1 - y0) * (x2 - x0)
        if abs(area) < 1e-10:
            continue
        w0 = ((x2 - x1) * (ys - y1) - (y2 - y1) * (xs - x1)) / area
        w1 = ((x0 - x2) * (ys - y2) - (y0 - y2) * (xs - x2)) / area
        w2 = 1 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        z = 1 / (w0 / depth[a] + w1 / depth[b] + w2 / depth[c])
        better = inside & (z < best)
        best[better] = z[better]
        out[better] = f
    return out


def random_scene(
    seed: int, n_faces: int, h: int, w: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    rng = np.random.default_rng(seed)
    centres = rng.uniform([-2, -2], [w + 2, h + 2], (n_faces, 1, 2))
    size = rng.uniform(1, 12, (n_faces, 1, 1))
    pixels = centres + rng.normal(0, 1, (n_faces, 3, 2)) * size
    depth = rng.uniform(0.5, 2.0, (n_faces, 3))
    depth[:3, 0] = 0.001  # a few faces in front of the near plane
    faces = np.arange(n_faces * 3).reshape(n_faces, 3)
    return (
        torch.tensor(pixels.reshape(1, -1, 2), dtype=torch.float64),
        torch.tensor(depth.reshape(1, -1), dtype=torch.float64),
        torch.tensor(faces),
    )


@pytest.mark.parametrize("seed", [0, 1])
def test_fast_rasterizer_matches_a_naive_loop(seed: int) -> None:
    h, w = 24, 31
    pixels, depth, faces = random_scene(seed, 60, h, w)
    got = rasterize_visibility(pixels, depth, faces, h, w, znear=0.01)[0].numpy()
    want = naive_visibility(pixels[0].numpy(), depth[0].numpy(), faces.numpy(), h, w, 0.01)
    assert (want >= 0).mean() > 0.3  # the scene covers a good part of the image
    np.testing.assert_array_equal(got, want)


def test_chunked_rasterization_equals_single_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    h, w = 20, 20
    pixels, depth, faces = random_scene(3, 80, h, w)
    pixels = torch.cat([pixels, pixels.flip(2)])  # batch of 2
    depth = torch.cat([depth, depth])
    whole = rasterize_visibility(pixels, depth, faces, h, w, 0.01)
    monkeypatch.setattr(raster, "CHUNK_CANDIDATES", 50)
    chunked = rasterize_visibility(pixels, depth, faces, h, w, 0.01)
    torch.testing.assert_close(chunked, whole)
    assert (whole[1] >= 0).any()


def test_edge_neighbors_of_a_closed_tetrahedron_and_an_open_strip() -> None:
    tet = torch.tensor([[0, 2, 1], [0, 1, 3], [1, 2, 3], [0, 3, 2]])
    nb = edge_neighbors(tet)
    assert (nb >= 0).all()
    for f in range(4):
        for e in range(3):
            a, b = int(tet[f, e]), int(tet[f, (e + 1) % 3])
            g = int(nb[f, e])
            assert g != f and {a, b} <= set(tet[g].tolist())
    strip = torch.tensor([[0, 1, 2], [2, 1, 3]])
    assert edge_neighbors(strip).tolist() == [[-1, 1, -1], [0, -1, -1]]
    cache = TopologyCache()
    assert cache.neighbors(strip) is cache.neighbors(strip)
