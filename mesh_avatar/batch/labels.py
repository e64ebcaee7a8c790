"""Synthetic-data outputs per avatar: renders at fixed views with pixel-aligned ground truth.

For each view the avatar (with its expression and head pose) is ray-cast with Open3D's Embree
``RaycastingScene`` (one thread: deterministic), and every output is computed from the same hits,
so labels and image agree to the pixel:

=================== ==========================================================================
``<stem>_<view>_rgb.png``     RGBA 8-bit: albedo texture x SH irradiance (the avatar's lighting),
                              alpha = coverage
``<stem>_<view>_depth.png``   16-bit depth along the camera's optical axis in units of
                              ``depth_scale`` metres (0.1 mm); 0 = background
``<stem>_<view>_normal.png``  camera-space unit normals (OpenCV axes), RGB = (n + 1) / 2 * 255;
                              background 0
``<stem>_<view>_seg.png``     8-bit region ids (table in the labels file); 0 = background
``<stem>_labels.json``        per view: intrinsics ``K``, ``world_to_camera`` (4x4, OpenCV axes:
                              x right, y down, z forward), 68 landmarks as ``[x, y, visible]`` in
                              pixels (origin at the top-left corner of the top-left pixel)
=================== ==========================================================================

Cameras are fixed per model (framed on its mean shape), so all avatars of a run share them.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from renderers.lighting import sh_basis

#: View name -> camera yaw in degrees about +Y (positive: the camera moves towards the subject's
#: left, +X).
VIEWS: dict[str, float] = {
    "front": 0.0,
    "three-quarter": 45.0,
    "profile": 90.0,
    "three-quarter-right": -45.0,
    "profile-right": -90.0,
}
#: Vertical field of view of the label cameras, degrees.
FOV_DEG = 30.0
#: Metres per unit of the 16-bit depth images.
DEPTH_SCALE = 1e-4
#: Segmentation ids: 0 background, 1 head (no named region), then the regions in this order; where
#: region masks overlap, the earlier name in this tuple wins.
SEGMENT_PRIORITY: tuple[str, ...] = (
    "eye_left", "eye_right", "lips", "ear_left", "ear_right", "scalp", "neck", "jaw", "face",
)  # fmt: skip
SEGMENT_NAMES: tuple[str, ...] = ("background", "head", *SEGMENT_PRIORITY)


@dataclass(frozen=True)
class Camera:
    """A pinhole camera in OpenCV convention (x right, y down, z forward).

    Attributes:
        K: (3, 3) intrinsics in pixels.
        world_to_camera: (4, 4) rigid transform.
        size: image side in pixels.
    """

    K: np.ndarray
    world_to_camera: np.ndarray
    size: int

    @property
    def center(self) -> np.ndarray:
        """(3,) camera position in world coordinates."""
        rotation, translation = self.world_to_camera[:3, :3], self.world_to_camera[:3, 3]
        return -rotation.T @ translation

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3) world points -> (N, 2) pixel coordinates and (N,) depths along the axis."""
        cam = points @ self.world_to_camera[:3, :3].T + self.world_to_camera[:3, 3]
        pixels = cam @ self.K.T
        return pixels[:, :2] / pixels[:, 2:3], cam[:, 2]

    def rays(self) -> np.ndarray:
        """(size, size, 6) world-space rays (origin, unit direction) through the pixel centres."""
        s = self.size
        v, u = np.mgrid[0:s, 0:s].astype(np.float64) + 0.5
        fx, fy, cx, cy = self.K[0, 0], self.K[1, 1], self.K[0, 2], self.K[1, 2]
        directions_cam = np.stack([(u - cx) / fx, (v - cy) / fy, np.ones_like(u)], -1)
        directions_cam /= np.linalg.norm(directions_cam, axis=-1, keepdims=True)
        directions = directions_cam @ self.world_to_camera[:3, :3]  # R^T applied per row
        origins = np.broadcast_to(self.center, directions.shape)
        return np.concatenate([origins, directions], -1).astype(np.float32)


def look_at_camera(
    target: np.ndarray, distance: float, yaw_deg: float, size: int, fov_deg: float = FOV_DEG
) -> Camera:
    """A camera ``distance`` metres from ``target`` at ``yaw_deg`` about +Y, looking at it, upright."""
    yaw = math.radians(yaw_deg)
    eye = target + distance * np.array([math.sin(yaw), 0.0, math.cos(yaw)])
    forward = (target - eye) / np.linalg.norm(target - eye)
    right = np.cross(forward, [0.0, 1.0, 0.0])
    right /= np.linalg.norm(right)
    down = np.cross(forward, right)
    rotation = np.stack([right, down, forward])  # rows: camera axes in world coordinates
    world_to_camera = np.eye(4)
    world_to_camera[:3, :3] = rotation
    world_to_camera[:3, 3] = -rotation @ eye
    focal = 0.5 * size / math.tan(math.radians(fov_deg) / 2.0)
    K = np.array([[focal, 0.0, size / 2.0], [0.0, focal, size / 2.0], [0.0, 0.0, 1.0]])
    return Camera(K=K, world_to_camera=world_to_camera, size=size)


def vertex_segments(regions: dict[str, np.ndarray], n_vertices: int) -> np.ndarray:
    """(V,) uint8 segment id per vertex from the model's region masks (see SEGMENT_NAMES)."""
    labels = np.ones(n_vertices, np.uint8)
    for name in reversed(SEGMENT_PRIORITY):  # earlier names overwrite later ones
        mask = regions.get(name)
        if mask is not None:
            labels[mask] = SEGMENT_NAMES.index(name)
    return labels


def _png(image: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    picture = Image.fromarray(np.ascontiguousarray(image))  # uint16 -> 16-bit grey "I;16"
    picture.save(buffer, format="PNG", compress_level=6)
    return buffer.getvalue()


def _sample_texture(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear lookup of an (H, W, 3) uint8 texture at (N, 2) UVs (origin bottom-left)."""
    height, width = texture.shape[:2]
    x = np.clip(uv[:, 0] * width - 0.5, 0.0, width - 1.0)
    y = np.clip((1.0 - uv[:, 1]) * height - 0.5, 0.0, height - 1.0)
    x0, y0 = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    tex = texture.astype(np.float32) / 255.0
    top = tex[y0, x0] * (1 - fx) + tex[y0, x1] * fx
    bottom = tex[y1, x0] * (1 - fx) + tex[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


class LabelRenderer:
    """Renders the label images of one avatar at the chosen views (state: the fixed cameras)."""

    def __init__(self, model: Any, views: tuple[str, ...], size: int) -> None:
        unknown = [v for v in views if v not in VIEWS]
        if unknown:
            raise ValueError(f"unknown view(s) {unknown}; choose from {list(VIEWS)}")
        import open3d  # noqa: F401  (fail here, not in the middle of a run)

        self.model = model
        data = model.data
        mean = data.vertices.astype(np.float64)
        low, high = mean.min(0), mean.max(0)
        target = (low + high) / 2.0
        radius = float(np.linalg.norm(high - low)) / 2.0
        distance = 1.1 * radius / math.sin(math.radians(FOV_DEG) / 2.0)
        self.cameras = {v: look_at_camera(target, distance, VIEWS[v], size) for v in views}
        self.segments = vertex_segments(data.regions, data.n_vertices)
        self.faces = data.faces.astype(np.int64)
        self.landmarks = data.landmarks.astype(np.int64)

    def render(self, params: Any, mesh: Any, stem: str) -> Iterator[tuple[str, str, bytes]]:
        """Yield ``(file name, kind, bytes)`` for every view's images, then the labels file."""
        with torch.no_grad():
            decoded = self.model(params.to(self.model.mean_vertices.device))
            vertices = decoded.posed_vertices[0].cpu().numpy().astype(np.float64)
            normals = self.model.vertex_normals(decoded.posed_vertices)[0].cpu().numpy()
        lighting = params.lighting[0].cpu().numpy().astype(np.float64)  # (9, 3)
        labels: dict[str, Any] = {
            "format": "mesh-avatar-labels",
            "version": 1,
            "image_size": next(iter(self.cameras.values())).size,
            "depth_scale": DEPTH_SCALE,
            "normal_space": "camera, OpenCV axes (x right, y down, z forward)",
            "segments": dict(enumerate(SEGMENT_NAMES)),
            "views": {},
        }
        scene, uvs = self._scene(vertices), self._corner_uvs(mesh)
        for view, camera in self.cameras.items():
            images, info = self._render_view(scene, camera, vertices, normals, uvs, mesh, lighting)
            for kind, image in images.items():
                yield f"{stem}_{view}_{kind}.png", kind, _png(image)
            labels["views"][view] = info
        text = json.dumps(labels, sort_keys=True) + "\n"
        yield f"{stem}_labels.json", "labels", text.encode()

    # -------------------------------------------------------------------------------- internals
    def _scene(self, vertices: np.ndarray) -> Any:
        import open3d as o3d

        scene = o3d.t.geometry.RaycastingScene(nthreads=1)
        scene.add_triangles(
            o3d.core.Tensor(vertices.astype(np.float32)),
            o3d.core.Tensor(self.faces.astype(np.uint32)),
        )
        return scene

    def _corner_uvs(self, mesh: Any) -> np.ndarray:
        """(F, 3, 2) UV of each face corner."""
        return mesh.uvs[mesh.face_uvs]

    def _render_view(
        self,
        scene: Any,
        camera: Camera,
        vertices: np.ndarray,
        normals: np.ndarray,
        corner_uvs: np.ndarray,
        mesh: Any,
        lighting: np.ndarray,
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        import open3d as o3d

        size = camera.size
        hits = scene.cast_rays(o3d.core.Tensor(camera.rays().reshape(-1, 6)), nthreads=1)
        face = hits["primitive_ids"].numpy().astype(np.int64)
        covered = face != scene.INVALID_ID
        face = face[covered]
        uv_bary = hits["primitive_uvs"].numpy()[covered].astype(np.float64)
        bary = np.stack([1.0 - uv_bary.sum(1), uv_bary[:, 0], uv_bary[:, 1]], 1)  # (N, 3)
        corners = self.faces[face]  # (N, 3)
        point = np.einsum("nk,nkd->nd", bary, vertices[corners])
        normal = np.einsum("nk,nkd->nd", bary, normals[corners].astype(np.float64))
        normal /= np.maximum(np.linalg.norm(normal, axis=1, keepdims=True), 1e-12)
        uv = np.einsum("nk,nkd->nd", bary, corner_uvs[face].astype(np.float64))

        irradiance = sh_basis(torch.from_numpy(normal)).numpy() @ lighting  # (N, 3)
        color = np.clip(_sample_texture(mesh.texture, uv) * irradiance, 0.0, 1.0)
        rgba = np.zeros((size * size, 4), np.uint8)
        rgba[covered, :3] = np.round(color * 255.0).astype(np.uint8)
        rgba[covered, 3] = 255

        rotation, translation = camera.world_to_camera[:3, :3], camera.world_to_camera[:3, 3]
        z = point @ rotation[2] + translation[2]
        depth = np.zeros(size * size, np.uint16)
        depth[covered] = np.clip(np.round(z / DEPTH_SCALE), 1, 65535).astype(np.uint16)

        normal_cam = normal @ rotation.T
        normal_img = np.zeros((size * size, 3), np.uint8)
        normal_img[covered] = np.round((normal_cam + 1.0) * 127.5).clip(0, 255).astype(np.uint8)

        seg = np.zeros(size * size, np.uint8)
        seg[covered] = self.segments[corners[np.arange(len(face)), bary.argmax(1)]]

        images = {
            "rgb": rgba.reshape(size, size, 4),
            "depth": depth.reshape(size, size),
            "normal": normal_img.reshape(size, size, 3),
            "seg": seg.reshape(size, size),
        }
        info = {
            "K": camera.K.tolist(),
            "world_to_camera": camera.world_to_camera.tolist(),
            "landmarks": self._landmarks(scene, camera, vertices),
        }
        return images, info

    def _landmarks(self, scene: Any, camera: Camera, vertices: np.ndarray) -> list[list[float]]:
        """68 x [x, y, visible] in pixels; visible = not hidden by other surface (1 mm slack)."""
        import open3d as o3d

        if self.landmarks.size == 0:
            return []
        points = vertices[self.landmarks]
        pixels, _ = camera.project(points)
        origin = camera.center
        offsets = points - origin
        distance = np.linalg.norm(offsets, axis=1)
        rays = np.concatenate(
            [np.broadcast_to(origin, points.shape), offsets / distance[:, None]], 1
        )
        hit = scene.cast_rays(o3d.core.Tensor(rays.astype(np.float32)), nthreads=1)["t_hit"].numpy()
        visible = hit >= distance - 1e-3
        return [
            [round(float(x), 3), round(float(y), 3), int(seen)]
            for (x, y), seen in zip(pixels, visible, strict=True)
        ]
