"""The mixture log-density of the training loss is exact where float32's expanded quadratic was not:
small scales (log-variance down to -6) and large means (up to 50 in absolute value)."""

import math

import pytest
import torch

from pyro_vamp.priors import EqualGaussianMixture


def brute_force_log_prob(z, locs, scales):
    """ln (1/K) sum_k N(z | mu_k, diag s_k^2) by an explicit loop over components, in float64."""
    z, locs, scales = z.double(), locs.double(), scales.double()
    terms = [torch.distributions.Normal(locs[k], scales[k]).log_prob(z).sum(-1) for k in range(locs.shape[0])]
    return torch.logsumexp(torch.stack(terms, -1), -1) - math.log(locs.shape[0])


@pytest.mark.parametrize("mean_scale", [1.0, 10.0, 50.0])
@pytest.mark.parametrize("logvar", [-6.0, -3.0, 0.0])
def test_training_log_density_within_1e_3_nats_of_float64(mean_scale, logvar):
    generator = torch.Generator().manual_seed(0)
    locs = mean_scale * (2 * torch.rand(50, 40, generator=generator) - 1)  # |mu| up to mean_scale
    scales = torch.full((50, 40), math.exp(0.5 * logvar))
    # points near the components (where the density matters) and between them
    z = locs[torch.randint(50, (64,), generator=generator)] + scales[0] * torch.randn(64, 40, generator=generator)
    mixture = EqualGaussianMixture(locs, scales)  # float32 parameters, as in training
    log_p = mixture.log_prob(z)
    assert log_p.dtype == torch.float32
    # float32 rounding of the result itself: |ln p| up to ~1e3 nats here, relative 6e-8 -> 1e-4
    assert torch.allclose(log_p.double(), brute_force_log_prob(z, locs, scales), rtol=0, atol=1e-3)


def test_the_gradient_flows_through_the_float64_computation():
    locs = torch.randn(5, 3, requires_grad=True)
    scales = torch.full((5, 3), 0.1, requires_grad=True)
    z = torch.randn(7, 3, requires_grad=True)
    EqualGaussianMixture(locs, scales).log_prob(z).sum().backward()
    assert all(t.grad is not None and t.grad.dtype == torch.float32 for t in (locs, scales, z))
