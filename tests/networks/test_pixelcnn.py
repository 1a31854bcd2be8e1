"""The PixelCNN decoder: causality, exact one-pass likelihood, exact incremental sampling;
the convHVAE trains on real digits."""

import pyro
import pytest
import torch
from pyro.infer import Trace_ELBO

from pyro_vamp.data import load_dataset
from pyro_vamp.inference import importance_sample
from pyro_vamp.models import ConvHVAE, ConvHVAEPlain
from pyro_vamp.networks.pixelcnn import MaskedConv2d, PixelCNNDecoder

SHAPES = [(28, 28), (28, 20)]


def input_gradient(net, shape, channels, pixel):
    """d output[pixel] / d input, summed over output channels: ``[channels, H, W]``."""
    x = torch.randn(1, channels, *shape, requires_grad=True)
    out = net(x)
    out[0, :, pixel // shape[1], pixel % shape[1]].sum().backward()
    return x.grad[0]


def raster_positions(shape):
    return torch.arange(shape[0] * shape[1]).reshape(shape)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("pixel", [0, 29, 300, 559])
def test_an_a_then_b_stack_never_sees_the_current_or_later_pixels(shape, pixel):
    torch.manual_seed(0)
    stack = torch.nn.Sequential(
        MaskedConv2d("A", 3, 8), torch.nn.ReLU(), MaskedConv2d("B", 8, 8), torch.nn.ReLU(), MaskedConv2d("B", 8, 8)
    )
    grad = input_gradient(stack, shape, 3, pixel).abs().sum(0)
    assert torch.all(grad[raster_positions(shape) >= pixel] == 0)
    if pixel > 0:
        assert grad[raster_positions(shape) < pixel].sum() > 0


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("pixel", [0, 29, 300, 559])
def test_a_type_b_layer_sees_the_current_pixel_but_no_later_one(shape, pixel):
    torch.manual_seed(0)
    grad = input_gradient(MaskedConv2d("B", 1, 4), shape, 1, pixel)[0].abs()
    positions = raster_positions(shape)
    assert torch.all(grad[positions > pixel] == 0) and grad[positions == pixel].item() > 0
    grad_a = input_gradient(MaskedConv2d("A", 1, 4), shape, 1, pixel)[0].abs()
    assert torch.all(grad_a[positions >= pixel] == 0)


@pytest.mark.parametrize("shape", SHAPES)
def test_decoder_parameters_at_a_pixel_ignore_the_pixel_and_later_ones(shape):
    torch.manual_seed(0)
    decoder = PixelCNNDecoder(shape, 4, "bernoulli", channels=8, layers=4)
    d = shape[0] * shape[1]
    z1, z2 = torch.randn(1, 4), torch.randn(1, 4)
    for pixel in (0, 45, d - 1):
        x = torch.bernoulli(torch.full((1, d), 0.5)).requires_grad_()
        decoder(x, z1, z2).base_dist.logits[0, pixel].backward()
        assert torch.all(x.grad[0, pixel:] == 0)


@pytest.mark.parametrize("likelihood", ["bernoulli", "logistic"])
def test_one_pass_likelihood_equals_the_pixel_by_pixel_conditionals(likelihood):
    torch.manual_seed(0)
    shape = (5, 4)
    decoder = PixelCNNDecoder(shape, 3, likelihood, channels=8, layers=3)
    z1, z2 = torch.randn(2, 3), torch.randn(2, 3)
    x = (
        torch.bernoulli(torch.full((2, 20), 0.4))
        if likelihood == "bernoulli"
        else (torch.randint(0, 256, (2, 20)) + 0.5) / 256
    )
    one_pass = decoder(x, z1, z2).log_prob(x)
    by_pixel = torch.zeros(2)
    for pixel in range(20):
        seen = x.clone()
        seen[:, pixel:] = torch.rand(2, 20 - pixel)  # what comes later must not matter
        conditional = decoder(seen, z1, z2).base_dist
        by_pixel += conditional.log_prob(x)[:, pixel]
    assert torch.allclose(one_pass, by_pixel, atol=1e-4)


@pytest.mark.parametrize("shape,likelihood", [((28, 28), "bernoulli"), ((28, 20), "logistic"), ((6, 5), "bernoulli")])
def test_incremental_sampling_uses_exactly_the_full_network(shape, likelihood):
    torch.manual_seed(1)
    decoder = PixelCNNDecoder(shape, 4, likelihood, channels=16, layers=4)
    z1, z2 = torch.randn(3, 4), torch.randn(3, 4)
    record = []
    x = decoder.sample(z1, z2, record=record)
    d = shape[0] * shape[1]
    assert x.shape == (3, d) and len(record) == d
    full = decoder(x, z1, z2).base_dist
    params = torch.stack(record, -1)  # [n, P, D]
    if likelihood == "bernoulli":
        assert set(x.unique().tolist()) <= {0.0, 1.0}
        assert torch.allclose(params[:, 0], full.logits, atol=1e-4)
    else:
        assert torch.allclose(x * 256 - 0.5, torch.round(x * 256 - 0.5), atol=1e-4)
        assert torch.allclose(torch.sigmoid(params[:, 0]).clamp(1 / 512, 1 - 1 / 512), full.loc, atol=1e-5)


def test_sampling_is_repeatable_with_a_seed():
    model = ConvHVAE(
        560, likelihood="logistic", prior="vamp", num_components=4, latent_dim=3, hidden=16, image_shape=(28, 20)
    )
    draws = []
    for _ in range(2):
        torch.manual_seed(7)
        draws.append(model.sample_images(3))
    assert torch.equal(draws[0], draws[1]) and draws[0].shape == (3, 560)


@pytest.mark.slow
@pytest.mark.parametrize("model_cls", [ConvHVAE, ConvHVAEPlain])
def test_a_few_svi_steps_reduce_the_loss_on_real_digits(model_cls):
    torch.manual_seed(0)
    x = load_dataset("mnist5k").train.as_float(torch.arange(40))
    model = model_cls(784, prior="vamp", num_components=10, latent_dim=8, hidden=64, image_shape=(28, 28))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = Trace_ELBO().differentiable_loss

    def loss_on_fixed_draws():
        pyro.set_rng_seed(3)
        with torch.no_grad():
            return loss_fn(model.model, model.guide, x).item()

    before = loss_on_fixed_draws()
    for _ in range(8):
        optimizer.zero_grad()
        loss_fn(model.model, model.guide, x).backward()
        optimizer.step()
    assert loss_on_fixed_draws() < 0.9 * before


def test_importance_sampling_and_vampprior_work_with_the_conv_encoder():
    model = ConvHVAE(784, prior="vamp", num_components=6, latent_dim=3, hidden=16, image_shape=(28, 28))
    x = torch.bernoulli(torch.full((4, 784), 0.2))
    with model.prior.frozen():
        estimate = importance_sample(model.model, model.guide, x, 12, chunk_size=5)
    assert estimate.log_likelihood.shape == (4,) and torch.all(estimate.log_likelihood >= estimate.elbo)
    with pytest.raises(ValueError, match="sample_images"):
        model.model(None, num=2)
