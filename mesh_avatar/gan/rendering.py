"""The one place the GAN calls the project's renderer: params -> (B, 3, R, R) images in [-1, 1]."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.params import AvatarParams

#: ``render(model, params) -> (B, 3, R, R)`` in [-1, 1], differentiable with respect to params.
RenderFn = Callable[[Any, AvatarParams], torch.Tensor]


def make_render_fn(resolution: int, renderer: str = "auto", camera: Any = None) -> RenderFn:
    """A render function at ``resolution`` through :func:`mesh_avatar.preview.render_avatars`."""
    try:
        from mesh_avatar.preview import render_avatars
    except ImportError as exc:
        raise MeshAvatarError(f"the renderers are not available ({exc})") from None

    def render(model: Any, params: AvatarParams) -> torch.Tensor:
        out = render_avatars(model, params, image_size=resolution, camera=camera, renderer=renderer)
        return out.images

    return render
