"""Synthetic target sets: avatars drawn from a population, rendered, with ground-truth coefficients.

Folder layout written by :func:`make_dataset`::

    dataset.json       format, count, resolution, seed, renderer, model record (last file written)
    population.json    the population the avatars were drawn from
    coefficients.npz   identity, expression, albedo, pose, lighting (N, ...) and label_* (N,) int
    images/000000.png  8-bit sRGB renders, one per avatar

``dataset.json`` is written last, so a folder without it is an interrupted build. Any folder
without ``dataset.json`` is read as an image folder of real photos by :func:`load_dataset`.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from tqdm import tqdm

from mesh_avatar.datasets.image_folder import DatasetError, load_image_folder
from mesh_avatar.datasets.population import Population, PopulationSampler
from mesh_avatar.io import atomic_write_bytes, ensure_writable_dir
from mesh_avatar.npz import npz_bytes
from mesh_avatar.params import AvatarParams
from mesh_avatar.preview import images_to_uint8, png_bytes

log = logging.getLogger(__name__)

FORMAT = "mesh-avatar-dataset"
PARAM_KEYS = ("identity", "expression", "albedo", "pose", "lighting")


def make_dataset(
    out: str | os.PathLike[str],
    n: int,
    model: Any,
    render: Any,
    population: Population,
    resolution: int,
    seed: int = 0,
    renderer_name: str = "auto",
    batch: int = 64,
    progress: bool = True,
) -> Path:
    """Draw ``n`` avatars of ``population``, render them with ``render(model, params)`` and write
    the folder described in the module docstring.

    Raises:
        DatasetError: ``out`` already holds a dataset.
    """
    from mesh_avatar.gan.checkpoint import model_record

    folder = ensure_writable_dir(out)
    if (folder / "dataset.json").exists():
        raise DatasetError(f"{folder} already holds a dataset; choose another --out")
    sampler = PopulationSampler(population, model)
    partial = folder / "images.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    parts: list[AvatarParams] = []
    labels: dict[str, list[np.ndarray]] = {"identity": [], "albedo": [], "expression": []}
    with tqdm(total=n, desc="make-dataset", unit="img", disable=not progress) as bar:
        for start in range(0, n, batch):
            count = min(batch, n - start)
            drawn = sampler.sample(count, seed, start)
            with torch.no_grad():
                images = images_to_uint8(render(model, drawn.params))
            for offset, image in enumerate(images):
                (partial / f"{start + offset:06d}.png").write_bytes(png_bytes(image))
            parts.append(drawn.params)
            for key in labels:
                labels[key].append(drawn.labels[key])
            bar.update(count)
    params = AvatarParams.cat(parts)
    arrays = params.to_numpy()
    arrays.update({f"label_{k}": np.concatenate(v) for k, v in labels.items()})
    final = folder / "images"
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    atomic_write_bytes(folder / "coefficients.npz", npz_bytes(arrays))
    atomic_write_bytes(folder / "population.json", population.to_json().encode())
    meta = {
        "format": FORMAT,
        "version": 1,
        "count": n,
        "resolution": resolution,
        "seed": seed,
        "renderer": renderer_name,
        "population": population.name,
        "model": model_record(model),
        "images": "images/{index:06d}.png",
    }
    atomic_write_bytes(folder / "dataset.json", (json.dumps(meta, indent=1) + "\n").encode())
    log.info("wrote %d images to %s", n, final)
    return folder


@dataclass(frozen=True)
class Dataset:
    """Images for training/evaluation and, for synthetic sets, their ground truth.

    Attributes:
        images: (N, 3, R, R) uint8.
        params: ground-truth coefficients (synthetic sets) or None.
        labels: mixture component / preset index per image, or None.
        population: the population the set was drawn from, or None.
        meta: ``dataset.json`` content (empty for image folders).
    """

    images: torch.Tensor
    params: AvatarParams | None
    labels: dict[str, np.ndarray] | None
    population: Population | None
    meta: dict[str, Any]

    def __len__(self) -> int:
        return int(self.images.shape[0])


def resize_uint8(images: torch.Tensor, resolution: int) -> torch.Tensor:
    """(N, 3, H, W) uint8 -> (N, 3, R, R) uint8 (area when shrinking, bilinear when enlarging)."""
    if images.shape[-1] == resolution and images.shape[-2] == resolution:
        return images
    out = []
    for chunk in images.split(256):
        x = chunk.float()
        if resolution < x.shape[-1]:
            x = F.interpolate(x, size=(resolution, resolution), mode="area")
        else:
            x = F.interpolate(
                x, size=(resolution, resolution), mode="bilinear", align_corners=False
            )
        out.append(x.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out)


def load_dataset(path: str | os.PathLike[str], resolution: int | None = None) -> Dataset:
    """Read a synthetic set (folder with ``dataset.json``) or an image folder of photos.

    Images are resized to ``resolution`` when given (image folders need it).
    """
    folder = Path(path)
    if not folder.is_dir():
        raise DatasetError(f"dataset folder not found: {folder}")
    meta_path = folder / "dataset.json"
    if not meta_path.is_file():
        if resolution is None:
            raise DatasetError(f"{folder}: an image folder needs a resolution to load")
        if (folder / "images.partial").exists():
            raise DatasetError(f"{folder}: an interrupted make-dataset; build it again")
        loaded = load_image_folder(folder, resolution)
        return Dataset(loaded.images, None, None, None, {})
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{meta_path}: not valid JSON ({exc})") from None
    if meta.get("format") != FORMAT:
        raise DatasetError(f"{meta_path}: not a mesh-avatar dataset")
    count = int(meta["count"])
    try:
        with np.load(folder / "coefficients.npz", allow_pickle=False) as archive:
            arrays = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"{folder / 'coefficients.npz'}: unreadable ({exc})") from None
    params = AvatarParams.from_numpy({k: arrays[k] for k in PARAM_KEYS}, source=str(folder))
    labels = {k[len("label_") :]: v for k, v in arrays.items() if k.startswith("label_")}
    pattern = meta.get("images", "images/{index:06d}.png")
    images = np.empty((count, int(meta["resolution"]), int(meta["resolution"]), 3), np.uint8)
    for index in range(count):
        file = folder / pattern.format(index=index)
        try:
            with Image.open(file) as image:
                images[index] = np.asarray(image.convert("RGB"), np.uint8)
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{file}: unreadable image ({exc})") from None
    tensor = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    if resolution is not None:
        tensor = resize_uint8(tensor, resolution)
    population = Population.load(folder / "population.json")
    if params.batch_size != count:
        raise DatasetError(f"{folder}: {count} images but {params.batch_size} coefficient rows")
    return Dataset(tensor, params, labels, population, meta)
