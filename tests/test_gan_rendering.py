"""The GAN's render path: real renderer, gradients from D through the renderer into G."""

from __future__ import annotations

import torch

from mesh_avatar.gan.config import DiscriminatorConfig, GeneratorConfig
from mesh_avatar.gan.discriminator import Discriminator
from mesh_avatar.gan.generator import CoefficientGenerator
from mesh_avatar.gan.rendering import AlbedoAtSize, make_render_fn, resample
from mesh_avatar.params import AvatarParams


def test_gradient_flows_from_the_discriminator_through_the_renderer_into_the_generator(tiny_model):
    torch.manual_seed(0)
    gen = CoefficientGenerator(tiny_model.layout, GeneratorConfig(z_dim=8, w_dim=16))
    disc = Discriminator(32, DiscriminatorConfig(channel_base=128, channel_max=16))
    render = make_render_fn(32, "fast")
    images = render(tiny_model, gen(torch.randn(4, 8)))
    assert images.shape == (4, 3, 32, 32)
    assert images.min() >= -1 and images.max() <= 1
    disc(images).sum().backward()
    for name in ("identity_head", "expression_head", "albedo_head", "pose_head", "lighting_head"):
        grad = getattr(gen, name).weight.grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0, name
    assert gen.mapping.fcs[0].weight.grad.abs().sum() > 0


def test_render_is_batch_independent_and_shows_the_coefficients(tiny_model):
    render = make_render_fn(32, "fast")
    params = AvatarParams.neutral(tiny_model.layout, 3)
    albedo = params.albedo.clone()
    albedo[1, 0] = 2.0  # a darker/lighter skin tone changes the face pixels
    params = params.with_fields(albedo=albedo)
    with torch.no_grad():
        batch = render(tiny_model, params)
        alone = render(tiny_model, params.select(1))
    torch.testing.assert_close(batch[1:2], alone, atol=1e-5, rtol=0)
    assert (batch[1] - batch[0]).abs().mean() > 0.01
    torch.testing.assert_close(batch[0], batch[2])


def test_albedo_at_size_matches_resampling_the_full_texture(tiny_model):
    coeffs = torch.randn(2, tiny_model.layout.n_albedo)
    full = tiny_model.albedo(coeffs)
    direct = AlbedoAtSize(tiny_model, 32)(coeffs, None)
    assert direct.shape == (2, 32, 32, 3)
    torch.testing.assert_close(direct, resample(full, 32), atol=0.02, rtol=0)
