"""Differentiable mesh rendering: cameras, SH lighting, a PyTorch3D backend and a fast CPU backend.

Independent of ``mesh_avatar``: it knows meshes, cameras and lights.

>>> renderer = create_renderer("auto", device="cpu")
>>> out = renderer(RenderMeshes(verts, faces, uvs, face_uvs, texture), Camera.orbit(distance=0.6),
...                Lighting.ambient(), RenderSettings(image_size=128))  # doctest: +SKIP
>>> out.images.shape  # (B, 3, 128, 128) in [-1, 1]  # doctest: +SKIP
"""

from __future__ import annotations

import torch

from renderers.camera import Camera
from renderers.errors import RenderInputError
from renderers.lighting import AMBIENT_SH0, Lighting, sh_basis
from renderers.renderer import Renderer
from renderers.types import Fragments, RenderMeshes, RenderOutput, RenderSettings

BACKENDS = ("auto", "fast", "pytorch3d")

__all__ = [
    "AMBIENT_SH0",
    "BACKENDS",
    "Camera",
    "Fragments",
    "Lighting",
    "RenderInputError",
    "RenderMeshes",
    "RenderOutput",
    "RenderSettings",
    "Renderer",
    "create_renderer",
    "resolve_backend",
    "sh_basis",
]


def resolve_backend(name: str, device: torch.device | str | None = None) -> str:
    """``auto`` -> ``pytorch3d`` on CUDA, ``fast`` elsewhere; other names are checked and returned."""
    if name not in BACKENDS:
        raise RenderInputError(f"unknown renderer {name!r}; choose one of {', '.join(BACKENDS)}")
    if name != "auto":
        return name
    return "pytorch3d" if torch.device(device or "cpu").type == "cuda" else "fast"


def create_renderer(name: str = "auto", device: torch.device | str | None = None) -> Renderer:
    """A renderer backend by name (``auto``, ``fast`` or ``pytorch3d``) for tensors on ``device``.

    Renderers hold no tensors; they follow the device of the meshes they are given. Keep one
    instance around to reuse its topology cache.
    """
    backend = resolve_backend(name, device)
    if backend == "fast":
        from renderers.backend_fast import FastRenderer

        return FastRenderer()
    from renderers.backend_pytorch3d import PyTorch3DRenderer

    return PyTorch3DRenderer()
