"""The discretised logistic beyond the distribution contract of tests/test_distributions.py (shapes, expand,
log_prob against CDF differences, pmf over random parameters): extreme parameters, bins, edge gradients, samples."""

import pytest
import torch

from pyro_vamp.likelihoods import DiscretizedLogistic

LEVELS = (torch.arange(256, dtype=torch.float64) + 0.5) / 256


@pytest.mark.parametrize("loc", [0.0, 1.0, 0.37, -3.0, 4.0, 1 / 512])
@pytest.mark.parametrize("scale", [1e-4, 1e-2, 0.3, 10.0, 100.0])
@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_sums_to_one_over_256_levels(loc, scale, dtype, tol):
    d = DiscretizedLogistic(torch.tensor(loc, dtype=dtype), torch.tensor(scale, dtype=dtype))
    total = d.log_prob(LEVELS.to(dtype)).double().exp().sum().item()
    assert abs(total - 1.0) < tol


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
