"""The discretised logistic is a pmf over the 256 grey levels and matches a direct computation."""

import pytest
import torch

from pyro_vamp.likelihoods import DiscretizedLogistic

LEVELS = (torch.arange(256, dtype=torch.float64) + 0.5) / 256


def brute_force_pmf(loc, scale):
    """P(v) = F(upper) - F(lower) with F the logistic CDF, edges open, in float64."""
    edges = torch.arange(257, dtype=torch.float64) / 256
    cdf = torch.sigmoid((edges - loc) / scale)
    cdf[0], cdf[-1] = 0.0, 1.0
    return cdf[1:] - cdf[:-1]


@pytest.mark.parametrize("loc", [0.0, 1.0, 0.37, -3.0, 4.0, 1 / 512])
@pytest.mark.parametrize("scale", [1e-4, 1e-2, 0.3, 10.0, 100.0])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_sums_to_one_over_256_levels(loc, scale, dtype, tol):
    d = DiscretizedLogistic(torch.tensor(loc, dtype=dtype), torch.tensor(scale, dtype=dtype))
    total = d.log_prob(LEVELS.to(dtype)).double().exp().sum().item()
    assert abs(total - 1.0) < tol


def test_sums_to_one_for_random_parameters():
    loc = torch.rand(50, 1, dtype=torch.float64) * 1.4 - 0.2
    scale = torch.exp(torch.rand(50, 1, dtype=torch.float64) * 9 - 7)
    total = DiscretizedLogistic(loc, scale).log_prob(LEVELS).exp().sum(-1)
    assert torch.allclose(total, torch.ones(50, dtype=torch.float64), atol=1e-12)


@pytest.mark.parametrize("loc,scale", [(0.5, 0.1), (0.02, 0.05), (0.9, 0.01), (0.3, 2.0)])
def test_log_prob_matches_cdf_differences(loc, scale):
    log_p = DiscretizedLogistic(torch.tensor(loc, dtype=torch.float64), torch.tensor(scale, dtype=torch.float64))
    expected = brute_force_pmf(torch.tensor(loc, dtype=torch.float64), scale)
    # the CDF differences lose relative accuracy in the tails (cancellation near 1), not absolute
    assert torch.allclose(log_p.log_prob(LEVELS).exp(), expected, rtol=1e-9, atol=1e-14)


def test_values_in_a_bin_score_as_its_centre():
    d = DiscretizedLogistic(torch.tensor(0.4), torch.tensor(0.05))
    assert torch.equal(
        d.log_prob(torch.tensor([100.1 / 256, 100.9 / 256])), d.log_prob(torch.tensor([100.5 / 256] * 2))
    )


def test_gradients_are_finite_at_the_edges():
    loc = torch.tensor([0.001, 0.5, 0.999], requires_grad=True)
    scale = torch.tensor([0.01, 0.01, 0.01], requires_grad=True)
    DiscretizedLogistic(loc, scale).log_prob(torch.tensor([0.5 / 256, 0.5, 255.5 / 256])).sum().backward()
    assert torch.isfinite(loc.grad).all() and torch.isfinite(scale.grad).all()


def test_samples_are_bin_centres_with_the_right_mean():
    d = DiscretizedLogistic(torch.full((20000,), 0.6), torch.full((20000,), 0.05))
    x = d.sample()
    assert torch.allclose(x * 256 - 0.5, torch.round(x * 256 - 0.5))
    assert abs(x.mean().item() - 0.6) < 0.005
