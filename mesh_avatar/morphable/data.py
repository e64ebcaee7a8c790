"""MorphableModelData: the arrays of a 3D morphable model, independent of torch and of file formats.

Every reader (own ``.npz``, ICT-FaceKit, BFM, FLAME) produces one of these; :class:`MorphableModel`
is built from it. Units and axes follow the project conventions: metres, +Y up, face towards +Z,
counter-clockwise triangles seen from outside, UV origin bottom-left.

A decoded shape is ``mean + sum_k identity_k * identity_std_k * identity_basis_k + expression term``;
the expression term is ``sum_k w_k * expression_basis_k`` for blendshape models (ARKit weights) and
``sum_k e_k * expression_std_k * expression_basis_k`` for PCA models. Albedo likewise:
``albedo_mean + sum_k a_k * albedo_std_k * albedo_basis_k`` in sRGB [0, 1], where ``albedo_basis`` may
have a lower resolution than ``albedo_mean`` (it is bilinearly upsampled; this keeps files small).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from mesh_avatar.errors import ModelFileError
from mesh_avatar.params import CoefficientLayout

ExpressionKind = Literal["blendshape", "pca"]
AlbedoSpace = Literal["uv", "vertex"]

#: The 52 ARKit blendshape names, in Apple's documentation order.
ARKIT_BLENDSHAPES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft", "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight",
    "eyeLookOutRight", "eyeLookUpRight", "eyeSquintRight", "eyeWideRight", "jawForward",
    "jawLeft", "jawRight", "jawOpen", "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft",
    "mouthRight", "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthPressLeft",
    "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthUpperUpLeft",
    "mouthUpperUpRight", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft",
    "noseSneerRight", "tongueOut",
)  # fmt: skip

#: Region masks a model may carry (all optional); "left" is the subject's left, which is +X.
REGION_NAMES: tuple[str, ...] = (
    "face", "scalp", "ear_left", "ear_right", "eye_left", "eye_right", "lips", "neck", "jaw",
)  # fmt: skip


@dataclass(eq=False)
class MorphableModelData:
    """Arrays of a morphable model (numpy, float32 unless stated).

    Attributes:
        name: short model name (``default``, ``ict-facekit``, ``bfm2017``, ...).
        license: licence of the model data, shown to users and written into exported files.
        vertices: (V, 3) mean shape in metres.
        faces: (F, 3) int32 triangles.
        uvs: (T, 2) texture coordinates in [0, 1].
        face_uvs: (F, 3) int32 indices into ``uvs``.
        identity_basis: (K_id, V, 3) orthonormal directions (each has unit norm over all 3V values).
        identity_std: (K_id,) standard deviation of each direction, metres.
        identity_names: K_id names (semantic names where known, else ``identity_007``).
        expression_basis: (K_exp, V, 3) blendshape deltas at weight 1, or PCA directions.
        expression_std: (K_exp,) ones for blendshapes, standard deviations for PCA.
        expression_names: K_exp names (ARKit names for blendshape models).
        expression_kind: ``"blendshape"`` or ``"pca"``.
        albedo_space: ``"uv"`` (texture) or ``"vertex"`` (per-vertex colour).
        albedo_mean: (H, W, 3) texture (row 0 = top, v = 1) or (V, 3) colours, sRGB in [0, 1].
        albedo_basis: (K_alb, h, w, 3) or (K_alb, V, 3) directions.
        albedo_std: (K_alb,) standard deviations.
        albedo_names: K_alb names.
        landmarks: (68,) int32 vertex indices in iBUG / Multi-PIE order, or an empty array.
        regions: region name -> (V,) bool mask.
        description: free text (where the data came from).
    """

    name: str
    license: str
    vertices: np.ndarray
    faces: np.ndarray
    uvs: np.ndarray
    face_uvs: np.ndarray
    identity_basis: np.ndarray
    identity_std: np.ndarray
    identity_names: list[str]
    expression_basis: np.ndarray
    expression_std: np.ndarray
    expression_names: list[str]
    expression_kind: ExpressionKind
    albedo_space: AlbedoSpace
    albedo_mean: np.ndarray
    albedo_basis: np.ndarray
    albedo_std: np.ndarray
    albedo_names: list[str]
    landmarks: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    regions: dict[str, np.ndarray] = field(default_factory=dict)
    description: str = ""

    @property
    def n_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def layout(self) -> CoefficientLayout:
        return CoefficientLayout(
            n_identity=int(self.identity_basis.shape[0]),
            n_expression=int(self.expression_basis.shape[0]),
            n_albedo=int(self.albedo_basis.shape[0]),
        )

    def validate(self, source: str = "model") -> MorphableModelData:
        """Check every array's shape, dtype, index range and finiteness.

        Raises:
            ModelFileError: naming ``source`` and what is wrong.
        """

        def fail(message: str) -> None:
            raise ModelFileError(f"{source}: {message}")

        def check(array: np.ndarray, shape: tuple[int | None, ...], what: str) -> None:
            if not isinstance(array, np.ndarray):
                fail(f"{what} is missing or not an array")
            if array.ndim != len(shape) or any(
                want is not None and got != want
                for got, want in zip(array.shape, shape, strict=True)
            ):
                want_txt = "(" + ", ".join("?" if s is None else str(s) for s in shape) + ")"
                fail(f"{what} has shape {array.shape}, expected {want_txt}")
            if array.dtype.kind == "f" and not np.isfinite(array).all():
                fail(f"{what} contains NaN or infinite values")

        v = self.n_vertices
        check(self.vertices, (None, 3), "vertices")
        check(self.faces, (None, 3), "faces")
        check(self.uvs, (None, 2), "uvs")
        check(self.face_uvs, (self.faces.shape[0], 3), "face_uvs")
        if v == 0 or self.faces.shape[0] == 0:
            fail("the mesh has no vertices or no faces")
        if self.faces.min() < 0 or self.faces.max() >= v:
            fail(f"faces index vertices outside [0, {v})")
        if self.face_uvs.min() < 0 or self.face_uvs.max() >= self.uvs.shape[0]:
            fail(f"face_uvs index uvs outside [0, {self.uvs.shape[0]})")
        k_id = self.identity_basis.shape[0] if self.identity_basis.ndim == 3 else -1
        check(self.identity_basis, (None, v, 3), "identity_basis")
        check(self.identity_std, (k_id,), "identity_std")
        k_exp = self.expression_basis.shape[0] if self.expression_basis.ndim == 3 else -1
        check(self.expression_basis, (None, v, 3), "expression_basis")
        check(self.expression_std, (k_exp,), "expression_std")
        if self.expression_kind not in ("blendshape", "pca"):
            fail(f"expression_kind must be 'blendshape' or 'pca', got {self.expression_kind!r}")
        if self.albedo_space == "uv":
            check(self.albedo_mean, (None, None, 3), "albedo_mean")
            check(self.albedo_basis, (None, None, None, 3), "albedo_basis")
        elif self.albedo_space == "vertex":
            check(self.albedo_mean, (v, 3), "albedo_mean")
            check(self.albedo_basis, (None, v, 3), "albedo_basis")
        else:
            fail(f"albedo_space must be 'uv' or 'vertex', got {self.albedo_space!r}")
        check(self.albedo_std, (self.albedo_basis.shape[0],), "albedo_std")
        for what, names, count in (
            ("identity_names", self.identity_names, k_id),
            ("expression_names", self.expression_names, k_exp),
            ("albedo_names", self.albedo_names, self.albedo_basis.shape[0]),
        ):
            if len(names) != count:
                fail(f"{what} has {len(names)} entries for {count} components")
            if len(set(names)) != len(names):
                fail(f"{what} contains duplicate names")
        if self.landmarks.size and (self.landmarks.min() < 0 or self.landmarks.max() >= v):
            fail("landmarks index vertices out of range")
        for region, mask in self.regions.items():
            if mask.shape != (v,) or mask.dtype != np.bool_:
                fail(f"region {region!r} must be a ({v},) bool mask")
        return self
