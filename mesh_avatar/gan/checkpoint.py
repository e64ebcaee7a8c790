"""Checkpoints (``*.pt``): a plain dictionary of weights and config, loadable with weights_only.

Layout of the dictionary::

    format        "mesh-avatar-gan"
    version       1
    step          optimisation steps done
    images_seen   real images shown to D so far
    config        TrainConfig as a JSON-ready dict
    model         {"name", "fingerprint", "layout": [n_id, n_exp, n_alb], "expression_kind"}
    generator, generator_ema, discriminator, optimizer_g, optimizer_d   state dicts
    stats         last logged statistics (floats)

:func:`load_generator` and :func:`sample_generator` are what ``mesh-avatar generate`` uses.
"""

from __future__ import annotations

import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.gan.config import TrainConfig, config_from_dict
from mesh_avatar.gan.discriminator import Discriminator
from mesh_avatar.gan.generator import CoefficientGenerator
from mesh_avatar.io import atomic_write_bytes
from mesh_avatar.params import AvatarParams, CoefficientLayout
from mesh_avatar.sampling import avatar_generator

FORMAT = "mesh-avatar-gan"
VERSION = 1


class CheckpointError(MeshAvatarError):
    """A checkpoint is missing, unreadable, of another format, or made for another model."""


def model_fingerprint(model: Any) -> str:
    """A short hash of a morphable model's arrays (mean shape, topology, bases, albedo).

    Two models with the same fingerprint decode the same coefficients to the same avatars.
    """
    data = model.data if hasattr(model, "data") else model
    digest = hashlib.sha256()
    digest.update(f"{data.expression_kind}|{data.albedo_space}".encode())
    for array in (
        data.vertices,
        data.faces,
        data.identity_basis,
        data.identity_std,
        data.expression_basis,
        data.expression_std,
        data.albedo_mean,
        data.albedo_basis,
        data.albedo_std,
    ):
        a = np.ascontiguousarray(array)
        digest.update(f"{a.dtype.str}{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()[:16]


def model_record(model: Any) -> dict[str, Any]:
    """What a checkpoint records about the morphable model it was trained with."""
    layout = model.layout
    return {
        "name": model.data.name,
        "fingerprint": model_fingerprint(model),
        "layout": [layout.n_identity, layout.n_expression, layout.n_albedo],
        "expression_kind": model.data.expression_kind,
    }


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> Path:
    """Write ``state`` (see the module docstring) atomically."""
    buffer = io.BytesIO()
    torch.save({"format": FORMAT, "version": VERSION, **state}, buffer)
    return atomic_write_bytes(path, buffer.getvalue())


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True``; raise CheckpointError on any problem."""
    source = Path(path)
    if not source.is_file():
        raise CheckpointError(f"checkpoint not found: {source}")
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{source}: not a readable checkpoint ({exc})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(f"{source}: not a mesh-avatar GAN checkpoint")
    if state.get("version") != VERSION:
        raise CheckpointError(
            f"{source}: checkpoint version {state.get('version')!r} is not supported "
            f"(this mesh-avatar reads version {VERSION})"
        )
    return state


@dataclass(frozen=True)
class CheckpointInfo:
    """Facts about a loaded generator (what ``mesh-avatar generate`` records in metadata)."""

    path: str
    step: int
    model_name: str
    model_fingerprint: str
    config: TrainConfig


def check_model_matches(record: dict[str, Any], model: Any, source: str) -> None:
    """Raise CheckpointError when ``model`` is not the one the checkpoint was trained with."""
    fingerprint = model_fingerprint(model)
    if record.get("fingerprint") != fingerprint:
        raise CheckpointError(
            f"{source} was trained with morphable model {record.get('name')!r} "
            f"(fingerprint {record.get('fingerprint')}), but the loaded model is "
            f"{model.data.name!r} (fingerprint {fingerprint}); pass the same --model it was "
            "trained with"
        )


def load_weights(module: torch.nn.Module, weights: dict[str, Any], source: str, what: str) -> None:
    """``module.load_state_dict(weights)``; a mismatch (missing, extra or reshaped tensors: a
    checkpoint of another network version) raises CheckpointError naming the first problem."""
    try:
        module.load_state_dict(weights)
    except RuntimeError as exc:
        detail = next(
            (line.strip() for line in str(exc).splitlines()[1:] if line.strip()), str(exc)
        )
        raise CheckpointError(
            f"{source}: its {what} weights do not fit this version's network ({detail}); "
            "it was written by a mesh-avatar with a different network"
        ) from None


def build_generator(config: TrainConfig, model: Any) -> CoefficientGenerator:
    """A new generator for ``model``'s layout with the run's generator config."""
    data = model.data
    return CoefficientGenerator(
        model.layout, config.generator, data.expression_kind, data.expression_names
    )


def load_generator(
    path: str | os.PathLike[str], model: Any, state: dict[str, Any] | None = None
) -> tuple[CoefficientGenerator, CheckpointInfo]:
    """The EMA generator of a checkpoint, in eval mode, for the morphable ``model``.

    ``state`` is the checkpoint already read from ``path`` (by :func:`load_checkpoint`), if the
    caller has it; otherwise the file is read.

    Raises:
        CheckpointError: unreadable file, a checkpoint trained with another model, or weights
            of another network version.
    """
    if state is None:
        state = load_checkpoint(path)
    check_model_matches(state["model"], model, str(path))
    config = config_from_dict(TrainConfig, state["config"], where=f"{path}: config")
    generator = build_generator(config, model)
    load_weights(generator, state["generator_ema"], str(path), "generator")
    generator.eval().requires_grad_(False)
    info = CheckpointInfo(
        path=str(path),
        step=int(state["step"]),
        model_name=str(state["model"]["name"]),
        model_fingerprint=str(state["model"]["fingerprint"]),
        config=config,
    )
    return generator, info


def load_discriminator(
    path: str | os.PathLike[str], state: dict[str, Any] | None = None
) -> Discriminator:
    """The discriminator of a checkpoint, in eval mode (for diagnostics; sampling needs only G).

    ``state`` is the checkpoint already read from ``path`` (by :func:`load_checkpoint`), if the
    caller has it; otherwise the file is read.

    Raises:
        CheckpointError: unreadable file or weights of another network version.
    """
    if state is None:
        state = load_checkpoint(path)
    config = config_from_dict(TrainConfig, state["config"], where=f"{path}: config")
    discriminator = Discriminator(config.resolution, config.discriminator)
    load_weights(discriminator, state["discriminator"], str(path), "discriminator")
    return discriminator.eval().requires_grad_(False)


def latent_for(seed: int, index: int, z_dim: int) -> torch.Tensor:
    """(1, z_dim) noise of avatar ``index`` of the run ``seed`` (independent of batching)."""
    return torch.randn(1, z_dim, generator=avatar_generator(seed, index))


@torch.no_grad()
def sample_generator(
    generator: CoefficientGenerator,
    n: int,
    seed: int,
    start: int = 0,
    truncation: float = 1.0,
) -> AvatarParams:
    """Avatars ``start .. start+n-1`` of the run ``seed``; avatar i depends only on (seed, start+i).

    Each avatar runs through the generator on its own, so its values are bit-identical whether it
    is drawn alone or within a batch.
    """
    if n < 1:
        raise MeshAvatarError(f"the number of avatars must be at least 1, got {n}")
    if not 0.0 <= truncation <= 1.0:
        raise MeshAvatarError(f"truncation must lie in [0, 1], got {truncation}")
    device = generator.w_avg.device
    items = [
        generator(latent_for(seed, start + i, generator.z_dim).to(device), truncation)
        for i in range(n)
    ]
    return AvatarParams.cat(items).detach()


def generator_layout(state: dict[str, Any]) -> CoefficientLayout:
    n_id, n_exp, n_alb = state["model"]["layout"]
    return CoefficientLayout(int(n_id), int(n_exp), int(n_alb))
