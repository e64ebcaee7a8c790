"""The browser front end (``viewer.py --web``): viser serves the page, its client and a websocket.

Why viser (see docs/VIEWER.md): it is a pinned Python dependency that ships its own prebuilt
three.js client, so ``--web`` needs no Node, no npm and no files outside the wheel; it was made for
exactly this case (a GPU server reached over ``ssh -L``), and it gives sliders, folders, number
boxes, buttons, file downloads and an orbit camera out of the box.

The avatar is one GLB scene node. Slider callbacks (viser runs them on its threads) only change
the state under a lock and wake one worker thread, which coalesces moves, builds a small preview
GLB (positions + normals change; UVs, indices and the JPEG texture are reused unless an albedo
slider moved) and assigns it to the node, which viser pushes to every open page.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.viewer.preview_glb import PreviewGlb, encode_texture
from mesh_avatar.viewer.state import EVERYTHING, GROUPS, Change, ViewerState

log = logging.getLogger(__name__)

GROUP_TITLES = {"identity": "Identity (shape)", "expression": "Expression", "albedo": "Albedo"}


class WebViewer:
    """A viser server showing ``state``. Start with :meth:`start` (non-blocking)."""

    def __init__(self, state: ViewerState, host: str = "127.0.0.1", port: int = 8080) -> None:
        self.state = state
        self.host, self.port = host, port
        self.lock = threading.RLock()
        self.mesh_version = 0  # bumped after each upload (tests wait on it)
        self.timings: list[tuple[float, float, float]] = []  # (decode, texture, glb) ms
        self.last_export: list[Path] = []
        self._pending = Change()
        self._wake = threading.Condition(self.lock)
        self._stopping = False
        self._glb = PreviewGlb(state.topology.uvs, state.topology.faces)
        self._jpeg = b""
        self.server: Any = None
        self.sliders: dict[str, Any] = {}

    # ------------------------------------------------------------------------------ lifecycle
    def start(self) -> WebViewer:
        import viser

        try:
            self.server = viser.ViserServer(host=self.host, port=self.port, verbose=False)
        except OSError as exc:
            raise MeshAvatarError(f"cannot serve on {self.host}:{self.port}: {exc}") from None
        self.port = self.server.get_port()
        self.server.gui.configure_theme(control_width="large", dark_mode=False)
        self.server.scene.set_up_direction("+y")
        self._setup_camera()
        with self.lock:
            self._upload(EVERYTHING)
        self._build_gui()
        self._worker = threading.Thread(target=self._run_worker, name="viewer-web", daemon=True)
        self._worker.start()
        return self

    @property
    def url(self) -> str:
        host = "localhost" if self.host in ("0.0.0.0", "127.0.0.1", "::") else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        with self.lock:
            self._stopping = True
            self._wake.notify_all()
        if self.server is not None:
            self.server.stop()

    # ------------------------------------------------------------------------------ building
    def _setup_camera(self) -> None:
        positions, _ = self.state.geometry()
        lo, hi = positions.min(0), positions.max(0)
        center = (lo + hi) / 2
        distance = 1.4 * float((hi - lo).max())
        camera = self.server.initial_camera
        camera.look_at = tuple(float(c) for c in center)
        camera.position = (float(center[0]), float(center[1]), float(center[2] + distance))
        camera.up = (0.0, 1.0, 0.0)

    def _build_gui(self) -> None:
        gui = self.server.gui
        state = self.state
        kind = "generator" if getattr(state.source, "generator", None) is not None else "prior"
        gui.add_markdown(f"**mesh-avatar** · model `{state.model.name}`")
        with gui.add_folder("Avatar"):
            self.seed_box = gui.add_number("Seed", initial_value=state.seed, min=0, step=1)
            self.seed_box.on_update(self._on_seed)
            self.random_button = gui.add_button(f"Random ({kind})")
            self.random_button.on_click(self._on_random)
            self.truncation = gui.add_slider(
                "Truncation", min=0.05, max=1.0, step=0.01, initial_value=state.truncation
            )
            self.truncation.on_update(self._on_truncation)
            self.reset_button = gui.add_button("Reset")
            self.reset_button.on_click(self._on_reset)
        with gui.add_folder("Export"):
            self.export_path = gui.add_text("Path", initial_value=str(Path.cwd() / "avatar.glb"))
            self.export_button = gui.add_button("Export")
            self.export_button.on_click(self._on_export)
            self.status = gui.add_markdown("ready")
        for group in GROUPS:
            specs = [s for s in state.specs if s.group == group]
            if not specs:
                continue
            with gui.add_folder(f"{GROUP_TITLES[group]} ({len(specs)})"):
                for spec in specs:
                    slider = gui.add_slider(
                        spec.name,
                        min=spec.minimum,
                        max=spec.maximum,
                        step=0.01,
                        initial_value=float(state.value(spec.group, spec.index)),
                    )
                    slider.on_update(self._slider_callback(spec.key))
                    self.sliders[spec.key] = slider

    # ------------------------------------------------------------------------------ events
    def _slider_callback(self, key: str):
        spec = self.state.spec(key)

        def on_update(event: Any) -> None:
            if event.client is None:  # set by the server while syncing widgets
                return
            with self.lock:
                value = float(self.sliders[key].value)
                self._queue(self.state.set_value(spec.group, spec.index, value))

        return on_update

    def _on_seed(self, event: Any) -> None:
        if event.client is None:
            return
        self._guard(lambda: self._queue(self.state.randomize(int(self.seed_box.value)), True))

    def _on_random(self, event: Any) -> None:
        self._guard(lambda: self._queue(self.state.randomize(), True))

    def _on_reset(self, event: Any) -> None:
        self._guard(lambda: self._queue(self.state.reset(), True))

    def _on_truncation(self, event: Any) -> None:
        self._guard(lambda: self.state.set_truncation(float(self.truncation.value)))

    def _on_export(self, event: Any) -> None:
        def export() -> None:
            written = self.state.export(self.export_path.value)
            self.last_export = written
            self.status.content = f"wrote `{written[0]}`"
            if event.client is not None:  # also hand the file to the browser that asked
                event.client.send_file_download(written[0].name, written[0].read_bytes())

        self._guard(export)

    def _guard(self, action) -> None:
        with self.lock:
            try:
                action()
            except MeshAvatarError as exc:
                log.warning("%s", exc)
                self.status.content = f"error: {exc}"

    def _queue(self, change: Change, sync: bool = False) -> None:
        """Record a change (caller holds the lock) and wake the upload worker."""
        if sync:
            for spec in self.state.specs:
                self.sliders[spec.key].value = float(self.state.value(spec.group, spec.index))
            self.seed_box.value = self.state.seed
        self._pending = self._pending | change
        self._wake.notify_all()

    # ------------------------------------------------------------------------------ uploads
    def _run_worker(self) -> None:
        while True:
            with self.lock:
                while not (self._pending.geometry or self._pending.texture or self._stopping):
                    self._wake.wait()
                if self._stopping:
                    return
                change, self._pending = self._pending, Change()
                glb = self._upload_bytes(change)
            self._node.glb_data = glb  # sent outside the lock: slider events keep flowing
            with self.lock:
                self.mesh_version += 1

    def _upload(self, change: Change) -> None:
        glb = self._upload_bytes(change)
        self._node = self.server.scene.add_glb("/avatar", glb)
        self.mesh_version += 1

    def _upload_bytes(self, change: Change) -> bytes:
        start = time.perf_counter()
        positions, normals = self.state.geometry()
        decoded = time.perf_counter()
        if change.texture or not self._jpeg:
            self._jpeg = encode_texture(self.state.texture())
        textured = time.perf_counter()
        glb = self._glb.build(positions, normals, self._jpeg)
        done = time.perf_counter()
        self.timings.append(
            ((decoded - start) * 1000, (textured - decoded) * 1000, (done - textured) * 1000)
        )
        return glb


def serve_forever(state: ViewerState, host: str, port: int) -> None:
    """Serve until Ctrl-C; prints where to point the browser (and the SSH tunnel)."""
    viewer = WebViewer(state, host, port).start()
    print(  # noqa: T201
        f"viewer: serving {viewer.url}  (remote machine? run on your own: "
        f"ssh -L {viewer.port}:localhost:{viewer.port} THIS_HOST, then open "
        f"http://localhost:{viewer.port}); Ctrl-C stops"
    )
    try:
        while True:
            time.sleep(3600)
    finally:
        viewer.stop()
