"""Populations of avatars: a JSON file that describes distributions over coefficients, pose and light.

A population is what a synthetic "real" dataset is drawn from. It can be far from the morphable
model's Gaussian prior: mixtures, skewed or bimodal skin tones, a share of smiling faces. Format::

    {
      "format": "mesh-avatar-population", "version": 1, "name": "example",
      "identity": {                       # the same shape for "albedo" (and "expression" of PCA models)
        "rest_std": 0.6,                  # std (std units) of components no mixture entry names
        "truncation": 3.0,                # values are clipped to +-truncation
        "mixture": [                      # weights are normalised; one entry = a plain Gaussian
          {"name": "a", "weight": 1, "mean": {"0": 1.8, "1": 1.0}, "std": {"0": 0.4, "1": 0.4},
           "skew": {"0": 4.0}}            # optional skew-normal shape per component
        ]},                               # keys: component index ("0") or name ("skin_tone")
      "expression": {                     # blendshape models
        "background": {"probability": 0.03, "max_weight": 0.3},
        "presets": [{"name": "smile", "share": 0.3,
                     "weights": {"mouthSmileLeft": [0.6, 1.0], "mouthSmileRight": [0.6, 1.0]}}]},
      "pose": {"yaw": [0.0, 0.15], "pitch": [0.0, 0.08], "roll": [0.0, 0.05],
               "x": [0, 0], "y": [0, 0], "z": [0, 0]},           # [mean, std], radians / metres
      "lighting": {"ambient": [0.75, 0.05], "directional": [0.35, 0.05],
                   "azimuth": [0.5, 0.2], "elevation": [0.5, 0.15]}
    }

``mean``/``std`` of a component are the mean and standard deviation of that coordinate (also for
skewed ones). Pose and lighting values are Gaussians clipped to 2.5 standard deviations. Lighting
is white: an ambient term plus a directional term ``directional * (n . d)`` whose direction ``d``
has the given azimuth (about +Y, 0 = from the front) and elevation (radians, up is positive).

Every avatar ``i`` of a draw with seed ``S`` uses its own random generator (see
:func:`mesh_avatar.sampling.avatar_seed`), so it is the same however the draw is batched.
"""

from __future__ import annotations

import json
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.stats
import torch

from mesh_avatar.errors import MeshAvatarError
from mesh_avatar.params import POSE_DIM, SH_BANDS, AvatarParams, default_ambient_sh
from mesh_avatar.sampling import avatar_seed

log = logging.getLogger(__name__)

FORMAT = "mesh-avatar-population"
POSE_NAMES = ("yaw", "pitch", "roll", "x", "y", "z")
LIGHT_NAMES = ("ambient", "directional", "azimuth", "elevation")
SH_C1 = math.sqrt(3.0 / (4.0 * math.pi))  # real SH band-1 constant: Y_1m = SH_C1 * (y, z, x)
CLIP_SIGMAS = 2.5


class PopulationError(MeshAvatarError):
    """A population file is missing, malformed, or does not fit the morphable model."""


@dataclass(frozen=True)
class MixtureComponent:
    """One Gaussian (optionally skew-normal per coordinate) of a mixture; keys are component
    indices or names, resolved against a model by :meth:`Population.resolve`."""

    name: str
    weight: float
    mean: dict[str, float] = field(default_factory=dict)
    std: dict[str, float] = field(default_factory=dict)
    skew: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class CoefficientDistribution:
    """A mixture over one coefficient group (std units)."""

    mixture: tuple[MixtureComponent, ...]
    rest_std: float = 1.0
    truncation: float = 3.0


@dataclass(frozen=True)
class ExpressionPreset:
    """A named expression shown by a share of the population; weights uniform in [lo, hi]."""

    name: str
    share: float
    weights: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class ExpressionDistribution:
    """Blendshape expressions: a sparse random background plus presets (smile, ...)."""

    probability: float = 0.0
    max_weight: float = 0.0
    presets: tuple[ExpressionPreset, ...] = ()


@dataclass(frozen=True)
class Population:
    """A parsed population file (see the module docstring)."""

    name: str
    identity: CoefficientDistribution
    albedo: CoefficientDistribution
    expression: ExpressionDistribution | CoefficientDistribution
    pose: dict[str, tuple[float, float]]
    lighting: dict[str, tuple[float, float]]

    # ------------------------------------------------------------------------------ files
    @classmethod
    def from_dict(cls, data: Any, source: str = "population") -> Population:
        if not isinstance(data, dict):
            raise PopulationError(f"{source}: expected a JSON object")
        if data.get("format", FORMAT) != FORMAT:
            raise PopulationError(f"{source}: format must be {FORMAT!r}")
        known = {
            "format",
            "version",
            "name",
            "identity",
            "albedo",
            "expression",
            "pose",
            "lighting",
        }
        unknown = sorted(set(data) - known)
        if unknown:
            raise PopulationError(f"{source}: unknown key(s) {', '.join(unknown)}")
        expression = data.get("expression", {})
        if isinstance(expression, dict) and "mixture" in expression:
            parsed_expression: Any = _parse_distribution(expression, f"{source}: expression")
        else:
            parsed_expression = _parse_expression(expression, f"{source}: expression")
        return cls(
            name=str(data.get("name", "population")),
            identity=_parse_distribution(data.get("identity", {}), f"{source}: identity"),
            albedo=_parse_distribution(data.get("albedo", {}), f"{source}: albedo"),
            expression=parsed_expression,
            pose=_parse_ranges(data.get("pose", {}), POSE_NAMES, f"{source}: pose"),
            lighting=_parse_ranges(
                data.get("lighting", {}),
                LIGHT_NAMES,
                f"{source}: lighting",
                defaults={"ambient": (1.0, 0.0)},
            ),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Population:
        source = Path(path)
        if not source.is_file():
            raise PopulationError(f"population file not found: {source}")
        try:
            data = json.loads(source.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise PopulationError(f"{source}: not valid JSON ({exc})") from None
        return cls.from_dict(data, str(source))

    def to_dict(self) -> dict[str, Any]:
        def dist(d: CoefficientDistribution) -> dict[str, Any]:
            return {
                "rest_std": d.rest_std,
                "truncation": d.truncation,
                "mixture": [
                    {"name": c.name, "weight": c.weight, "mean": dict(c.mean), "std": dict(c.std)}
                    | ({"skew": dict(c.skew)} if c.skew else {})
                    for c in d.mixture
                ],
            }

        if isinstance(self.expression, CoefficientDistribution):
            expression: dict[str, Any] = dist(self.expression)
        else:
            e = self.expression
            expression = {
                "background": {"probability": e.probability, "max_weight": e.max_weight},
                "presets": [
                    {
                        "name": p.name,
                        "share": p.share,
                        "weights": {k: list(v) for k, v in p.weights.items()},
                    }
                    for p in e.presets
                ],
            }
        return {
            "format": FORMAT,
            "version": 1,
            "name": self.name,
            "identity": dist(self.identity),
            "albedo": dist(self.albedo),
            "expression": expression,
            "pose": {k: list(v) for k, v in self.pose.items()},
            "lighting": {k: list(v) for k, v in self.lighting.items()},
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"


# ---------------------------------------------------------------------------------- parsing
def _number(value: Any, where: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PopulationError(f"{where}: expected a number, got {value!r}")
    if not lo <= value <= hi:
        raise PopulationError(f"{where}: {value} is outside [{lo:g}, {hi:g}]")
    return float(value)


def _keyed(values: Any, where: str, lo: float = -math.inf) -> dict[str, float]:
    if isinstance(values, list):
        values = {str(k): v for k, v in enumerate(values)}
    if not isinstance(values, dict):
        raise PopulationError(f"{where}: expected an object of component -> number or a list")
    return {str(k): _number(v, f"{where}[{k}]", lo=lo) for k, v in values.items()}


def _parse_distribution(data: Any, where: str) -> CoefficientDistribution:
    if not isinstance(data, dict):
        raise PopulationError(f"{where}: expected an object")
    unknown = sorted(set(data) - {"rest_std", "truncation", "mixture"})
    if unknown:
        raise PopulationError(f"{where}: unknown key(s) {', '.join(unknown)}")
    raw = data.get("mixture", [{"name": "all", "weight": 1.0}])
    if not isinstance(raw, list) or not raw:
        raise PopulationError(f"{where}: mixture must be a non-empty list")
    components = []
    for index, item in enumerate(raw):
        w = f"{where}: mixture[{index}]"
        if not isinstance(item, dict):
            raise PopulationError(f"{w}: expected an object")
        extra = sorted(set(item) - {"name", "weight", "mean", "std", "skew"})
        if extra:
            raise PopulationError(f"{w}: unknown key(s) {', '.join(extra)}")
        components.append(
            MixtureComponent(
                name=str(item.get("name", f"component_{index}")),
                weight=_number(item.get("weight", 1.0), f"{w}.weight", lo=0.0),
                mean=_keyed(item.get("mean", {}), f"{w}.mean"),
                std=_keyed(item.get("std", {}), f"{w}.std", lo=0.0),
                skew=_keyed(item.get("skew", {}), f"{w}.skew"),
            )
        )
    if sum(c.weight for c in components) <= 0:
        raise PopulationError(f"{where}: mixture weights must not all be zero")
    return CoefficientDistribution(
        mixture=tuple(components),
        rest_std=_number(data.get("rest_std", 1.0), f"{where}.rest_std", lo=0.0),
        truncation=_number(data.get("truncation", 3.0), f"{where}.truncation", lo=1e-6),
    )


def _parse_expression(data: Any, where: str) -> ExpressionDistribution:
    if not isinstance(data, dict):
        raise PopulationError(f"{where}: expected an object")
    unknown = sorted(set(data) - {"background", "presets"})
    if unknown:
        raise PopulationError(f"{where}: unknown key(s) {', '.join(unknown)}")
    background = data.get("background", {})
    if not isinstance(background, dict):
        raise PopulationError(f"{where}.background: expected an object")
    presets = []
    for index, item in enumerate(data.get("presets", [])):
        w = f"{where}.presets[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("weights"), dict):
            raise PopulationError(f"{w}: expected an object with 'weights'")
        weights: dict[str, tuple[float, float]] = {}
        for name, pair in item["weights"].items():
            if not isinstance(pair, list) or len(pair) != 2:
                raise PopulationError(f"{w}.weights[{name}]: expected [low, high]")
            lo = _number(pair[0], f"{w}.weights[{name}]", 0.0, 1.0)
            hi = _number(pair[1], f"{w}.weights[{name}]", lo, 1.0)
            weights[str(name)] = (lo, hi)
        presets.append(
            ExpressionPreset(
                name=str(item.get("name", f"preset_{index}")),
                share=_number(item.get("share", 0.0), f"{w}.share", 0.0, 1.0),
                weights=weights,
            )
        )
    if sum(p.share for p in presets) > 1.0 + 1e-9:
        raise PopulationError(f"{where}: preset shares add up to more than 1")
    return ExpressionDistribution(
        probability=_number(background.get("probability", 0.0), f"{where}.probability", 0.0, 1.0),
        max_weight=_number(background.get("max_weight", 0.0), f"{where}.max_weight", 0.0, 1.0),
        presets=tuple(presets),
    )


def _parse_ranges(
    data: Any,
    names: tuple[str, ...],
    where: str,
    defaults: dict[str, tuple[float, float]] | None = None,
) -> dict[str, tuple[float, float]]:
    if not isinstance(data, dict):
        raise PopulationError(f"{where}: expected an object")
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise PopulationError(
            f"{where}: unknown key(s) {', '.join(unknown)}; use {', '.join(names)}"
        )
    out = {name: (0.0, 0.0) for name in names}
    out.update(defaults or {})
    for name, pair in data.items():
        if not isinstance(pair, list) or len(pair) != 2:
            raise PopulationError(f"{where}.{name}: expected [mean, std]")
        out[name] = (_number(pair[0], f"{where}.{name}"), _number(pair[1], f"{where}.{name}", 0.0))
    return out


# ---------------------------------------------------------------------------------- sampling
@dataclass(frozen=True)
class ResolvedDistribution:
    """A mixture with dense per-component arrays for a model's group of size K."""

    names: tuple[str, ...]
    weights: np.ndarray  # (M,) normalised
    means: np.ndarray  # (M, K)
    stds: np.ndarray  # (M, K)
    skews: np.ndarray  # (M, K)
    truncation: float
    #: (K,) bool: coordinates some component gives a non-default mean or std.
    specified: np.ndarray


def resolve_distribution(
    dist: CoefficientDistribution, names: list[str], where: str
) -> ResolvedDistribution:
    """Turn index/name keys into dense arrays for a group with component ``names``."""
    k = len(names)
    lookup = {name: i for i, name in enumerate(names)}

    def index(key: str) -> int:
        if key in lookup:
            return lookup[key]
        if key.lstrip("-").isdigit() and 0 <= int(key) < k:
            return int(key)
        raise PopulationError(f"{where}: component {key!r} does not exist (the model has {k})")

    m = len(dist.mixture)
    means, stds, skews = np.zeros((m, k)), np.full((m, k), dist.rest_std), np.zeros((m, k))
    specified = np.zeros(k, bool)
    for row, comp in enumerate(dist.mixture):
        for key, value in comp.mean.items():
            means[row, index(key)] = value
            specified[index(key)] = True
        for key, value in comp.std.items():
            stds[row, index(key)] = value
            specified[index(key)] = True
        for key, value in comp.skew.items():
            skews[row, index(key)] = value
    weights = np.array([c.weight for c in dist.mixture], float)
    return ResolvedDistribution(
        names=tuple(c.name for c in dist.mixture),
        weights=weights / weights.sum(),
        means=means,
        stds=stds,
        skews=skews,
        truncation=dist.truncation,
        specified=specified,
    )


def skew_normal_standard(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    """Skew-normal draws with shape ``alpha`` (K,), standardised to mean 0 and std 1."""
    delta = alpha / np.sqrt(1.0 + alpha**2)
    u0, u1 = rng.standard_normal(alpha.shape), rng.standard_normal(alpha.shape)
    x = delta * np.abs(u0) + np.sqrt(1.0 - delta**2) * u1
    mean = delta * math.sqrt(2.0 / math.pi)
    return (x - mean) / np.sqrt(1.0 - mean**2)


def draw_mixture(rng: np.random.Generator, dist: ResolvedDistribution) -> tuple[np.ndarray, int]:
    """One (K,) draw and the index of the component it came from."""
    comp = int(rng.choice(len(dist.weights), p=dist.weights))
    noise = skew_normal_standard(rng, dist.skews[comp])
    value = dist.means[comp] + dist.stds[comp] * noise
    return np.clip(value, -dist.truncation, dist.truncation), comp


def _clipped(rng: np.random.Generator, pair: tuple[float, float]) -> float:
    mean, std = pair
    return mean + std * float(np.clip(rng.standard_normal(), -CLIP_SIGMAS, CLIP_SIGMAS))


def sh_lighting(ambient: float, directional: float, azimuth: float, elevation: float) -> np.ndarray:
    """(9, 3) white SH irradiance: ``ambient + directional * (n . d)``.

    SH order: Y00, Y1-1 (y), Y10 (z), Y11 (x), then band 2 (zero here).
    """
    d = np.array(
        [
            math.sin(azimuth) * math.cos(elevation),
            math.sin(elevation),
            math.cos(azimuth) * math.cos(elevation),
        ]
    )
    coeffs = np.zeros(SH_BANDS)
    coeffs[0] = ambient * default_ambient_sh()
    coeffs[1], coeffs[2], coeffs[3] = (
        directional * d[1] / SH_C1,
        directional * d[2] / SH_C1,
        directional * d[0] / SH_C1,
    )
    return np.repeat(coeffs[:, None], 3, axis=1)


@dataclass(frozen=True)
class PopulationSample:
    """Drawn avatars and, per avatar, which mixture component / preset they came from.

    ``labels`` maps ``identity``, ``albedo``, ``expression`` to (N,) int arrays; for
    ``expression`` the preset index, or -1 for none.
    """

    params: AvatarParams
    labels: dict[str, np.ndarray]


class PopulationSampler:
    """A population resolved against one morphable model; draws avatars reproducibly."""

    def __init__(self, population: Population, model: Any) -> None:
        data = model.data if hasattr(model, "data") else model
        self.population = population
        self.layout = data.layout
        self.expression_kind = data.expression_kind
        self.identity = resolve_distribution(
            population.identity, list(data.identity_names), "population identity"
        )
        self.albedo = resolve_distribution(
            population.albedo, list(data.albedo_names), "population albedo"
        )
        self.expression_names = list(data.expression_names)
        self.presets: list[tuple[str, float, np.ndarray, np.ndarray, np.ndarray]] = []
        self.pca_expression: ResolvedDistribution | None = None
        expr = population.expression
        if isinstance(expr, CoefficientDistribution):
            self.pca_expression = resolve_distribution(
                expr, self.expression_names, "population expression"
            )
        else:
            if data.expression_kind != "blendshape" and expr.presets:
                raise PopulationError(
                    "population expression presets need a blendshape model; this model has PCA "
                    "expressions (give expression a mixture instead)"
                )
            lookup = {name: i for i, name in enumerate(self.expression_names)}
            for preset in expr.presets:
                present = {k: v for k, v in preset.weights.items() if k in lookup}
                missing = sorted(set(preset.weights) - set(present))
                if not present:
                    raise PopulationError(
                        f"population expression preset {preset.name!r}: none of its blendshapes "
                        f"({', '.join(preset.weights)}) exist in model {data.name!r}"
                    )
                if missing:
                    log.info("preset %s: model lacks %s; skipped", preset.name, ", ".join(missing))
                idx = np.array([lookup[k] for k in present])
                lo = np.array([v[0] for v in present.values()])
                hi = np.array([v[1] for v in present.values()])
                self.presets.append((preset.name, preset.share, idx, lo, hi))

    def draw_one(self, seed: int, index: int) -> tuple[dict[str, np.ndarray], dict[str, int]]:
        """Arrays of avatar ``index`` of the draw ``seed`` (no batch dimension) and its labels."""
        rng = np.random.default_rng(avatar_seed(seed, index))
        identity, id_comp = draw_mixture(rng, self.identity)
        albedo, alb_comp = draw_mixture(rng, self.albedo)
        expression = np.zeros(self.layout.n_expression)
        preset_index = -1
        if self.pca_expression is not None:
            expression, _ = draw_mixture(rng, self.pca_expression)
        else:
            expr = self.population.expression
            assert isinstance(expr, ExpressionDistribution)
            active = rng.random(self.layout.n_expression) < expr.probability
            weights = rng.random(self.layout.n_expression) * expr.max_weight
            expression = np.where(active, weights, 0.0)
            u = rng.random()
            cumulative = 0.0
            for p, (_, share, idx, lo, hi) in enumerate(self.presets):
                cumulative += share
                if u < cumulative:
                    expression[idx] = lo + (hi - lo) * rng.random(len(idx))
                    preset_index = p
                    break
        pose = np.array([_clipped(rng, self.population.pose[n]) for n in POSE_NAMES])
        light = {n: _clipped(rng, self.population.lighting[n]) for n in LIGHT_NAMES}
        arrays = {
            "identity": identity,
            "expression": expression,
            "albedo": albedo,
            "pose": pose,
            "lighting": sh_lighting(**light),
        }
        labels = {"identity": id_comp, "albedo": alb_comp, "expression": preset_index}
        return arrays, labels

    def sample(self, n: int, seed: int, start: int = 0) -> PopulationSample:
        """Avatars ``start .. start+n-1`` of the draw ``seed``."""
        if n < 1:
            raise PopulationError(f"the number of avatars must be at least 1, got {n}")
        draws = [self.draw_one(seed, start + i) for i in range(n)]
        stacked = {
            key: torch.from_numpy(np.stack([d[0][key] for d in draws]).astype(np.float32))
            for key in ("identity", "expression", "albedo", "pose", "lighting")
        }
        if self.layout.n_expression == 0:
            stacked["expression"] = torch.zeros(n, 0)
        labels = {
            key: np.array([d[1][key] for d in draws], np.int64)
            for key in ("identity", "albedo", "expression")
        }
        assert stacked["pose"].shape[1] == POSE_DIM
        return PopulationSample(params=AvatarParams(**stacked), labels=labels)


# ---------------------------------------------------------------------------------- analysis
def assign_components(
    dist: ResolvedDistribution,
    values: np.ndarray,
    within: float | None = None,
    columns: np.ndarray | None = None,
) -> np.ndarray:
    """(N, K) coefficients -> (N,) most likely mixture component (diagonal Gaussians over the
    coordinates the mixture specifies, or over ``columns`` ((K,) bool) when given; skew is
    ignored). A mixture that specifies no coordinate is judged on all of them; ``columns`` that
    select none is an error (there is nothing to judge on).

    With ``within`` (a probability such as 0.99), a sample whose squared Mahalanobis distance to
    its most likely component exceeds that component's ``within`` chi-square quantile belongs to
    no component (-1): a generator that only spreads samples between the clusters covers none.
    """
    if columns is None:
        cols = dist.specified if dist.specified.any() else np.ones(values.shape[1], bool)
    elif not columns.any():
        raise ValueError("assign_components: columns selects no coordinate")
    else:
        cols = columns
    x = values[:, None, cols]  # (N, 1, k)
    mu, sd = dist.means[None, :, cols], np.maximum(dist.stds[None, :, cols], 1e-3)
    mahalanobis = (((x - mu) / sd) ** 2).sum(-1)  # (N, M)
    loglik = -0.5 * mahalanobis - np.log(sd).sum(-1) + np.log(dist.weights)
    labels = loglik.argmax(1)
    if within is not None:
        limit = scipy.stats.chi2.ppf(within, df=int(cols.sum()))
        labels[mahalanobis[np.arange(len(labels)), labels] > limit] = -1
    return labels


def detect_presets(sampler: PopulationSampler, expression: np.ndarray) -> np.ndarray:
    """(N, K_exp) blendshape weights -> (N,) index of the preset each avatar shows, or -1.

    An avatar shows a preset when the mean of the preset's weights is at least half the mean of
    their lower bounds; the first matching preset wins.
    """
    out = np.full(expression.shape[0], -1, np.int64)
    for p, (_, _, idx, lo, _) in reversed(list(enumerate(sampler.presets))):
        shows = expression[:, idx].mean(1) >= 0.5 * lo.mean()
        out[shows] = p
    return out


def example_population() -> Population:
    """The built-in population: 3 identity clusters, bimodal skewed skin tone, 30% smiling.

    The clusters lie on identity components 0 and 2 (the default model's head width and height):
    at 2 std they change about 770 and 320 of the 4,096 pixels of a 64 px face crop by more than
    1 %. Component 1 (head length, the back of the skull) changes 8, so clusters on it could not
    be learned from images. Identity and albedo components the mixture does not name are
    narrower than the prior (std 0.6), so the population differs clearly from the model's
    Gaussian prior.
    """
    data = {
        "name": "example",
        "identity": {
            "rest_std": 0.6,
            "mixture": [
                {
                    "name": "wide",
                    "weight": 1,
                    "mean": {"0": 1.8, "2": -1.0},
                    "std": {"0": 0.35, "2": 0.35},
                },
                {
                    "name": "narrow",
                    "weight": 1,
                    "mean": {"0": -1.8, "2": -1.0},
                    "std": {"0": 0.35, "2": 0.35},
                },
                {
                    "name": "tall",
                    "weight": 1,
                    "mean": {"0": 0.0, "2": 2.0},
                    "std": {"0": 0.35, "2": 0.35},
                },
            ],
        },
        "albedo": {
            "rest_std": 0.6,
            "mixture": [
                {
                    "name": "light",
                    "weight": 0.45,
                    "mean": {"0": -1.6},
                    "std": {"0": 0.35},
                    "skew": {"0": 3.0},
                },
                {
                    "name": "dark",
                    "weight": 0.55,
                    "mean": {"0": 1.6},
                    "std": {"0": 0.35},
                    "skew": {"0": -3.0},
                },
            ],
        },
        "expression": {
            "background": {"probability": 0.0, "max_weight": 0.0},
            "presets": [
                {
                    "name": "smile",
                    "share": 0.3,
                    "weights": {
                        "mouthSmileLeft": [0.6, 1.0],
                        "mouthSmileRight": [0.6, 1.0],
                        "cheekSquintLeft": [0.2, 0.5],
                        "cheekSquintRight": [0.2, 0.5],
                    },
                }
            ],
        },
        "pose": {"yaw": [0.0, 0.12], "pitch": [0.0, 0.06], "roll": [0.0, 0.04]},
        "lighting": {
            "ambient": [0.8, 0.05],
            "directional": [0.35, 0.05],
            "azimuth": [0.5, 0.15],
            "elevation": [0.4, 0.1],
        },
    }
    return Population.from_dict(data, "built-in example population")
