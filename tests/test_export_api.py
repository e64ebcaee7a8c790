"""ExportOptions validation, export_avatar/export_files API, and the `mesh-avatar export` command."""

from __future__ import annotations

import json
import os
from dataclasses import replace

import numpy as np
import pytest
import torch
from support.gltf_reader import read_glb
from support.gltf_validator import assert_valid_gltf

from mesh_avatar.avatar import build_avatar_mesh
from mesh_avatar.cli import main
from mesh_avatar.errors import ExportError
from mesh_avatar.export import ExportOptions, export_avatar, export_files
from mesh_avatar.morphable import MorphableModel, save_model
from mesh_avatar.sampling import sample_prior


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"texture_size": 100}, "between 256 and 2048 pixels, got 100"),
        ({"texture_size": 4096}, "between 256 and 2048 pixels, got 4096"),
        ({"texture_size": 512.0}, "whole number of pixels"),
        ({"texture_format": "gif"}, "texture format must be one of jpeg, png, got 'gif'"),
        ({"jpeg_quality": 0}, "JPEG quality"),
        ({"lods": ()}, "at least one level of detail"),
        ({"lods": (0, 3)}, "unknown level"),
        ({"lods": 1}, "lods must be a list"),
        ({"morph_target_names": "unity"}, "morph target naming must be one of arkit, lr"),
        ({"joint_weight_type": "half"}, "joint weight type"),
        ({"sparse_morph_targets": "yes"}, "sparse_morph_targets must be True or False"),
    ],
)
def test_bad_options_are_export_errors(changes, message):
    with pytest.raises(ExportError, match=message):
        ExportOptions(**changes)


def test_options_normalise_lods():
    assert ExportOptions(lods=[2, 0, 2]).lods == (2, 0)


@pytest.fixture(scope="module")
def mesh(tiny_model_data):
    model = MorphableModel(tiny_model_data)
    return build_avatar_mesh(model, sample_prior(model, 1, seed=2), 256)


@pytest.mark.parametrize(
    ("formats", "stem", "message"),
    [
        (("fbx",), "a", "unknown export format"),
        ((), "a", "no export format"),
        (("glb",), "sub/a", "folder separator"),
        (("glb",), "", "invalid output file name"),
    ],
)
def test_bad_export_arguments(mesh, formats, stem, message):
    with pytest.raises(ExportError, match=message):
        export_files(mesh, stem, formats, ExportOptions(256))


def test_invalid_mesh_is_an_export_error(mesh):
    bad = replace(mesh, vertices=np.full_like(mesh.vertices, np.nan))
    with pytest.raises(ExportError, match="NaN"):
        export_files(bad, "a", "glb", ExportOptions(256))


def test_unwritable_folder_is_an_export_error(mesh, tmp_path):
    if os.geteuid() == 0:
        target = tmp_path / "file"
        target.write_text("x")
        folder = target / "sub"  # a folder under a regular file cannot exist
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
    with pytest.raises(ExportError, match="output"):
        export_avatar(mesh, folder, "a", ("glb",), ExportOptions(256))


def test_export_avatar_order_and_comma_formats(mesh, tmp_path):
    paths = export_avatar(mesh, tmp_path, "x", "obj,glb", ExportOptions(256, lods=(0, 1)))
    names = [p.name for p in paths]
    assert names[0] == "x.obj" and "x.glb" in names and "x_lod1.glb" in names
    assert all(p.is_file() for p in paths)
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary files left behind


# ------------------------------------------------------------------------------------ command
@pytest.fixture(scope="module")
def model_file(tmp_path_factory, tiny_model_data):
    path = tmp_path_factory.mktemp("model") / "tiny.npz"
    save_model(tiny_model_data, path)
    return path


@pytest.fixture
def params_file(tmp_path, tiny_model_data):
    model = MorphableModel(tiny_model_data)
    return sample_prior(model, 1, seed=8).save(tmp_path / "face.params.json")


def test_export_command_writes_a_valid_glb(tmp_path, model_file, params_file, capsys):
    out = tmp_path / "out"
    code = main(["export", str(params_file), "--model", str(model_file), "--out", str(out)])
    assert code == 0
    assert str(out.resolve()) in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == ["face.glb", "face.params.json"]
    assert_valid_gltf(out / "face.glb")
    doc = read_glb(out / "face.glb")
    coefficients = doc.asset.extras["coefficients"]
    saved = json.loads(params_file.read_text())
    np.testing.assert_allclose(coefficients["identity"], saved["identity"][0], rtol=1e-6)
    assert doc.asset.extras["params_file"] == "face.params.json"


def test_export_command_file_name_sets_the_format(tmp_path, model_file, params_file):
    target = tmp_path / "dir" / "head.gltf"
    args = ["export", str(params_file), "--model", str(model_file), "--out", str(target)]
    assert main([*args, "--lod", "0,2", "--texture-format", "png"]) == 0
    names = sorted(p.name for p in target.parent.iterdir())
    assert names == [
        "head.bin",
        "head.gltf",
        "head.params.json",
        "head_albedo.png",
        "head_lod2.bin",
        "head_lod2.gltf",
    ]
    assert_valid_gltf(target)
    assert_valid_gltf(target.parent / "head_lod2.gltf")


def test_export_command_several_formats(tmp_path, model_file, params_file):
    out = tmp_path / "o"
    args = ["export", str(params_file), "--model", str(model_file), "--out", str(out)]
    assert main([*args, "--format", "glb,obj", "--morph-target-names", "lr"]) == 0
    assert {"face.glb", "face.obj", "face.mtl", "face_albedo.png"} <= {
        p.name for p in out.iterdir()
    }
    assert read_glb(out / "face.glb").meshes[0].extras["targetNames"][0] == "eyeBlink_L"


@pytest.mark.parametrize("flag, sparse", [([], True), (["--no-sparse-morph-targets"], False)])
def test_export_command_sparse_morph_targets_by_default(
    tmp_path, model_file, params_file, flag, sparse
):
    out = tmp_path / "o"
    assert (
        main(["export", str(params_file), "--model", str(model_file), "--out", str(out), *flag])
        == 0
    )
    doc = read_glb(out / "face.glb")
    target = doc.meshes[0].primitives[0].targets[0]["POSITION"]
    assert (doc.accessors[target].sparse is not None) == sparse


def test_export_command_errors_are_one_line(tmp_path, model_file, tiny_model_data, capsys):
    model = MorphableModel(tiny_model_data)
    params = sample_prior(model, 1, seed=1)
    nan = params.with_fields(identity=torch.full_like(params.identity, float("nan")))
    nan_file = nan.save(tmp_path / "nan.params.json")
    good_file = params.save(tmp_path / "good.params.json")
    cases = [
        ([str(tmp_path / "missing.json")], "params file not found"),
        ([str(nan_file)], "NaN"),
        ([str(good_file), "--texture-size", "64"], "256 and 2048"),
    ]
    for extra, message in cases:
        code = main(["export", *extra, "--model", str(model_file), "--out", str(tmp_path / "o")])
        err = capsys.readouterr().err
        assert code != 0 and message in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exit_info:
        main(["export", str(good_file), "--format", "fbx"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "unknown value(s) fbx" in err


def test_an_exported_glb_regenerates_its_avatar(tmp_path, model_file, params_file):
    first = tmp_path / "first"
    assert main(["export", str(params_file), "--model", str(model_file), "--out", str(first)]) == 0
    again = tmp_path / "again"
    glb = first / "face.glb"
    assert main(["export", str(glb), "--model", str(model_file), "--out", str(again)]) == 0
    a, b = read_glb(glb), read_glb(again / "face.glb")
    position = a.meshes[0].primitives[0].attributes.POSITION
    assert a.accessors[position].max == b.accessors[position].max
    assert a.binary_blob() == b.binary_blob()


def test_a_glb_without_coefficients_is_a_params_error(tmp_path, model_file, capsys):
    fake = tmp_path / "fake.glb"
    fake.write_bytes(b"not a glb at all")
    code = main(["export", str(fake), "--model", str(model_file), "--out", str(tmp_path)])
    assert code == 2 and "not a readable glTF file" in capsys.readouterr().err
