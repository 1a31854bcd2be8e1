"""The Gaussian likelihood: its log-density against the formula in float64, the variance floor, and
the models that take it (the MLP ones) or refuse it (the convolutional ones)."""

import math

import pyro
import pytest
import torch

from pyro_vamp.errors import InputError
from pyro_vamp.likelihoods import LIKELIHOOD_HEADS, GaussianHead
from pyro_vamp.likelihoods.gaussian import SCALE_MIN
from pyro_vamp.models import HVAE, VAE, ConvHVAE, ConvHVAEPlain


def brute_force_log_density(x, loc, logvar):
    """sum_d -1/2 ln(2 pi) - 1/2 logvar_d - (x_d - loc_d)^2 / (2 exp(logvar_d)), in float64."""
    x, loc, logvar = x.double(), loc.double(), logvar.double()
    total = torch.zeros(x.shape[:-1], dtype=torch.float64)
    for d in range(x.shape[-1]):
        total += -0.5 * math.log(2 * math.pi) - 0.5 * logvar[d] - (x[..., d] - loc[..., d]) ** 2 / (2 * logvar[d].exp())
    return total


def test_log_density_matches_the_formula():
    torch.manual_seed(0)
    head = GaussianHead(7, 12)
    with torch.no_grad():
        head.logvar.copy_(torch.linspace(-3, 2, 12))
    h, x = torch.randn(5, 7), 2 * torch.randn(5, 12)
    density = head(h)
    assert density.event_shape == (12,) and density.batch_shape == (5,)
    expected = brute_force_log_density(x, head.loc(h).detach(), head.logvar.detach())
    assert torch.allclose(density.log_prob(x).double(), expected, rtol=1e-6, atol=1e-4)
    assert torch.allclose(density.mean, head.loc(h))


def test_the_scale_has_a_floor_and_one_learned_variance_per_dimension():
    head = GaussianHead(3, 4)
    assert sorted(name for name, _ in head.named_parameters()) == ["loc.bias", "loc.weight", "logvar"]
    assert head.logvar.shape == (4,) and torch.equal(head.logvar, torch.zeros(4))
    with torch.no_grad():
        head.logvar.copy_(torch.tensor([-40.0, -2.0, 0.0, 1.0]))
    scale = head(torch.zeros(2, 3)).base_dist.scale
    assert scale[0, 0].item() == pytest.approx(SCALE_MIN)
    assert torch.allclose(scale[0, 1:], torch.tensor([-1.0, 0.0, 0.5]).exp())
    head(torch.zeros(2, 3)).log_prob(torch.ones(2, 4)).sum().backward()
    assert head.logvar.grad[0] == 0 and head.logvar.grad[1] != 0  # no push below the floor


@pytest.mark.parametrize("model_class", [VAE, HVAE])
def test_mlp_models_train_with_it(model_class):
    assert "gaussian" in LIKELIHOOD_HEADS
    model = model_class(6, likelihood="gaussian", prior="vamp", num_components=3, latent_dim=2, hidden=8)
    loss = pyro.infer.Trace_ELBO().differentiable_loss(model.model, model.guide, torch.randn(10, 6), 1.0)
    loss.backward()
    head = model.decoder[-1] if model_class is VAE else model.p_x_out
    assert isinstance(head, GaussianHead) and torch.isfinite(loss) and head.logvar.grad.abs().sum() > 0
    assert model.sample_images(4).shape == (4, 6)


@pytest.mark.parametrize("model_class", [ConvHVAE, ConvHVAEPlain])
def test_convolutional_models_refuse_it(model_class):
    with pytest.raises(InputError, match="gaussian likelihood"):
        model_class(16, likelihood="gaussian", image_shape=(4, 4), latent_dim=2, hidden=8)
    with pytest.raises(InputError, match="single-channel images"):
        model_class(16, likelihood="bernoulli", latent_dim=2, hidden=8)
