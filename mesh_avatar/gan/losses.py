"""GAN losses as pure functions of discriminator logits (non-saturating logistic loss, R1).

With ``D(x) = sigmoid(logit(x))``:

* generator:      ``L_G = -E[log D(G(z))]                    = E[softplus(-logit(G(z)))]``
* discriminator:  ``L_D = -E[log D(x)] - E[log(1 - D(G(z)))] = E[softplus(-logit(x))] + E[softplus(logit(G(z)))]``
* R1 penalty:     ``E[ ||d logit(x) / d x||^2 ]`` on real images (scaled by gamma / 2 by the caller).
* prior penalty:  a weak pull of the generated coefficients towards the model's prior (see
  :func:`prior_penalty`), for the coefficients the discriminator barely sees.
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


def prior_penalty(params: AvatarParams, expression_kind: str = "blendshape") -> torch.Tensor:
    """Negative log prior of generated coefficients, per coordinate, averaged over the batch.

    ``0.5 x^2`` for std-unit coefficients (identity, albedo, PCA expressions) and ``w`` (an L1 /
    exponential prior) for blendshape weights in [0, 1]. Adam moves every weight by about the
    learning rate whatever the size of its gradient, so coefficients the discriminator cannot see
    at the training resolution would otherwise random-walk; this term lets them rest at the prior
    while the discriminator's much larger gradients shape the visible ones.

    Returns:
        Scalar: mean over the batch of the sum over coordinates, divided by the number of
        coordinates (so the weight means the same for every model size).
    """
    terms = [0.5 * params.identity.square(), 0.5 * params.albedo.square()]
    if expression_kind == "blendshape":
        terms.append(params.expression.abs())
    else:
        terms.append(0.5 * params.expression.square())
    flat = torch.cat(terms, dim=1)
    if flat.shape[1] == 0:
        return flat.sum()
    return flat.mean()
