import dataclasses
import zipfile

import numpy as np
import pytest
import torch

from mesh_avatar.errors import ModelFileError
from mesh_avatar.morphable import (
    MorphableModel,
    load_model,
    load_model_npz,
    model_to_bytes,
    parse_model_spec,
    save_model,
)
from mesh_avatar.morphable.decode import apply_pose, euler_to_matrix, vertex_normals
from mesh_avatar.params import AvatarParams
from mesh_avatar.sampling import sample_prior


def test_model_file_round_trip_is_exact(tmp_path, tiny_model_data):
    path = save_model(tiny_model_data, tmp_path / "m.npz")
    loaded = load_model_npz(path)
    for f in dataclasses.fields(tiny_model_data):
        want, got = getattr(tiny_model_data, f.name), getattr(loaded, f.name)
        if isinstance(want, np.ndarray):
            np.testing.assert_array_equal(got, want, err_msg=f.name)
        elif isinstance(want, dict):
            assert want.keys() == got.keys()
            for key in want:
                np.testing.assert_array_equal(got[key], want[key])
        else:
            assert got == want, f.name


def test_model_bytes_are_deterministic_and_float16_is_smaller(tiny_model_data):
    full = model_to_bytes(tiny_model_data)
    assert full == model_to_bytes(tiny_model_data)
    half = model_to_bytes(tiny_model_data, float16=("identity_basis", "albedo_basis"))
    assert len(half) < len(full)


def test_truncated_model_file_names_the_file(tmp_path, tiny_model_data):
    data = model_to_bytes(tiny_model_data)
    path = tmp_path / "cut.npz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"cut\.npz: not a complete \.npz archive"):
        load_model_npz(path)


def test_missing_array_and_wrong_format_are_named(tmp_path, tiny_model_data):
    good = tmp_path / "good.npz"
    save_model(tiny_model_data, good)
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(tmp_path / "gap.npz", "w") as dst:
        for item in src.infolist():
            if item.filename != "identity_std.npy":
                dst.writestr(item, src.read(item))
    with pytest.raises(ModelFileError, match=r"gap\.npz: missing array\(s\) identity_std"):
        load_model_npz(tmp_path / "gap.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ModelFileError, match="not a mesh-avatar-3dmm file"):
        load_model_npz(tmp_path / "other.npz")
    with pytest.raises(ModelFileError, match="model file not found"):
        load_model(str(tmp_path / "absent.npz"))


def test_inconsistent_arrays_are_reported(tiny_model_data):
    broken = dataclasses.replace(tiny_model_data, faces=tiny_model_data.faces + 10_000)
    with pytest.raises(ModelFileError, match="faces index vertices outside"):
        broken.validate("broken")
    nan_basis = tiny_model_data.identity_basis.copy()
    nan_basis[0, 0, 0] = np.nan
    with pytest.raises(ModelFileError, match="identity_basis contains NaN"):
        dataclasses.replace(tiny_model_data, identity_basis=nan_basis).validate("x")


def test_parse_model_spec():
    assert parse_model_spec("default").kind == "default"
    assert parse_model_spec("ict:/data/ict").kind == "ict"
    assert parse_model_spec("model.npz").kind == "npz"
    with pytest.raises(ModelFileError, match="cannot tell the model format"):
        parse_model_spec("face.obj")


def test_decode_matches_a_naive_loop(tiny_model, tiny_model_data):
    params = sample_prior(tiny_model, 3, seed=5)
    out = tiny_model(params)
    d = tiny_model_data
    for b in range(3):
        want = d.vertices.astype(np.float64).copy()
        for k in range(d.identity_basis.shape[0]):
            want += params.identity[b, k].item() * d.identity_std[k] * d.identity_basis[k]
        for k in range(d.expression_basis.shape[0]):
            want += params.expression[b, k].item() * d.expression_basis[k]
        np.testing.assert_allclose(out.vertices[b].numpy(), want, atol=1e-6)
    assert out.albedo.shape == (3, *d.albedo_mean.shape)


def test_albedo_upsamples_low_resolution_basis(tiny_model, tiny_model_data):
    params = AvatarParams.neutral(tiny_model.layout, 1)
    mean = tiny_model(params).albedo[0].numpy()
    np.testing.assert_allclose(mean, tiny_model_data.albedo_mean, atol=1e-7)
    shifted = params.with_fields(albedo=torch.tensor([[1.0, 0.0, 0.0]]))
    delta = tiny_model(shifted).albedo[0].numpy() - mean
    # The first basis direction is a constant colour, so upsampling keeps it constant.
    expected = tiny_model_data.albedo_std[0] * tiny_model_data.albedo_basis[0, 0, 0]
    np.testing.assert_allclose(delta, np.broadcast_to(expected, delta.shape), atol=1e-6)


def test_decode_is_differentiable(tiny_model):
    params = sample_prior(tiny_model, 2, seed=1)
    identity = params.identity.clone().requires_grad_(True)
    out = tiny_model(params.with_fields(identity=identity))
    out.posed_vertices.square().sum().backward()
    assert identity.grad is not None and torch.isfinite(identity.grad).all()
    assert identity.grad.abs().sum() > 0


def test_euler_rotation_is_orthonormal_and_yaw_turns_face_to_plus_x():
    angles = torch.tensor([[0.3, -0.2, 0.1], [np.pi / 2, 0.0, 0.0]])
    rot = euler_to_matrix(angles)
    torch.testing.assert_close(rot @ rot.transpose(1, 2), torch.eye(3).expand(2, 3, 3))
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(2))
    forward = rot[1] @ torch.tensor([0.0, 0.0, 1.0])
    torch.testing.assert_close(forward, torch.tensor([1.0, 0.0, 0.0]), atol=1e-6, rtol=0)


def test_apply_pose_translates_after_rotating():
    verts = torch.tensor([[[0.0, 0.0, 1.0]]])
    pose = torch.tensor([[np.pi / 2, 0, 0, 0.0, 2.0, 0.0]], dtype=torch.float32)
    torch.testing.assert_close(
        apply_pose(verts, pose), torch.tensor([[[1.0, 2.0, 0.0]]]), atol=1e-6, rtol=0
    )


def test_vertex_normals_point_outward(tiny_model):
    verts = tiny_model.mean_vertices.reshape(1, -1, 3)
    normals = vertex_normals(verts, tiny_model.faces)[0]
    torch.testing.assert_close(normals.norm(dim=1), torch.ones(len(normals)))
    assert ((normals * verts[0]).sum(1) > 0).float().mean() > 0.99


def test_model_moves_to_another_dtype_device_with_buffers(tiny_model):
    state = tiny_model.state_dict()
    assert {"faces", "identity_directions", "albedo_mean"} <= set(state)
    assert isinstance(tiny_model, MorphableModel)


def test_uint8_albedo_matches_the_float_path(tiny_model):
    from mesh_avatar.avatar import texture_to_uint8

    params = sample_prior(tiny_model, 4, seed=11)
    for i in range(4):
        coeffs = params.albedo[i] * 3.0  # push some texels past [0, 1] to exercise the clamp
        fast = tiny_model.albedo_uint8(coeffs).numpy()
        slow = texture_to_uint8(tiny_model.albedo(coeffs[None])[0])
        assert fast.shape == slow.shape and fast.dtype == np.uint8
        assert np.abs(fast.astype(int) - slow.astype(int)).max() <= 1
        assert (fast == slow).mean() > 0.99
