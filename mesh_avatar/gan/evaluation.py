"""``mesh-avatar evaluate``: compare a trained generator with a dataset (and the prior baseline).

With ground-truth coefficients (synthetic sets): Frechet distance of the coefficient distributions
(standardised by the real set, on the components visible in images), the same for prior samples as
the baseline, k-NN precision/recall, and per-mixture-component coverage. ``real_halves`` scores one
half of the real set against the other: what a perfect generator would get (k-NN precision and
recall fall with the number of dimensions, so this ceiling is well below 1), and, given the run's
discriminator, which coefficient groups its verdict rests on. ``group_swaps`` scores the generated
set again with one group's coefficients taken from real avatars: which group's mismatch costs
the recall; ``coordinate_spread`` compares each visible coefficient's generated and real spread.
Always: image-space diversity and a mode-collapse check.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mesh_avatar.datasets.image_folder import DatasetError
from mesh_avatar.datasets.population import PopulationSampler, assign_components, detect_presets
from mesh_avatar.datasets.synthetic import Dataset
from mesh_avatar.gan.checkpoint import model_fingerprint, sample_generator
from mesh_avatar.gan.generator import CoefficientGenerator
from mesh_avatar.gan.metrics.coverage import component_coverage
from mesh_avatar.gan.metrics.diversity import mode_collapse_check
from mesh_avatar.gan.metrics.frechet import standardised_frechet, standardiser
from mesh_avatar.gan.metrics.precision_recall import precision_recall
from mesh_avatar.gan.rendering import RenderFn
from mesh_avatar.params import AvatarParams
from mesh_avatar.sampling import sample_prior

log = logging.getLogger(__name__)

GROUPS = ("identity", "expression", "albedo")


@dataclass(frozen=True)
class Bar:
    """The acceptance bar of the synthetic benchmark."""

    frechet_ratio: float = 0.25
    precision: float = 0.7
    recall: float = 0.7


@torch.no_grad()
def visible_components(
    model: Any,
    render: RenderFn,
    base: AvatarParams,
    threshold: float = 0.02,
    quantile: float = 0.995,
) -> dict[str, np.ndarray]:
    """Which coefficients change the rendered image noticeably.

    Each coefficient is moved by one unit (one std for std-unit groups, weight 1 for blendshapes)
    from ``base`` (batch 1); it is visible when the ``quantile`` of the per-pixel absolute change
    (channel mean, [0, 1] units) reaches ``threshold``.

    Returns:
        group name -> (K,) bool mask.
    """
    reference = render(model, base)[0]
    out: dict[str, np.ndarray] = {}
    for group in GROUPS:
        k = getattr(base, group).shape[1]
        mask = np.zeros(k, bool)
        for start in range(0, k, 16):
            count = min(16, k - start)
            values = getattr(base, group).repeat(count, 1)
            values[torch.arange(count), torch.arange(start, start + count)] += 1.0
            batch = AvatarParams.cat([base] * count).with_fields(**{group: values})
            delta = (render(model, batch) - reference).abs().mean(1) * 0.5  # (count, H, W)
            q = torch.quantile(delta.flatten(1), quantile, dim=1)
            mask[start : start + count] = (q >= threshold).numpy()
        out[group] = mask
    return out


def visible_matrix(params: AvatarParams, visible: dict[str, np.ndarray]) -> np.ndarray:
    """(N, D_visible) float64 matrix of the visible coefficients, groups in GROUPS order."""
    cols = [getattr(params, g).detach().cpu().numpy()[:, visible[g]] for g in GROUPS]
    return np.concatenate(cols, axis=1).astype(np.float64)


def coefficient_scores(
    real: np.ndarray, fake: np.ndarray, floor: float = 0.05, max_pr: int = 2000, k: int = 3
) -> dict[str, Any]:
    """Frechet distance and precision/recall of ``fake`` against ``real`` (standardised)."""
    fd = standardised_frechet(real, fake, floor)
    centre, scale = standardiser(real, floor)
    a = (real[:max_pr] - centre) / scale
    b = (fake[:max_pr] - centre) / scale
    return {"frechet": fd, **precision_recall(a, b, k=k)}


def group_swaps(
    real: np.ndarray, fake: np.ndarray, sizes: dict[str, int], prior_frechet: float, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Scores of ``fake`` with one group's columns taken from real avatars instead.

    ``real`` and ``fake`` are :func:`visible_matrix` outputs; ``sizes`` gives each group's
    number of columns, in the matrices' order. Row i of the generated set gets the group's
    values of a randomly drawn real avatar (groups are drawn independently, as in the example
    population). A group whose swap lifts recall to the bar is what the generator is missing.

    Returns:
        group -> {"frechet_ratio", "precision", "recall"}.
    """
    rng = np.random.default_rng(seed)
    out: dict[str, dict[str, float]] = {}
    start = 0
    for group, size in sizes.items():
        if size:
            swapped = fake.copy()
            rows = rng.integers(0, len(real), len(fake))
            swapped[:, start : start + size] = real[rows, start : start + size]
            scores = coefficient_scores(real, swapped)
            out[group] = {
                "frechet_ratio": scores["frechet"] / max(prior_frechet, 1e-12),
                "precision": scores["precision"],
                "recall": scores["recall"],
            }
        start += size
    return out


def coordinate_spread(
    real: np.ndarray, fake: np.ndarray, visible: dict[str, np.ndarray], floor: float = 0.05
) -> dict[str, dict[str, float]]:
    """Generated std over real std of each visible coefficient, both raised to ``floor`` (the
    scores' standardisation raises the real std to it too; a coefficient that both sets leave
    at 0 has ratio 1).

    ``real`` and ``fake`` are :func:`visible_matrix` outputs for ``visible`` (group -> (K,) bool).
    A coordinate well above 1 spreads generated avatars where there are no real ones (it costs
    precision); well below 1, the generator misses part of the real range (it costs recall).

    Returns:
        group -> {coefficient index as a string: ratio}.
    """
    ratios = np.maximum(fake.std(0), floor) / np.maximum(real.std(0), floor)
    out: dict[str, dict[str, float]] = {}
    start = 0
    for group in GROUPS:
        indices = np.nonzero(visible[group])[0]
        group_ratios = ratios[start : start + len(indices)]
        out[group] = {str(k): float(r) for k, r in zip(indices, group_ratios, strict=True)}
        start += len(indices)
    return out


def check_dataset_model(dataset: Dataset, model: Any) -> None:
    """Raise :class:`DatasetError` when a synthetic set was rendered with another morphable model:
    its ground-truth coefficients would then be compared with coefficients of a different space."""
    recorded = dataset.meta.get("model") or {}
    expected = model_fingerprint(model)
    if dataset.params is not None and recorded.get("fingerprint") not in (None, expected):
        raise DatasetError(
            f"the dataset was rendered with morphable model {recorded.get('name')!r} (fingerprint "
            f"{recorded.get('fingerprint')}), the generator's model has fingerprint {expected}; "
            "its ground-truth coefficients are not comparable (re-render it with make-dataset)"
        )


def mixture_coverage(
    dataset: Dataset, model: Any, fake: AvatarParams, visible: dict[str, np.ndarray]
) -> dict[str, Any]:
    """Per component coverage of the identity and albedo mixtures and the expression presets.

    A mixture is judged on the coordinates it names that are ``visible`` (group -> (K,) bool,
    see :func:`visible_components`): a generator learns from images, so where clusters differ in
    a coordinate the renders do not show, the images cannot tell it which one to draw. The
    coordinates left out are listed under ``"not_visible"``; a mixture with no visible
    coordinate is not judged (``"judged": False``).
    """
    assert dataset.population is not None and dataset.labels is not None
    sampler = PopulationSampler(dataset.population, model)
    out: dict[str, Any] = {}
    for group, dist in (("identity", sampler.identity), ("albedo", sampler.albedo)):
        if len(dist.names) < 2:
            continue
        columns = dist.specified & visible[group]
        hidden = np.nonzero(dist.specified & ~visible[group])[0].tolist()
        if hidden:
            log.warning(
                "%s mixture: coordinate(s) %s not visible in renders; ignored", group, hidden
            )
        if not columns.any():
            out[group] = {
                "components": {},
                "all_covered": True,
                "judged": False,
                "not_visible": hidden,
            }
            continue
        values = getattr(fake, group).cpu().numpy()
        labels = assign_components(dist, values, within=0.99, columns=columns)
        coverage = component_coverage(dataset.labels[group], labels, list(dist.names))
        out[group] = {**coverage, "judged": True, "not_visible": hidden}
    if sampler.presets:
        labels = detect_presets(sampler, fake.expression.cpu().numpy())
        names = [p[0] for p in sampler.presets]
        out["expression"] = component_coverage(dataset.labels["expression"], labels, names)
    out["all_covered"] = all(v["all_covered"] for v in out.values())
    return out


#: Coefficient groups :func:`discriminator_attribution` swaps between real and generated avatars.
ATTRIBUTION_GROUPS = ("identity", "expression", "albedo", "pose", "lighting")


@torch.no_grad()
def discriminator_attribution(
    discriminator: torch.nn.Module,
    model: Any,
    render: RenderFn,
    real: AvatarParams,
    fake: AvatarParams,
) -> dict[str, Any]:
    """Which coefficient groups the discriminator's verdict rests on.

    Real avatars (their ground-truth coefficients, re-rendered) and generated ones are scored
    as they are, then with one group swapped: generated avatars with the real avatars' values of
    that group, and real avatars with the generated ones'. A group whose swap leaves the mean
    logits where they were is one the discriminator does not judge, so it gives the generator
    no gradient to fit that group to the data.

    Args:
        real, fake: batches of the same size B (pair i swaps with pair i), on the device
            ``render`` works on.

    Returns:
        ``{"real": mean logit, "fake": mean logit, "groups": {group: {"fake_with_real": mean
        logit, "real_with_fake": mean logit}}}``.
    """
    if real.batch_size != fake.batch_size:
        raise ValueError(f"real and fake batches differ: {real.batch_size} vs {fake.batch_size}")
    device = next(discriminator.parameters()).device

    def mean_logit(params: AvatarParams) -> float:
        images = render_in_chunks(model, render, params)
        return float(torch.cat([discriminator(c.to(device)) for c in images.split(64)]).mean())

    out: dict[str, Any] = {"real": mean_logit(real), "fake": mean_logit(fake), "groups": {}}
    for group in ATTRIBUTION_GROUPS:
        out["groups"][group] = {
            "fake_with_real": mean_logit(fake.with_fields(**{group: getattr(real, group)})),
            "real_with_fake": mean_logit(real.with_fields(**{group: getattr(fake, group)})),
        }
    return out


@torch.no_grad()
def render_in_chunks(
    model: Any, render: RenderFn, params: AvatarParams, chunk: int = 32
) -> torch.Tensor:
    parts = [
        render(model, params.select(slice(s, s + chunk))).cpu()
        for s in range(0, params.batch_size, chunk)
    ]
    return torch.cat(parts)


def evaluate_generator(
    generator: CoefficientGenerator,
    model: Any,
    render: RenderFn,
    dataset: Dataset,
    n_samples: int = 5000,
    seed: int = 0,
    n_images: int = 256,
    bar: Bar = Bar(),
    discriminator: torch.nn.Module | None = None,
) -> dict[str, Any]:
    """All metrics as a JSON-ready dictionary (see the module docstring); with the run's
    ``discriminator`` and ground truth also :func:`discriminator_attribution` on ``n_images``
    avatars."""
    check_dataset_model(dataset, model)
    device = generator.w_avg.device
    n = min(n_samples, len(dataset)) if dataset.params is not None else n_samples
    fake = sample_generator(generator, n, seed=seed + 1_000_003).to("cpu")
    result: dict[str, Any] = {"n_real": len(dataset), "n_generated": n}
    m = min(n_images, len(dataset), n)
    fake_images = render_in_chunks(model, render, fake.select(slice(0, m)).to(device))
    real_images = dataset.images[:m].float() / 127.5 - 1.0
    result["diversity"] = mode_collapse_check(fake_images, real_images)
    if dataset.params is None:
        return result
    real = dataset.params
    base = AvatarParams.neutral(model.layout).with_fields(
        pose=real.pose.mean(0, keepdim=True), lighting=real.lighting.mean(0, keepdim=True)
    )
    visible = visible_components(model, render, base.to(device))
    result["visible_components"] = {g: np.nonzero(v)[0].tolist() for g, v in visible.items()}
    prior = sample_prior(model, n, seed=seed + 2_000_003)
    real_x, fake_x = visible_matrix(real, visible), visible_matrix(fake, visible)
    gen_scores = coefficient_scores(real_x, fake_x)
    prior_scores = coefficient_scores(real_x, visible_matrix(prior, visible))
    # What a perfect generator would score: one half of the real set against the other.
    half = len(real_x) // 2
    ceiling = coefficient_scores(real_x[:half], real_x[half : 2 * half]) if half > 3 else None
    ratio = gen_scores["frechet"] / max(prior_scores["frechet"], 1e-12)
    result["frechet"] = {
        "generator": gen_scores["frechet"],
        "prior": prior_scores["frechet"],
        "ratio": ratio,
        "real_halves": ceiling["frechet"] if ceiling else None,
    }
    result["precision_recall"] = {
        "generator": {"precision": gen_scores["precision"], "recall": gen_scores["recall"]},
        "prior": {"precision": prior_scores["precision"], "recall": prior_scores["recall"]},
        "real_halves": (
            {"precision": ceiling["precision"], "recall": ceiling["recall"]} if ceiling else None
        ),
    }
    sizes = {group: int(visible[group].sum()) for group in GROUPS}
    result["group_swaps"] = group_swaps(real_x, fake_x, sizes, prior_scores["frechet"], seed)
    result["coordinate_spread"] = coordinate_spread(real_x, fake_x, visible)
    if dataset.population is not None and dataset.labels is not None:
        result["coverage"] = mixture_coverage(dataset, model, fake, visible)
    if discriminator is not None:
        pairs = slice(0, m)
        result["discriminator_attribution"] = discriminator_attribution(
            discriminator,
            model,
            render,
            real.select(pairs).to(device),
            fake.select(pairs).to(device),
        )
    checks = {
        f"frechet_ratio<={bar.frechet_ratio}": ratio <= bar.frechet_ratio,
        f"precision>={bar.precision}": gen_scores["precision"] >= bar.precision,
        f"recall>={bar.recall}": gen_scores["recall"] >= bar.recall,
        "all_components_covered": bool(result.get("coverage", {}).get("all_covered", True)),
        "no_mode_collapse": not result["diversity"]["collapsed"],
    }
    result["bar"] = {**checks, "passed": all(checks.values())}
    return result
