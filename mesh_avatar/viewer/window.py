"""The desktop window: Open3D's GUI (``open3d.visualization.gui``) over a :class:`ViewerState`.

Layout: a SceneWidget (orbit with the left mouse button, zoom with the wheel, pan with Ctrl) on the
left and a scrollable panel on the right with the seed box, Random / Reset, the truncation slider,
Export (path box, Browse..., Export) and one slider per identity, expression and albedo component.

Updates are coalesced: slider callbacks only change the state and schedule one flush on the GUI
thread; the flush uploads the geometry (positions + normals, Open3D has no partial update for
triangle meshes, so the mesh is re-added with the same material) and, only when an albedo slider
moved, the texture (a material change). ``last_update_ms`` records the cost of each flush.

:class:`WindowDriver` drives a running window from another thread (tests, screenshot scripts).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.viewer.state import EVERYTHING, GROUPS, Change, SliderSpec, ViewerState

log = logging.getLogger(__name__)

MESH_NAME = "avatar"
PANEL_WIDTH_EM = 24
GROUP_TITLES = {"identity": "Identity (shape)", "expression": "Expression", "albedo": "Albedo"}


@dataclass
class UpdateTimings:
    """Milliseconds spent in the last flush: state decode (+ normals), upload, texture."""

    decode_ms: float = 0.0
    upload_ms: float = 0.0
    texture_ms: float = 0.0
    history: list[tuple[float, float, float]] = field(default_factory=list)

    def record(self, decode: float, upload: float, texture: float) -> None:
        self.decode_ms, self.upload_ms, self.texture_ms = decode, upload, texture
        self.history.append((decode, upload, texture))


class ViewerWindow:
    """One Open3D window showing ``state``; all methods run on the GUI thread."""

    def __init__(self, state: ViewerState, title: str = "mesh-avatar", size=(1280, 800)) -> None:
        import open3d as o3d
        import open3d.visualization.gui as gui
        import open3d.visualization.rendering as rendering

        self._o3d, self._gui, self._rendering = o3d, gui, rendering
        self.state = state
        self.app = gui.Application.instance
        self.window = self.app.create_window(title, int(size[0]), int(size[1]))
        self.timings = UpdateTimings()
        self.sliders: dict[str, Any] = {}
        self._pending = Change()
        self._flush_scheduled = False
        self._build_scene()
        self._build_panel()
        self.window.set_on_layout(self._on_layout)
        self._upload(EVERYTHING)
        self._frame_camera()

    # ------------------------------------------------------------------------------ building
    def _build_scene(self) -> None:
        o3d, gui, rendering = self._o3d, self._gui, self._rendering
        self.scene_widget = gui.SceneWidget()
        self.scene_widget.scene = rendering.Open3DScene(self.window.renderer)
        scene = self.scene_widget.scene
        scene.set_background([0.16, 0.17, 0.19, 1.0])
        scene.set_lighting(rendering.Open3DScene.LightingProfile.SOFT_SHADOWS, (0.3, -0.4, -1.0))
        self.window.add_child(self.scene_widget)
        topo = self.state.topology
        mesh = o3d.t.geometry.TriangleMesh()
        mesh.triangle.indices = o3d.core.Tensor(topo.faces.astype(np.int32))
        mesh.vertex.texture_uvs = o3d.core.Tensor(topo.uvs)
        self._mesh = mesh
        self._material = self._make_material(None)

    def _make_material(self, texture: np.ndarray | None) -> Any:
        material = self._rendering.MaterialRecord()
        material.shader = "defaultLit"
        material.base_roughness = 0.65
        material.base_reflectance = 0.35
        if texture is not None:
            material.albedo_img = self._o3d.geometry.Image(np.ascontiguousarray(texture))
        return material

    def _build_panel(self) -> None:
        gui = self._gui
        em = self.window.theme.font_size
        panel = gui.ScrollableVert(0.25 * em, gui.Margins(0.5 * em, 0.5 * em, 0.5 * em, 0.5 * em))
        self.panel = panel
        model = self.state.model
        kind = "generator" if getattr(self.state.source, "generator", None) is not None else "prior"
        panel.add_child(gui.Label(f"model: {model.name}   ({model.n_vertices} vertices)"))

        row = gui.Horiz(0.25 * em)
        row.add_child(gui.Label("Seed"))
        self.seed_edit = gui.NumberEdit(gui.NumberEdit.INT)
        self.seed_edit.set_limits(0, 2**31 - 1)
        self.seed_edit.int_value = self.state.seed
        self.seed_edit.set_on_value_changed(self._on_seed)
        row.add_child(self.seed_edit)
        self.random_button = gui.Button(f"Random ({kind})")
        self.random_button.set_on_clicked(self._on_random)
        row.add_child(self.random_button)
        self.reset_button = gui.Button("Reset")
        self.reset_button.set_on_clicked(self._on_reset)
        row.add_child(self.reset_button)
        panel.add_child(row)

        row = gui.Horiz(0.25 * em)
        row.add_child(gui.Label("Truncation"))
        self.truncation_slider = gui.Slider(gui.Slider.DOUBLE)
        self.truncation_slider.set_limits(0.05, 1.0)
        self.truncation_slider.double_value = self.state.truncation
        self.truncation_slider.set_on_value_changed(self._on_truncation)
        row.add_child(self.truncation_slider)
        panel.add_child(row)

        row = gui.Horiz(0.25 * em)
        self.export_path = gui.TextEdit()
        self.export_path.text_value = str(Path.cwd() / "avatar.glb")
        row.add_child(self.export_path)
        browse = gui.Button("...")
        browse.set_on_clicked(self._on_browse)
        row.add_child(browse)
        self.export_button = gui.Button("Export")
        self.export_button.set_on_clicked(self._on_export)
        row.add_child(self.export_button)
        panel.add_child(row)
        self.status = gui.Label("ready")
        panel.add_child(self.status)

        for group in GROUPS:
            specs = [s for s in self.state.specs if s.group == group]
            if not specs:
                continue
            section = gui.CollapsableVert(
                f"{GROUP_TITLES[group]} ({len(specs)})", 0.2 * em, gui.Margins(0.5 * em, 0, 0, 0)
            )
            grid = gui.VGrid(2, 0.2 * em)
            for spec in specs:
                grid.add_child(gui.Label(spec.name))
                slider = gui.Slider(gui.Slider.DOUBLE)
                slider.set_limits(spec.minimum, spec.maximum)
                slider.double_value = self.state.value(spec.group, spec.index)
                slider.set_on_value_changed(self._slider_callback(spec))
                grid.add_child(slider)
                self.sliders[spec.key] = slider
            section.add_child(grid)
            panel.add_child(section)
        self.window.add_child(panel)

    def _on_layout(self, context: Any) -> None:
        rect = self.window.content_rect
        panel_width = min(PANEL_WIDTH_EM * self.window.theme.font_size, rect.width // 2)
        gui = self._gui
        self.scene_widget.frame = gui.Rect(rect.x, rect.y, rect.width - panel_width, rect.height)
        self.panel.frame = gui.Rect(
            rect.get_right() - panel_width, rect.y, panel_width, rect.height
        )

    def _frame_camera(self) -> None:
        positions, _ = self.state.geometry()
        lo, hi = positions.min(0), positions.max(0)
        center = (lo + hi) / 2
        bbox = self._o3d.geometry.AxisAlignedBoundingBox(lo.astype(float), hi.astype(float))
        self.scene_widget.setup_camera(30.0, bbox, center.astype(float))
        distance = 2.6 * float(np.max(hi - lo))
        eye = center + np.array([0.0, 0.0, distance])  # the face looks down +Z
        self.scene_widget.look_at(center.astype(float), eye.astype(float), [0.0, 1.0, 0.0])

    # ------------------------------------------------------------------------------ events
    def _slider_callback(self, spec: SliderSpec) -> Callable[[float], None]:
        def on_value(value: float) -> None:
            self._apply(self.state.set_value(spec.group, spec.index, float(value)))

        return on_value

    def move_slider(self, key: str, value: float) -> None:
        """Set a slider as a user would: the widget shows ``value`` and its callback runs."""
        slider = self.sliders.get(key)
        if slider is None:
            raise MeshAvatarError(f"no slider named {key!r}")
        slider.double_value = value
        self._slider_callback(self.state.spec(key))(slider.double_value)

    def _on_seed(self, value: float) -> None:
        self._guard(lambda: self._apply(self.state.randomize(int(value)), sync=True))

    def _on_random(self) -> None:
        self._guard(lambda: self._apply(self.state.randomize(), sync=True))

    def _on_reset(self) -> None:
        self._apply(self.state.reset(), sync=True)

    def _on_truncation(self, value: float) -> None:
        self._guard(lambda: self.state.set_truncation(float(value)))

    def _on_browse(self) -> None:
        gui = self._gui
        dialog = gui.FileDialog(gui.FileDialog.SAVE, "Export avatar", self.window.theme)
        dialog.add_filter(".glb", "glTF binary (.glb)")
        dialog.add_filter(".obj", "Wavefront OBJ (.obj)")
        dialog.set_on_cancel(self.window.close_dialog)

        def chosen(path: str) -> None:
            self.window.close_dialog()
            self.export_path.text_value = path
            self._on_export()

        dialog.set_on_done(chosen)
        self.window.show_dialog(dialog)

    def _on_export(self) -> None:
        def export() -> None:
            written = self.state.export(self.export_path.text_value)
            self.status.text = f"wrote {written[0]}"

        self._guard(export)

    def _guard(self, action: Callable[[], None]) -> None:
        """Run a user action; a user mistake is shown in the status line, not raised."""
        try:
            action()
        except MeshAvatarError as exc:
            log.warning("%s", exc)
            self.status.text = f"error: {exc}"

    # ------------------------------------------------------------------------------ updates
    def _apply(self, change: Change, sync: bool = False) -> None:
        if sync:
            self._sync_widgets()
        self._pending = self._pending | change
        if (change.geometry or change.texture) and not self._flush_scheduled:
            self._flush_scheduled = True
            self.app.post_to_main_thread(self.window, self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        change, self._pending = self._pending, Change()
        self._upload(change)
        self.window.post_redraw()

    def _upload(self, change: Change) -> None:
        o3d = self._o3d
        scene = self.scene_widget.scene
        decode = upload = texture_ms = 0.0
        if change.texture:
            start = time.perf_counter()
            self._material = self._make_material(self.state.texture())
            texture_ms = (time.perf_counter() - start) * 1000
        if change.geometry or not scene.has_geometry(MESH_NAME):
            start = time.perf_counter()
            positions, normals = self.state.geometry()
            middle = time.perf_counter()
            self._mesh.vertex.positions = o3d.core.Tensor(positions)
            self._mesh.vertex.normals = o3d.core.Tensor(normals)
            if scene.has_geometry(MESH_NAME):
                scene.remove_geometry(MESH_NAME)
            scene.add_geometry(MESH_NAME, self._mesh, self._material)
            decode = (middle - start) * 1000
            upload = (time.perf_counter() - middle) * 1000
        elif change.texture:
            start = time.perf_counter()
            scene.modify_geometry_material(MESH_NAME, self._material)
            texture_ms += (time.perf_counter() - start) * 1000
        self.timings.record(decode, upload, texture_ms)
        log.debug(
            "update: decode %.1f ms, upload %.1f ms, texture %.1f ms", decode, upload, texture_ms
        )

    def _sync_widgets(self) -> None:
        for spec in self.state.specs:
            self.sliders[spec.key].double_value = self.state.value(spec.group, spec.index)
        self.seed_edit.int_value = self.state.seed

    # ------------------------------------------------------------------------------ capture
    def render_scene(self, callback: Callable[[np.ndarray], None]) -> None:
        """Render the 3D view offscreen at its current size; ``callback`` gets (H, W, 3) uint8."""
        self.scene_widget.scene.scene.render_to_image(lambda image: callback(np.asarray(image)))


class WindowDriver:
    """Drive a :class:`ViewerWindow` from a worker thread: each call runs on the GUI thread."""

    def __init__(self, viewer: ViewerWindow, timeout_s: float = 60.0) -> None:
        self.viewer = viewer
        self.timeout_s = timeout_s

    def call(self, action: Callable[[], Any]) -> Any:
        done = threading.Event()
        result: dict[str, Any] = {}

        def run() -> None:
            try:
                result["value"] = action()
            except BaseException as exc:  # handed to the calling thread
                result["error"] = exc
            done.set()

        self.viewer.app.post_to_main_thread(self.viewer.window, run)
        if not done.wait(self.timeout_s):
            raise TimeoutError("the viewer window did not respond")
        if "error" in result:
            raise result["error"]
        return result.get("value")

    def move_slider(self, key: str, value: float) -> None:
        self.call(lambda: self.viewer.move_slider(key, value))
        self.call(lambda: None)  # the coalesced flush was queued before this: now it has run

    def press(self, button: str) -> None:
        """Press ``random``, ``reset`` or ``export``."""
        handlers = {
            "random": self.viewer._on_random,
            "reset": self.viewer._on_reset,
            "export": self.viewer._on_export,
        }
        self.call(handlers[button])
        self.call(lambda: None)

    def set_export_path(self, path: str | os.PathLike[str]) -> None:
        def set_text() -> None:
            self.viewer.export_path.text_value = str(path)

        self.call(set_text)

    def status(self) -> str:
        return str(self.call(lambda: self.viewer.status.text))

    def capture_scene(self) -> np.ndarray:
        """(H, W, 3) uint8 image of the 3D view as it is now."""
        done = threading.Event()
        images: list[np.ndarray] = []

        def got(image: np.ndarray) -> None:
            images.append(np.array(image))
            done.set()

        self.call(lambda: self.viewer.render_scene(got))
        if not done.wait(self.timeout_s):
            raise TimeoutError("the viewer did not render an image")
        return images[0]

    def grab_window(self, attempts: int = 20) -> Any:
        """The whole window (panel included) as a PIL image, grabbed from the X server.

        Retries until the window has been presented (a fresh window grabs as one flat colour).
        """
        from PIL import ImageGrab, ImageStat

        image = None
        for _ in range(attempts):
            self.call(lambda: self.viewer.window.post_redraw())
            time.sleep(0.5)
            frame = self.call(lambda: self.viewer.window.os_frame)
            screen = ImageGrab.grab(xdisplay=os.environ.get("DISPLAY"))
            box = (frame.x, frame.y, frame.x + frame.width, frame.y + frame.height)
            image = screen.crop(box)
            if max(ImageStat.Stat(image).stddev) > 1.0:
                break
        return image

    def close(self) -> None:
        self.viewer.app.post_to_main_thread(self.viewer.window, self.viewer.window.close)


def run_window(
    state: ViewerState,
    title: str = "mesh-avatar",
    size: tuple[int, int] = (1280, 800),
    automation: Callable[[WindowDriver], None] | None = None,
) -> None:
    """Open the window and run the GUI loop until it closes.

    Args:
        automation: called in a worker thread with a :class:`WindowDriver` once the window is up;
            the window closes when it returns. An exception it raises is re-raised here.
    """
    import open3d.visualization.gui as gui

    app = gui.Application.instance
    app.initialize()
    viewer = ViewerWindow(state, title, size)
    failure: list[BaseException] = []
    if automation is not None:
        driver = WindowDriver(viewer)

        def work() -> None:
            try:
                driver.call(lambda: None)  # the loop is running
                automation(driver)
            except BaseException as exc:
                failure.append(exc)
            finally:
                driver.close()

        threading.Thread(target=work, name="viewer-automation", daemon=True).start()
    app.run()
    if failure:
        raise failure[0]


def has_display() -> bool:
    """Whether a window can open: on Linux an X11 or Wayland display must be set."""
    import sys

    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True
