"""``viewer.py --screenshot PATH``: the avatar rendered headlessly (no display, no GPU) to a PNG.

Rendering goes through the project's renderer (:func:`mesh_avatar.preview.render_avatars`, the
portrait camera of the model, the avatar's own pose and SH lighting), so a screenshot matches the
``--preview`` images of ``mesh-avatar generate``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.params import AvatarParams


def render_screenshot(
    model: object, params: AvatarParams, size: tuple[int, int] = (768, 768)
) -> np.ndarray:
    """(H, W, 3) uint8 image of one avatar; a non-square size crops the centre of a square render.

    Args:
        model: the :class:`~mesh_avatar.morphable.MorphableModel` of ``params``.
        params: one avatar (batch size 1).
        size: (width, height) in pixels.
    """
    from mesh_avatar.preview import images_to_uint8, render_avatars

    width, height = size
    if params.batch_size != 1:
        raise MeshAvatarError(f"a screenshot shows one avatar, got a batch of {params.batch_size}")
    side = max(width, height)
    with torch.no_grad():
        rendered = render_avatars(model, params, image_size=side)  # type: ignore[arg-type]
    image = images_to_uint8(rendered.images)[0]
    top, left = (side - height) // 2, (side - width) // 2
    return np.ascontiguousarray(image[top : top + height, left : left + width])


def write_screenshot(
    model: object,
    params: AvatarParams,
    path: str | os.PathLike[str],
    size: tuple[int, int] = (768, 768),
) -> Path:
    """Render and write a PNG atomically; returns the path."""
    from mesh_avatar.preview import save_png

    target = Path(path)
    if target.suffix.lower() != ".png":
        raise MeshAvatarError(f"screenshots are PNG files: {target.name!r} must end in .png")
    return save_png(target, render_screenshot(model, params, size))
