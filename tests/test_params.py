import math

import numpy as np
import pytest
import torch

from mesh_avatar.errors import ParamsError
from mesh_avatar.params import AvatarParams, CoefficientLayout, default_ambient_sh

LAYOUT = CoefficientLayout(n_identity=5, n_expression=4, n_albedo=3)


def random_params(batch: int = 2, seed: int = 0) -> AvatarParams:
    g = torch.Generator().manual_seed(seed)
    flat = torch.randn(batch, LAYOUT.dim, generator=g) * 0.3
    params = AvatarParams.from_flat(flat, LAYOUT)
    return params.with_fields(expression=params.expression.abs().clamp(0, 1))


def test_layout_slices_cover_the_flat_vector_in_order():
    slices = LAYOUT.slices()
    assert list(slices) == ["identity", "expression", "albedo", "pose", "lighting"]
    assert slices["identity"] == slice(0, 5)
    assert slices["pose"] == slice(12, 18)
    assert slices["lighting"] == slice(18, 45)
    assert LAYOUT.dim == 45


def test_flat_round_trip_keeps_every_value():
    params = random_params(3)
    assert params.lighting.shape == (3, 9, 3)
    again = AvatarParams.from_flat(params.to_flat(), LAYOUT)
    for key, value in params.tensors().items():
        assert torch.equal(value, again.tensors()[key]), key


def test_from_flat_rejects_wrong_width():
    with pytest.raises(ParamsError, match=r"shape \(B, 45\)"):
        AvatarParams.from_flat(torch.zeros(2, 44), LAYOUT)


def test_neutral_is_valid_and_lit_by_unit_ambient_light():
    params = AvatarParams.neutral(LAYOUT, batch_size=2).validate(LAYOUT)
    assert params.batch_size == 2
    assert torch.all(params.lighting[:, 0] == default_ambient_sh())
    assert torch.all(params.lighting[:, 1:] == 0)
    assert math.isclose(default_ambient_sh() / (2 * math.sqrt(math.pi)), 1.0)


@pytest.mark.parametrize("suffix", [".json", ".npz"])
def test_save_load_round_trip(tmp_path, suffix):
    params = random_params(2)
    path = params.save(tmp_path / f"p{suffix}")
    loaded = AvatarParams.load(path)
    for key, value in params.tensors().items():
        torch.testing.assert_close(loaded.tensors()[key], value, rtol=0, atol=0)


def test_npz_bytes_are_deterministic(tmp_path):
    params = random_params(1)
    assert params.to_bytes(".npz") == params.to_bytes(".npz")


def test_select_and_cat_are_inverse():
    params = random_params(3)
    parts = [params.select(i) for i in range(3)]
    assert all(p.batch_size == 1 for p in parts)
    joined = AvatarParams.cat(parts)
    assert torch.equal(joined.to_flat(), params.to_flat())


def test_validate_reports_nan_with_field_and_count():
    params = random_params(2)
    params.identity[1, 2] = float("nan")
    with pytest.raises(ParamsError, match=r"identity contains 1 NaN"):
        params.validate(LAYOUT)


def test_validate_reports_wrong_size_against_model_layout():
    params = random_params(1)
    other = CoefficientLayout(n_identity=6, n_expression=4, n_albedo=3)
    with pytest.raises(ParamsError, match="identity has 5 coefficients but the model expects 6"):
        params.validate(other)


def test_validate_reports_out_of_range_values():
    params = random_params(1)
    params.expression[0, 0] = 3.0
    with pytest.raises(ParamsError, match=r"expression values must lie in \[-0.5, 1.5\]"):
        params.validate(LAYOUT)
    params = random_params(1)
    params.pose[0, 0] = 4.0
    with pytest.raises(ParamsError, match="pose rotation"):
        params.validate(LAYOUT)


def test_load_json_with_nan_names_the_file(tmp_path):
    path = tmp_path / "bad.json"
    arrays = random_params(1).to_numpy()
    text = "{" + ", ".join(f'"{k}": {np.asarray(v).tolist()}' for k, v in arrays.items()) + "}"
    path.write_text(text.replace("[[", "[[NaN, ", 1))
    params = AvatarParams.load(path)
    with pytest.raises(ParamsError, match=r"bad\.json: identity contains 1 NaN"):
        params.validate(source=str(path))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"identity": [0]}', "missing field"),
        (
            '{"identity": [0], "expression": [0], "albedo": [0], "pose": [0], "lighting": [0],'
            ' "shoe_size": 3}',
            "unknown field",
        ),
    ],
)
def test_load_rejects_malformed_files(tmp_path, content, message):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(ParamsError, match=message):
        AvatarParams.load(path)


def test_load_missing_file_and_bad_suffix(tmp_path):
    with pytest.raises(ParamsError, match="not found"):
        AvatarParams.load(tmp_path / "none.json")
    (tmp_path / "p.txt").write_text("x")
    with pytest.raises(ParamsError, match="unsupported params file type"):
        AvatarParams.load(tmp_path / "p.txt")
