"""Real photos from a folder: jpg/png of any size -> square (N, 3, R, R) uint8 tensors.

Crops: ``center`` (the largest centred square) or ``face-box`` (a square around a face box read
from ``boxes.json`` in the folder: ``{"file.jpg": [x0, y0, x1, y1], ...}`` in pixels, enlarged by
``margin``; images without a box fall back to the centre crop). Unreadable files are skipped with
a warning and counted.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from mesh_avatar.errors import MeshAvatarError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
CROPS = ("center", "face-box")


class DatasetError(MeshAvatarError):
    """A dataset folder is missing, empty or malformed."""


@dataclass(frozen=True)
class FolderImages:
    """Images loaded from a folder: ``images`` (N, 3, R, R) uint8, the files used, skip counts."""

    images: torch.Tensor
    files: list[str]
    skipped: int
    without_box: int


def center_box(width: int, height: int) -> tuple[float, float, float, float]:
    """The largest centred square of a width x height image as (x0, y0, x1, y1)."""
    side = min(width, height)
    x0, y0 = (width - side) / 2, (height - side) / 2
    return x0, y0, x0 + side, y0 + side


def face_square(box: list[float], margin: float) -> tuple[float, float, float, float]:
    """A square centred on a face box, its side ``(1 + 2 margin) * max(box side)``."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0) * (1.0 + 2.0 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2


def crop_resize(
    image: Image.Image, box: tuple[float, float, float, float], size: int
) -> np.ndarray:
    """Crop ``box`` (may reach outside; filled black) and resize to size x size -> (size, size, 3)."""
    rgb = image.convert("RGB")
    out = rgb.resize((size, size), Image.Resampling.LANCZOS, box=box)
    return np.asarray(out, np.uint8)


def _read_boxes(folder: Path) -> dict[str, list[float]]:
    path = folder / "boxes.json"
    if not path.is_file():
        return {}
    try:
        boxes = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(boxes, dict):
        raise DatasetError(f"{path}: expected an object of file name -> [x0, y0, x1, y1]")
    for name, box in boxes.items():
        if not (isinstance(box, list) and len(box) == 4 and box[2] > box[0] and box[3] > box[1]):
            raise DatasetError(
                f"{path}: box of {name!r} must be [x0, y0, x1, y1] with x1>x0, y1>y0"
            )
    return boxes


def list_images(folder: Path) -> list[Path]:
    """Image files directly in ``folder`` and its sub-folders, sorted by relative path."""
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def load_image_folder(
    path: str | os.PathLike[str],
    resolution: int,
    crop: str = "center",
    margin: float = 0.25,
) -> FolderImages:
    """Load every readable image of a folder, cropped to a square and resized to ``resolution``.

    Raises:
        DatasetError: the folder does not exist, or no image in it could be read.
    """
    folder = Path(path)
    if crop not in CROPS:
        raise DatasetError(f"unknown crop {crop!r}; choose from {', '.join(CROPS)}")
    if not folder.is_dir():
        raise DatasetError(f"image folder not found: {folder}")
    boxes = _read_boxes(folder) if crop == "face-box" else {}
    arrays, files, skipped, without_box = [], [], 0, 0
    for file in list_images(folder):
        rel = file.relative_to(folder).as_posix()
        try:
            with Image.open(file) as image:
                image.load()
                if crop == "face-box" and rel in boxes:
                    box = face_square(boxes[rel], margin)
                else:
                    without_box += crop == "face-box"
                    box = center_box(*image.size)
                arrays.append(crop_resize(image, box, resolution))
                files.append(rel)
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            log.warning("skipping unreadable image %s (%s)", file, exc)
            skipped += 1
    if skipped:
        log.warning("skipped %d unreadable image(s) in %s", skipped, folder)
    if without_box:
        log.warning("%d image(s) had no face box in boxes.json; centre-cropped", without_box)
    if not arrays:
        raise DatasetError(f"no readable .jpg/.png images in {folder}")
    images = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()
    return FolderImages(images=images, files=files, skipped=skipped, without_box=without_box)
