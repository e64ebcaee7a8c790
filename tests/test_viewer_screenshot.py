"""``viewer.py --screenshot``: a headless PNG, and one-line errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from mesh_avatar.morphable import MorphableModel, load_model_npz, save_model
from mesh_avatar.params import AvatarParams
from mesh_avatar.viewer.app import main


@pytest.fixture
def tiny_model_file(tiny_model_data, tmp_path):
    return save_model(tiny_model_data, tmp_path / "tiny.npz")


def test_screenshot_writes_a_png_of_the_avatar(tiny_model_file, tmp_path, capsys):
    out = tmp_path / "shot.png"
    args = ["--model", str(tiny_model_file), "--screenshot", str(out), "--size", "96x64"]
    assert main([*args, "--seed", "2"]) == 0
    image = np.asarray(Image.open(out))
    assert image.shape == (64, 96, 3)
    assert image.std() > 5  # an avatar on the background, not a blank image
    assert "wrote" in capsys.readouterr().out
    # --params shows exactly those coefficients: the mean face renders differently from seed 2.
    params_file = tmp_path / "neutral.json"
    AvatarParams.neutral(MorphableModel(load_model_npz(tiny_model_file)).layout).save(params_file)
    neutral = tmp_path / "neutral.png"
    assert (
        main(
            [
                "--model",
                str(tiny_model_file),
                "--screenshot",
                str(neutral),
                "--size",
                "96x64",
                "--params",
                str(params_file),
            ]
        )
        == 0
    )
    assert np.abs(np.asarray(Image.open(neutral)).astype(int) - image).mean() > 0.5


def test_bad_params_file_is_a_one_line_error(tiny_model_file, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    good = AvatarParams.neutral(MorphableModel(load_model_npz(tiny_model_file)).layout)
    payload = json.loads(good.to_bytes(".json"))
    payload["identity"][0][0] = float("nan")
    bad.write_text(json.dumps(payload))
    code = main(
        [
            "--model",
            str(tiny_model_file),
            "--screenshot",
            str(tmp_path / "x.png"),
            "--params",
            str(bad),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("viewer: error:") and "NaN" in err and err.count("\n") == 1


def test_screenshot_needs_a_png_name(tiny_model_file, tmp_path, capsys):
    code = main(["--model", str(tiny_model_file), "--screenshot", str(tmp_path / "x.jpg")])
    assert code == 2
    assert "must end in .png" in capsys.readouterr().err


def test_missing_model_is_a_one_line_error(tmp_path, capsys):
    code = main(["--model", str(tmp_path / "nope.npz"), "--screenshot", str(tmp_path / "x.png")])
    assert code == 2
    assert "model file not found" in capsys.readouterr().err
