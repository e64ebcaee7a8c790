"""Value types of a render call: meshes in, settings, fragments (visibility), output."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from renderers.errors import RenderInputError

#: Albedo used when a mesh has neither a texture nor vertex colours (sRGB).
DEFAULT_ALBEDO = 0.7


@dataclass(frozen=True)
class RenderMeshes:
    """A batch of meshes sharing one topology.

    Attributes:
        verts: (B, V, 3) world-space positions, metres, float32.
        faces: (F, 3) int64 vertex indices, counter-clockwise seen from outside.
        uvs: None or (T, 2) texture coordinates (origin bottom-left).
        face_uvs: None or (F, 3) int64 indices into ``uvs`` (OBJ-style separate UV indexing).
        texture: None or (B, H, W, 3) (or batch 1) albedo, sRGB [0, 1], row 0 = top of the image.
        vertex_colors: None or (B, V, 3) (or batch 1) albedo per vertex, sRGB [0, 1].

    Give at most one of ``texture`` and ``vertex_colors``; with neither, the albedo is a uniform
    grey. ``verts``, ``texture`` and ``vertex_colors`` may require gradients.
    """

    verts: torch.Tensor
    faces: torch.Tensor
    uvs: torch.Tensor | None = None
    face_uvs: torch.Tensor | None = None
    texture: torch.Tensor | None = None
    vertex_colors: torch.Tensor | None = None

    @property
    def batch_size(self) -> int:
        return self.verts.shape[0]

    @property
    def device(self) -> torch.device:
        return self.verts.device

    def validate(self) -> None:
        """Check shapes, dtypes, index ranges, devices and finite vertices and UVs.

        Albedo values are not scanned (a 1024^2 texture per avatar would cost more than the
        render); non-finite albedo gives non-finite pixels.

        Raises:
            RenderInputError: with a message naming the offending field.
        """
        v = self.verts
        if v.ndim != 3 or v.shape[-1] != 3 or v.shape[0] < 1:
            raise RenderInputError(f"verts must be (B, V, 3), got {tuple(v.shape)}")
        if not v.is_floating_point():
            raise RenderInputError(f"verts must be floating point, got {v.dtype}")
        f = self.faces
        if f.ndim != 2 or f.shape[-1] != 3 or f.dtype not in (torch.int64, torch.int32):
            raise RenderInputError(f"faces must be (F, 3) int64, got {tuple(f.shape)} {f.dtype}")
        for name in ("faces", "uvs", "face_uvs", "texture", "vertex_colors"):
            t = getattr(self, name)
            if t is not None and t.device != v.device:
                raise RenderInputError(f"{name} is on {t.device} but verts are on {v.device}")
        b, n_verts = v.shape[:2]
        if f.numel() and (int(f.min()) < 0 or int(f.max()) >= n_verts):
            raise RenderInputError(f"faces index vertices outside [0, {n_verts})")
        bad = ~torch.isfinite(v)
        if bool(bad.any()):
            count = int(bad.any(-1).sum())
            raise RenderInputError(f"verts contain NaN or infinite values ({count} vertices)")
        if self.texture is not None and self.vertex_colors is not None:
            raise RenderInputError("give either a texture or vertex colours, not both")
        if self.texture is not None:
            t = self.texture
            if t.ndim != 4 or t.shape[-1] != 3 or t.shape[0] not in (1, b):
                raise RenderInputError(f"texture must be ({b}, H, W, 3), got {tuple(t.shape)}")
            if self.uvs is None or self.face_uvs is None:
                raise RenderInputError("a texture needs uvs and face_uvs")
            if self.uvs.ndim != 2 or self.uvs.shape[-1] != 2:
                raise RenderInputError(f"uvs must be (T, 2), got {tuple(self.uvs.shape)}")
            if self.face_uvs.shape != f.shape:
                raise RenderInputError(
                    f"face_uvs must match faces {tuple(f.shape)}, got {tuple(self.face_uvs.shape)}"
                )
            n_uv = self.uvs.shape[0]
            if f.numel() and (int(self.face_uvs.min()) < 0 or int(self.face_uvs.max()) >= n_uv):
                raise RenderInputError(f"face_uvs index uvs outside [0, {n_uv})")
            if not bool(torch.isfinite(self.uvs).all()):
                raise RenderInputError("uvs contain NaN or infinite values")
        if self.vertex_colors is not None:
            c = self.vertex_colors
            if c.ndim != 3 or c.shape[1:] != (n_verts, 3) or c.shape[0] not in (1, b):
                raise RenderInputError(
                    f"vertex_colors must be ({b}, {n_verts}, 3), got {tuple(c.shape)}"
                )


@dataclass(frozen=True)
class RenderSettings:
    """How to render.

    Attributes:
        image_size: output side in pixels, or (height, width).
        background: an sRGB colour (r, g, b) in [0, 1], or a (B, 3, H, W) / (1, 3, H, W) image in
            [-1, 1] (the network image convention) matching ``image_size``.
        znear: faces with a vertex closer to the camera than this (metres, along the view axis) are
            not drawn (no clipping; keep the camera outside the mesh).
        antialias: run the analytic silhouette antialiasing step (gives silhouette gradients).
    """

    image_size: int | tuple[int, int] = 128
    background: tuple[float, float, float] | torch.Tensor = (1.0, 1.0, 1.0)
    znear: float = 0.01
    antialias: bool = True

    def __post_init__(self) -> None:
        h, w = self.height_width
        if not (1 <= h <= 8192 and 1 <= w <= 8192):
            raise RenderInputError(
                f"image_size must be between 1 and 8192 pixels, got {self.image_size}"
            )
        if not (self.znear > 0 and math.isfinite(self.znear)):
            raise RenderInputError(f"znear must be a positive number, got {self.znear}")
        bg = self.background
        if isinstance(bg, torch.Tensor):
            if bg.ndim != 4 or bg.shape[1] != 3 or tuple(bg.shape[2:]) != (h, w):
                raise RenderInputError(
                    f"background image must be (B, 3, {h}, {w}), got {tuple(bg.shape)}"
                )
        else:
            if len(bg) != 3 or not all(0.0 <= float(c) <= 1.0 for c in bg):
                raise RenderInputError(f"background colour must be 3 values in [0, 1], got {bg}")

    @property
    def height_width(self) -> tuple[int, int]:
        size = self.image_size
        if isinstance(size, int):
            return size, size
        if len(size) != 2 or not all(isinstance(s, int) for s in size):
            raise RenderInputError(f"image_size must be an int or (height, width), got {size}")
        return int(size[0]), int(size[1])


@dataclass(frozen=True)
class Fragments:
    """Visibility of the covered pixels, in list form (one entry per covered pixel).

    Attributes:
        face_ids: (B, H, W) int64 visible face per pixel, -1 for background (no gradient).
        pixel_index: (N,) int64 flat index ``b * H * W + i * W + j`` of each covered pixel.
        face_index: (N,) int64 face (into the shared ``faces``) seen at that pixel.
        bary: (N, 3) perspective-correct barycentric coordinates, differentiable w.r.t. vertices
            and camera.
        depth: (N,) view depth (metres along the view axis), differentiable.
    """

    face_ids: torch.Tensor
    pixel_index: torch.Tensor
    face_index: torch.Tensor
    bary: torch.Tensor
    depth: torch.Tensor


@dataclass(frozen=True)
class RenderOutput:
    """What a renderer returns (all tensors batch first, on the meshes' device).

    Attributes:
        images: (B, 3, H, W) sRGB mapped to [-1, 1], antialiased, composited on the background.
        alpha: (B, 1, H, W) antialiased coverage in [0, 1].
        depth: (B, 1, H, W) view depth in metres of the visible surface, 0 on background pixels.
        normals: (B, 3, H, W) world-space unit normals of the visible surface, 0 on background.
        face_ids: (B, H, W) int64 visible face, -1 on background.
    """

    images: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor
    normals: torch.Tensor
    face_ids: torch.Tensor
