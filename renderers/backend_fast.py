"""The ``fast`` backend: visibility from the vectorised torch rasterizer (``raster.py``), then
barycentrics recomputed differentiably by intersecting each pixel's ray with its visible face.

Runs wherever torch runs (the rasterizer is plain torch, so it also works on CUDA tensors), and is
designed for CPU training: no per-pixel-per-face work.
"""

from __future__ import annotations

import torch

from renderers.camera import pixel_rays
from renderers.ops import gather_rows
from renderers.raster import rasterize_visibility
from renderers.renderer import Renderer
from renderers.types import Fragments


def ray_barycentrics(
    directions: torch.Tensor, triangles: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Perspective-correct barycentrics of rays from the view origin through triangles.

    With the camera at the origin, the hit point ``p = t d`` satisfies ``p = sum_i b_i v_i``; by
    Cramer's rule ``b_0 : b_1 : b_2 = d.(v1 x v2) : d.(v2 x v0) : d.(v0 x v1)``.

    Args:
        directions: (N, 3) view-space ray directions.
        triangles: (N, 3, 3) view-space triangle corners.

    Returns:
        bary (N, 3) (summing to 1), depth (N,) = -z of the hit point.
    """
    v0, v1, v2 = triangles.unbind(1)
    w = torch.stack(
        [
            (directions * torch.cross(v1, v2, dim=-1)).sum(-1),
            (directions * torch.cross(v2, v0, dim=-1)).sum(-1),
            (directions * torch.cross(v0, v1, dim=-1)).sum(-1),
        ],
        -1,
    )
    total = w.sum(-1, keepdim=True)
    total = torch.where(total.abs() > 1e-20, total, torch.full_like(total, 1e-20))
    bary = w / total
    depth = -(bary * triangles[:, :, 2]).sum(-1)
    return bary, depth


class FastRenderer(Renderer):
    """Vectorised visibility + differentiable ray/triangle barycentrics."""

    name = "fast"

    def rasterize(
        self,
        verts_view: torch.Tensor,
        pixels: torch.Tensor,
        depth: torch.Tensor,
        faces: torch.Tensor,
        focal: torch.Tensor,
        height: int,
        width: int,
        znear: float,
    ) -> Fragments:
        face_ids = rasterize_visibility(pixels, depth, faces, height, width, znear)
        flat_ids = face_ids.reshape(-1)
        pixel_index = (flat_ids >= 0).nonzero()[:, 0]
        face_index = flat_ids[pixel_index]
        hw = height * width
        batch = torch.div(pixel_index, hw, rounding_mode="floor")
        rem = pixel_index - batch * hw
        row = torch.div(rem, width, rounding_mode="floor")
        col = rem - row * width
        dtype = verts_view.dtype
        directions = pixel_rays(
            col.to(dtype) + 0.5, row.to(dtype) + 0.5, gather_rows(focal, batch), height, width
        )
        n_verts = verts_view.shape[1]
        corners = gather_rows(
            verts_view.reshape(-1, 3), batch[:, None] * n_verts + faces[face_index]
        )
        bary, hit_depth = ray_barycentrics(directions, corners)
        return Fragments(face_ids, pixel_index, face_index, bary, hit_depth)
