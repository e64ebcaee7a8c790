"""The `mesh-avatar generate` command: files, determinism, round trip and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree
from support.gltf_reader import accessor_array, read_glb
from support.gltf_validator import assert_valid_gltf

from mesh_avatar.cli import main
from mesh_avatar.morphable import load_model
from mesh_avatar.params import AvatarParams
from mesh_avatar.sampling import sample_prior


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def folder_bytes(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_generate_writes_valid_files_and_is_reproducible(tmp_path, capsys):
    args = ["generate", "--n", "3", "--seed", "7", "--texture-size", "256", "--preview"]
    assert run_cli([*args, "--out", str(tmp_path / "a")], capsys)[0] == 0
    assert run_cli([*args, "--out", str(tmp_path / "b")], capsys)[0] == 0
    first, second = folder_bytes(tmp_path / "a"), folder_bytes(tmp_path / "b")
    assert first == second
    for i in range(3):
        for suffix in (".glb", ".obj", ".mtl", ".params.json", ".png"):
            assert f"avatar_{i:05d}{suffix}" in first
    for i in range(3):
        assert_valid_gltf(tmp_path / "a" / f"avatar_{i:05d}.glb")
    # Avatar 2 generated alone is the same file as avatar 2 of the batch.
    alone = tmp_path / "alone"
    code, _, _ = run_cli(
        ["generate", "--n", "1", "--start", "2", "--seed", "7", "--texture-size", "256",
         "--out", str(alone)], capsys,
    )  # fmt: skip
    assert code == 0
    for name, data in folder_bytes(alone).items():
        assert first[name] == data, name


def test_generated_glb_holds_the_decoded_vertices_and_params(tmp_path, capsys):
    out = tmp_path / "o"
    assert (
        run_cli(["generate", "--seed", "3", "--format", "glb", "--out", str(out)], capsys)[0] == 0
    )
    model = load_model("default")
    params = sample_prior(model, 1, seed=3)
    saved = AvatarParams.load(out / "avatar_00000.params.json")
    np.testing.assert_array_equal(saved.to_flat().numpy(), params.to_flat().numpy())

    doc = read_glb(out / "avatar_00000.glb")
    positions = accessor_array(doc, doc.meshes[0].primitives[0].attributes.POSITION)
    neutral = model.shape(params.identity, params.expression * 0)[0].numpy()
    # Vertices are split at UV seams, so compare as point sets: every glTF vertex is a model
    # vertex, and every model vertex appears.
    nearest, _ = cKDTree(neutral).query(positions)
    assert nearest.max() < 1e-6
    back, _ = cKDTree(positions).query(neutral)
    assert back.max() < 1e-6
    extras = doc.asset.extras
    assert (extras["seed"], extras["index"], extras["model"]) == (3, 0, "default")
    assert extras["coefficients"]["identity"] == pytest.approx(params.identity[0].tolist())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--n", "0"], "--n: must be at least 1"),
        (["--n", "-1"], "--n: must be at least 1"),
        (["--model", "/no/such/model.npz"], "model file not found: /no/such/model.npz"),
        (["--out", "/proc/mesh-avatar-out"], "cannot create output folder /proc/mesh-avatar-out"),
        (["--format", "fbx"], "unknown value(s) fbx"),
        (["--truncation", "0"], "--truncation must lie in (0, 1]"),
    ],
)
def test_bad_input_gives_one_line_error(tmp_path, capsys, args, message):
    if "--out" not in args:
        args = [*args, "--out", str(tmp_path / "o")]
    try:
        code, _, err = run_cli(["generate", *args], capsys)
    except SystemExit as exc:  # argparse errors exit through SystemExit
        code, err = exc.code, capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err


def test_export_rejects_params_with_nan(tmp_path, capsys):
    model = load_model("default")
    params = sample_prior(model, 1, seed=0)
    params.identity[0, 0] = float("nan")
    path = params.save(tmp_path / "nan.params.json")
    code, _, err = run_cli(["export", str(path), "--out", str(tmp_path / "x.glb")], capsys)
    assert code == 2
    assert "nan.params.json: identity contains 1 NaN" in err
    assert err.strip().count("\n") == 0
    assert not (tmp_path / "x.glb").exists()


def test_preview_renderer_backends_draw_the_same_picture(tmp_path, capsys):
    from PIL import Image

    images = {}
    for backend in ("fast", "pytorch3d"):
        out = tmp_path / backend
        args = ["generate", "--seed", "4", "--format", "obj", "--texture-size", "256", "--preview"]
        assert run_cli([*args, "--renderer", backend, "--out", str(out)], capsys)[0] == 0
        images[backend] = np.asarray(Image.open(out / "avatar_00000.png"), dtype=np.float32)
    assert images["fast"].shape == (256, 256, 3)
    assert np.abs(images["fast"] - images["pytorch3d"]).mean() < 1.0  # 8-bit levels
    assert images["fast"].std() > 10  # a lit head on white, not a blank image
