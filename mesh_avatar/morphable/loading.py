"""Model specs: one string names a model wherever a command takes ``--model``.

``default``            the embedded default head (``data/default_head.npz``)
``PATH.npz``           a model file in the project's own format
``ict:PATH``           an ICT-FaceKit folder (the one holding ``FaceXModel/``, or ``FaceXModel`` itself)
``bfm:PATH``           Basel Face Model 2009 (``01_MorphableModel.mat``) or 2017 (``model2017-1_*.h5``)
``flame:PATH``         FLAME 2020 (``generic_model.pkl``; ``FLAME_texture.npz`` beside it is used if present)
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mesh_avatar.errors import ModelFileError
from mesh_avatar.morphable.data import MorphableModelData
from mesh_avatar.morphable.model import MorphableModel
from mesh_avatar.morphable.npz_format import load_model_npz

DEFAULT_MODEL_FILE = "default_head.npz"


def data_dir() -> Path:
    """Folder with the embedded data: ``$MESH_AVATAR_DATA``, the repository's ``data/`` (source or
    editable install) or ``<prefix>/share/mesh-avatar`` (wheel install)."""
    override = os.environ.get("MESH_AVATAR_DATA")
    if override:
        return Path(override)
    repo_data = Path(__file__).resolve().parents[2] / "data"
    if (repo_data / DEFAULT_MODEL_FILE).is_file():
        return repo_data
    return Path(sys.prefix) / "share" / "mesh-avatar"


def default_model_path() -> Path:
    return data_dir() / DEFAULT_MODEL_FILE


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``--model`` value: which reader and which path."""

    kind: str
    path: Path

    def __str__(self) -> str:
        return "default" if self.kind == "default" else f"{self.kind}:{self.path}"


def parse_model_spec(spec: str) -> ModelSpec:
    """Parse ``default``, ``PATH.npz`` or ``KIND:PATH``; raise ModelFileError on anything else."""
    text = spec.strip()
    if text in ("", "default"):
        return ModelSpec("default", default_model_path())
    kind, sep, rest = text.partition(":")
    if sep and kind in _READERS and kind != "npz":
        return ModelSpec(kind, Path(rest).expanduser())
    if sep and kind == "npz":
        return ModelSpec("npz", Path(rest).expanduser())
    path = Path(text).expanduser()
    if path.suffix.lower() == ".npz":
        return ModelSpec("npz", path)
    raise ModelFileError(
        f"cannot tell the model format of {spec!r}: use default, PATH.npz, "
        + ", ".join(f"{k}:PATH" for k in _READERS if k not in ("default", "npz"))
    )


def read_model_data(spec: str | ModelSpec) -> MorphableModelData:
    """Read the arrays of the model named by ``spec`` (see the module docstring)."""
    parsed = spec if isinstance(spec, ModelSpec) else parse_model_spec(spec)
    if parsed.kind == "default" and not parsed.path.is_file():
        raise ModelFileError(
            f"the embedded default model is missing at {parsed.path}; "
            "rebuild it with `make default-model`"
        )
    return _READERS[parsed.kind](parsed.path)


def load_model(spec: str | ModelSpec = "default") -> MorphableModel:
    """Build a :class:`MorphableModel` from a model spec."""
    return MorphableModel(read_model_data(spec))


def _read_ict(path: Path) -> MorphableModelData:
    from mesh_avatar.morphable.ict import read_ict_facekit

    return read_ict_facekit(path)


def _read_bfm(path: Path) -> MorphableModelData:
    from mesh_avatar.morphable.bfm import read_bfm

    return read_bfm(path)


def _read_flame(path: Path) -> MorphableModelData:
    from mesh_avatar.morphable.flame import read_flame

    return read_flame(path)


_READERS: dict[str, Callable[[Path], MorphableModelData]] = {
    "default": load_model_npz,
    "npz": load_model_npz,
    "ict": _read_ict,
    "bfm": _read_bfm,
    "flame": _read_flame,
}
