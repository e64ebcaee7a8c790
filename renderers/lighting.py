"""Lighting: second-order spherical harmonics plus an optional directional light (pure shading math).

SH convention (shared with ``mesh_avatar.params``): irradiance(n) = sum_k sh[k] * Y_k(n) with the real
orthonormal basis in the order ``Y_00, Y_1-1 (y), Y_10 (z), Y_11 (x), Y_2-2 (xy), Y_2-1 (yz),
Y_20 (3z^2-1), Y_21 (xz), Y_22 (x^2-y^2)``, evaluated on world-space unit normals. ``Y_00 = 1/(2
sqrt(pi))``, so ``sh[0] = 2 sqrt(pi)`` is uniform white light of irradiance 1. Irradiance and light
colours are linear-space quantities.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from renderers.errors import RenderInputError

SH_BANDS = 9
_C0 = 0.5 / math.sqrt(math.pi)
_C1 = math.sqrt(3.0 / (4.0 * math.pi))
_C2 = 0.5 * math.sqrt(15.0 / math.pi)
_C3 = 0.25 * math.sqrt(5.0 / math.pi)
_C4 = 0.25 * math.sqrt(15.0 / math.pi)
#: Band-0 coefficient of uniform white light with irradiance 1.
AMBIENT_SH0 = 2.0 * math.sqrt(math.pi)


@dataclass(frozen=True)
class Lighting:
    """A batch of light setups.

    Attributes:
        sh: (B, 9, 3) SH irradiance coefficients per RGB channel (linear space).
        directional_dir: None or (B, 3) world-space direction from the surface towards the light
            (normalised at render time).
        directional_color: None or (B, 3) linear irradiance of the directional light (white 1.0 if
            only the direction is given).
        specular: strength of a Blinn-Phong highlight from the directional light (0 = off).
        shininess: Blinn-Phong exponent.

    Batch 1 broadcasts to the mesh batch. Every tensor may require gradients.
    """

    sh: torch.Tensor
    directional_dir: torch.Tensor | None = None
    directional_color: torch.Tensor | None = None
    specular: float = 0.0
    shininess: float = 32.0

    def __post_init__(self) -> None:
        if self.sh.ndim != 3 or self.sh.shape[1:] != (SH_BANDS, 3):
            raise RenderInputError(f"lighting sh must be (B, 9, 3), got {tuple(self.sh.shape)}")
        b = self.sh.shape[0]
        for name in ("directional_dir", "directional_color"):
            value = getattr(self, name)
            if value is not None and (
                value.ndim != 2 or value.shape[1] != 3 or value.shape[0] not in (1, b)
            ):
                raise RenderInputError(
                    f"lighting {name} must be ({b}, 3), got {tuple(value.shape)}"
                )
        if self.directional_color is not None and self.directional_dir is None:
            raise RenderInputError("lighting directional_color needs directional_dir")
        if not (self.specular >= 0.0 and math.isfinite(self.specular)):
            raise RenderInputError(f"lighting specular must be >= 0, got {self.specular}")
        if not (self.shininess > 0.0 and math.isfinite(self.shininess)):
            raise RenderInputError(f"lighting shininess must be > 0, got {self.shininess}")

    @classmethod
    def ambient(
        cls, batch_size: int = 1, intensity: float = 1.0, device: torch.device | str | None = None
    ) -> Lighting:
        """Uniform white light of the given irradiance."""
        sh = torch.zeros(batch_size, SH_BANDS, 3, device=device)
        sh[:, 0] = AMBIENT_SH0 * intensity
        return cls(sh=sh)

    @property
    def batch_size(self) -> int:
        return self.sh.shape[0]

    def expand(self, batch_size: int) -> Lighting:
        """Broadcast batch-1 tensors to ``batch_size``."""
        if self.batch_size not in (1, batch_size):
            raise RenderInputError(
                f"lighting batch {self.batch_size} does not match the mesh batch {batch_size}"
            )

        def grow(t: torch.Tensor | None) -> torch.Tensor | None:
            return None if t is None else t.expand(batch_size, *t.shape[1:])

        return Lighting(
            grow(self.sh),  # type: ignore[arg-type]
            grow(self.directional_dir),
            grow(self.directional_color),
            self.specular,
            self.shininess,
        )

    def check_finite(self) -> None:
        for name in ("sh", "directional_dir", "directional_color"):
            value = getattr(self, name)
            if value is not None and not bool(torch.isfinite(value).all()):
                raise RenderInputError(f"lighting {name} contains NaN or infinite values")


# --------------------------------------------------------------------------------- pure functions
def sh_basis(normals: torch.Tensor) -> torch.Tensor:
    """Real orthonormal SH basis up to band 2: (..., 3) unit vectors -> (..., 9)."""
    x, y, z = normals.unbind(-1)
    return torch.stack(
        [
            torch.full_like(x, _C0),
            _C1 * y,
            _C1 * z,
            _C1 * x,
            _C2 * x * y,
            _C2 * y * z,
            _C3 * (3.0 * z * z - 1.0),
            _C2 * x * z,
            _C4 * (x * x - y * y),
        ],
        -1,
    )


def sh_irradiance(normals: torch.Tensor, sh: torch.Tensor, counts: list[int]) -> torch.Tensor:
    """Irradiance per point, for points grouped by batch element.

    Args:
        normals: (N, 3) unit normals, the points of batch element 0 first, then 1, ...
        sh: (B, 9, 3) coefficients per batch element.
        counts: B numbers of points per batch element (summing to N).

    Returns:
        (N, 3) linear irradiance (may be negative for unphysical coefficients; not clamped).
    """
    # E_nc = sum_k Y_nk L_bkc, one (N_b, 9) @ (9, 3) product per batch element.
    basis = sh_basis(normals)
    # Empty chunks are kept: with nothing covered the (0, 3) result stays in the autograd graph.
    return torch.cat([chunk @ sh[i] for i, chunk in enumerate(basis.split(counts))])


def srgb_to_linear(srgb: torch.Tensor) -> torch.Tensor:
    """sRGB [0, 1] -> linear (piecewise sRGB transfer function; input clamped to [0, 1])."""
    c = srgb.clamp(0.0, 1.0)
    return torch.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055).clamp_min(1e-8) ** 2.4)


def linear_to_srgb(linear: torch.Tensor) -> torch.Tensor:
    """Linear -> sRGB [0, 1] (input clamped to [0, 1])."""
    c = linear.clamp(0.0, 1.0)
    return torch.where(c <= 0.0031308, c * 12.92, 1.055 * c.clamp_min(1e-8) ** (1.0 / 2.4) - 0.055)


def shade(
    albedo_srgb: torch.Tensor,
    normals: torch.Tensor,
    view_dirs: torch.Tensor,
    irradiance: torch.Tensor,
    light_dir: torch.Tensor | None = None,
    light_color: torch.Tensor | None = None,
    specular: float = 0.0,
    shininess: float = 32.0,
) -> torch.Tensor:
    """Diffuse (SH irradiance + directional Lambert) and Blinn-Phong shading of surface points.

    Args:
        albedo_srgb: (N, 3) albedo in sRGB [0, 1].
        normals: (N, 3) unit world-space normals.
        view_dirs: (N, 3) unit directions from the point towards the camera.
        irradiance: (N, 3) linear SH irradiance (see :func:`sh_irradiance`).
        light_dir: None or (N, 3) unit directions towards the directional light.
        light_color: None or (N, 3) linear irradiance of that light.

    Returns:
        (N, 3) shaded colour in sRGB [0, 1].
    """
    highlight = None
    if light_dir is not None:
        color = light_color if light_color is not None else torch.ones_like(light_dir)
        cos = (normals * light_dir).sum(-1, keepdim=True)
        irradiance = irradiance + color * cos.clamp_min(0.0)
        if specular > 0.0:
            half = torch.nn.functional.normalize(light_dir + view_dirs, dim=-1, eps=1e-8)
            n_h = (normals * half).sum(-1, keepdim=True).clamp_min(0.0)
            highlight = specular * color * n_h**shininess * (cos > 0)
    radiance = srgb_to_linear(albedo_srgb) * irradiance.clamp_min(0.0)
    if highlight is not None:
        radiance = radiance + highlight
    return linear_to_srgb(radiance)
