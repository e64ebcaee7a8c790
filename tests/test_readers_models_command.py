"""``mesh-avatar models``: the list of model formats and ``--check SPEC``."""

from __future__ import annotations

from pathlib import Path

import pytest
from fixtures_models import synthetic_model, write_bfm2009

from mesh_avatar.cli import main


def test_models_lists_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    for spec in ("default", "PATH.npz", "ict:PATH", "bfm:PATH", "flame:PATH"):
        assert spec in out
    for site in ("github.com/ICT-VGL/ICT-FaceKit", "faces.dmi.unibas.ch", "flame.is.tue.mpg.de"):
        assert site in out
    assert "licence:" in out and "MIT" in out and "non-commercial" in out


def test_models_check_summarises(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_bfm2009(tmp_path / "01_MorphableModel.mat", synthetic_model(face_only=True))
    assert main(["models", "--check", f"bfm:{path}"]) == 0
    out = capsys.readouterr().out
    assert "bfm2009" in out and "108 vertices" in out and "per-vertex colour" in out
    assert "identity:    6 components" in out and "landmarks:   none" in out


def test_models_check_reports_bad_files_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file, truncated")
    assert main(["models", "--check", f"bfm:{bad}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.mat" in err[0] and "error" in err[0]
