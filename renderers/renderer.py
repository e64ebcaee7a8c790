"""The shared render pipeline: project, rasterize (backend), interpolate, texture, shade, antialias.

A backend only decides visibility: it returns :class:`~renderers.types.Fragments` (the visible face
and differentiable perspective-correct barycentrics per covered pixel). Everything after that is
the same torch code for every backend, so backends differ only where their rasterizers do.
"""

from __future__ import annotations

import abc

import torch
import torch.nn.functional as F

from renderers.antialias import antialias, silhouette_edges
from renderers.camera import Camera, view_to_pixels, world_to_view
from renderers.errors import RenderInputError
from renderers.lighting import Lighting, sh_irradiance, shade
from renderers.ops import gather_rows
from renderers.topology import TopologyCache
from renderers.types import DEFAULT_ALBEDO, Fragments, RenderMeshes, RenderOutput, RenderSettings


class Renderer(abc.ABC):
    """Base class of the backends. Call it: ``renderer(meshes, camera, lighting, settings)``."""

    #: Backend name, as accepted by :func:`renderers.create_renderer`.
    name: str = ""

    def __init__(self) -> None:
        self._topology = TopologyCache()

    @abc.abstractmethod
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
        """Visibility of the faces.

        Args:
            verts_view: (B, V, 3) view-space vertices (differentiable).
            pixels: (B, V, 2) projected vertices, pixel units, x right / y down (differentiable).
            depth: (B, V) view depth (differentiable).
            faces: (F, 3) int64.
            focal: (B,) focal length in pixels (differentiable).
            height, width: image size.
            znear: faces touching a vertex closer than this are not drawn.
        """

    def __call__(
        self,
        meshes: RenderMeshes,
        camera: Camera,
        lighting: Lighting,
        settings: RenderSettings | None = None,
    ) -> RenderOutput:
        """Render a batch of meshes; see :class:`~renderers.types.RenderOutput` for the outputs.

        Raises:
            RenderInputError: malformed or non-finite inputs.
        """
        settings = settings or RenderSettings()
        meshes.validate()
        height, width = settings.height_width
        b, n_verts = meshes.verts.shape[:2]
        device = meshes.device
        camera = camera.expand(b)
        lighting = lighting.expand(b)
        if camera.device != device or lighting.sh.device != device:
            raise RenderInputError(
                f"camera ({camera.device}) and lighting ({lighting.sh.device}) must be on the "
                f"meshes' device ({device})"
            )
        if not all(bool(torch.isfinite(t).all()) for t in (camera.rotation, camera.translation)):
            raise RenderInputError("camera contains NaN or infinite values")
        if not bool(((camera.fov_deg > 0) & (camera.fov_deg < 180)).all()):
            raise RenderInputError("camera fov_deg must lie in (0, 180) degrees")
        lighting.check_finite()
        faces = meshes.faces.long()
        verts = meshes.verts
        dtype = verts.dtype

        verts_view = world_to_view(verts, camera.rotation.to(dtype), camera.translation.to(dtype))
        focal = camera.focal_pixels(height).to(dtype)
        pixels, depth = view_to_pixels(verts_view, focal, height, width)
        frags = self.rasterize(
            verts_view, pixels, depth, faces, focal, height, width, settings.znear
        )

        # ---- interpolate surface attributes at the covered pixels (list form, N entries)
        hw = height * width
        batch = torch.div(frags.pixel_index, hw, rounding_mode="floor")
        corner = faces[frags.face_index]  # (N, 3)
        corner_flat = batch[:, None] * n_verts + corner
        bary = frags.bary[:, :, None]  # (N, 3, 1)
        positions = (gather_rows(verts.reshape(-1, 3), corner_flat) * bary).sum(1)
        normals_v = vertex_normals(verts, faces).reshape(-1, 3)
        normals = F.normalize(
            (gather_rows(normals_v, corner_flat) * bary).sum(1), dim=-1, eps=1e-12
        )
        view_dirs = F.normalize(
            gather_rows(camera.position.to(dtype), batch) - positions, dim=-1, eps=1e-12
        )
        albedo = self._albedo(meshes, frags, batch, corner, corner_flat)

        light_dir = light_color = None
        if lighting.directional_dir is not None:
            light_dir = gather_rows(
                F.normalize(lighting.directional_dir.to(dtype), dim=-1, eps=1e-12), batch
            )
            if lighting.directional_color is not None:
                light_color = gather_rows(lighting.directional_color.to(dtype), batch)
        # Covered pixels are listed batch by batch (pixel_index is sorted).
        counts = torch.bincount(batch, minlength=b).tolist()
        irradiance = sh_irradiance(normals, lighting.sh.to(dtype), counts)
        rgb = shade(
            albedo, normals, view_dirs, irradiance, light_dir, light_color,
            lighting.specular, lighting.shininess,
        )  # fmt: skip

        # ---- composite onto the background, antialias, assemble the outputs
        canvas = _background(settings, b, height, width, device, dtype)  # (B*H*W, 4) rgb + alpha
        ones = torch.ones_like(rgb[:, :1])
        canvas = canvas.index_put((frags.pixel_index,), torch.cat([rgb, ones], 1))
        canvas = canvas.reshape(b, height, width, 4)
        if settings.antialias:
            depth_map = torch.full((b * hw,), torch.inf, device=device, dtype=dtype)
            depth_map[frags.pixel_index] = frags.depth.detach()
            neighbors = self._topology.neighbors(faces)
            silhouette = silhouette_edges(pixels, faces, neighbors)
            canvas = antialias(
                canvas,
                frags.face_ids,
                depth_map.reshape(b, height, width),
                pixels,
                faces,
                silhouette,
                neighbors,
            )
        canvas = canvas.permute(0, 3, 1, 2)
        zeros = torch.zeros(b * hw, device=device, dtype=dtype)
        depth_out = zeros.index_put((frags.pixel_index,), frags.depth).reshape(b, 1, height, width)
        normals_out = (
            torch.zeros(b * hw, 3, device=device, dtype=dtype)
            .index_put((frags.pixel_index,), normals)
            .reshape(b, height, width, 3)
            .permute(0, 3, 1, 2)
        )
        return RenderOutput(
            images=canvas[:, :3] * 2.0 - 1.0,
            alpha=canvas[:, 3:],
            depth=depth_out,
            normals=normals_out,
            face_ids=frags.face_ids,
        )

    @staticmethod
    def _albedo(
        meshes: RenderMeshes,
        frags: Fragments,
        batch: torch.Tensor,
        corner: torch.Tensor,
        corner_flat: torch.Tensor,
    ) -> torch.Tensor:
        """(N, 3) sRGB albedo at the covered pixels."""
        bary = frags.bary[:, :, None]
        if meshes.texture is not None:
            assert meshes.uvs is not None and meshes.face_uvs is not None  # validated
            uv_corner = meshes.face_uvs.long()[frags.face_index]
            uv = (gather_rows(meshes.uvs.to(bary.dtype), uv_corner) * bary).sum(1)
            tex_batch = batch if meshes.texture.shape[0] > 1 else torch.zeros_like(batch)
            return sample_texture(meshes.texture, tex_batch, uv)
        if meshes.vertex_colors is not None:
            colors = meshes.vertex_colors
            index = corner_flat if colors.shape[0] > 1 else corner
            return (gather_rows(colors.reshape(-1, 3), index) * bary).sum(1)
        return torch.full_like(frags.bary, DEFAULT_ALBEDO)


def _background(
    settings: RenderSettings, b: int, h: int, w: int, device: torch.device, dtype: torch.dtype
) -> torch.Tensor:
    """(B*H*W, 4) background colour in sRGB [0, 1] with alpha 0."""
    bg = settings.background
    if isinstance(bg, torch.Tensor):
        if bg.shape[0] not in (1, b):
            raise RenderInputError(
                f"background batch {bg.shape[0]} does not match the mesh batch {b}"
            )
        rgb = ((bg.to(device=device, dtype=dtype) + 1.0) * 0.5).permute(0, 2, 3, 1)
        rgb = rgb.expand(b, h, w, 3).reshape(b * h * w, 3)
    else:
        rgb = torch.tensor(bg, device=device, dtype=dtype).expand(b * h * w, 3)
    return torch.cat([rgb, torch.zeros(b * h * w, 1, device=device, dtype=dtype)], 1)


def vertex_normals(verts: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals: (B, V, 3), (F, 3) -> (B, V, 3) (zero where undefined).

    Gathers and scatters along one flattened dimension (``index_select`` / ``index_add`` on dim 0),
    which is about three times faster on CPU than batched advanced indexing, backward included.
    """
    b, n_verts = verts.shape[:2]
    flat = verts.reshape(b * n_verts, 3)
    corner = (torch.arange(b, device=verts.device)[:, None, None] * n_verts + faces).permute(
        2, 0, 1
    )
    v0, v1, v2 = (flat.index_select(0, corner[k].reshape(-1)) for k in range(3))
    face_normals = torch.cross(v1 - v0, v2 - v0, dim=-1)  # (B*F, 3), length = 2 * area
    normals = torch.zeros_like(flat).index_add(0, corner.reshape(-1), face_normals.repeat(3, 1))
    return F.normalize(normals, dim=-1, eps=1e-12).reshape(b, n_verts, 3)


def sample_texture(texture: torch.Tensor, batch: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """Bilinear texture lookup with clamp-to-edge.

    Args:
        texture: (B, H, W, C), row 0 = top.
        batch: (N,) texture index of each lookup.
        uv: (N, 2) coordinates, origin bottom-left, texel centres at ``(k + 0.5) / size``.

    Returns:
        (N, C) samples, differentiable w.r.t. ``texture`` and ``uv``.
    """
    _, h, w, c = texture.shape
    x = uv[:, 0] * w - 0.5
    y = (1.0 - uv[:, 1]) * h - 0.5
    x0f, y0f = torch.floor(x), torch.floor(y)
    fx, fy = (x - x0f)[:, None], (y - y0f)[:, None]
    x0 = x0f.long().clamp(0, w - 1)
    x1 = (x0f.long() + 1).clamp(0, w - 1)
    y0 = y0f.long().clamp(0, h - 1)
    y1 = (y0f.long() + 1).clamp(0, h - 1)
    flat = texture.reshape(-1, c)
    base = batch * (h * w)
    # One gather for the four taps: its backward is a single scatter into the texture gradient.
    taps = torch.stack(
        [base + y0 * w + x0, base + y0 * w + x1, base + y1 * w + x0, base + y1 * w + x1], 1
    )
    t00, t01, t10, t11 = gather_rows(flat, taps).unbind(1)
    top = t00 + (t01 - t00) * fx
    bottom = t10 + (t11 - t10) * fx
    return top + (bottom - top) * fy
