"""The generation path shared by ``generate``, ``export``, the viewer and batch runs.

``AvatarSource`` says where coefficients come from (the model's prior or a trained generator);
``write_avatar`` turns avatar ``index`` of a run ``seed`` into files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.morphable import MorphableModel, load_model
from mesh_avatar.params import AvatarParams
from mesh_avatar.sampling import avatar_seed, sample_prior


@dataclass
class AvatarSource:
    """A morphable model and, optionally, a trained generator that samples its coefficients."""

    model: MorphableModel
    model_spec: str
    generator: torch.nn.Module | None = None
    checkpoint: Path | None = None
    truncation: float = 1.0

    @classmethod
    def open(
        cls, model_spec: str = "default", checkpoint: Path | None = None, truncation: float = 1.0
    ) -> AvatarSource:
        """Load the model (and the generator from ``checkpoint`` when given)."""
        if not 0.0 < truncation <= 1.0:
            raise MeshAvatarError(f"--truncation must lie in (0, 1], got {truncation}")
        model = load_model(model_spec)
        generator = None
        if checkpoint is not None:
            from mesh_avatar.gan.checkpoint import load_generator

            generator, _ = load_generator(checkpoint, model)
        return cls(model, model_spec, generator, checkpoint, truncation)

    def params(self, seed: int, index: int) -> AvatarParams:
        """Coefficients of avatar ``index`` of the run ``seed`` (batch size 1)."""
        if self.generator is None:
            return sample_prior(self.model, 1, seed, start=index)
        from mesh_avatar.gan.checkpoint import sample_generator

        return sample_generator(self.generator, 1, seed, start=index, truncation=self.truncation)

    def describe(self, seed: int, index: int) -> dict[str, Any]:
        """Facts recorded in each exported file so the avatar can be regenerated."""
        info: dict[str, Any] = {
            "seed": seed,
            "index": index,
            "avatar_seed": avatar_seed(seed, index),
            "model_spec": self.model_spec,
        }
        if self.checkpoint is not None:
            info["checkpoint"] = self.checkpoint.name
            info["truncation"] = self.truncation
        return info


def avatar_stem(index: int) -> str:
    return f"avatar_{index:05d}"


def write_avatar(
    source: AvatarSource,
    seed: int,
    index: int,
    out_dir: Path,
    options: Any,
    formats: tuple[str, ...],
    preview: bool = False,
    renderer: str = "auto",
) -> list[Path]:
    """Generate avatar ``index`` of run ``seed`` and write its files into ``out_dir``.

    Writes the coefficients (``<stem>.params.json``), one file set per format and LOD, and a
    rendered ``<stem>.png`` when ``preview`` is set (drawn by the ``renderer`` backend: ``auto``,
    ``fast`` or ``pytorch3d``). Every file is written atomically.
    """
    from mesh_avatar.avatar import build_avatar_mesh
    from mesh_avatar.export import export_avatar

    stem = avatar_stem(index)
    params = source.params(seed, index)
    mesh = build_avatar_mesh(
        source.model, params, options.texture_size, metadata=source.describe(seed, index)
    )
    paths = [params.save(out_dir / f"{stem}.params.json")]
    paths += export_avatar(mesh, out_dir, stem, formats, options)
    if preview:
        from mesh_avatar.preview import images_to_uint8, render_avatars, save_png

        rendered = render_avatars(source.model, params, image_size=256, renderer=renderer)
        paths.append(save_png(out_dir / f"{stem}.png", images_to_uint8(rendered.images)[0]))
    return paths
