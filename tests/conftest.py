"""Shared fixtures. Tests that need real data read ../shared/data beside the repository."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.tiny_model import make_tiny_model_data

from mesh_avatar.morphable import MorphableModel, MorphableModelData

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def tiny_model_data() -> MorphableModelData:
    """A small synthetic model (about 400 vertices); treat it as read-only."""
    return make_tiny_model_data()


@pytest.fixture
def tiny_model(tiny_model_data: MorphableModelData) -> MorphableModel:
    return MorphableModel(tiny_model_data)


@pytest.fixture(scope="session")
def ict_dir() -> Path:
    path = SHARED_DATA / "ict-facekit"
    if not (path / "FaceXModel" / "generic_neutral_mesh.obj").is_file():
        pytest.fail(f"real test data missing: {path} (CI clones the repo with ../shared beside it)")
    return path
