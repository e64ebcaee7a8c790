"""Synthetic-data labels: renders with depth, normals, segmentation, landmarks and cameras that
agree with each other and with the avatar's geometry."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch
from PIL import Image

from mesh_avatar.batch import BatchSpec, run_batch
from mesh_avatar.batch.labels import DEPTH_SCALE, SEGMENT_NAMES, look_at_camera
from mesh_avatar.batch.manifest import read_manifest
from mesh_avatar.morphable import MorphableModel, save_model
from mesh_avatar.sampling import sample_prior

SIZE = 96


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory, tiny_model_data):
    folder = tmp_path_factory.mktemp("labels")
    model = folder / "tiny.npz"
    save_model(tiny_model_data, model)
    spec = BatchSpec(
        n=2,
        seed=4,
        model=str(model),
        formats=("glb",),
        texture_size=256,
        renders=("front", "three-quarter"),
        render_size=SIZE,
    )
    run_batch(spec, folder / "out", workers=0, progress=False)
    return folder / "out"


def _image(path) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(path.read_bytes())))


def test_every_view_has_aligned_images_and_a_labels_file(labelled_run):
    row = read_manifest(labelled_run / "manifest.jsonl")[0]
    kinds = sorted(entry["kind"] for entry in row["files"])
    assert kinds.count("rgb") == kinds.count("depth") == kinds.count("seg") == 2
    assert "labels" in kinds
    folder = labelled_run / "avatars" / "000"
    for view in ("front", "three-quarter"):
        rgb = _image(folder / f"avatar_00000_{view}_rgb.png")
        depth = _image(folder / f"avatar_00000_{view}_depth.png")
        normal = _image(folder / f"avatar_00000_{view}_normal.png")
        seg = _image(folder / f"avatar_00000_{view}_seg.png")
        assert rgb.shape == (SIZE, SIZE, 4) and depth.shape == (SIZE, SIZE)
        assert depth.dtype == np.uint16 and seg.dtype == np.uint8
        covered = rgb[..., 3] == 255
        assert 0.1 < covered.mean() < 0.9  # the head is framed, with background around it
        assert np.array_equal(covered, depth > 0)
        assert np.array_equal(covered, seg > 0)
        assert seg.max() < len(SEGMENT_NAMES)
        # Normals face the camera (negative z in OpenCV camera axes) and have unit length.
        n = normal[covered].astype(np.float64) / 127.5 - 1.0
        assert np.median(n[:, 2]) < -0.5
        assert np.allclose(np.linalg.norm(n, axis=1), 1.0, atol=0.03)
    # Both eyes are visible from the front; the face is lit (not black).
    front_seg = _image(folder / "avatar_00000_front_seg.png")
    assert {SEGMENT_NAMES.index("eye_left"), SEGMENT_NAMES.index("eye_right")} <= set(
        np.unique(front_seg).tolist()
    )
    assert _image(folder / "avatar_00000_front_rgb.png")[..., :3].max() > 100


def test_landmarks_and_depth_agree_with_the_camera(labelled_run, tiny_model_data):
    labels = json.loads((labelled_run / "avatars/000/avatar_00000_labels.json").read_text())
    assert labels["depth_scale"] == DEPTH_SCALE
    model = MorphableModel(tiny_model_data)
    params = sample_prior(model, 1, seed=4, start=0)
    with torch.no_grad():
        vertices = model(params).posed_vertices[0].numpy().astype(np.float64)
    points = vertices[tiny_model_data.landmarks]
    for view in ("front", "three-quarter"):
        info = labels["views"][view]
        K, w2c = np.array(info["K"]), np.array(info["world_to_camera"])
        cam = points @ w2c[:3, :3].T + w2c[:3, 3]
        expected = cam @ K.T
        expected = expected[:, :2] / expected[:, 2:]
        got = np.array(info["landmarks"])
        assert got.shape == (68, 3)
        assert np.allclose(got[:, :2], expected, atol=1e-2)
        depth = _image(labelled_run / f"avatars/000/avatar_00000_{view}_depth.png")
        visible = got[:, 2] == 1
        assert visible.sum() >= 20
        x, y = got[visible, 0].astype(int), got[visible, 1].astype(int)
        # A landmark on the silhouette may fall just outside the pixel-centre coverage, but
        # never more than a pixel away from it.
        padded = np.pad(depth > 0, 1)
        near = np.zeros_like(x, dtype=bool)
        for dy in range(3):
            for dx in range(3):
                near |= padded[y + dy, x + dx]
        assert near.all()
        on_surface = depth[y, x] > 0
        assert on_surface.mean() > 0.75
        error = np.abs(depth[y, x] * DEPTH_SCALE - cam[visible, 2])[on_surface]
        # The depth image holds the surface at the landmark's pixel: equal up to the slope of
        # the surface across that pixel (a few mm at this size, more where it is grazing).
        assert np.median(error) < 0.003 and error.max() < 0.02
    # Every landmark of the tiny model lies on its front: all visible from the front.
    assert all(v == 1 for *_, v in labels["views"]["front"]["landmarks"])


def test_camera_conventions():
    camera = look_at_camera(np.zeros(3), 1.0, 0.0, 64)
    assert np.allclose(camera.center, [0.0, 0.0, 1.0])
    pixels, depth = camera.project(np.array([[0.0, 0.0, 0.0], [0.1, 0.1, 0.0]]))
    assert np.allclose(pixels[0], [32.0, 32.0]) and np.allclose(depth, 1.0)
    assert pixels[1, 0] > 32 and pixels[1, 1] < 32  # +X right, +Y up in the image
