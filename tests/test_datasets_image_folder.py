"""Image folders of real photos: any size, crops, unreadable files skipped and counted."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
from PIL import Image

from mesh_avatar.datasets.image_folder import DatasetError, load_image_folder


def write(path, width, height, color, fmt):
    Image.new("RGB", (width, height), color).save(path, format=fmt)


def test_loads_jpg_and_png_of_any_size_and_skips_broken_files(tmp_path, caplog):
    write(tmp_path / "a.jpg", 300, 200, (200, 10, 10), "JPEG")
    write(tmp_path / "b.png", 50, 120, (10, 200, 10), "PNG")
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub" / "c.PNG", 64, 64, (10, 10, 200), "PNG")
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    (tmp_path / "notes.txt").write_text("ignored")
    with caplog.at_level(logging.WARNING):
        loaded = load_image_folder(tmp_path, 32)
    assert loaded.images.shape == (3, 3, 32, 32)
    assert loaded.files == ["a.jpg", "b.png", "sub/c.PNG"]
    assert loaded.skipped == 1
    assert "broken.jpg" in caplog.text and "skipped 1 unreadable" in caplog.text
    assert abs(int(loaded.images[1, 1].float().mean()) - 200) <= 2


def test_center_crop_keeps_the_middle(tmp_path):
    image = np.zeros((100, 300, 3), np.uint8)
    image[:, 100:200] = 255  # a white centre square in a black wide image
    Image.fromarray(image).save(tmp_path / "wide.png")
    loaded = load_image_folder(tmp_path, 16)
    assert loaded.images.float().mean() > 250


def test_face_box_crop(tmp_path):
    image = np.zeros((200, 200, 3), np.uint8)
    image[10:50, 140:180] = 255  # the "face" in the top right corner
    Image.fromarray(image).save(tmp_path / "p.png")
    Image.fromarray(image).save(tmp_path / "q.png")
    (tmp_path / "boxes.json").write_text(json.dumps({"p.png": [140, 10, 180, 50]}))
    loaded = load_image_folder(tmp_path, 16, crop="face-box", margin=0.0)
    assert loaded.images[0].float().mean() > 250  # cropped to the face
    assert loaded.images[1].float().mean() < 60  # no box: centre crop
    assert loaded.without_box == 1


def test_errors(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        load_image_folder(tmp_path / "missing", 32)
    with pytest.raises(DatasetError, match="no readable"):
        load_image_folder(tmp_path, 32)
    with pytest.raises(DatasetError, match="unknown crop"):
        load_image_folder(tmp_path, 32, crop="eyes")
    (tmp_path / "boxes.json").write_text(json.dumps({"x.png": [5, 5, 1, 1]}))
    with pytest.raises(DatasetError, match="x1>x0"):
        load_image_folder(tmp_path, 32, crop="face-box")
