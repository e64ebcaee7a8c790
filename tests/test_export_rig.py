"""Head rig: joint positions on the default head, skin weights, fallbacks without regions."""

from __future__ import annotations

import numpy as np
import pytest

from mesh_avatar.avatar import build_avatar_mesh
from mesh_avatar.morphable import load_model
from mesh_avatar.rig import (
    JOINT_NAMES,
    eyeball_masks,
    head_joints,
    inverse_bind_matrices,
    local_translations,
    skin_weights,
)
from mesh_avatar.sampling import sample_prior


@pytest.fixture(scope="module")
def head():
    model = load_model("default")
    return build_avatar_mesh(model, sample_prior(model, 1, seed=5), 256)


def test_default_head_bounding_box_and_nose(head):
    v = head.vertices
    height = v[:, 1].max() - v[:, 1].min()
    assert 0.2 <= height <= 0.35
    nose = v[np.argmax(v[:, 2])]
    assert abs(nose[0]) < 0.005  # on the midline
    assert head.vertex_groups["face"][np.argmax(v[:, 2])]


def test_joints_sit_where_anatomy_puts_them(head):
    j = head.joints
    v = head.vertices
    eyeballs = eyeball_masks(len(v), head.faces, head.vertex_groups)
    for name, side in (("eye_left", 1), ("eye_right", -1)):
        ball = v[eyeballs[name]]
        assert len(ball) > 20
        radius = np.linalg.norm(ball - j[name], axis=1)
        assert radius.std() < 0.05 * radius.mean()  # the joint is the sphere's centre
        assert np.sign(j[name][0]) == side
    np.testing.assert_allclose(j["eye_left"] * [-1, 1, 1], j["eye_right"], atol=2e-3)
    assert j["neck"][1] == pytest.approx(v[head.vertex_groups["neck"], 1].min(), abs=0.01)
    ears = 0.5 * (
        v[head.vertex_groups["ear_left"]].mean(0) + v[head.vertex_groups["ear_right"]].mean(0)
    )
    np.testing.assert_allclose(j["head"], ears, atol=1e-6)
    assert j["jaw"][1] < j["head"][1] and j["jaw"][2] > j["head"][2]
    assert j["neck"][1] < j["jaw"][1] < j["eye_left"][1]


def test_skin_weights(head):
    ids, weights = skin_weights(head.vertices, head.faces, head.vertex_groups, head.joints)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-6)
    index = {name: k for k, name in enumerate(JOINT_NAMES)}
    eyeballs = eyeball_masks(head.n_vertices, head.faces, head.vertex_groups)
    assert (ids[eyeballs["eye_left"], 0] == index["leftEye"]).all()
    assert (weights[eyeballs["eye_left"], 0] == 1.0).all()
    assert (ids[eyeballs["eye_right"], 0] == index["rightEye"]).all()
    # Eyelid skin is in the eye region but follows the head, not the gaze.
    lids = head.vertex_groups["eye_left"] & ~eyeballs["eye_left"]
    assert lids.any() and (ids[lids, 0] != index["leftEye"]).all()
    jaw = head.vertex_groups["jaw"] & ~head.vertex_groups["neck"]
    assert (ids[jaw, 0] == index["jaw"]).all()
    neck = head.vertex_groups["neck"]
    low = neck & (head.vertices[:, 1] < head.joints["neck"][1] + 0.002)
    assert low.any() and (weights[low][ids[low] == index["neck"]] > 0.9).all()
    assert (ids[weights == 0] == 0).all()


def test_bind_matrices_and_local_translations(head):
    joints = {"root": np.zeros(3, np.float32), **head.joints}
    ibm = inverse_bind_matrices(joints)
    local = local_translations(joints)
    world = np.zeros((len(JOINT_NAMES), 3))
    parents = (-1, 0, 1, 2, 2, 2)
    for k, parent in enumerate(parents):
        world[k] = local[k] + (world[parent] if parent >= 0 else 0.0)
        bind = np.eye(4)
        bind[:3, 3] = world[k]
        np.testing.assert_allclose(ibm[k] @ bind, np.eye(4), atol=1e-6)


def test_fallbacks_without_regions():
    rng = np.random.default_rng(0)
    vertices = (rng.standard_normal((200, 3)) * [0.07, 0.11, 0.09]).astype(np.float32)
    joints = head_joints(vertices, {})
    assert set(joints) == {"root", "neck", "head", "eye_left", "eye_right", "jaw"}
    assert joints["eye_left"][0] > 0 > joints["eye_right"][0]
    assert joints["neck"][1] < joints["head"][1]
    assert all(j.dtype == np.float32 and j.shape == (3,) for j in joints.values())
