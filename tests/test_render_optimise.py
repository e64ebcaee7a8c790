"""Inverse rendering: recover a target avatar's identity, albedo and pose from one rendered image.

Starting from the mean face (neutral pose), Adam on the image MSE through each backend must reach,
after 200 steps at 48 px on the tiny model: head-pose angles within 0.015 rad and translation within
1 mm, albedo coefficients within 0.05 std, and the RMS identity-shape error (model space) under half
of its starting value.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from mesh_avatar.morphable import MorphableModel
from mesh_avatar.params import AvatarParams
from mesh_avatar.preview import portrait_camera, render_avatars
from renderers import create_renderer

SIZE = 48
STEPS = 200
#: Pose is optimised in scaled units so that one learning rate fits angles and translations.
POSE_SCALE = torch.tensor([1.0, 1.0, 1.0, 0.1, 0.1, 0.1])


def make_target(model: MorphableModel) -> AvatarParams:
    layout = model.layout
    neutral = AvatarParams.neutral(layout, 1)
    gen = torch.Generator().manual_seed(3)
    sh = neutral.lighting.clone()
    sh[0, 1:4] = torch.tensor([0.6, 0.3, 0.8])[:, None]  # light from above-right-front
    return AvatarParams(
        identity=torch.randn(1, layout.n_identity, generator=gen).clamp(-2, 2),
        expression=neutral.expression,
        albedo=torch.randn(1, layout.n_albedo, generator=gen).clamp(-2, 2),
        pose=torch.tensor([[0.25, -0.12, 0.05, 0.004, -0.003, 0.0]]),
        lighting=sh,
    )


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Many small ops: with 2 threads on a busy shared machine each op can wait for a descheduled
    worker thread (observed: 8 s -> 50 s); one thread keeps the run time steady."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def shape_rms_mm(model: MorphableModel, identity: torch.Tensor, target: AvatarParams) -> float:
    with torch.no_grad():
        got = model.shape(identity, target.expression)
        want = model.shape(target.identity, target.expression)
        return float((got - want).norm(dim=-1).pow(2).mean().sqrt() * 1000.0)


# One thread: fast ~2.5 s, pytorch3d ~9 s on the shared 2-core machine.
@pytest.mark.parametrize("backend", ["fast", "pytorch3d"])
def test_recover_identity_albedo_and_pose_from_an_image(
    tiny_model: MorphableModel, backend: str, one_thread: None
) -> None:
    target = make_target(tiny_model)
    renderer = create_renderer(backend)
    camera = portrait_camera(tiny_model)
    with torch.no_grad():
        goal = render_avatars(tiny_model, target, image_size=SIZE, camera=camera, renderer=renderer)
    identity = torch.zeros_like(target.identity, requires_grad=True)
    albedo = torch.zeros_like(target.albedo, requires_grad=True)
    pose = torch.zeros_like(target.pose, requires_grad=True)
    optimiser = torch.optim.Adam(
        [{"params": [identity, albedo], "lr": 0.1}, {"params": [pose], "lr": 0.02}]
    )
    start_error = shape_rms_mm(tiny_model, identity, target)
    for _ in range(STEPS):
        params = AvatarParams(
            identity, target.expression, albedo, pose * POSE_SCALE, target.lighting
        )
        out = render_avatars(tiny_model, params, image_size=SIZE, camera=camera, renderer=renderer)
        loss = (out.images - goal.images).pow(2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    final_pose = (pose * POSE_SCALE).detach()
    angle_error = (final_pose - target.pose)[0, :3].abs().max()
    translation_error = (final_pose - target.pose)[0, 3:].abs().max()
    assert float(loss.detach()) < 1e-3
    assert float(angle_error) < 0.015, final_pose
    assert float(translation_error) < 1e-3, final_pose
    assert float((albedo.detach() - target.albedo).abs().max()) < 0.05, albedo
    assert shape_rms_mm(tiny_model, identity.detach(), target) < 0.5 * start_error
