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
        b, n_faces = pixels.shape[0], faces.shape[0]
        tri = pixels.detach().index_select(1, faces.reshape(-1)).reshape(b, n_faces, 3, 2)
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
        a = 0 if axis == 2 else 1  # coordinate that changes along the pair
        bi = torch.div(occ, h * w, rounding_mode="floor")
        rem_o, rem_q = occ - bi * h * w, oth - bi * h * w
        o_xy = torch.stack([rem_o % w, torch.div(rem_o, w, rounding_mode="floor")], -1) + 0.5
        q_xy = torch.stack([rem_q % w, torch.div(rem_q, w, rounding_mode="floor")], -1) + 0.5
        step = (q_xy[:, a] - o_xy[:, a]).to(pixels.dtype)  # +1 or -1
        line = o_xy[:, 1 - a].to(pixels.dtype)
        start = o_xy[:, a].to(pixels.dtype)
        # 1) Find the silhouette crossing of each pair without gradients (cheap, all pairs).
        ids = face_ids.reshape(-1)
        face, edge, hit = _walk(
            pix_flat.detach(), faces, silhouette, neighbors, ids[occ], ids[oth], bi,
            n_verts, line, start, step, a, max_steps,
        )  # fmt: skip
        if not bool(hit.any()):
            continue
        # 2) Differentiable crossing position on the chosen edge, for the hits only.
        face, edge, bi = face[hit], edge[hit], bi[hit]
        line, start, step = line[hit], start[hit], step[hit]
        occ, oth = occ[hit], oth[hit]
        corner = faces[face]
        v0 = corner.gather(1, edge[:, None])[:, 0]
        v1 = corner.gather(1, ((edge + 1) % 3)[:, None])[:, 0]
        ends = gather_rows(pix_flat, torch.stack([v0, v1], 1) + bi[:, None] * n_verts)
        t, share = _edge_crossing(ends[:, 0], ends[:, 1], line, start, step, a)
        c_occ, c_oth = gather_rows(flat, occ), gather_rows(flat, oth)
        into_other = t > 0.5
        weight = (torch.where(into_other, t - 0.5, 0.5 - t) * share)[:, None]
        target = torch.where(into_other, oth, occ)
        delta = torch.where(into_other[:, None], c_occ - c_oth, c_oth - c_occ) * weight
        deltas_index.append(target)
        deltas.append(delta)
    if not deltas:
        return color
    return flat.index_add(0, torch.cat(deltas_index), torch.cat(deltas)).reshape(b, h, w, c)


def _edge_crossing(
    p0: torch.Tensor,
    p1: torch.Tensor,
    line: torch.Tensor,
    start: torch.Tensor,
    step: torch.Tensor,
    a: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Crossing of edges (K, 2) -> (K, 2) with the pairs' segments: ``t`` (K,) and the edge
    normal's share ``|n_a| / (|n_x| + |n_y|)`` along the pair axis (K,), both differentiable."""
    o = 1 - a
    den = p1[:, o] - p0[:, o]
    den = torch.where(den.abs() > 1e-12, den, torch.full_like(den, 1e-12))
    s = (line - p0[:, o]) / den
    cross = p0[:, a] + s * (p1[:, a] - p0[:, a])
    d = (p1 - p0).abs()
    share = d[:, o] / (d[:, 0] + d[:, 1]).clamp_min(1e-12)
    return (cross - start) * step, share


@torch.no_grad()
def _walk(
    pix_flat: torch.Tensor,
    faces: torch.Tensor,
    silhouette: torch.Tensor,
    neighbors: torch.Tensor,
    face: torch.Tensor,
    other_face: torch.Tensor,
    bi: torch.Tensor,
    n_verts: int,
    line: torch.Tensor,
    start: torch.Tensor,
    step: torch.Tensor,
    a: int,
    max_steps: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Walk from each occluder pixel centre across its surface to the first silhouette edge.

    Returns the face and edge (0..2) where a silhouette edge crosses the pair's segment, and a
    hit mask. A walk ends without a hit when it leaves the segment, enters the other pixel's face
    (same surface, nothing to antialias), reaches a boundary of what is drawn, or needs more than
    ``max_steps`` faces. Only the walks still going are processed at each step.
    """
    m = face.shape[0]
    hit = torch.zeros(m, dtype=torch.bool, device=face.device)
    out_face = face.clone()
    out_edge = torch.zeros_like(face)
    idx = torch.arange(m, device=face.device)  # pairs still walking
    entered = torch.zeros_like(start)  # t at which the walk entered the current face
    for _ in range(max_steps):
        tri = gather_rows(pix_flat, bi[:, None] * n_verts + faces[face])  # (K, 3, 2)
        t, _ = _crossings(tri, line, start, step, a)
        t_exit = torch.where(t > entered[:, None] + 1e-9, t, torch.full_like(t, torch.inf))
        t_min, exit_edge = t_exit.min(1)
        inside = torch.isfinite(t_min) & (t_min <= 1.0)
        is_sil = silhouette[bi, face, exit_edge]
        done = inside & is_sil
        done_idx = idx[done]
        hit[done_idx] = True
        out_face[done_idx] = face[done]
        out_edge[done_idx] = exit_edge[done]
        nxt = neighbors[face, exit_edge]
        go = (inside & ~is_sil & (nxt >= 0) & (nxt != other_face)).nonzero()[:, 0]
        if go.numel() == 0:
            break
        idx, face, entered = idx[go], nxt[go], t_min[go]
        other_face, bi, line, start, step = (v[go] for v in (other_face, bi, line, start, step))
    return out_face, out_edge, hit
