"""What a batch run makes: its spec, the stable name and place of each avatar, and the job stream.

Avatar ``i`` of a run seeded ``S`` is fully described by ``(BatchSpec, i)``: its coefficients come
from :func:`mesh_avatar.sampling.avatar_seed` ``(S, i)`` and its files are named after ``i`` only, so
the bytes do not depend on the number of workers, on the backend or on which avatars were made first.
Jobs are produced lazily (a generator), so nothing in a run holds a list of all avatars.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, fields
from typing import Any

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.sampling import avatar_seed

EXPORT_FORMATS = ("glb", "gltf", "obj")
LOD_LEVELS = (0, 1, 2)
TEXTURE_FORMATS = ("jpeg", "png")
#: Avatars per sub-folder of ``avatars/`` (keeps folders small for runs of millions).
SHARD_SIZE = 1000
SPEC_FILE = "batch.json"
MANIFEST_FILE = "manifest.jsonl"
AVATAR_DIR = "avatars"


class BatchError(MeshAvatarError):
    """A batch run was asked for something impossible (bad options, a foreign output folder)."""


@dataclass(frozen=True)
class BatchSpec:
    """Everything that decides the bytes of a run's files (not where or how fast they are made).

    Attributes:
        n: number of avatars (indices ``0 .. n-1``).
        seed: run seed (>= 0).
        model: model spec (``default``, ``PATH.npz``, ``ict:PATH``, ...); ignored with ``checkpoint``
            when the checkpoint names its own model.
        checkpoint: GAN generator checkpoint; ``None`` samples the model's prior.
        truncation: GAN truncation psi in (0, 1] (used with ``checkpoint``).
        formats: export formats, a subset of :data:`EXPORT_FORMATS`.
        lods: levels of detail to write.
        texture_size: side of the albedo texture in pixels.
        texture_format: ``jpeg`` or ``png``.
        sparse_morph_targets: write glTF morph targets as sparse accessors (only the vertices
            each expression moves: about 4x smaller GLBs for the default model); ``False`` for
            dense ones.
        renders: view names for synthetic-data labels (see :mod:`mesh_avatar.batch.labels`); empty
            for none.
        render_size: side of the label images in pixels.
    """

    n: int
    seed: int
    model: str = "default"
    checkpoint: str | None = None
    truncation: float = 1.0
    formats: tuple[str, ...] = ("glb",)
    lods: tuple[int, ...] = (0,)
    texture_size: int = 1024
    texture_format: str = "jpeg"
    sparse_morph_targets: bool = True
    renders: tuple[str, ...] = ()
    render_size: int = 256

    def __post_init__(self) -> None:
        if not isinstance(self.n, int) or self.n < 1:
            raise BatchError(f"the number of avatars must be at least 1, got {self.n}")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise BatchError(f"the seed must be a non-negative integer, got {self.seed}")
        if not 0.0 < self.truncation <= 1.0:
            raise BatchError(f"truncation must lie in (0, 1], got {self.truncation}")
        _check_subset("format", self.formats, EXPORT_FORMATS, allow_empty=bool(self.renders))
        _check_subset("level of detail", self.lods, LOD_LEVELS)
        if self.texture_format not in TEXTURE_FORMATS:
            raise BatchError(
                f"texture format must be one of {', '.join(TEXTURE_FORMATS)}, "
                f"got {self.texture_format!r}"
            )
        if not isinstance(self.texture_size, int) or self.texture_size < 1:
            raise BatchError(
                f"texture size must be a positive number of pixels, got {self.texture_size}"
            )
        if not 16 <= self.render_size <= 4096:
            raise BatchError(f"render size must lie in [16, 4096] px, got {self.render_size}")
        if self.renders:
            from mesh_avatar.batch.labels import VIEWS

            _check_subset("render view", self.renders, tuple(VIEWS))

    def fingerprint(self) -> dict[str, Any]:
        """The spec as a JSON-ready dict, without ``n`` (a run may be extended to more avatars)."""
        out = asdict(self)
        del out["n"]
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out

    @classmethod
    def from_json(cls, payload: dict[str, Any], n: int) -> BatchSpec:
        known = {f.name for f in fields(cls)} - {"n"}
        kwargs = {
            k: tuple(v) if isinstance(v, list) else v for k, v in payload.items() if k in known
        }
        return cls(n=n, **kwargs)


def _check_subset(
    what: str, values: tuple[Any, ...], allowed: tuple[Any, ...], allow_empty: bool = False
) -> None:
    if not values and not allow_empty:
        raise BatchError(f"at least one {what} is needed")
    unknown = [str(v) for v in values if v not in allowed]
    if unknown:
        raise BatchError(
            f"unknown {what}(s) {', '.join(unknown)}; choose from {', '.join(map(str, allowed))}"
        )
    if len(set(values)) != len(values):
        raise BatchError(f"repeated {what} in {', '.join(map(str, values))}")


@dataclass(frozen=True)
class AvatarJob:
    """One avatar to make (or to check and keep).

    Attributes:
        index: position in the run, ``0 .. n-1``.
        seed: the avatar's own seed, ``avatar_seed(run seed, index)``.
        previous: the manifest row a previous attempt left for this avatar, or ``None``.
    """

    index: int
    seed: int
    previous: dict[str, Any] | None = None

    @property
    def avatar_id(self) -> str:
        return avatar_id(self.index)

    @property
    def folder(self) -> str:
        """Folder of the avatar's files, relative to the run's output folder (POSIX separators)."""
        return avatar_folder(self.index)


def avatar_id(index: int) -> str:
    """Stable name of avatar ``index`` (``avatar_00042``), the same as ``mesh-avatar generate``'s."""
    from mesh_avatar.pipeline import avatar_stem

    return avatar_stem(index)


def avatar_folder(index: int) -> str:
    """``avatars/000`` for avatars 0-999, ``avatars/001`` for 1000-1999, ..."""
    return f"{AVATAR_DIR}/{index // SHARD_SIZE:03d}"


def iter_jobs(
    spec: BatchSpec,
    previous: Callable[[int], dict[str, Any] | None] = lambda index: None,
) -> Iterator[AvatarJob]:
    """Yield the jobs of a run in index order, lazily.

    Args:
        spec: the run.
        previous: index -> the manifest row left by an earlier attempt (or ``None``); called once per
            job, just before it is yielded, so rows are read from disk one at a time.
    """
    for index in range(spec.n):
        yield AvatarJob(index=index, seed=avatar_seed(spec.seed, index), previous=previous(index))


def spec_file_bytes(spec: BatchSpec, model_fingerprint: dict[str, Any]) -> bytes:
    """Content of ``batch.json``: the spec (without ``n``) and what identifies the model."""
    from mesh_avatar import __version__

    payload = {
        "format": "mesh-avatar-batch",
        "version": 1,
        "generator": f"mesh-avatar {__version__}",
        "spec": spec.fingerprint(),
        "model": model_fingerprint,
    }
    return (json.dumps(payload, indent=1, sort_keys=True) + "\n").encode()


def n_shards(n: int) -> int:
    return max(1, math.ceil(n / SHARD_SIZE))
