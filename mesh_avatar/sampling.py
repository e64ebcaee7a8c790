"""Seeds and prior sampling.

Avatar ``i`` of a run with seed ``S`` is drawn from its own generator seeded by
:func:`avatar_seed` ``(S, i)``, so it is the same whether it is generated alone, in a batch, by any
number of workers or on another machine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from mesh_avatar.errors import ParamsError
from mesh_avatar.expressions import limit_mouth_close, mouth_close_columns
from mesh_avatar.params import POSE_DIM, AvatarParams, CoefficientLayout, default_ambient_sh
from renderers.lighting import sh_basis

#: Lambertian convolution weights of SH bands 0, 1, 2 (Ramamoorthi and Hanrahan 2001).
COSINE_LOBE = torch.tensor([math.pi] + [2.0 * math.pi / 3.0] * 3 + [math.pi / 4.0] * 5)


def avatar_seed(seed: int, index: int) -> int:
    """A 63-bit seed for avatar ``index`` of a run seeded with ``seed`` (both non-negative)."""
    if seed < 0 or index < 0:
        raise ParamsError(f"seed and index must be non-negative, got seed={seed}, index={index}")
    state = np.random.SeedSequence([seed, index]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1])) & ((1 << 63) - 1)


def avatar_generator(seed: int, index: int) -> torch.Generator:
    """A CPU ``torch.Generator`` for avatar ``index`` of the run ``seed``."""
    return torch.Generator().manual_seed(avatar_seed(seed, index))


@dataclass(frozen=True)
class PriorConfig:
    """How prior samples are drawn.

    Attributes:
        truncation: identity and albedo coefficients are clipped to +-truncation (std units).
        expression_probability: chance that each blendshape is active in a sample.
        max_expression_weight: active blendshape weights are uniform in [0, this].
        pca_expression_scale: std of PCA expression coefficients (models with PCA expressions).
    """

    truncation: float = 3.0
    expression_probability: float = 0.08
    max_expression_weight: float = 0.8
    pca_expression_scale: float = 0.7

    def __post_init__(self) -> None:
        if not (self.truncation > 0 and math.isfinite(self.truncation)):
            raise ParamsError(f"truncation must be a positive number, got {self.truncation}")
        if not 0.0 <= self.expression_probability <= 1.0:
            raise ParamsError("expression_probability must lie in [0, 1]")
        if not 0.0 <= self.max_expression_weight <= 1.0:
            raise ParamsError("max_expression_weight must lie in [0, 1]")


def studio_lighting(
    key_direction: tuple[float, float, float] = (0.45, 0.5, 0.75),
    key_intensity: float = 0.8,
    ambient: float = 0.5,
) -> torch.Tensor:
    """(9, 3) SH irradiance of white ambient light plus one distant key light.

    The key light (towards ``key_direction``, default: upper right in front of the face) is
    projected onto the first three SH bands, ``sh_k = A_l * intensity * Y_k(direction)``.
    """
    direction = torch.nn.functional.normalize(
        torch.tensor(key_direction, dtype=torch.float32), dim=0
    )
    sh = COSINE_LOBE * key_intensity * sh_basis(direction)
    sh[0] += ambient * default_ambient_sh()
    return sh[:, None].repeat(1, 3)


def sample_one(
    layout: CoefficientLayout,
    generator: torch.Generator,
    expression_kind: str = "blendshape",
    config: PriorConfig = PriorConfig(),
    mouth_close_jaw: tuple[int, int] | None = None,
) -> AvatarParams:
    """One prior sample (batch size 1): neutral pose, :func:`studio_lighting`.

    ``mouth_close_jaw``: the ``(mouthClose, jawOpen)`` columns, if the blendshapes have them
    (see :func:`~mesh_avatar.expressions.limit_mouth_close`).
    """
    t = config.truncation
    identity = torch.randn(1, layout.n_identity, generator=generator).clamp_(-t, t)
    albedo = torch.randn(1, layout.n_albedo, generator=generator).clamp_(-t, t)
    if expression_kind == "blendshape":
        active = torch.rand(1, layout.n_expression, generator=generator)
        weights = torch.rand(1, layout.n_expression, generator=generator)
        expression = torch.where(
            active < config.expression_probability,
            weights * config.max_expression_weight,
            torch.zeros(()),
        )
        if mouth_close_jaw is not None:
            expression = limit_mouth_close(expression, *mouth_close_jaw)
    else:
        expression = torch.randn(1, layout.n_expression, generator=generator)
        expression = (expression * config.pca_expression_scale).clamp_(-t, t)
    return AvatarParams(
        identity=identity,
        expression=expression,
        albedo=albedo,
        pose=torch.zeros(1, POSE_DIM),
        lighting=studio_lighting()[None],
    )


def sample_prior(
    model_or_layout: object,
    n: int,
    seed: int,
    start: int = 0,
    config: PriorConfig = PriorConfig(),
) -> AvatarParams:
    """Draw avatars ``start .. start+n-1`` of the run ``seed`` from the model's prior.

    Args:
        model_or_layout: a :class:`~mesh_avatar.morphable.MorphableModel` (its expression kind is
            used) or a :class:`CoefficientLayout` (blendshape expressions assumed).
        n: number of avatars (>= 1).
        seed: run seed (>= 0).
        start: index of the first avatar.

    Returns:
        AvatarParams with batch size ``n``.
    """
    if n < 1:
        raise ParamsError(f"the number of avatars must be at least 1, got {n}")
    if isinstance(model_or_layout, CoefficientLayout):
        layout, kind, mouth_close_jaw = model_or_layout, "blendshape", None
    else:
        layout = model_or_layout.layout  # type: ignore[attr-defined]
        data = model_or_layout.data  # type: ignore[attr-defined]
        kind, mouth_close_jaw = data.expression_kind, mouth_close_columns(data.expression_names)
    samples = [
        sample_one(layout, avatar_generator(seed, start + i), kind, config, mouth_close_jaw)
        for i in range(n)
    ]
    return AvatarParams.cat(samples)
