"""AvatarMesh: one avatar as plain numpy arrays, ready for the exporters.

Conventions: metres, +Y up, the face looks down +Z, counter-clockwise triangles seen from outside.
UVs follow the OBJ/OpenGL convention (origin at the bottom-left of the texture image); the glTF writer
flips v. Positions and UVs are indexed separately (``faces`` and ``face_uvs``) as in OBJ, because a UV
seam splits texture coordinates but not the surface.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mesh_avatar.errors import ExportError


@dataclass(frozen=True, eq=False)
class AvatarMesh:
    """A single textured avatar head.

    Attributes:
        vertices: (V, 3) float32 positions in metres.
        faces: (F, 3) int32 vertex indices, counter-clockwise seen from outside.
        uvs: (T, 2) float32 texture coordinates in [0, 1], origin bottom-left.
        face_uvs: (F, 3) int32 indices into ``uvs`` for each face corner.
        normals: (V, 3) float32 unit vertex normals.
        texture: (H, W, 3) uint8 sRGB albedo image; row 0 is the top of the image (v = 1).
        morph_targets: ordered name -> (V, 3) float32 position deltas (ARKit names for expressions).
            ``vertices`` is the neutral-expression shape; the avatar's own expression is carried by
            ``morph_weights`` (glTF default weights), so engines can animate from neutral.
        morph_weights: (M,) float32 weight of each morph target, in ``morph_targets`` order.
        vertex_groups: name -> (V,) bool masks of semantic regions (``eye_left``, ``jaw``, ...).
        joints: name -> (3,) float32 joint positions in metres (``neck``, ``head``, ``eye_left``, ...).
        metadata: JSON-serialisable facts (model name, licence, seed, coefficients, ...).
        template_vertices: optional (V, 3) float32 mean shape of the model; exporters decimate it
            (not the avatar) for levels of detail, so all avatars of a model share one LOD topology.
    """

    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    face_uvs: np.ndarray
    normals: np.ndarray
    texture: np.ndarray
    morph_targets: dict[str, np.ndarray] = field(default_factory=dict)
    morph_weights: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    vertex_groups: dict[str, np.ndarray] = field(default_factory=dict)
    joints: dict[str, np.ndarray] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    template_vertices: np.ndarray | None = None

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def n_faces(self) -> int:
        return int(self.faces.shape[0])

    def posed_vertices(self) -> np.ndarray:
        """(V, 3) vertices with the morph weights applied (what a static format such as OBJ shows)."""
        out = self.vertices.astype(np.float32, copy=True)
        for weight, delta in zip(self.morph_weights, self.morph_targets.values(), strict=True):
            if weight:
                out += weight * delta
        return out

    def validate(self) -> AvatarMesh:
        """Check shapes, dtypes, index ranges and finiteness; raise ExportError on a problem."""
        v, f = self.n_vertices, self.n_faces
        _expect(self.vertices, (v, 3), np.float32, "vertices")
        _expect(self.faces, (f, 3), np.int32, "faces")
        _expect(self.uvs, (self.uvs.shape[0], 2), np.float32, "uvs")
        _expect(self.face_uvs, (f, 3), np.int32, "face_uvs")
        _expect(self.normals, (v, 3), np.float32, "normals")
        if self.texture.ndim != 3 or self.texture.shape[2] != 3 or self.texture.dtype != np.uint8:
            raise ExportError(
                f"texture must be an (H, W, 3) uint8 image, got {self.texture.shape} "
                f"{self.texture.dtype}"
            )
        if f and (self.faces.min() < 0 or self.faces.max() >= v):
            raise ExportError("faces index vertices out of range")
        if f and (self.face_uvs.min() < 0 or self.face_uvs.max() >= self.uvs.shape[0]):
            raise ExportError("face_uvs index uvs out of range")
        for name, array in (("vertices", self.vertices), ("normals", self.normals)):
            if not np.isfinite(array).all():
                raise ExportError(f"{name} contain NaN or infinite values")
        for name, delta in self.morph_targets.items():
            _expect(delta, (v, 3), np.float32, f"morph target {name!r}")
            if not np.isfinite(delta).all():
                raise ExportError(f"morph target {name!r} contains NaN or infinite values")
        _expect(self.morph_weights, (len(self.morph_targets),), np.float32, "morph_weights")
        for name, mask in self.vertex_groups.items():
            _expect(mask, (v,), np.bool_, f"vertex group {name!r}")
        for name, position in self.joints.items():
            _expect(position, (3,), np.float32, f"joint {name!r}")
        if self.template_vertices is not None:
            _expect(self.template_vertices, (v, 3), np.float32, "template_vertices")
        return self


def _expect(array: np.ndarray, shape: tuple[int, ...], dtype: type, name: str) -> None:
    if not isinstance(array, np.ndarray):
        raise ExportError(f"{name} must be a numpy array, got {type(array).__name__}")
    if array.shape != shape:
        raise ExportError(f"{name} has shape {array.shape}, expected {shape}")
    if array.dtype != dtype:
        raise ExportError(f"{name} has dtype {array.dtype}, expected {np.dtype(dtype)}")


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals, (V, 3) float32; isolated vertices get +Z."""
    v = vertices.astype(np.float64)
    tri = v[faces]
    face_n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    normals = np.zeros_like(v)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_n)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    normals = np.where(length > 1e-20, normals / np.maximum(length, 1e-20), [0.0, 0.0, 1.0])
    return normals.astype(np.float32)
