"""The speed settings change nothing but speed: the training step without ``pyro.module``
registration, and the plain-PyTorch reference the benchmarks compare with (the OpenMP setting is
in tests/test_runtime.py)."""

import pyro
import pytest
import torch
from pyro import poutine
from pyro.infer import Trace_ELBO

from pyro_vamp.models import HVAE, VAE
from tests.common import load_benchmark

#: benchmarks/reference.py, loaded from its file (benchmarks/ is not a package).
reference = load_benchmark("reference")


def small(model_class, prior):
    torch.manual_seed(0)
    return model_class(12, prior=prior, num_components=6, latent_dim=3, hidden=8)


@pytest.mark.parametrize("model_class", [VAE, HVAE])
def test_unregistered_step_has_the_same_loss_and_gradients_and_no_param_sites(model_class):
    model = small(model_class, "vamp")
    x = torch.rand(5, 12).round()
    results = []
    for register in (True, False):
        model.register_params = register
        model.zero_grad()
        pyro.set_rng_seed(3)
        with poutine.trace(param_only=True) as params:
            loss = Trace_ELBO().differentiable_loss(model.model, model.guide, x, 0.5)
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters()], len(params.trace.nodes)))
    (loss_on, grads_on, sites_on), (loss_off, grads_off, sites_off) = results
    assert torch.equal(loss_on, loss_off)
    assert all(torch.equal(a, b) for a, b in zip(grads_on, grads_off, strict=True))
    assert sites_on == len(list(model.parameters())) and sites_off == 0


def monte_carlo_mean(loss_fn, draws=400):
    values = torch.tensor([float(loss_fn()) for _ in range(draws)], dtype=torch.float64)
    return values.mean(), values.std() / draws**0.5


@pytest.mark.parametrize("model_class", [VAE, HVAE])
@pytest.mark.parametrize("prior", ["standard", "vamp"])
def test_plain_reference_loss_has_the_pyro_loss_expectation(model_class, prior):
    """Same weights, same data: the hand-written ELBO and Pyro's Trace_ELBO are unbiased estimates
    of the same number, so their means over independent draws agree within 5 standard errors."""
    model = small(model_class, prior)
    x = torch.rand(4, 12).round()
    with torch.no_grad(), pyro.validation_enabled(False):
        plain, plain_se = monte_carlo_mean(lambda: reference.fast_loss(model, x, 0.5))
        ours, ours_se = monte_carlo_mean(lambda: Trace_ELBO().loss(model.model, model.guide, x, 0.5) / 4)
    assert abs(plain - ours) < 5 * (plain_se**2 + ours_se**2) ** 0.5


def test_straightforward_mixture_matches_the_matrix_form():
    """The reference's broadcast log-density equals EqualGaussianMixture's (float64 brute force)."""
    torch.manual_seed(1)
    straightforward = reference.Straightforward(1, "vamp", input_dim=12, latent=3, hidden=8, K=6).double()
    z = torch.randn(7, 3, dtype=torch.float64)
    u = straightforward.means.weight.T.clamp(0, 1)
    loc, scale = straightforward.q_top(u)
    components = torch.distributions.Normal(loc, scale)
    expected = torch.logsumexp(components.log_prob(z[:, None, :]).sum(-1), -1) - torch.log(torch.tensor(6.0))
    assert torch.allclose(straightforward.log_prior(z), expected, atol=1e-10)
