"""Configuration of the GAN and of a training run: nested frozen dataclasses, validated on creation.

A run writes its resolved :class:`TrainConfig` as JSON (:func:`config_to_dict`) and a checkpoint
stores the same dictionary; :func:`config_from_dict` reads it back and rejects unknown keys.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from typing import Any, TypeVar

from mesh_avatar.errors import MeshAvatarError


class ConfigError(MeshAvatarError, ValueError):
    """A GAN or training option has an invalid value."""


#: Image sizes the discriminator is built for (16 and 32 keep tests fast).
RESOLUTIONS = (16, 32, 64, 128, 256)
#: Known differentiable augmentations (see :mod:`mesh_avatar.gan.augment`).
AUGMENTATIONS = ("color", "translation", "cutout")


def _positive(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ConfigError(f"{type(owner).__name__}.{name} must be positive, got {value!r}")


def _non_negative(owner: object, *names: str) -> None:
    for name in names:
        value = getattr(owner, name)
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise ConfigError(f"{type(owner).__name__}.{name} must be 0 or more, got {value!r}")


@dataclass(frozen=True)
class GeneratorConfig:
    """Mapping network and coefficient heads.

    Bounds are in the units of :class:`~mesh_avatar.params.AvatarParams`: std units for identity
    and albedo, radians for rotations, metres for translation; ``lighting_bound`` is the largest
    change of each white SH coefficient from the default white ambient light, and
    ``light_tint_bound`` the largest relative change of one colour channel of the light.
    """

    z_dim: int = 64
    w_dim: int = 128
    mapping_layers: int = 4
    #: Discrete modes of the latent (0: none): each latent belongs to one of ``latent_modes``
    #: equally likely modes (see :func:`~mesh_avatar.gan.generator.latent_mode`), and each mode
    #: adds its own learned offset to w, so a population made of clusters (skin tones, head
    #: shapes) can be drawn without the mapping network having to tear a Gaussian apart.
    #: On the 64 px benchmark (3,000 steps), 8 modes put 87 % of the generated skin tones inside
    #: one of the two modes of the data (without: 51 %, the rest spread between and beyond
    #: them) and moved recall 0.18 -> 0.34 but precision 0.84 -> 0.68 (the offsets widen the
    #: identity coordinates the discriminator does not judge); 16 modes, at step 2,000 of the
    #: 3,000: 54 %, 0.49 and 0.46. With the encoder's readout matching, which judges those
    #: coordinates, 8 modes split both the skin tones and the identity clusters.
    latent_modes: int = 8
    #: Std of the mode offsets at init (w has a std of about 0.8). At 0.25 the 8 modes above
    #: did not split the skin tones (52 % inside; precision 0.75, recall 0.27).
    latent_mode_scale: float = 0.5
    identity_bound: float = 3.0
    albedo_bound: float = 3.0
    pca_expression_bound: float = 3.0
    yaw_bound: float = 0.6
    pitch_bound: float = 0.4
    roll_bound: float = 0.3
    translation_bound: float = 0.05
    lighting_bound: float = 1.5
    light_tint_bound: float = 0.2
    #: Side of the optional UV detail texture head (0: no detail head).
    detail_resolution: int = 0
    detail_bound: float = 0.1
    #: Std of the blendshape head's pre-activation at init: most weights start at or near 0.
    expression_spread: float = 0.1
    #: Gradient the blendshape head passes where its clamp to [0, 1] is active, so a weight held
    #: at exactly 0 can still be switched on by the discriminator.
    expression_leak: float = 0.05
    #: Decay of the running mean of w used for truncation.
    w_avg_beta: float = 0.995

    def __post_init__(self) -> None:
        _positive(self, "z_dim", "w_dim", "mapping_layers", "latent_mode_scale")
        if self.latent_modes == 1 or not 0 <= self.latent_modes <= self.z_dim:
            raise ConfigError(
                f"GeneratorConfig.latent_modes must be 0 or lie in [2, z_dim={self.z_dim}], "
                f"got {self.latent_modes}"
            )
        _positive(self, "identity_bound", "albedo_bound", "pca_expression_bound")
        _positive(self, "yaw_bound", "pitch_bound", "roll_bound", "translation_bound")
        _positive(self, "lighting_bound", "detail_bound")
        if not 0.0 <= self.light_tint_bound < 1.0:
            raise ConfigError("GeneratorConfig.light_tint_bound must lie in [0, 1)")
        _non_negative(self, "detail_resolution")
        _positive(self, "expression_spread")
        if not 0.0 <= self.expression_leak <= 1.0:
            raise ConfigError("GeneratorConfig.expression_leak must lie in [0, 1]")
        if not 0.0 <= self.w_avg_beta < 1.0:
            raise ConfigError("GeneratorConfig.w_avg_beta must lie in [0, 1)")


@dataclass(frozen=True)
class DiscriminatorConfig:
    """Residual CNN; channels at resolution r are ``min(channel_base // r, channel_max)``."""

    channel_base: int = 1024
    channel_max: int = 128
    mbstd_group: int = 4

    def __post_init__(self) -> None:
        _positive(self, "channel_base", "channel_max", "mbstd_group")


@dataclass(frozen=True)
class LossConfig:
    """Non-saturating logistic loss with a lazy R1 penalty (every ``r1_interval`` D steps)."""

    #: Measured at constant learning rates on the 64 px benchmark: gamma 1 and 2.5 let D win
    #: after 1,500 to 2,500 steps (the Frechet distance grows again). At 5 it fell until step
    #: 2,000 to 2,500 (precision 0.55 -> 0.78, but recall 0.16 -> 0.08: the generator narrows
    #: towards what D finds real); D still wins later, from about step 3,000 of a 7,000-step run.
    r1_gamma: float = 5.0
    r1_interval: int = 16
    #: Weight of :func:`~mesh_avatar.gan.losses.prior_penalty` in the generator loss (0: off).
    #: At 1 and 3 the generator switches on blendshapes the data never uses (fake mouth and brow
    #: detail the discriminator rewards) and the benchmark's Frechet distance grows with every
    #: 500 steps; at 10 it kept falling through the 1,500 steps measured.
    prior_weight: float = 10.0
    #: ``"cap"``: the prior penalty counts a std-unit coefficient's batch spread only above 1, so
    #: populations narrower than the model's prior are left to D; ``"match"`` pulls it to 1.
    prior_spread: str = "cap"
    #: Coefficient sets the prior penalty is measured on each step, drawn apart from the rendered
    #: batch (the generator alone: about 4 ms of a 0.27 s step); 0: the rendered batch. The
    #: correlation term needs several times more samples than the model has identity
    #: coefficients.
    prior_batch: int = 512
    #: Also penalise correlation between the coordinates of a std-unit group
    #: (:func:`~mesh_avatar.gan.losses.total_correlation`). Without it the 64 px benchmark's
    #: generator moved the identity coordinates the discriminator barely sees together
    #: (eigenvalues of their correlation matrix 0.24 to 3.9; the data's 0.9 to 1.1), which cost
    #: most of its recall. With it, after 3,000 steps: Frechet ratio 0.047 -> 0.029, precision
    #: 0.72 -> 0.84, recall 0.09 -> 0.18 (the 512-sample batch alone: 0.082, 0.36, 0.20).
    prior_correlation: bool = True

    def __post_init__(self) -> None:
        _non_negative(self, "r1_gamma", "prior_weight", "prior_batch")
        _positive(self, "r1_interval")
        if self.prior_spread not in ("match", "cap"):
            raise ConfigError(
                f"LossConfig.prior_spread must be 'match' or 'cap', got {self.prior_spread!r}"
            )


@dataclass(frozen=True)
class AugmentConfig:
    """DiffAugment-style augmentation applied to real and generated images before D."""

    policy: tuple[str, ...] = ("translation",)
    translation: float = 0.125
    cutout: float = 0.5

    def __post_init__(self) -> None:
        object.__setattr__(self, "policy", tuple(self.policy))
        unknown = [p for p in self.policy if p not in AUGMENTATIONS]
        if unknown:
            raise ConfigError(
                f"unknown augmentation(s) {', '.join(unknown)}; choose from {', '.join(AUGMENTATIONS)}"
            )
        if not 0.0 <= self.translation <= 0.5 or not 0.0 <= self.cutout <= 1.0:
            raise ConfigError("augment translation must lie in [0, 0.5] and cutout in [0, 1]")


@dataclass(frozen=True)
class OptimConfig:
    """Adam settings (StyleGAN2's beta2; beta1 0.5 averages the noisy gradients of weakly
    visible coefficients instead of following each one). At twice these rates the 64 px
    benchmark's generator drifts away from the data after about 500 steps."""

    lr_g: float = 0.0005
    lr_d: float = 0.001
    beta1: float = 0.5
    beta2: float = 0.99
    #: ``"constant"``, or ``"cosine"``: both rates fall along a half cosine to 0 at the run's
    #: ``steps`` (a function of the step, so resumed runs follow the same curve). At constant
    #: rates the 64 px benchmark peaked at steps 2,000 to 2,500 and then drifted (precision 0.77
    #: -> 0.09 by step 7,000); with the cosine over 3,000 steps it ends near that peak.
    schedule: str = "cosine"

    def __post_init__(self) -> None:
        _positive(self, "lr_g", "lr_d")
        if not (0.0 <= self.beta1 < 1.0 and 0.0 <= self.beta2 < 1.0):
            raise ConfigError("Adam betas must lie in [0, 1)")
        if self.schedule not in ("constant", "cosine"):
            raise ConfigError(
                f"OptimConfig.schedule must be 'constant' or 'cosine', got {self.schedule!r}"
            )


@dataclass(frozen=True)
class EncoderConfig:
    """The coefficient encoder (:mod:`mesh_avatar.gan.encoder`) and the readout matching it
    drives: pretraining on renders of random avatars, then a sliced Wasserstein pull of the
    generated coefficients towards the encoder's readouts of the real images."""

    #: Weight of the readout matching in the generator loss; 0: no encoder is trained. On the
    #: 64 px benchmark (3,000 steps, 8 latent modes) a weight of 5 took the generator from no
    #: identity cluster covered to all three (0.20, 0.18 and 0.12 of the samples; real 1/3 each),
    #: recall 0.18 -> 0.41 at precision 0.84 -> 0.70, and matched the spread of the head yaw
    #: (0.12, real 0.12; without: 0.05). With dense random directions instead of axes and
    #: coordinate pairs the clusters had not split after 1,250 steps.
    weight: float = 5.0
    #: Pretraining renders, held-out renders, Adam steps, batch and peak learning rate.
    images: int = 16000
    validation_images: int = 2000
    steps: int = 2000
    batch: int = 64
    lr: float = 0.001
    #: Channels of the first convolution block (doubled by each further one, up to channel_max).
    channels: int = 32
    channel_max: int = 256
    #: A coordinate is matched when its held-out R^2 reaches this.
    readable_r2: float = 0.7
    #: Viewing conditions of the pretraining renders (radians) and the share of active
    #: blendshapes (see :func:`~mesh_avatar.gan.encoder.sample_views`). At 64 px with 0.03
    #: (1.6 of the default model's 52 active on average) 29 of 129 coordinates were readable
    #: (identity 0 and 2: R^2 0.95 and 0.90); with 0.1, 22. The smile blendshapes were not
    #: readable with either (R^2 about 0).
    yaw_std: float = 0.2
    pitch_std: float = 0.1
    roll_std: float = 0.07
    expression_probability: float = 0.03
    #: Real readouts and random coordinate-pair directions (besides the axes) of each step's
    #: sliced Wasserstein distance (see :func:`~mesh_avatar.gan.losses.pair_directions`).
    real_samples: int = 512
    directions: int = 128

    def __post_init__(self) -> None:
        _non_negative(self, "weight", "yaw_std", "pitch_std", "roll_std")
        _positive(self, "images", "validation_images", "steps", "batch", "lr")
        _positive(self, "channels", "channel_max", "real_samples", "directions")
        if not 0.0 <= self.expression_probability <= 1.0:
            raise ConfigError("EncoderConfig.expression_probability must lie in [0, 1]")
        if not -math.inf < self.readable_r2 <= 1.0:
            raise ConfigError("EncoderConfig.readable_r2 must be at most 1")
        if self.validation_images < 2:
            raise ConfigError("EncoderConfig.validation_images must be at least 2")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run; saved as ``config.json`` in the run folder."""

    data: str
    model: str = "default"
    renderer: str = "auto"
    resolution: int = 64
    batch: int = 32
    steps: int = 3000
    seed: int = 0
    ema_halflife_images: int = 4000
    ema_rampup: float = 0.05
    log_every: int = 10
    snapshot_every: int = 250
    checkpoint_every: int = 250
    grid_size: int = 16
    keep_checkpoints: int = 5
    #: Stop (with a final checkpoint) once training has run this long; 0 = no time limit.
    max_minutes: float = 0.0
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    discriminator: DiscriminatorConfig = field(default_factory=DiscriminatorConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)

    def __post_init__(self) -> None:
        if self.resolution not in RESOLUTIONS:
            raise ConfigError(
                f"resolution must be one of {', '.join(map(str, RESOLUTIONS))}, "
                f"got {self.resolution}"
            )
        _positive(self, "batch", "steps", "log_every", "snapshot_every", "checkpoint_every")
        _positive(self, "grid_size", "keep_checkpoints")
        _non_negative(self, "seed", "ema_halflife_images", "ema_rampup", "max_minutes")
        if self.batch < 2:
            raise ConfigError("batch must be at least 2 (the minibatch-stddev layer needs pairs)")


T = TypeVar("T")


def config_to_dict(config: object) -> dict[str, Any]:
    """A JSON-ready dictionary (tuples become lists)."""
    if not is_dataclass(config):
        raise TypeError("config_to_dict takes a dataclass instance")
    return _plain(asdict(config))  # type: ignore[arg-type]


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def config_from_dict(cls: type[T], data: dict[str, Any], where: str = "config") -> T:
    """Build ``cls`` from a dictionary written by :func:`config_to_dict`.

    Missing keys take their defaults; unknown keys raise :class:`ConfigError`, naming ``where``.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown option(s) {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}
    for name, value in data.items():
        hint = hints[name]
        if isinstance(hint, type) and is_dataclass(hint):
            kwargs[name] = config_from_dict(hint, value, f"{where}.{name}")
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            kwargs[name] = tuple(value)
        elif hint is float and isinstance(value, int) and not isinstance(value, bool):
            kwargs[name] = float(value)
        else:
            expected = _expected_type(hint)
            if expected is not None and not isinstance(value, expected):
                raise ConfigError(
                    f"{where}.{name}: expected {expected.__name__}, got {type(value).__name__}"
                )
            kwargs[name] = value
    required = [
        n for n, f in known.items() if f.default is MISSING and f.default_factory is MISSING
    ]
    missing = [n for n in required if n not in kwargs]
    if missing:
        raise ConfigError(f"{where}: missing option(s) {', '.join(missing)}")
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _expected_type(hint: Any) -> type | None:
    if hint in (int, float, str, bool):
        return hint
    if isinstance(hint, types.UnionType):
        return None
    return None
