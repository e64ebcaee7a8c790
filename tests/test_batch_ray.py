"""The Ray backend (a private local Ray instance) writes the same bytes as the local backend and
resumes a run the local backend started."""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh_avatar.batch import BatchSpec, run_batch
from mesh_avatar.batch.manifest import read_manifest
from mesh_avatar.morphable import save_model

pytest.importorskip("ray")


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_ray_gives_the_same_bytes_and_resumes_a_local_run(tmp_path, tiny_model_data):
    model = tmp_path / "tiny.npz"
    save_model(tiny_model_data, model)
    spec = BatchSpec(n=5, seed=9, model=str(model), formats=("glb", "obj"), texture_size=256)
    local = run_batch(spec, tmp_path / "local", workers=0, progress=False)
    assert local.made == 5

    # A run started locally (3 avatars), completed by Ray with two actors.
    mixed = tmp_path / "mixed"
    started = BatchSpec(**{**spec.__dict__, "n": 3})
    run_batch(started, mixed, workers=0, progress=False)
    summary = run_batch(spec, mixed, workers=2, use_ray=True, progress=False)
    assert (summary.made, summary.kept) == (2, 3)
    assert _tree(mixed) == _tree(tmp_path / "local")
    assert [row["index"] for row in read_manifest(mixed / "manifest.jsonl")] == list(range(5))
