"""Analytic silhouette antialiasing (after nvdiffrast's ``antialias``), in pure torch.

For each pair of horizontally or vertically adjacent pixels that see different faces, the pixel
nearer to the camera is the occluder. If a silhouette edge of its face (an edge on the mesh
boundary or between a front- and a back-facing face) crosses the segment between the two pixel
centres at fraction ``t`` (0 at the occluder, 1 at the other pixel), the colours are blended:

* ``t > 1/2``: the occluder reaches into the other pixel; that pixel moves ``t - 1/2`` of the way
  towards the occluder's colour.
* ``t < 1/2``: the occluder does not reach its own pixel's half; it moves ``1/2 - t`` of the way
  towards the other colour.

``t`` is computed from the projected vertex positions, so the blend carries gradients with respect to
vertex positions and camera at silhouettes (and occlusion boundaries).
"""

from __future__ import annotations

import torch

from renderers.ops import gather_rows


def silhouette_edges(
    pixels: torch.Tensor, faces: torch.Tensor, neighbors: torch.Tensor
) -> torch.Tensor:
    """Which face edges are silhouettes in each view.

    Args:
        pixels: (B, V, 2) projected vertices.
        faces: (F, 3) int64.
        neighbors: (F, 3) face across each edge (-1 boundary), see ``topology.edge_neighbors``.

    Returns:
        (B, F, 3) bool: boundary edges, and edges whose two faces face opposite ways on screen
        (zero-area faces count as neither way).
    """
    with torch.no_grad():
        tri = pixels.detach()[:, faces]
        e1 = tri[:, :, 1] - tri[:, :, 0]
        e2 = tri[:, :, 2] - tri[:, :, 0]
        facing = torch.sign(e1[..., 0] * e2[..., 1] - e1[..., 1] * e2[..., 0])  # (B, F)
        nb = neighbors.clamp_min(0)
        facing_nb = facing[:, nb]  # (B, F, 3)
        return (neighbors < 0)[None] | (facing_nb * facing[:, :, None] < 0)


def _pairs(
    face_ids: torch.Tensor, depth: torch.Tensor, axis: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat indices of (occluder, other) pixels for adjacent pairs along ``axis`` (2 = x, 1 = y)."""
    b, h, w = face_ids.shape
    idx = torch.arange(b * h * w, device=face_ids.device).reshape(b, h, w)
    n = idx.shape[axis]
    first = idx.narrow(axis, 0, n - 1).reshape(-1)
    second = idx.narrow(axis, 1, n - 1).reshape(-1)
    ids = face_ids.reshape(-1)
    differ = ids[first] != ids[second]
    first, second = first[differ], second[differ]
    z = depth.reshape(-1)
    first_in_front = z[first] < z[second]
    occluder = torch.where(first_in_front, first, second)
    other = torch.where(first_in_front, second, first)
    return occluder, other


def _crossings(
    tri: torch.Tensor, line: torch.Tensor, start: torch.Tensor, step: torch.Tensor, a: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Where each triangle edge crosses the axis-aligned ray from a pixel centre.

    The ray starts at ``start`` along coordinate ``a`` (direction ``step`` = +-1) on the line where
    the other coordinate equals ``line``. Returns ``t`` (M, 3) (in pixels along the ray, NaN where
    the edge does not cross the line) and ``slope`` (M, 3), the edge's share of the crossing
    normal along ``a``: ``|n_a| / (|n_x| + |n_y|)``.
    """
    o = 1 - a
    p0 = tri
    p1 = tri.roll(-1, dims=1)
    den = p1[..., o] - p0[..., o]
    ok = den.abs() > 1e-12
    s = (line[:, None] - p0[..., o]) / torch.where(ok, den, torch.ones_like(den))
    cross = p0[..., a] + s * (p1[..., a] - p0[..., a])
    t = (cross - start[:, None]) * step[:, None]
    t = torch.where(ok & (s >= 0) & (s <= 1), t, torch.full_like(t, torch.nan))
    d = (p1 - p0).abs()
    slope = d[..., o] / (d[..., 0] + d[..., 1]).clamp_min(1e-12)
    return t, slope


def antialias(
    color: torch.Tensor,
    face_ids: torch.Tensor,
    depth: torch.Tensor,
    pixels: torch.Tensor,
    faces: torch.Tensor,
    silhouette: torch.Tensor,
    neighbors: torch.Tensor,
    max_steps: int = 4,
) -> torch.Tensor:
    """Blend colours across silhouette edges.

    From the occluder pixel's centre towards the other pixel, walk across the occluder's surface
    (through non-silhouette edges, at most ``max_steps`` faces, so thin sliver faces at the
    silhouette that cover no pixel centre are found) until a silhouette edge is crossed. Its
    crossing ``t`` sets the blend; each pair's blend is scaled by the edge normal's share along
    the pair's axis, so horizontal and vertical pairs together move the coverage by the area the
    edge sweeps.

    Args:
        color: (B, H, W, C) rendered values (e.g. RGB + coverage), differentiable.
        face_ids: (B, H, W) int64 visible face, -1 background.
        depth: (B, H, W) view depth of the visible surface, +inf on background (no gradient).
        pixels: (B, V, 2) projected vertices (pixel units), differentiable.
        faces: (F, 3) int64.
        silhouette: (B, F, 3) bool from :func:`silhouette_edges`.
        neighbors: (F, 3) face across each edge (-1 boundary).

    Returns:
        (B, H, W, C) antialiased values.
    """
    b, h, w, c = color.shape
    n_verts = pixels.shape[1]
    flat = color.reshape(b * h * w, c)
    pix_flat = pixels.reshape(b * n_verts, 2)
    deltas_index, deltas = [], []
    for axis in (2, 1):  # 2: horizontal neighbours (along x), 1: vertical (along y)
        occ, oth = _pairs(face_ids, depth, axis)
        if occ.numel() == 0:
            continue
        face = face_ids.reshape(-1)[occ]
        bi = torch.div(occ, h * w, rounding_mode="floor")
        rem_o, rem_q = occ - bi * h * w, oth - bi * h * w
        o_xy = torch.stack([rem_o % w, torch.div(rem_o, w, rounding_mode="floor")], -1) + 0.5
        q_xy = torch.stack([rem_q % w, torch.div(rem_q, w, rounding_mode="floor")], -1) + 0.5
        a = 0 if axis == 2 else 1  # coordinate that changes along the pair
        dtype = pixels.dtype
        step = (q_xy[:, a] - o_xy[:, a]).to(dtype)  # +1 or -1
        line = o_xy[:, 1 - a].to(dtype)
        start = o_xy[:, a].to(dtype)
        chosen_t = torch.full_like(start, torch.nan)
        chosen_slope = torch.zeros_like(start)
        entered = torch.zeros_like(start)  # t at which the walk entered the current face
        active = torch.ones_like(start, dtype=torch.bool)
        rows = torch.arange(occ.shape[0], device=occ.device)
        for _ in range(max_steps):
            tri = gather_rows(pix_flat, bi[:, None] * n_verts + faces[face])  # (M, 3, 2)
            t, slope = _crossings(tri, line, start, step, a)
            t_exit = torch.where(t > entered[:, None] + 1e-9, t, torch.full_like(t, torch.inf))
            t_min, edge = t_exit.detach().min(1)
            t_hit = t.gather(1, edge[:, None])[:, 0]
            is_sil = silhouette[bi, face, edge]
            inside = active & torch.isfinite(t_min) & (t_min <= 1.0)
            done = inside & is_sil
            chosen_t = torch.where(done, t_hit, chosen_t)
            chosen_slope = torch.where(done, slope[rows, edge], chosen_slope)
            nxt = neighbors[face, edge]
            active = inside & ~is_sil & (nxt >= 0)
            if not bool(active.any()):
                break
            face = torch.where(active, nxt, face)
            entered = torch.where(active, t_min, entered)
        has = ~torch.isnan(chosen_t)
        if not bool(has.any()):
            continue
        t = chosen_t[has]
        share = chosen_slope[has][:, None]
        occ, oth = occ[has], oth[has]
        c_occ, c_oth = gather_rows(flat, occ), gather_rows(flat, oth)
        into_other = t > 0.5
        weight = torch.where(into_other, t - 0.5, 0.5 - t)[:, None] * share
        target = torch.where(into_other, oth, occ)
        delta = torch.where(into_other[:, None], c_occ - c_oth, c_oth - c_occ) * weight
        deltas_index.append(target)
        deltas.append(delta)
    if not deltas:
        return color
    return flat.index_add(0, torch.cat(deltas_index), torch.cat(deltas)).reshape(b, h, w, c)
