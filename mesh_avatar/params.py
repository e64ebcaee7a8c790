"""AvatarParams: the batched bundle of coefficients that describes avatars.

One avatar is described by

========== ============ ============================================================================
field      shape        meaning
========== ============ ============================================================================
identity   (B, K_id)    shape coefficients in units of the model's standard deviations (prior N(0, 1))
expression (B, K_exp)   expression weights; blendshape models: ARKit weights in [0, 1]; PCA models:
                        standard deviations (prior N(0, 1))
albedo     (B, K_alb)   albedo coefficients in units of standard deviations (prior N(0, 1))
pose       (B, 6)       head rotation (yaw, pitch, roll) in radians, then translation (x, y, z) in metres
lighting   (B, 9, 3)    second-order spherical-harmonics irradiance coefficients per RGB channel
detail     (B, 3, H, W) optional UV-space residual added to the albedo texture (sRGB units), or None
========== ============ ============================================================================

Rotation order: ``R = R_y(yaw) @ R_x(pitch) @ R_z(roll)``, applied about the model origin, then the
translation. Axes follow glTF: +Y up, the face looks down +Z.

The flat vector layout (for networks and for storage) is described by :class:`CoefficientLayout`.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mesh_avatar.errors import ParamsError

POSE_DIM = 6
SH_BANDS = 9
LIGHTING_DIM = SH_BANDS * 3


@dataclass(frozen=True)
class CoefficientLayout:
    """Sizes of the coefficient groups and how they sit in one flat vector.

    The flat order is identity, expression, albedo, pose, lighting (lighting flattened as 9 x RGB).
    """

    n_identity: int
    n_expression: int
    n_albedo: int

    def __post_init__(self) -> None:
        for name in ("n_identity", "n_expression", "n_albedo"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 0:
                raise ParamsError(f"{name} must be a non-negative integer, got {value!r}")

    @property
    def sizes(self) -> dict[str, int]:
        """Group name -> number of flat entries, in flat order."""
        return {
            "identity": self.n_identity,
            "expression": self.n_expression,
            "albedo": self.n_albedo,
            "pose": POSE_DIM,
            "lighting": LIGHTING_DIM,
        }

    @property
    def dim(self) -> int:
        """Length of the flat vector."""
        return sum(self.sizes.values())

    def slices(self) -> dict[str, slice]:
        """Group name -> slice into the flat vector."""
        out: dict[str, slice] = {}
        start = 0
        for name, size in self.sizes.items():
            out[name] = slice(start, start + size)
            start += size
        return out


@dataclass(frozen=True)
class ParamRanges:
    """Bounds used by :meth:`AvatarParams.validate`; values outside are rejected as implausible."""

    sigma_bound: float = 5.0
    expression: tuple[float, float] = (-0.5, 1.5)
    rotation_bound: float = math.pi
    translation_bound: float = 2.0
    lighting_bound: float = 10.0
    detail_bound: float = 1.0


@dataclass(frozen=True)
class AvatarParams:
    """A batch of avatar coefficients (all float32 tensors on one device, batch first)."""

    identity: torch.Tensor
    expression: torch.Tensor
    albedo: torch.Tensor
    pose: torch.Tensor
    lighting: torch.Tensor
    detail: torch.Tensor | None = None

    # ----------------------------------------------------------------------------------- building
    @classmethod
    def neutral(
        cls,
        layout: CoefficientLayout,
        batch_size: int = 1,
        device: torch.device | str = "cpu",
    ) -> AvatarParams:
        """Mean face, neutral expression, frontal pose, white ambient light."""
        lighting = torch.zeros(batch_size, SH_BANDS, 3, device=device)
        lighting[:, 0, :] = default_ambient_sh()
        return cls(
            identity=torch.zeros(batch_size, layout.n_identity, device=device),
            expression=torch.zeros(batch_size, layout.n_expression, device=device),
            albedo=torch.zeros(batch_size, layout.n_albedo, device=device),
            pose=torch.zeros(batch_size, POSE_DIM, device=device),
            lighting=lighting,
        )

    @classmethod
    def from_flat(cls, flat: torch.Tensor, layout: CoefficientLayout) -> AvatarParams:
        """Split a (B, layout.dim) tensor into named groups."""
        if flat.ndim != 2 or flat.shape[1] != layout.dim:
            raise ParamsError(
                f"flat coefficients must have shape (B, {layout.dim}), got {tuple(flat.shape)}"
            )
        parts = {name: flat[:, s] for name, s in layout.slices().items()}
        parts["lighting"] = parts["lighting"].reshape(-1, SH_BANDS, 3)
        return cls(**parts)

    def to_flat(self) -> torch.Tensor:
        """Concatenate the groups into a (B, D) tensor (``detail`` is not part of it)."""
        return torch.cat(
            [
                self.identity,
                self.expression,
                self.albedo,
                self.pose,
                self.lighting.reshape(self.batch_size, LIGHTING_DIM),
            ],
            dim=1,
        )

    # ----------------------------------------------------------------------------------- access
    @property
    def batch_size(self) -> int:
        return int(self.identity.shape[0])

    @property
    def layout(self) -> CoefficientLayout:
        return CoefficientLayout(
            n_identity=int(self.identity.shape[1]),
            n_expression=int(self.expression.shape[1]),
            n_albedo=int(self.albedo.shape[1]),
        )

    @property
    def device(self) -> torch.device:
        return self.identity.device

    def tensors(self) -> dict[str, torch.Tensor]:
        """Field name -> tensor, without ``detail`` when it is absent."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        if out["detail"] is None:
            del out["detail"]
        return out

    def to(self, device: torch.device | str) -> AvatarParams:
        return AvatarParams(**{k: v.to(device) for k, v in self.tensors().items()})

    def detach(self) -> AvatarParams:
        return AvatarParams(**{k: v.detach() for k, v in self.tensors().items()})

    def select(self, index: int | slice | torch.Tensor) -> AvatarParams:
        """A sub-batch; an integer index keeps the batch dimension (size 1)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return AvatarParams(**{k: v[index] for k, v in self.tensors().items()})

    def with_fields(self, **changes: torch.Tensor | None) -> AvatarParams:
        return replace(self, **changes)

    @staticmethod
    def cat(items: list[AvatarParams]) -> AvatarParams:
        if not items:
            raise ParamsError("cannot concatenate an empty list of AvatarParams")
        has_detail = {item.detail is not None for item in items}
        if len(has_detail) != 1:
            raise ParamsError("cannot concatenate AvatarParams with and without detail textures")
        keys = items[0].tensors().keys()
        return AvatarParams(**{k: torch.cat([it.tensors()[k] for it in items]) for k in keys})

    # ----------------------------------------------------------------------------------- checks
    def validate(
        self,
        layout: CoefficientLayout | None = None,
        ranges: ParamRanges | None = None,
        source: str = "params",
    ) -> AvatarParams:
        """Check shapes, finiteness and plausible ranges; return ``self`` or raise ParamsError.

        ``source`` names where the values came from (a file name) in the error message.
        """
        ranges = ranges or ParamRanges()
        tensors = self.tensors()
        for name, value in tensors.items():
            if not isinstance(value, torch.Tensor):
                raise ParamsError(f"{source}: {name} must be a tensor, got {type(value).__name__}")
            if not value.is_floating_point():
                raise ParamsError(f"{source}: {name} must be floating point, got {value.dtype}")
        batch = self.batch_size
        expected_ndim = {"identity": 2, "expression": 2, "albedo": 2, "pose": 2, "lighting": 3}
        expected_ndim["detail"] = 4
        for name, value in tensors.items():
            if value.ndim != expected_ndim[name] or value.shape[0] != batch:
                raise ParamsError(
                    f"{source}: {name} has shape {tuple(value.shape)}; expected "
                    f"{expected_ndim[name]} dimensions with batch size {batch} first"
                )
        if self.pose.shape[1] != POSE_DIM:
            raise ParamsError(
                f"{source}: pose must have {POSE_DIM} values, got {self.pose.shape[1]}"
            )
        if tuple(self.lighting.shape[1:]) != (SH_BANDS, 3):
            raise ParamsError(
                f"{source}: lighting must have shape (B, {SH_BANDS}, 3), "
                f"got {tuple(self.lighting.shape)}"
            )
        if self.detail is not None and self.detail.shape[1] != 3:
            raise ParamsError(f"{source}: detail must have shape (B, 3, H, W)")
        if layout is not None:
            for name, size in layout.sizes.items():
                if name in ("pose", "lighting"):
                    continue
                got = tensors[name].shape[1]
                if got != size:
                    raise ParamsError(
                        f"{source}: {name} has {got} coefficients but the model expects {size}"
                    )
        for name, value in tensors.items():
            if not torch.isfinite(value).all():
                bad = int((~torch.isfinite(value)).sum())
                raise ParamsError(f"{source}: {name} contains {bad} NaN or infinite value(s)")
        self._check_range(
            "identity", self.identity, -ranges.sigma_bound, ranges.sigma_bound, source
        )
        self._check_range("albedo", self.albedo, -ranges.sigma_bound, ranges.sigma_bound, source)
        self._check_range("expression", self.expression, *ranges.expression, source)
        rb, tb = ranges.rotation_bound, ranges.translation_bound
        self._check_range("pose rotation", self.pose[:, :3], -rb, rb, source)
        self._check_range("pose translation", self.pose[:, 3:], -tb, tb, source)
        lb = ranges.lighting_bound
        self._check_range("lighting", self.lighting, -lb, lb, source)
        if self.detail is not None:
            db = ranges.detail_bound
            self._check_range("detail", self.detail, -db, db, source)
        return self

    @staticmethod
    def _check_range(name: str, value: torch.Tensor, lo: float, hi: float, source: str) -> None:
        if value.numel() == 0:
            return
        vmin, vmax = float(value.min()), float(value.max())
        if vmin < lo or vmax > hi:
            raise ParamsError(
                f"{source}: {name} values must lie in [{lo:g}, {hi:g}], found [{vmin:.4g}, {vmax:.4g}]"
            )

    # ----------------------------------------------------------------------------------- files
    def to_numpy(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().astype(np.float32) for k, v in self.tensors().items()}

    @classmethod
    def from_numpy(cls, arrays: dict[str, Any], source: str = "params") -> AvatarParams:
        required = ("identity", "expression", "albedo", "pose", "lighting")
        missing = [k for k in required if k not in arrays]
        if missing:
            raise ParamsError(f"{source}: missing field(s) {', '.join(missing)}")
        unknown = sorted(set(arrays) - set(required) - {"detail"})
        if unknown:
            raise ParamsError(f"{source}: unknown field(s) {', '.join(unknown)}")
        tensors: dict[str, torch.Tensor | None] = {}
        for key, value in arrays.items():
            try:
                array = np.asarray(value, dtype=np.float32)
            except (TypeError, ValueError):
                raise ParamsError(f"{source}: {key} is not an array of numbers") from None
            tensors[key] = torch.from_numpy(np.ascontiguousarray(array))
        for key in ("identity", "expression", "albedo", "pose"):
            if tensors[key].ndim == 1:  # a single avatar written without its batch dimension
                tensors[key] = tensors[key][None]
        if tensors["lighting"].ndim == 2:
            tensors["lighting"] = tensors["lighting"][None]
        if tensors.get("detail") is not None and tensors["detail"].ndim == 3:
            tensors["detail"] = tensors["detail"][None]
        return cls(**tensors)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write to ``.json`` (human-readable lists) or ``.npz`` atomically, chosen by suffix."""
        from mesh_avatar.io import atomic_write_bytes

        target = Path(path)
        return atomic_write_bytes(target, self.to_bytes(target.suffix.lower()))

    def to_bytes(self, suffix: str = ".json") -> bytes:
        arrays = self.to_numpy()
        if suffix == ".json":
            payload = {"format": "mesh-avatar-params", "version": 1}
            payload.update({k: v.tolist() for k, v in arrays.items()})
            return (json.dumps(payload, indent=1) + "\n").encode()
        if suffix == ".npz":
            from mesh_avatar.npz import npz_bytes

            return npz_bytes(arrays)
        raise ParamsError(f"unsupported params file type {suffix!r}: use .json or .npz")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AvatarParams:
        """Read a file written by :meth:`save`; raise ParamsError naming the file on any problem."""
        source = Path(path)
        if not source.is_file():
            raise ParamsError(f"params file not found: {source}")
        suffix = source.suffix.lower()
        if suffix == ".json":
            try:
                payload = json.loads(source.read_text(), parse_constant=_json_constant)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise ParamsError(f"{source}: not valid JSON ({exc})") from None
            if not isinstance(payload, dict):
                raise ParamsError(f"{source}: expected a JSON object with coefficient fields")
            payload.pop("format", None)
            payload.pop("version", None)
            return cls.from_numpy(payload, source=str(source))
        if suffix == ".npz":
            try:
                with np.load(source, allow_pickle=False) as archive:
                    arrays = {k: archive[k] for k in archive.files}
            except (OSError, ValueError, EOFError) as exc:
                raise ParamsError(f"{source}: not a readable .npz archive ({exc})") from None
            return cls.from_numpy(arrays, source=str(source))
        raise ParamsError(f"{source}: unsupported params file type {suffix!r}: use .json or .npz")


def _json_constant(name: str) -> float:
    # Python's json accepts NaN/Infinity literals; keep them so validation reports them clearly.
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]


def default_ambient_sh() -> float:
    """Band-0 SH coefficient that gives unit irradiance for the renderers' SH convention.

    The renderers evaluate irradiance as ``sum_k L_k * Y_k(n)`` with ``Y_0 = 1 / (2 sqrt(pi))``,
    so a band-0 coefficient of ``2 sqrt(pi)`` is uniform light of intensity 1.
    """
    return 2.0 * math.sqrt(math.pi)
