"""The ``pytorch3d`` backend: PyTorch3D's mesh rasterizer for visibility and barycentrics.

``pytorch3d`` is imported here only (lazily). Vertices are handed to ``rasterize_meshes`` already in
PyTorch3D's NDC (x left, y up, the shorter image side spanning [-1, 1]) with the view depth as z, so
no PyTorch3D camera object is involved and the projection is the same code as the other backend.
Barycentrics are perspective-correct and differentiable through PyTorch3D's own backward pass.
Runs on CPU (naive rasterization, slow) and CUDA (coarse-to-fine binning). No host copies of
device tensors.
"""

from __future__ import annotations

import torch

from renderers.ops import gather_rows
from renderers.renderer import Renderer
from renderers.types import Fragments


class PyTorch3DRenderer(Renderer):
    """Visibility from ``pytorch3d.renderer.mesh.rasterize_meshes`` (1 face per pixel)."""

    name = "pytorch3d"

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
        from pytorch3d.renderer.mesh.rasterize_meshes import rasterize_meshes
        from pytorch3d.structures import Meshes

        b, _, _ = verts_view.shape
        n_faces = faces.shape[0]
        scale = 2.0 / min(height, width)
        ndc = torch.stack(
            [
                -(pixels[..., 0] - 0.5 * width) * scale,
                -(pixels[..., 1] - 0.5 * height) * scale,
                depth,
            ],
            -1,
        ).float()
        # Faces that touch a vertex in front of znear are not drawn (PyTorch3D does not clip them):
        # such meshes are given as triangle soup with those faces collapsed off screen.
        drawable = (depth.detach()[:, faces] >= znear).all(-1)  # (B, F)
        if bool(drawable.all()):
            meshes = Meshes(verts=ndc, faces=faces.expand(b, n_faces, 3))
        else:
            soup = ndc[:, faces]  # (B, F, 3, 3)
            hidden = torch.tensor([10.0, 10.0, -1.0], device=ndc.device, dtype=ndc.dtype)
            soup = torch.where(drawable[:, :, None, None], soup, hidden)
            soup_faces = torch.arange(n_faces * 3, device=faces.device).reshape(n_faces, 3)
            meshes = Meshes(
                verts=soup.reshape(b, n_faces * 3, 3), faces=soup_faces.expand(b, n_faces, 3)
            )
        pix_to_face, zbuf, bary, _ = rasterize_meshes(
            meshes,
            image_size=(height, width),
            blur_radius=0.0,
            faces_per_pixel=1,
            bin_size=0 if verts_view.device.type == "cpu" else None,
            perspective_correct=True,
            cull_backfaces=False,
        )
        packed = pix_to_face.reshape(-1)
        pixel_index = (packed >= 0).nonzero()[:, 0]
        face_index = packed[pixel_index] % max(n_faces, 1)  # packed index = b * F + f
        face_ids = torch.full_like(packed, -1)
        face_ids[pixel_index] = face_index
        dtype = verts_view.dtype
        return Fragments(
            face_ids=face_ids.reshape(b, height, width),
            pixel_index=pixel_index,
            face_index=face_index,
            bary=gather_rows(bary.reshape(-1, 3), pixel_index).to(dtype),
            depth=gather_rows(zbuf.reshape(-1), pixel_index).to(dtype),
        )
