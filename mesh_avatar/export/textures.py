"""Texture images for the exporters: resize and encode (JPEG or PNG), deterministic bytes."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

MIME_TYPES = {"jpeg": "image/jpeg", "png": "image/png"}
SUFFIXES = {"jpeg": ".jpg", "png": ".png"}


@dataclass(frozen=True)
class EncodedImage:
    """An encoded texture: ``data`` bytes, ``mime_type``, file ``suffix`` and pixel size."""

    data: bytes
    mime_type: str
    suffix: str
    width: int
    height: int


def resize_texture(image: np.ndarray, size: int) -> np.ndarray:
    """(H, W, 3) uint8 -> (size, size, 3) uint8; returns ``image`` itself when already that size.

    Shrinking averages (box filter, no aliasing); enlarging is bilinear.
    """
    if image.shape[:2] == (size, size):
        return image
    shrinking = size < max(image.shape[:2])
    resample = Image.Resampling.BOX if shrinking else Image.Resampling.BILINEAR
    resized = Image.fromarray(np.ascontiguousarray(image)).resize((size, size), resample)
    return np.asarray(resized)


def encode_texture(image: np.ndarray, fmt: str, jpeg_quality: int = 90) -> EncodedImage:
    """Encode an (H, W, 3) uint8 sRGB image as ``jpeg`` or ``png`` (no metadata, same bytes each run)."""
    pil = Image.fromarray(np.ascontiguousarray(image))
    buffer = io.BytesIO()
    if fmt == "jpeg":
        pil.save(
            buffer, format="JPEG", quality=jpeg_quality, subsampling=0 if jpeg_quality >= 95 else 2
        )
    elif fmt == "png":
        pil.save(buffer, format="PNG", compress_level=6)
    else:
        raise ValueError(f"unknown texture format {fmt!r}")
    return EncodedImage(
        buffer.getvalue(), MIME_TYPES[fmt], SUFFIXES[fmt], image.shape[1], image.shape[0]
    )
