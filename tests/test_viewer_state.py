"""The viewer's GUI-free state: sliders -> geometry and texture, Random, Reset, Export."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mesh_avatar.errors import MeshAvatarError, ParamsError
from mesh_avatar.params import AvatarParams
from mesh_avatar.pipeline import AvatarSource
from mesh_avatar.sampling import sample_prior
from mesh_avatar.viewer.state import (
    REBLEND_EVERY,
    Change,
    ViewerConfig,
    ViewerState,
    albedo_order,
    slider_specs,
    split_uv_seams,
)


@pytest.fixture
def state(tiny_model) -> ViewerState:
    return ViewerState(AvatarSource(model=tiny_model, model_spec="tiny"))


def reference_geometry(model, params: AvatarParams, vertex_index: np.ndarray):
    """Positions and normals decoded from scratch, gathered to render vertices."""
    with torch.no_grad():
        vertices = model(params).vertices
        normals = model.vertex_normals(vertices)[0]
    return vertices[0].numpy()[vertex_index], normals.numpy()[vertex_index]


def test_split_uv_seams_keeps_faces_and_uvs(tiny_model_data):
    data = tiny_model_data
    topo = split_uv_seams(data.faces, data.face_uvs, data.uvs)
    np.testing.assert_array_equal(topo.vertex_index[topo.faces], data.faces)
    np.testing.assert_array_equal(topo.uvs[topo.faces], data.uvs[data.face_uvs])
    # The tiny head has a UV seam at the back: some positions get two render vertices.
    assert data.n_vertices < topo.n_vertices <= data.faces.size
    assert len(np.unique(topo.vertex_index)) == data.n_vertices


def test_slider_specs_group_names_and_ranges(tiny_model):
    specs = slider_specs(tiny_model, sigma_range=2.5)
    groups = [s.group for s in specs]
    assert groups.count("identity") == tiny_model.layout.n_identity
    assert [s.name for s in specs if s.group == "expression"] == tiny_model.expression_names
    expression = next(s for s in specs if s.group == "expression")
    assert (expression.minimum, expression.maximum) == (0.0, 1.0)
    identity = next(s for s in specs if s.group == "identity")
    assert (identity.minimum, identity.maximum) == (-2.5, 2.5)
    assert next(s.name for s in specs if s.group == "albedo") == "skin_tone"


def test_albedo_order_puts_skin_tone_first():
    assert albedo_order(["albedo_000", "albedo_001", "Skin tone", "x"]) == [2, 0, 1, 3]
    assert albedo_order(["a", "b"]) == [0, 1]


def test_neutral_geometry_matches_a_full_decode(state, tiny_model):
    positions, normals = state.geometry()
    ref_p, ref_n = reference_geometry(
        tiny_model, AvatarParams.neutral(tiny_model.layout), state.topology.vertex_index
    )
    np.testing.assert_allclose(positions, ref_p, atol=1e-6)
    np.testing.assert_allclose(normals, ref_n, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)


def test_shape_slider_changes_geometry_not_texture(state, tiny_model):
    before_positions = state.geometry()[0].copy()
    texture = state.texture()
    change = state.set_value("identity", 1, 2.0)
    assert change == Change(geometry=True)
    assert state.texture() is texture  # cached, not re-decoded
    positions, normals = state.geometry()
    assert not np.allclose(positions, before_positions)
    ref_p, ref_n = reference_geometry(tiny_model, state.params, state.topology.vertex_index)
    np.testing.assert_allclose(positions, ref_p, atol=1e-6)
    np.testing.assert_allclose(normals, ref_n, atol=1e-5)


def test_expression_slider_is_clamped_and_decoded(state, tiny_model):
    jaw = tiny_model.expression_names.index("jawOpen")
    assert state.set_value("expression", jaw, 3.0).geometry
    assert state.value("expression", jaw) == 1.0
    ref_p, _ = reference_geometry(tiny_model, state.params, state.topology.vertex_index)
    np.testing.assert_allclose(state.geometry()[0], ref_p, atol=1e-6)
    assert state.set_value("expression", jaw, 1.0) == Change()  # no move, nothing to redo


def test_many_incremental_moves_stay_exact(state, tiny_model):
    rng = np.random.default_rng(0)
    for _ in range(REBLEND_EVERY + 37):
        group = "identity" if rng.random() < 0.5 else "expression"
        count = state.values(group).shape[0]
        state.set_value(group, int(rng.integers(count)), float(rng.uniform(-3, 3)))
    ref_p, _ = reference_geometry(tiny_model, state.params, state.topology.vertex_index)
    np.testing.assert_allclose(state.geometry()[0], ref_p, atol=1e-6)


def test_albedo_slider_changes_texture_not_geometry(state, tiny_model):
    geometry = state.geometry()
    before = state.texture().copy()
    assert state.set_value("albedo", 0, 2.0) == Change(texture=True)
    assert state.geometry() is geometry
    after = state.texture()
    assert after.dtype == np.uint8 and after.shape == before.shape
    assert np.abs(after.astype(int) - before).mean() > 1.0
    with torch.no_grad():
        ref = tiny_model.albedo(state.params.albedo)[0].clamp(0, 1).numpy()
    np.testing.assert_allclose(after / 255.0, ref, atol=1.0 / 255 + 1e-6)


def test_bad_slider_moves_are_rejected(state):
    with pytest.raises(MeshAvatarError, match="no index 99"):
        state.set_value("identity", 99, 1.0)
    with pytest.raises(MeshAvatarError, match="unknown coefficient group"):
        state.set_value("pose", 0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ParamsError, match="finite"):
        state.set_value("albedo", 0, float("nan"))
    with pytest.raises(MeshAvatarError, match="no slider named"):
        state.spec("identity/nope")


def test_randomize_matches_the_prior_and_advances_the_seed(tiny_model):
    state = ViewerState(AvatarSource(model=tiny_model, model_spec="tiny"), ViewerConfig(seed=4))
    version = state.version
    assert state.randomize(11) == Change(geometry=True, texture=True)
    assert state.seed == 11 and state.version > version
    expected = sample_prior(tiny_model, 1, 11)
    assert torch.equal(state.params.to_flat(), expected.to_flat())
    state.randomize()
    assert state.seed == 12
    assert torch.equal(state.params.to_flat(), sample_prior(tiny_model, 1, 12).to_flat())
    ref_p, _ = reference_geometry(tiny_model, state.params, state.topology.vertex_index)
    np.testing.assert_allclose(state.geometry()[0], ref_p, atol=1e-6)


def test_truncation_shrinks_prior_samples_towards_the_mean(state, tiny_model):
    state.set_truncation(0.5)
    state.randomize(3)
    full = sample_prior(tiny_model, 1, 3)
    torch.testing.assert_close(state.params.identity, full.identity * 0.5)
    torch.testing.assert_close(state.params.albedo, full.albedo * 0.5)
    with pytest.raises(MeshAvatarError, match="truncation"):
        state.set_truncation(0.0)
    with pytest.raises(MeshAvatarError, match="seed"):
        state.randomize(-1)


def test_reset_returns_to_the_mean_face(state, tiny_model):
    state.randomize(5)
    state.set_value("identity", 0, 1.5)
    state.reset()
    neutral = AvatarParams.neutral(tiny_model.layout)
    assert torch.equal(state.params.to_flat(), neutral.to_flat())
    assert state.seed == 5  # the seed box keeps its value


def test_set_params_validates(state, tiny_model):
    good = sample_prior(tiny_model, 1, 2)
    state.set_params(good)
    assert torch.equal(state.params.to_flat(), good.to_flat())
    bad = good.with_fields(identity=torch.full_like(good.identity, float("nan")))
    with pytest.raises(ParamsError, match="NaN"):
        state.set_params(bad, source="bad.json")
    with pytest.raises(ParamsError, match="one avatar"):
        state.set_params(sample_prior(tiny_model, 2, 2))


def test_config_is_validated():
    with pytest.raises(MeshAvatarError, match="seed"):
        ViewerConfig(seed=-3)
    with pytest.raises(MeshAvatarError, match="truncation"):
        ViewerConfig(truncation=1.5)
    with pytest.raises(MeshAvatarError, match="display_texture_size"):
        ViewerConfig(display_texture_size=4)


def test_export_rejects_unknown_suffix(state, tmp_path):
    with pytest.raises(MeshAvatarError, match="must end in"):
        state.export(tmp_path / "avatar.fbx")


def test_display_albedo_matches_full_resolution_decode_downsampled():
    import torch.nn.functional as F

    from mesh_avatar.viewer.state import DisplayAlbedo

    gen = torch.Generator().manual_seed(0)
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 256), torch.linspace(0, 1, 256), indexing="ij")
    mean = torch.stack([0.6 + 0.2 * xx, 0.5 + 0.2 * yy, 0.4 + 0.1 * xx * yy], -1)
    directions = 0.05 * torch.randn(4, 32, 32, 3, generator=gen)
    coeffs = torch.tensor([[1.5, -2.0, 0.5, 3.0]])
    shown = DisplayAlbedo(mean, directions, size=128).decode(coeffs)
    assert shown.shape == (128, 128, 3) and shown.dtype == np.uint8
    full = tiny_albedo_reference(mean, directions, coeffs)
    down = F.interpolate(full.permute(2, 0, 1)[None], size=(128, 128), mode="area")[0]
    expected = (down.permute(1, 2, 0).clamp(0, 1) * 255).numpy()
    assert np.abs(shown.astype(float) - expected).max() <= 4.0
    # Smaller models are shown at their own resolution, never upsampled.
    assert DisplayAlbedo(mean, directions, size=1024).decode(coeffs).shape == (256, 256, 3)


def tiny_albedo_reference(mean, directions, coeffs):
    from mesh_avatar.morphable.decode import albedo_texture

    return albedo_texture(mean, directions, coeffs)[0]
