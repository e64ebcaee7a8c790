"""Metrics against closed-form values."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mesh_avatar.gan.metrics.coverage import component_coverage
from mesh_avatar.gan.metrics.diversity import image_diversity, mode_collapse_check
from mesh_avatar.gan.metrics.frechet import frechet_distance, gaussian_stats, standardised_frechet
from mesh_avatar.gan.metrics.precision_recall import precision_recall


def test_frechet_of_identical_gaussians_is_zero():
    cov = np.array([[2.0, 0.3], [0.3, 1.0]])
    assert frechet_distance(np.zeros(2), cov, np.zeros(2), cov) == pytest.approx(0.0, abs=1e-8)


def test_frechet_closed_form_for_diagonal_gaussians():
    # FD = |mu_a - mu_b|^2 + sum_i (s_a - s_b)^2 for diagonal covariances.
    mu_a, mu_b = np.array([1.0, 0.0, -2.0]), np.array([0.0, 0.5, -2.0])
    s_a, s_b = np.array([1.0, 2.0, 0.5]), np.array([3.0, 2.0, 1.0])
    fd = frechet_distance(mu_a, np.diag(s_a**2), mu_b, np.diag(s_b**2))
    assert fd == pytest.approx(1.25 + 4.0 + 0.25, rel=1e-9)


def test_standardised_frechet_uses_real_scale():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((4000, 2)) * np.array([10.0, 0.1])
    fake = real + np.array([10.0, 0.1])  # one real std shift in each column
    assert standardised_frechet(real, fake) == pytest.approx(2.0, rel=0.02)
    assert standardised_frechet(real, real) == pytest.approx(0.0, abs=1e-9)


def test_gaussian_stats_needs_two_samples():
    with pytest.raises(ValueError):
        gaussian_stats(np.zeros((1, 3)))


def test_precision_recall_identical_and_disjoint():
    rng = np.random.default_rng(1)
    real = rng.standard_normal((300, 4))
    same = precision_recall(real, real.copy(), k=3)
    assert same == {"precision": 1.0, "recall": 1.0}
    far = precision_recall(real, real + 100.0, k=3)
    assert far == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_detect_dropped_mode():
    rng = np.random.default_rng(2)
    modes = np.array([[5.0, 0.0], [-5.0, 0.0]])
    real = modes[rng.integers(0, 2, 1000)] + rng.standard_normal((1000, 2)) * 0.3
    fake = modes[[0] * 1000] + rng.standard_normal((1000, 2)) * 0.3
    pr = precision_recall(real, fake, k=3)
    assert pr["precision"] > 0.9
    assert pr["recall"] < 0.6


def test_diversity_and_mode_collapse():
    gen = torch.Generator().manual_seed(0)
    real = torch.rand(40, 3, 32, 32, generator=gen) * 2 - 1
    assert image_diversity(real[:2].repeat(2, 1, 1, 1)[[0, 2]]) == pytest.approx(0.0, abs=1e-6)
    healthy = mode_collapse_check(torch.rand(40, 3, 32, 32, generator=gen) * 2 - 1, real)
    assert not healthy["collapsed"]
    assert healthy["diversity_ratio"] == pytest.approx(1.0, rel=0.1)
    collapsed = mode_collapse_check(real[:1].repeat(40, 1, 1, 1), real)
    assert collapsed["collapsed"]
    assert collapsed["near_duplicate_share"] == 1.0


def test_component_coverage():
    real = np.array([0] * 50 + [1] * 30 + [2] * 20)
    fake = np.array([0] * 70 + [1] * 30)
    out = component_coverage(real, fake, ["a", "b", "c"])
    assert out["components"]["c"] == {"real_share": 0.2, "generated_share": 0.0, "covered": False}
    assert out["components"]["a"]["covered"] and out["components"]["b"]["covered"]
    assert out["all_covered"] is False
    assert math.isclose(out["components"]["a"]["generated_share"], 0.7)


def test_evaluation_refuses_ground_truth_of_another_model(tiny_model):
    from mesh_avatar.datasets.image_folder import DatasetError
    from mesh_avatar.datasets.synthetic import Dataset
    from mesh_avatar.gan.checkpoint import model_fingerprint
    from mesh_avatar.gan.evaluation import check_dataset_model
    from mesh_avatar.params import AvatarParams

    params = AvatarParams.neutral(tiny_model.layout, batch_size=2)
    images = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)

    def dataset(fingerprint: str, with_params: bool = True) -> Dataset:
        meta = {"model": {"name": "other", "fingerprint": fingerprint}}
        return Dataset(images, params if with_params else None, None, None, meta)

    check_dataset_model(dataset(model_fingerprint(tiny_model)), tiny_model)
    check_dataset_model(dataset("0123", with_params=False), tiny_model)  # images only: fine
    with pytest.raises(DatasetError, match=r"model 'other' \(fingerprint 0123\).*re-render"):
        check_dataset_model(dataset("0123"), tiny_model)


def test_mixture_coverage_judges_only_visible_coordinates(tiny_model):
    from mesh_avatar.datasets.population import Population
    from mesh_avatar.datasets.synthetic import Dataset
    from mesh_avatar.gan.evaluation import mixture_coverage
    from mesh_avatar.params import AvatarParams

    # Two clusters apart in coordinate 0 and in coordinate 1.
    mixture = [
        {"name": "left", "mean": {"0": -2.0, "1": 2.0}, "std": {"0": 0.3, "1": 0.3}},
        {"name": "right", "mean": {"0": 2.0, "1": -2.0}, "std": {"0": 0.3, "1": 0.3}},
    ]
    population = Population.from_dict({"identity": {"mixture": mixture}}, "test")
    labels = {"identity": np.array([0, 1] * 50)}
    real = AvatarParams.neutral(tiny_model.layout, batch_size=100)
    dataset = Dataset(torch.zeros(100, 3, 8, 8, dtype=torch.uint8), real, labels, population, {})
    # A generator that places both clusters in coordinate 0 but leaves coordinate 1 at 0.
    identity = torch.zeros(100, tiny_model.layout.n_identity)
    identity[:, 0] = torch.tensor([-2.0, 2.0]).repeat(50)
    fake = real.with_fields(identity=identity)

    def visible(*columns: int) -> dict[str, np.ndarray]:
        masks = {g: np.ones(getattr(real, g).shape[1], bool) for g in ("expression", "albedo")}
        masks["identity"] = np.isin(np.arange(tiny_model.layout.n_identity), columns)
        return masks

    both = mixture_coverage(dataset, tiny_model, fake, visible(0, 1))["identity"]
    assert both["judged"] and not both["all_covered"] and both["not_visible"] == []
    assert both["components"]["left"]["generated_share"] == 0.0
    shown = mixture_coverage(dataset, tiny_model, fake, visible(0))["identity"]
    assert shown["all_covered"] and shown["not_visible"] == [1]
    assert shown["components"]["left"]["generated_share"] == 0.5
    hidden = mixture_coverage(dataset, tiny_model, fake, visible())["identity"]
    assert hidden == {"components": {}, "all_covered": True, "judged": False, "not_visible": [0, 1]}


def test_discriminator_attribution_finds_the_group_the_verdict_rests_on(tiny_model):
    from support.toy_render import ToyRender

    from mesh_avatar.gan.evaluation import ATTRIBUTION_GROUPS, discriminator_attribution
    from mesh_avatar.params import AvatarParams

    class Brightness(torch.nn.Module):
        """A stand-in discriminator: the mean pixel value is the logit."""

        def __init__(self) -> None:
            super().__init__()
            self.scale = torch.nn.Parameter(torch.ones(()))

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            return images.mean(dim=(1, 2, 3)) * self.scale

    # Real and generated avatars differ only in albedo.
    real = AvatarParams.neutral(tiny_model.layout, batch_size=6)
    albedo = torch.linspace(1.0, 2.0, 6)[:, None].expand(-1, tiny_model.layout.n_albedo)
    fake = real.with_fields(albedo=albedo.contiguous())
    out = discriminator_attribution(Brightness(), tiny_model, ToyRender(16), real, fake)
    assert out["real"] != pytest.approx(out["fake"], abs=1e-4)
    assert set(out["groups"]) == set(ATTRIBUTION_GROUPS)
    assert out["groups"]["albedo"]["fake_with_real"] == pytest.approx(out["real"], abs=1e-6)
    assert out["groups"]["albedo"]["real_with_fake"] == pytest.approx(out["fake"], abs=1e-6)
    for group in ("identity", "expression", "pose", "lighting"):
        assert out["groups"][group]["fake_with_real"] == pytest.approx(out["fake"], abs=1e-6)
        assert out["groups"][group]["real_with_fake"] == pytest.approx(out["real"], abs=1e-6)
    with pytest.raises(ValueError, match="differ: 6 vs 2"):
        discriminator_attribution(
            Brightness(), tiny_model, ToyRender(16), real, fake.select(slice(0, 2))
        )


def test_coordinate_spread_names_the_coefficients_generated_too_wide_or_narrow():
    from mesh_avatar.gan.evaluation import coordinate_spread

    rng = np.random.default_rng(0)
    visible = {
        "identity": np.array([True, False, True]),
        "expression": np.array([False, True, True]),
        "albedo": np.array([True]),
    }
    # Expression 1: never used by either set; expression 2: used by the real set only.
    real = rng.standard_normal((4000, 5)) * [1.0, 0.5, 0.0, 0.5, 2.0]
    fake = rng.standard_normal((4000, 5)) * [1.0, 1.5, 0.01, 0.0, 1.0]
    spread = coordinate_spread(real, fake, visible)
    assert list(spread["identity"]) == ["0", "2"] and list(spread["expression"]) == ["1", "2"]
    assert spread["identity"]["0"] == pytest.approx(1.0, abs=0.05)
    assert spread["identity"]["2"] == pytest.approx(3.0, rel=0.05)  # 1.5 / 0.5
    assert spread["expression"]["1"] == pytest.approx(1.0)  # both at the 0.05 floor
    assert spread["expression"]["2"] == pytest.approx(0.1, rel=0.05)  # the floor / 0.5
    assert spread["albedo"]["0"] == pytest.approx(0.5, rel=0.05)


def test_group_swaps_find_the_group_that_costs_the_recall():
    from mesh_avatar.gan.evaluation import group_swaps

    rng = np.random.default_rng(0)
    real = rng.standard_normal((1500, 6))
    fake = rng.standard_normal((1500, 6))
    fake[:, 2:5] *= 0.2  # the middle group collapsed towards its mean
    sizes = {"identity": 2, "expression": 3, "albedo": 1}
    swaps = group_swaps(real, fake, sizes, prior_frechet=10.0)
    assert set(swaps) == set(sizes)
    assert swaps["expression"]["recall"] > 0.6  # the real spread back where it was missing
    assert swaps["identity"]["recall"] < 0.3 and swaps["albedo"]["recall"] < 0.3
    assert swaps["expression"]["frechet_ratio"] < 0.1 * swaps["identity"]["frechet_ratio"]
    assert group_swaps(real, fake, {"identity": 0, "expression": 6}, 10.0).keys() == {"expression"}
