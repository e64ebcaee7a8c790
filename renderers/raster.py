"""A vectorised torch rasterizer for visibility only (no gradients): which face covers each pixel.

Every face is expanded into the pixel centres inside its bounding box, tested with edge functions,
given a perspective-correct depth, and the nearest candidate per pixel wins (``scatter_reduce``).
Small triangles (the common case for head meshes) make this cheap; large ones are processed in
chunks so memory stays bounded. Ties (a pixel centre exactly on a shared edge at equal depth) go
to the larger face index.
"""

from __future__ import annotations

import itertools

import torch

#: Maximum number of (face, pixel) candidates held at once.
CHUNK_CANDIDATES = 1 << 21


def face_screen_data(
    pixels: torch.Tensor, depth: torch.Tensor, faces: torch.Tensor, znear: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-face screen triangles, depths, signed areas and a drawable mask.

    Args:
        pixels: (B, V, 2) projected vertices (x right, y down, pixel units).
        depth: (B, V) view depths.
        faces: (F, 3) int64.

    Returns:
        tri (B, F, 3, 2), tri_depth (B, F, 3), area2 (B, F) twice the signed screen area (positive
        = clockwise in pixel coordinates, i.e. counter-clockwise as seen on screen with y up... the
        sign only matters relative to other faces), drawable (B, F) bool: all vertices in front of
        ``znear`` and a non-degenerate screen area.
    """
    b, n_faces = pixels.shape[0], faces.shape[0]
    flat_faces = faces.reshape(-1)
    tri = pixels.index_select(1, flat_faces).reshape(b, n_faces, 3, 2)
    tri_depth = depth.index_select(1, flat_faces).reshape(b, n_faces, 3)
    e1 = tri[:, :, 1] - tri[:, :, 0]
    e2 = tri[:, :, 2] - tri[:, :, 0]
    area2 = e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0]
    drawable = (tri_depth >= znear).all(-1) & (area2.abs() > 1e-10) & torch.isfinite(area2)
    return tri, tri_depth, area2, drawable


def _candidates(
    tri: torch.Tensor,
    tri_depth: torch.Tensor,
    area2: torch.Tensor,
    xmin: torch.Tensor,
    ymin: torch.Tensor,
    cx: torch.Tensor,
    counts: torch.Tensor,
    height: int,
    width: int,
    batch_of: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Expand K faces into their bounding-box pixels; keep the covered ones.

    Returns (pixel flat index, depth, local face row) of the covered candidates.
    """
    k = counts.shape[0]
    total = int(counts.sum())
    rows = torch.repeat_interleave(torch.arange(k, device=counts.device), counts, output_size=total)
    starts = torch.cumsum(counts, 0) - counts
    local = torch.arange(total, device=counts.device) - starts[rows]
    width_r = cx[rows]
    px = xmin[rows] + local % width_r
    py = ymin[rows] + torch.div(local, width_r, rounding_mode="floor")
    x = px.to(tri.dtype) + 0.5
    y = py.to(tri.dtype) + 0.5
    t = tri[rows]  # (N, 3, 2)
    # Edge functions: w_i is twice the signed area of (p, v_{i+1}, v_{i+2}).
    x0, y0, x1, y1, x2, y2 = t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1], t[:, 2, 0], t[:, 2, 1]
    w0 = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
    w1 = (x0 - x2) * (y - y2) - (y0 - y2) * (x - x2)
    w2 = (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0)
    a = area2[rows]
    sign = torch.sign(a)
    inside = (w0 * sign >= 0) & (w1 * sign >= 0) & (w2 * sign >= 0)
    keep = inside.nonzero()[:, 0]
    rows, w0, w1, w2, a, px, py = (v.index_select(0, keep) for v in (rows, w0, w1, w2, a, px, py))
    zd = tri_depth[rows]
    inv_z = (w0 / zd[:, 0] + w1 / zd[:, 1] + w2 / zd[:, 2]) / a
    z = 1.0 / inv_z
    pix = (batch_of[rows] * height + py) * width + px
    return pix, z, rows


def rasterize_visibility(
    pixels: torch.Tensor,
    depth: torch.Tensor,
    faces: torch.Tensor,
    height: int,
    width: int,
    znear: float,
) -> torch.Tensor:
    """Nearest visible face per pixel centre (no culling of back faces).

    Args:
        pixels: (B, V, 2) projected vertices (x right, y down, pixel units).
        depth: (B, V) view depths (positive in front).
        faces: (F, 3) int64.
        height, width: image size.
        znear: faces touching a vertex with depth < znear are skipped.

    Returns:
        (B, H, W) int64 face index, -1 where no face covers the pixel centre.
    """
    with torch.no_grad():
        pixels = pixels.detach()
        depth = depth.detach()
        b, n_faces = pixels.shape[0], faces.shape[0]
        tri, tri_depth, area2, drawable = face_screen_data(pixels, depth, faces, znear)
        lo = tri.amin(2)
        hi = tri.amax(2)
        # Pixel centres j + 0.5 in [lo, hi]  <=>  j in [ceil(lo - 0.5), floor(hi - 0.5)].
        xmin = torch.ceil(lo[..., 0] - 0.5).clamp(0, width).long()
        xmax = torch.floor(hi[..., 0] - 0.5).clamp(-1, width - 1).long()
        ymin = torch.ceil(lo[..., 1] - 0.5).clamp(0, height).long()
        ymax = torch.floor(hi[..., 1] - 0.5).clamp(-1, height - 1).long()
        cx = (xmax - xmin + 1).clamp_min(0)
        cy = (ymax - ymin + 1).clamp_min(0)
        counts = cx * cy
        keep = drawable & (counts > 0)
        flat = keep.reshape(-1).nonzero()[:, 0]  # index b * F + f
        face_ids = torch.full((b * height * width,), -1, dtype=torch.int64, device=pixels.device)
        if flat.numel() == 0:
            return face_ids.reshape(b, height, width)
        batch_of = torch.div(flat, n_faces, rounding_mode="floor")
        face_of = flat - batch_of * n_faces

        def pick(t: torch.Tensor) -> torch.Tensor:
            return t.reshape(b * n_faces, *t.shape[2:])[flat]

        tri_k, tdep_k, area_k = pick(tri), pick(tri_depth), pick(area2)
        xmin_k, ymin_k, cx_k, counts_k = pick(xmin), pick(ymin), pick(cx), pick(counts)
        # Split the faces into chunks of at most CHUNK_CANDIDATES candidates.
        ends = torch.cumsum(counts_k, 0)
        n_chunks = int(ends[-1]) // CHUNK_CANDIDATES + 1
        bounds = [0]
        if n_chunks > 1:
            cuts = torch.searchsorted(
                ends, torch.arange(1, n_chunks, device=ends.device) * CHUNK_CANDIDATES
            )
            bounds += [int(c) for c in cuts]
        bounds.append(flat.numel())
        bounds = sorted(set(bounds))
        zbuf = torch.full(
            (b * height * width,), torch.inf, dtype=pixels.dtype, device=pixels.device
        )
        for lo_i, hi_i in itertools.pairwise(bounds):
            s = slice(lo_i, hi_i)
            pix, z, rows = _candidates(
                tri_k[s], tdep_k[s], area_k[s], xmin_k[s], ymin_k[s], cx_k[s], counts_k[s],
                height, width, batch_of[s],
            )  # fmt: skip
            chunk_z = torch.full_like(zbuf, torch.inf).scatter_reduce_(0, pix, z, reduce="amin")
            better = chunk_z < zbuf
            win = (z <= chunk_z[pix]) & better[pix]
            face_ids.masked_fill_(better, -1)
            face_ids.scatter_reduce_(0, pix[win], face_of[s][rows[win]], reduce="amax")
            zbuf = torch.minimum(zbuf, chunk_z)
        return face_ids.reshape(b, height, width)
