"""EqualGaussianMixture (MoG and VampPrior) beyond the distribution contract of tests/test_distributions.py:
the exact form at extreme scales, priors inside plates, the component choice, moments, reparameterisation."""

import math

import pyro
import pytest
import torch

from pyro_vamp.networks.dense import GaussianEncoder
from pyro_vamp.priors import EqualGaussianMixture, MixtureOfGaussiansPrior, VampPrior


def brute_force_log_prob(z, locs, scales):
    """ln (1/K) sum_k prod_m N(z_m | mu_km, s_km), broadcasting [..., K, M] in float64."""
    z, locs, scales = z.double(), locs.double(), scales.double()
    diff = (z.unsqueeze(-2) - locs) / scales
    log_n = (-0.5 * diff**2 - scales.log() - 0.5 * math.log(2 * math.pi)).sum(-1)
    return torch.logsumexp(log_n, -1) - math.log(locs.shape[0])


def random_mixture(k=7, m=5, exact=False):
    return EqualGaussianMixture(torch.randn(k, m), 0.5 + torch.rand(k, m), exact=exact)


def vamp_prior(k=6, d=12, m=4):
    return VampPrior.from_normal(GaussianEncoder(d, m, hidden=16), k, d, mean=0.5, std=0.2)


def test_exact_form_survives_small_scales_and_large_means():
    locs = 50 + torch.randn(20, 40)
    scales = torch.full((20, 40), 0.02)
    z = locs[3] + 0.01 * torch.randn(40)
    expected = brute_force_log_prob(z, locs, scales)
    assert abs(EqualGaussianMixture(locs, scales, exact=True).log_prob(z).item() - expected.item()) < 1e-6


@pytest.mark.parametrize(
    "make_prior", [lambda: MixtureOfGaussiansPrior(4, num_components=6), vamp_prior], ids=["mog", "vamp"]
)
@pytest.mark.parametrize("observed", [False, True])
def test_prior_in_data_and_particle_plates(make_prior, observed):
    prior = make_prior()

    def model(z=None):
        with pyro.plate("particles", 3, dim=-2), pyro.plate("data", 5, dim=-1):
            return pyro.sample("z", prior(), obs=z)

    z = torch.randn(3, 5, 4) if observed else None
    trace = pyro.poutine.trace(model).get_trace(z)
    site = trace.nodes["z"]
    assert site["value"].shape == (3, 5, 4)
    trace.compute_log_prob()
    dist = prior.distribution()
    expected = brute_force_log_prob(site["value"], dist.locs, dist.scales)
    assert site["log_prob"].shape == (3, 5)
    assert torch.allclose(site["log_prob"].double(), expected, rtol=1e-4, atol=1e-4)


def test_component_choice_is_uniform():
    k, n = 5, 50_000
    _, components = random_mixture(k=k).sample_with_components((n,))
    counts = torch.bincount(components, minlength=k).double()
    chi2 = ((counts - n / k) ** 2 / (n / k)).sum().item()
    assert chi2 < 18.467  # the 0.999 quantile of chi-square with 4 degrees of freedom


def test_sample_moments_match_the_mixture():
    mixture = random_mixture(k=4, m=3)
    n = 200_000
    z = mixture.sample((n,)).double()
    locs, scales = mixture.locs.double(), mixture.scales.double()
    mean = locs.mean(0)
    var = (scales**2 + locs**2).mean(0) - mean**2
    assert torch.all((z.mean(0) - mean).abs() < 5 * (var / n).sqrt())
    assert torch.allclose(z.var(0), var, rtol=0.03)
    assert torch.allclose(mixture.mean.double(), mean) and torch.allclose(mixture.variance.double(), var)


def test_rsample_is_reparameterised_within_the_component():
    locs = torch.randn(3, 2, requires_grad=True)
    scales = torch.ones(3, 2, requires_grad=True)
    EqualGaussianMixture(locs, scales).rsample((10,)).sum().backward()
    assert locs.grad.abs().sum() > 0 and scales.grad.abs().sum() > 0
