"""What the viewer shows, independent of any GUI toolkit.

:class:`ViewerState` holds the coefficients of one avatar and turns slider moves into the two things
a front end uploads: the geometry (positions + normals per render vertex) and the albedo texture.
They are computed and cached separately, so a shape or expression slider never re-decodes the
texture, and an albedo slider never touches the geometry.

A shape slider updates the vertices incrementally (``v += (new - old) * direction_k``, O(V)) instead
of re-blending every component; a full re-blend happens on bulk changes and every
``REBLEND_EVERY`` incremental steps, so float error cannot accumulate.

Front ends need one vertex per (position, uv) pair because GPUs index both with one index;
:func:`split_uv_seams` computes that topology once per model.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

from mesh_avatar.errors import MeshAvatarError, ParamsError
from mesh_avatar.params import AvatarParams

log = logging.getLogger(__name__)

Group = Literal["identity", "expression", "albedo"]
GROUPS: tuple[Group, ...] = ("identity", "expression", "albedo")
REBLEND_EVERY = 256
EXPORT_SUFFIXES = {".glb": "glb", ".gltf": "gltf", ".obj": "obj"}
_SKIN_TONE = re.compile(r"skin|tone|melanin", re.IGNORECASE)


@dataclass(frozen=True)
class SliderSpec:
    """One slider: which coefficient it drives and its range."""

    group: Group
    index: int
    name: str
    minimum: float
    maximum: float
    default: float = 0.0

    @property
    def key(self) -> str:
        """Stable identifier, ``group/name`` (used by the web page and tests)."""
        return f"{self.group}/{self.name}"


def albedo_order(names: list[str]) -> list[int]:
    """Indices of the albedo components with skin-tone-like names first, else in model order."""
    return sorted(range(len(names)), key=lambda k: (not _SKIN_TONE.search(names[k]), k))


def slider_specs(model: Any, sigma_range: float = 3.0) -> tuple[SliderSpec, ...]:
    """Sliders for a :class:`~mesh_avatar.morphable.MorphableModel`, grouped and ordered.

    Identity and albedo coefficients (and PCA expressions) span +-``sigma_range`` standard
    deviations; blendshape expressions span their ARKit range [0, 1].
    """
    data = model.data
    specs = [
        SliderSpec("identity", k, name, -sigma_range, sigma_range)
        for k, name in enumerate(data.identity_names)
    ]
    blend = data.expression_kind == "blendshape"
    lo, hi = (0.0, 1.0) if blend else (-sigma_range, sigma_range)
    specs += [
        SliderSpec("expression", k, name, lo, hi) for k, name in enumerate(data.expression_names)
    ]
    specs += [
        SliderSpec("albedo", k, data.albedo_names[k], -sigma_range, sigma_range)
        for k in albedo_order(list(data.albedo_names))
    ]
    return tuple(specs)


@dataclass(frozen=True)
class RenderTopology:
    """The model's mesh with one vertex per distinct (position, uv) corner.

    Attributes:
        vertex_index: (R,) int64 model vertex of each render vertex.
        uvs: (R, 2) float32 texture coordinates, origin bottom-left (OBJ/OpenGL convention).
        faces: (F, 3) int32 triangles indexing render vertices (same order as the model's faces).
    """

    vertex_index: np.ndarray
    uvs: np.ndarray
    faces: np.ndarray

    @property
    def n_vertices(self) -> int:
        return int(self.vertex_index.shape[0])


def split_uv_seams(faces: np.ndarray, face_uvs: np.ndarray, uvs: np.ndarray) -> RenderTopology:
    """Split vertices along UV seams.

    Args:
        faces: (F, 3) vertex indices.
        face_uvs: (F, 3) uv indices of the same corners.
        uvs: (T, 2) texture coordinates.

    Returns:
        A :class:`RenderTopology` whose vertex ``r`` sits at model vertex ``vertex_index[r]`` with
        texture coordinate ``uvs[r]``; ``vertex_index[faces]`` equals the model's ``faces``.
    """
    corners_v = faces.reshape(-1).astype(np.int64)
    corners_t = face_uvs.reshape(-1).astype(np.int64)
    key = corners_v * (int(uvs.shape[0]) + 1) + corners_t
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    return RenderTopology(
        vertex_index=corners_v[first],
        uvs=np.ascontiguousarray(uvs[corners_t[first]], dtype=np.float32),
        faces=inverse.reshape(-1, 3).astype(np.int32),
    )


@dataclass(frozen=True)
class Change:
    """What a state change invalidated: the geometry, the texture, or both."""

    geometry: bool = False
    texture: bool = False

    def __or__(self, other: Change) -> Change:
        return Change(self.geometry or other.geometry, self.texture or other.texture)


EVERYTHING = Change(geometry=True, texture=True)


@dataclass(frozen=True)
class ViewerConfig:
    """Viewer settings.

    Attributes:
        seed: run seed of the first "Random" avatar (the seed box).
        truncation: psi in (0, 1]: GAN truncation, or for the prior a shrink of the identity and
            albedo coefficients towards the mean face.
        sigma_range: slider range of std-unit coefficients.
        display_texture_size: longest side of the texture shown on screen (export uses its own).
        export_texture_size: texture side written by Export.
    """

    seed: int = 0
    truncation: float = 1.0
    sigma_range: float = 3.0
    display_texture_size: int = 512
    export_texture_size: int = 1024

    def __post_init__(self) -> None:
        if not isinstance(self.seed, int) or self.seed < 0:
            raise MeshAvatarError(f"seed must be a whole number >= 0, got {self.seed!r}")
        check_truncation(self.truncation)
        if not 0.0 < self.sigma_range <= 5.0:
            raise MeshAvatarError(f"sigma_range must lie in (0, 5], got {self.sigma_range}")
        for name in ("display_texture_size", "export_texture_size"):
            value = getattr(self, name)
            if not 16 <= value <= 8192:
                raise MeshAvatarError(f"{name} must lie in [16, 8192], got {value}")


def check_truncation(value: float) -> float:
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise MeshAvatarError(f"truncation must lie in (0, 1], got {value}")
    return float(value)


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted unit vertex normals (numpy; several times faster than torch gathers here).

    Args:
        vertices: (V, 3) float32 positions.
        faces: (F, 3) int64 counter-clockwise triangles.

    Returns:
        (V, 3) float32 unit normals; vertices without area get +Z.
    """
    tri = vertices[faces]
    face_normals = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    corners = faces.reshape(-1)
    repeated = np.repeat(face_normals, 3, axis=0)
    count = vertices.shape[0]
    # n_v = sum over corners c with vertex v of the (area-weighted) face normal of c
    summed = np.stack(
        [np.bincount(corners, repeated[:, k], minlength=count) for k in range(3)], axis=1
    )
    length = np.linalg.norm(summed, axis=1, keepdims=True)
    normals = np.where(length > 1e-20, summed / np.maximum(length, 1e-20), [0.0, 0.0, 1.0])
    return normals.astype(np.float32)


class DisplayAlbedo:
    """Decodes a UV albedo model straight at display resolution.

    ``texture = downsample(mean) + upsample(sum_k a_k d_k)``: the mean is area-downsampled once and
    the low-resolution directions are upsampled after blending, so a slider move touches only
    display-size arrays. Matches the full-resolution decode downsampled to within a few 8-bit
    levels (bilinear and area resampling do not commute exactly).

    Args:
        mean: (H, W, 3) mean texture.
        directions: (K, h, w, 3) scaled directions.
        size: longest display side; the texture is never upsampled beyond (H, W).
    """

    def __init__(self, mean: torch.Tensor, directions: torch.Tensor, size: int) -> None:
        height, width = mean.shape[:2]
        scale = min(1.0, size / max(height, width))
        self.size = (max(1, round(height * scale)), max(1, round(width * scale)))
        chw = mean.permute(2, 0, 1).unsqueeze(0)
        if self.size != (height, width):
            chw = F.interpolate(chw, size=self.size, mode="area")
        self.mean = chw[0].permute(1, 2, 0).contiguous()  # (h', w', 3)
        k, h, w, _ = directions.shape
        self.low = (h, w)
        # (K, 3*h*w) in channel-first order, so the blend comes out as a contiguous NCHW image.
        self.directions = directions.permute(0, 3, 1, 2).reshape(k, -1).contiguous()

    def decode(self, coeffs: torch.Tensor) -> np.ndarray:
        """(1, K) coefficients -> (h', w', 3) uint8 texture."""
        if self.directions.shape[0] == 0:
            image = self.mean.clone()
        else:
            offset = (coeffs @ self.directions).reshape(1, 3, *self.low)
            if self.low != self.size:
                offset = F.interpolate(offset, size=self.size, mode="bilinear", align_corners=False)
            image = self.mean + offset[0].permute(1, 2, 0)
        return image.clamp_(0.0, 1.0).mul_(255.0).add_(0.5).to(torch.uint8).numpy()


class ViewerState:
    """Coefficients of the avatar on screen and the cached data the front ends upload.

    Not thread-safe: a front end that calls it from several threads holds its own lock.

    Args:
        source: a :class:`~mesh_avatar.pipeline.AvatarSource` (model, and optionally a generator
            that "Random" samples from).
        config: viewer settings.
        params: avatar to start with (batch size 1); default: the neutral mean face.
    """

    def __init__(
        self, source: Any, config: ViewerConfig | None = None, params: AvatarParams | None = None
    ) -> None:
        self.source = source
        self.model = source.model
        self.config = config or ViewerConfig()
        self.specs = slider_specs(self.model, self.config.sigma_range)
        self._spec_by_key = {spec.key: spec for spec in self.specs}
        data = self.model.data
        self.topology = split_uv_seams(data.faces, data.face_uvs, data.uvs)
        self._faces = data.faces.astype(np.int64)
        # Numpy views of the model's scaled directions (they share the buffers' memory).
        self._directions = {
            "identity": self.model.identity_directions.numpy(),
            "expression": self.model.expression_directions.numpy(),
        }
        if data.albedo_space == "uv":
            self._display_albedo = DisplayAlbedo(
                self.model.albedo_mean,
                self.model.albedo_directions,
                self.config.display_texture_size,
            )
        self.seed = self.config.seed
        self.truncation = self.config.truncation
        self.version = 0  # bumped on every change; front ends compare it to skip stale uploads
        self._values: dict[Group, np.ndarray] = {}
        self._set_all(params or AvatarParams.neutral(self.model.layout))

    # ------------------------------------------------------------------------------ reading
    @property
    def params(self) -> AvatarParams:
        """The current coefficients as AvatarParams (batch size 1, copies)."""
        return AvatarParams(
            identity=torch.from_numpy(self._values["identity"].copy())[None],
            expression=torch.from_numpy(self._values["expression"].copy())[None],
            albedo=torch.from_numpy(self._values["albedo"].copy())[None],
            pose=self._pose.clone(),
            lighting=self._lighting.clone(),
            detail=None if self._detail is None else self._detail.clone(),
        )

    def value(self, group: Group, index: int) -> float:
        return float(self._values[group][index])

    def values(self, group: Group) -> np.ndarray:
        """(K,) float32 copy of one coefficient group."""
        return self._values[group].copy()

    def spec(self, key: str) -> SliderSpec:
        try:
            return self._spec_by_key[key]
        except KeyError:
            raise MeshAvatarError(f"no slider named {key!r}") from None

    # ------------------------------------------------------------------------------ editing
    def set_value(self, group: Group, index: int, value: float) -> Change:
        """Move one slider; the value is clamped to the slider's range."""
        if group not in GROUPS:
            raise MeshAvatarError(f"unknown coefficient group {group!r}")
        values = self._values[group]
        if not 0 <= index < values.shape[0]:
            raise MeshAvatarError(f"{group} has {values.shape[0]} components, no index {index}")
        if not math.isfinite(value):
            raise ParamsError(f"{group}[{index}] must be a finite number, got {value}")
        lo, hi = self._range(group)
        new = np.float32(min(max(value, lo), hi))
        old = values[index]
        if new == old:
            return Change()
        values[index] = new
        self.version += 1
        if group == "albedo":
            self._texture = None
            return Change(texture=True)
        self._steps += 1
        if self._steps >= REBLEND_EVERY:
            self._reblend()
        else:
            # v += (new - old) * d_k : one axpy over 3V values instead of a K x 3V product.
            self._flat += (new - old) * self._directions[group][index]
        self._geometry = None
        return Change(geometry=True)

    def set_params(self, params: AvatarParams, source: str = "params") -> Change:
        """Show ``params`` (batch size 1); values are validated against the model."""
        if params.batch_size != 1:
            raise ParamsError(
                f"{source}: the viewer shows one avatar, got a batch of {params.batch_size}"
            )
        params.validate(self.model.layout, self.model.param_ranges, source=source)
        self._set_all(params)
        return EVERYTHING

    def reset(self) -> Change:
        """Back to the neutral mean face (the seed box keeps its value)."""
        self._set_all(AvatarParams.neutral(self.model.layout))
        return EVERYTHING

    def set_truncation(self, value: float) -> None:
        self.truncation = check_truncation(value)

    def randomize(self, seed: int | None = None) -> Change:
        """Show avatar 0 of run ``seed`` (default: the next seed) from the prior or the generator.

        With truncation 1 this is the avatar ``mesh-avatar generate --seed S --n 1`` writes.
        """
        if seed is None:
            seed = self.seed + 1
        if not isinstance(seed, int) or seed < 0:
            raise MeshAvatarError(f"seed must be a whole number >= 0, got {seed!r}")
        params = self.sample(seed)
        self.seed = seed
        self._set_all(params)
        return EVERYTHING

    def sample(self, seed: int) -> AvatarParams:
        """Avatar 0 of run ``seed`` with the current truncation (does not change the state)."""
        if getattr(self.source, "generator", None) is not None:
            self.source.truncation = self.truncation
            params = self.source.params(seed, 0)
        else:
            params = self.source.params(seed, 0)
            if self.truncation < 1.0:
                params = params.with_fields(
                    identity=params.identity * self.truncation,
                    albedo=params.albedo * self.truncation,
                )
        lo, hi = self._range("expression")
        return params.detach().to("cpu").with_fields(expression=params.expression.clamp(lo, hi))

    # ------------------------------------------------------------------------------ outputs
    def geometry(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions and unit normals of the render vertices, each (R, 3) float32 (cached)."""
        if self._geometry is None:
            vertices = self._flat.reshape(-1, 3)
            normals = vertex_normals(vertices, self._faces)
            index = self.topology.vertex_index
            self._geometry = (vertices[index], normals[index])
        return self._geometry

    def model_vertices(self) -> np.ndarray:
        """(V, 3) float32 copy of the model-space vertices shown (expression applied, no pose)."""
        return self._flat.reshape(-1, 3).copy()

    def texture(self) -> np.ndarray:
        """(H, W, 3) uint8 sRGB albedo texture for display, side <= display_texture_size (cached).

        UV models are decoded straight at display resolution (mean texture area-downsampled once,
        low-resolution offset upsampled once), which is what keeps albedo sliders interactive.
        """
        if self._texture is None:
            with torch.no_grad():
                coeffs = torch.from_numpy(self._values["albedo"])[None]
                if self.model.data.albedo_space == "uv" and self._detail is None:
                    self._texture = self._display_albedo.decode(coeffs)
                else:
                    from mesh_avatar.avatar import bake_albedo

                    albedo = self.model.albedo(coeffs, self._detail)[0]
                    size = self.config.display_texture_size
                    self._texture = bake_albedo(self.model, albedo, min(size, 1024))
        return self._texture

    def avatar_mesh(self, texture_size: int | None = None) -> Any:
        """The avatar as an :class:`~mesh_avatar.mesh.AvatarMesh` (what Export writes)."""
        from mesh_avatar.avatar import build_avatar_mesh

        metadata = {"model_spec": self.source.model_spec, "made_with": "viewer"}
        return build_avatar_mesh(
            self.model,
            self.params,
            texture_size or self.config.export_texture_size,
            metadata=metadata,
        )

    def export(self, path: str | Path) -> list[Path]:
        """Write the avatar to ``path`` (.glb, .gltf or .obj) plus ``<stem>.params.json`` beside it.

        Returns:
            The written paths (the requested file first).
        """
        target = Path(path).expanduser()
        fmt = EXPORT_SUFFIXES.get(target.suffix.lower())
        if fmt is None:
            raise MeshAvatarError(
                f"cannot export to {target.name!r}: the file name must end in "
                + ", ".join(EXPORT_SUFFIXES)
            )
        from mesh_avatar.export import ExportOptions, export_avatar

        options = ExportOptions(texture_size=self.config.export_texture_size)
        written = export_avatar(self.avatar_mesh(), target.parent, target.stem, (fmt,), options)
        written = [Path(p) for p in written]
        written.append(self.params.save(target.parent / f"{target.stem}.params.json"))
        log.info("exported %s", ", ".join(str(p) for p in written))
        return written

    # ------------------------------------------------------------------------------ internals
    def _range(self, group: Group) -> tuple[float, float]:
        if group == "expression" and self.model.data.expression_kind == "blendshape":
            return 0.0, 1.0
        return -self.config.sigma_range, self.config.sigma_range

    def _set_all(self, params: AvatarParams) -> None:
        params = params.detach().to("cpu")
        for group in GROUPS:
            self._values[group] = getattr(params, group)[0].numpy().astype(np.float32).copy()
        self._pose = params.pose.clone()
        self._lighting = params.lighting.clone()
        self._detail = None if params.detail is None else params.detail.clone()
        self._reblend()
        self._geometry: tuple[np.ndarray, np.ndarray] | None = None
        self._texture: np.ndarray | None = None
        self.version += 1

    def _reblend(self) -> None:
        with torch.no_grad():
            identity = torch.from_numpy(self._values["identity"])[None]
            expression = torch.from_numpy(self._values["expression"])[None]
            self._flat = self.model.shape(identity, expression).reshape(-1).numpy().copy()
        self._steps = 0
