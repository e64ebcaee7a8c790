"""The browser front end: the preview GLB (fast) and the real page in headless Chromium (e2e)."""

from __future__ import annotations

import io
import json
import shutil
import struct
import time
from pathlib import Path

import numpy as np
import pytest
from support.gltf_validator import assert_valid_gltf

from mesh_avatar.pipeline import AvatarSource
from mesh_avatar.viewer.preview_glb import PreviewGlb, encode_texture
from mesh_avatar.viewer.state import ViewerState

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--use-gl=swiftshader",
    "--enable-unsafe-swiftshader",
    "--disable-background-networking",
    "--disable-component-update",
]


@pytest.fixture
def state(tiny_model) -> ViewerState:
    return ViewerState(AvatarSource(model=tiny_model, model_spec="tiny"))


def read_glb(data: bytes) -> tuple[dict, bytes]:
    magic, version, total = struct.unpack_from("<III", data)
    assert (magic, version, total) == (0x46546C67, 2, len(data))
    json_len, json_type = struct.unpack_from("<II", data, 12)
    assert json_type == 0x4E4F534A
    gltf = json.loads(data[20 : 20 + json_len])
    bin_len, bin_type = struct.unpack_from("<II", data, 20 + json_len)
    assert bin_type == 0x004E4942
    return gltf, data[28 + json_len : 28 + json_len + bin_len]


def accessor_array(gltf: dict, binary: bytes, index: int) -> np.ndarray:
    accessor = gltf["accessors"][index]
    view = gltf["bufferViews"][accessor["bufferView"]]
    dtype = {5126: "<f4", 5123: "<u2", 5125: "<u4"}[accessor["componentType"]]
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3}[accessor["type"]]
    flat = np.frombuffer(binary, dtype, accessor["count"] * width, view["byteOffset"])
    return flat.reshape(accessor["count"], width)


def test_preview_glb_round_trip(state, tmp_path):
    positions, normals = state.geometry()
    topo = state.topology
    jpeg = encode_texture(state.texture())
    data = PreviewGlb(topo.uvs, topo.faces).build(positions, normals, jpeg)
    gltf, binary = read_glb(data)
    primitive = gltf["meshes"][0]["primitives"][0]
    np.testing.assert_array_equal(
        accessor_array(gltf, binary, primitive["attributes"]["POSITION"]), positions
    )
    np.testing.assert_array_equal(
        accessor_array(gltf, binary, primitive["attributes"]["NORMAL"]), normals
    )
    uv = accessor_array(gltf, binary, primitive["attributes"]["TEXCOORD_0"])
    np.testing.assert_allclose(uv[:, 1], 1.0 - topo.uvs[:, 1], atol=1e-7)  # glTF v points down
    indices = accessor_array(gltf, binary, primitive["indices"]).reshape(-1, 3)
    np.testing.assert_array_equal(indices, topo.faces)
    image_view = gltf["bufferViews"][gltf["images"][0]["bufferView"]]
    start = image_view["byteOffset"]
    from PIL import Image

    image = Image.open(io.BytesIO(binary[start : start + image_view["byteLength"]]))
    assert image.size == state.texture().shape[1::-1]
    path = tmp_path / "preview.glb"
    path.write_bytes(data)
    assert_valid_gltf(path)


def test_preview_glb_rejects_wrong_sizes(state):
    topo = state.topology
    builder = PreviewGlb(topo.uvs, topo.faces)
    with pytest.raises(ValueError, match="shape"):
        builder.build(np.zeros((3, 3)), np.zeros((3, 3)), b"")


def labelled(page, text: str):
    """The element a viser label (``<label for=ID>``) names; viser labels non-input divs too."""
    label = page.locator("label", has_text=text).filter(has_text=text).first
    label.wait_for(timeout=60_000)
    return page.locator(f'[id="{label.get_attribute("for")}"]')


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.mark.e2e
def test_web_page_slider_and_export(state, tmp_path):
    pytest.importorskip("playwright")
    if not Path(CHROMIUM).is_file() and shutil.which("chromium") is None:
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    from mesh_avatar.viewer.web import WebViewer

    jaw = state.model.expression_names.index("jawOpen")
    web = WebViewer(state, host="127.0.0.1", port=0).start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(web.url)
            slider = labelled(page, "jawOpen")
            thumb = slider.get_by_role("slider")
            page.wait_for_timeout(1500)  # let the GLB arrive and render
            canvas = page.locator("canvas").first
            before_image = canvas.screenshot()
            version = web.mesh_version
            vertices_before = state.model_vertices()

            # Drag the jawOpen thumb to the right end of its track with the mouse.
            track = slider.bounding_box()
            box = thumb.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.mouse.down()
            page.mouse.move(track["x"] + track["width"] + 20, box["y"] + box["height"] / 2, steps=8)
            page.mouse.up()
            wait_for(lambda: state.value("expression", jaw) == 1.0, what="the jawOpen value")
            wait_for(lambda: web.mesh_version > version, what="a mesh upload")
            assert np.abs(state.model_vertices() - vertices_before).max() > 0.005
            assert thumb.get_attribute("aria-valuenow") == "1"
            page.wait_for_timeout(1500)
            after_image = canvas.screenshot()
            assert after_image != before_image  # the page shows the new mesh

            target = tmp_path / "from_web.glb"
            path_box = page.locator(
                'xpath=//label[text()="Path"]/ancestor::div[contains(@class,"mantine-Flex-root")][1]//input'
            )
            path_box.fill(str(target))
            wait_for(lambda: web.export_path.value == str(target), what="the export path")
            page.get_by_role("button", name="Export").click()
            wait_for(
                lambda: target.is_file() or web.status.content.startswith("error"),
                timeout=120,
                what="the exported file",
            )
            assert target.is_file(), web.status.content
            browser.close()
    finally:
        web.stop()
    assert web.last_export[0] == target
    assert_valid_gltf(target, allow_warnings=True)
    assert (tmp_path / "from_web.params.json").is_file()
