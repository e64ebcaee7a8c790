"""Morphable face models: data, file formats, readers and the differentiable torch module."""

from mesh_avatar.morphable.data import ARKIT_BLENDSHAPES, REGION_NAMES, MorphableModelData
from mesh_avatar.morphable.loading import (
    ModelSpec,
    default_model_path,
    load_model,
    parse_model_spec,
    read_model_data,
)
from mesh_avatar.morphable.model import DecodedAvatars, MorphableModel
from mesh_avatar.morphable.npz_format import load_model_npz, model_to_bytes, save_model

__all__ = [
    "ARKIT_BLENDSHAPES",
    "REGION_NAMES",
    "DecodedAvatars",
    "ModelSpec",
    "MorphableModel",
    "MorphableModelData",
    "default_model_path",
    "load_model",
    "load_model_npz",
    "model_to_bytes",
    "parse_model_spec",
    "read_model_data",
    "save_model",
]
