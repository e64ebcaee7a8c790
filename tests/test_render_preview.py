"""mesh_avatar.preview: rendering AvatarParams through a MorphableModel, PNG output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.morphable import MorphableModel
from mesh_avatar.params import AvatarParams
from mesh_avatar.preview import (
    images_to_uint8,
    portrait_camera,
    render_avatars,
    save_png,
)
from renderers import create_renderer


def test_default_portrait_frames_the_head(tiny_model: MorphableModel) -> None:
    params = AvatarParams.neutral(tiny_model.layout, 2)
    out = render_avatars(tiny_model, params, image_size=64)
    assert out.images.shape == (2, 3, 64, 64) and out.alpha.shape == (2, 1, 64, 64)
    mask = out.alpha[0, 0] > 0.5
    rows = mask.any(1).nonzero()[:, 0]
    cols = mask.any(0).nonzero()[:, 0]
    height = int(rows.max() - rows.min() + 1)
    # The mean head's bounding box fills ~85% of the image height and is centred.
    assert 0.7 * 64 <= height <= 0.9 * 64
    assert abs(float(rows.float().mean()) - 31.5) < 3 and abs(float(cols.float().mean()) - 31.5) < 3
    torch.testing.assert_close(out.images[0], out.images[1])


def test_pose_and_lighting_of_the_params_are_used(tiny_model: MorphableModel) -> None:
    params = AvatarParams.neutral(tiny_model.layout, 3)
    pose = params.pose.clone()
    pose[1, 0] = 0.5  # yaw
    lighting = params.lighting.clone()
    lighting[2] *= 0.5  # half as bright
    params = AvatarParams(params.identity, params.expression, params.albedo, pose, lighting)
    out = render_avatars(tiny_model, params, image_size=48, renderer="fast")
    assert not torch.equal(out.face_ids[0], out.face_ids[1])
    torch.testing.assert_close(out.face_ids[0], out.face_ids[2])
    inside = out.alpha[0, 0] == 1
    assert float(out.images[2][:, inside].mean()) < float(out.images[0][:, inside].mean()) - 0.2


def test_gradients_reach_every_params_group(tiny_model: MorphableModel) -> None:
    base = AvatarParams.neutral(tiny_model.layout, 1)
    leaves = {
        name: getattr(base, name).clone().requires_grad_(True)
        for name in ("identity", "expression", "albedo", "pose", "lighting")
    }
    out = render_avatars(tiny_model, AvatarParams(**leaves), image_size=32)
    weights = torch.randn(out.images.shape, generator=torch.Generator().manual_seed(0))
    (out.images * weights).sum().backward()
    for name, leaf in leaves.items():
        assert leaf.grad is not None and float(leaf.grad.abs().sum()) > 0, name


def test_renderer_instance_and_backends_agree(tiny_model: MorphableModel) -> None:
    params = AvatarParams.neutral(tiny_model.layout, 1)
    a = render_avatars(tiny_model, params, image_size=32, renderer=create_renderer("fast"))
    b = render_avatars(tiny_model, params, image_size=32, renderer="pytorch3d")
    assert float((a.images - b.images).abs().mean()) < 1e-3


def test_bad_renderer_name_is_a_mesh_avatar_error(tiny_model: MorphableModel) -> None:
    params = AvatarParams.neutral(tiny_model.layout, 1)
    with pytest.raises(MeshAvatarError, match="unknown renderer 'opengl'"):
        render_avatars(tiny_model, params, renderer="opengl")


def test_images_to_uint8_and_png_round_trip(tmp_path: Path) -> None:
    images = torch.tensor([-1.0, 0.0, 1.0, 2.0])[None, None, None, :].expand(1, 3, 2, 4)
    pixels = images_to_uint8(images)
    assert pixels.shape == (1, 2, 4, 3) and pixels.dtype == np.uint8
    assert pixels[0, 0, :, 0].tolist() == [0, 128, 255, 255]
    path = save_png(tmp_path / "sub" / "a.png", pixels[0])
    assert path.is_file() and not list(path.parent.glob(".*tmp"))
    np.testing.assert_array_equal(np.asarray(Image.open(path)), pixels[0])
    with pytest.raises(MeshAvatarError, match=r"\(B, 3, H, W\)"):
        images_to_uint8(torch.zeros(3, 4, 4))


def test_portrait_camera_is_a_batch_one_camera_on_plus_z(tiny_model: MorphableModel) -> None:
    camera = portrait_camera(tiny_model)
    assert camera.batch_size == 1
    position = camera.position[0]
    assert float(position[2]) > 0.2 and abs(float(position[0])) < 1e-6


def test_portrait_camera_can_frame_a_region(tiny_model: MorphableModel) -> None:
    head = portrait_camera(tiny_model)
    jaw = portrait_camera(tiny_model, region="jaw")  # a smaller box: the camera comes closer
    assert float(jaw.position[0, 2]) < float(head.position[0, 2])
    mask = torch.from_numpy(tiny_model.data.regions["jaw"])
    centre = tiny_model.mean_vertices.reshape(-1, 3)[mask]
    expected_y = float(centre[:, 1].amin() + centre[:, 1].amax()) / 2
    assert float(jaw.position[0, 1]) == pytest.approx(expected_y, abs=1e-6)
    # A region the model lacks frames the whole head.
    missing = portrait_camera(tiny_model, region="no_such_region")
    torch.testing.assert_close(missing.position, head.position)
