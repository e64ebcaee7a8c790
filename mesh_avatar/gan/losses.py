"""GAN losses as pure functions of discriminator logits (non-saturating logistic loss, R1).

With ``D(x) = sigmoid(logit(x))``:

* generator:      ``L_G = -E[log D(G(z))]                    = E[softplus(-logit(G(z)))]``
* discriminator:  ``L_D = -E[log D(x)] - E[log(1 - D(G(z)))] = E[softplus(-logit(x))] + E[softplus(logit(G(z)))]``
* R1 penalty:     ``E[ ||d logit(x) / d x||^2 ]`` on real images (scaled by gamma / 2 by the caller).
* prior penalty:  a pull of the batch's coefficient distribution towards the model's prior (see
  :func:`prior_penalty`), for the coefficients the discriminator barely sees.
* sliced Wasserstein distance: how far two sample sets are apart as distributions (see
  :func:`sliced_wasserstein`), for matching coefficients to an encoder's readouts.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from mesh_avatar.params import AvatarParams


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """(B,) logits of generated images -> scalar non-saturating generator loss."""
    return F.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """(B,) real logits, (B',) fake logits -> scalar logistic discriminator loss."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def r1_penalty(real_images: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """Mean squared gradient norm of the logits with respect to the real images.

    Args:
        real_images: (B, 3, H, W) with ``requires_grad=True``, the input that gave ``real_logits``.
        real_logits: (B,) logits.

    Returns:
        Scalar ``mean_b ||grad_b||^2``; differentiable (built with ``create_graph=True``).
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real_images, create_graph=True)
    return grad.square().sum(dim=(1, 2, 3)).mean()


def lazy_r1_loss(penalty: torch.Tensor, gamma: float, interval: int) -> torch.Tensor:
    """R1 term applied every ``interval`` steps: ``gamma / 2 * penalty * interval`` (StyleGAN2)."""
    return penalty * (gamma / 2.0 * interval)


def gaussian_kl(x: torch.Tensor, eps: float = 1e-4, cap_only: bool = False) -> torch.Tensor:
    """(B, K) samples -> (K,) ``KL(N(mu, var) || N(0, 1))`` of each column's batch mean and variance.

    ``0.5 * (mu^2 + var - 1 - log var)``: zero when a column has the prior's mean and spread, so
    unlike a per-sample ``0.5 x^2`` it pulls a distribution to the prior without shrinking it.
    With ``cap_only`` the variance term counts only above 1: a column may be narrower than the
    prior (a population can be) but not wider.
    """
    mean = x.mean(dim=0)
    var = x.var(dim=0, unbiased=False) + eps
    if cap_only:
        var = var.clamp(min=1.0)
    return 0.5 * (mean.square() + var - 1.0 - var.log())


def total_correlation(x: torch.Tensor, ridge: float = 1e-3) -> torch.Tensor:
    """(B, K) samples -> scalar ``-0.5 * log det R`` of the batch's correlation matrix ``R``.

    The part of ``KL(N(mu, Sigma) || N(0, I))`` that :func:`gaussian_kl` (per column) leaves out:
    ``log det Sigma = sum_k log var_k + log det R``. Zero when the columns are uncorrelated,
    growing as they move together. Needs B well above K for a stable estimate; ``ridge`` keeps
    it finite when B <= K.
    """
    if x.shape[1] < 2:
        return x.new_zeros(())
    centred = x - x.mean(dim=0)
    std = centred.square().mean(dim=0).add(1e-8).sqrt()
    corr = (centred / std).T @ (centred / std) / x.shape[0]
    eye = torch.eye(x.shape[1], dtype=x.dtype, device=x.device)
    return -0.5 * torch.logdet((1.0 - ridge) * corr + ridge * eye)


def prior_penalty(
    params: AvatarParams,
    expression_kind: str = "blendshape",
    reference_lighting: torch.Tensor | None = None,
    cap_only: bool = False,
    correlation: bool = False,
) -> torch.Tensor:
    """How far the batch's coefficients are from the model's prior, per coordinate.

    :func:`gaussian_kl` (optionally ``cap_only``) for std-unit coefficients (identity, albedo, PCA
    expressions) and the mean weight (an exponential prior: expressions are mostly off) for
    blendshape weights in [0, 1]; with ``reference_lighting`` ((9, 3) SH) also
    ``0.5 * (lighting - reference)^2``, which settles the trade between darker skin and dimmer
    light (the image alone cannot tell them apart) towards typical light; with ``correlation``
    also each std-unit group's :func:`total_correlation` (the prior's coordinates are
    independent: a PCA model's are uncorrelated by construction). The discriminator's
    gradients for coefficients it barely sees at the training resolution are weak and noisy;
    without this term such coefficients drift to their bounds in combinations that leave the
    image unchanged. With it they rest at the prior while the discriminator's much larger
    gradients shape the visible ones.

    Returns:
        Scalar: the sum of all terms divided by the number of coordinates (so a weight means the
        same for every model size).
    """
    std_unit = [params.identity, params.albedo]
    if expression_kind == "blendshape":
        terms = [params.expression.abs().mean(dim=0)]
    else:
        std_unit.append(params.expression)
        terms = []
    terms += [gaussian_kl(group, cap_only=cap_only) for group in std_unit]
    if reference_lighting is not None:
        offset = params.lighting - reference_lighting.to(params.lighting)
        terms.append(0.5 * offset.square().mean(dim=0).flatten())
    total = torch.cat(terms).sum()
    if correlation:
        total = total + sum(total_correlation(group) for group in std_unit)
    return total / max(sum(t.shape[0] for t in terms), 1)


def sliced_wasserstein(x: torch.Tensor, y: torch.Tensor, directions: torch.Tensor) -> torch.Tensor:
    """Squared sliced 2-Wasserstein distance between the samples ``x`` (N, D) and ``y`` (M, D).

    Both sets are projected onto each of the unit ``directions`` (D, P); along each, the i-th
    smallest projection of ``x`` is compared with the quantile of ``y`` at level ``i / (N - 1)``
    (linear interpolation; for N = M the i-th smallest of ``y``). The mean squared difference
    over samples and directions is zero for the same set and, unlike moment matching, sees
    every mode of a mixture. Differentiable with respect to ``x`` (and ``y``).
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or directions.shape[0] != x.shape[1]:
        raise ValueError(
            f"expected x (N, D), y (M, D) and directions (D, P), got {tuple(x.shape)}, "
            f"{tuple(y.shape)} and {tuple(directions.shape)}"
        )
    projected, _ = torch.sort(x @ directions, dim=0)  # (N, P)
    levels = torch.linspace(0.0, 1.0, x.shape[0], dtype=x.dtype, device=x.device)
    if x.shape[0] == 1:
        levels = levels.new_full((1,), 0.5)
    target = torch.quantile(y @ directions, levels, dim=0)  # (N, P)
    return (projected - target).square().mean()


def pair_directions(dim: int, count: int, generator: torch.Generator) -> torch.Tensor:
    """(dim, dim + count) unit directions: the ``dim`` coordinate axes, then ``count`` random
    directions that each lie in the plane of a random pair of coordinates (CPU, ``generator``).

    Dense random directions suit few dimensions only: in many, each projection sums many
    coordinates and looks Gaussian whatever the distribution, so a mixture on two of 22
    coordinates hardly shows. Axes and coordinate pairs keep such structure visible.
    """
    if dim < 2:
        return torch.eye(dim)
    columns = torch.arange(count)
    first = torch.randint(0, dim, (count,), generator=generator)
    second = (first + torch.randint(1, dim, (count,), generator=generator)) % dim
    pairs = torch.zeros(dim, count)
    pairs[first, columns] = torch.randn(count, generator=generator)
    pairs[second, columns] = torch.randn(count, generator=generator)
    pairs = pairs / pairs.norm(dim=0, keepdim=True).clamp_min(1e-12)
    return torch.cat([torch.eye(dim), pairs], dim=1)
