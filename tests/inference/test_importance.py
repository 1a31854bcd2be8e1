"""Importance sampling against the linear-Gaussian model, whose ln p(x) is analytic.

z ~ N(0, I_M), x | z ~ N(W z + b, s^2 I_D)  =>  x ~ N(b, W W^T + s^2 I).
Posterior: Sigma = (I + W^T W / s^2)^-1, mu = Sigma W^T (x - b) / s^2.
"""

import math

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro.infer import SVI, RenyiELBO, Trace_ELBO
from torch import nn

from pyro_vamp.inference import RunningLogMeanExp, importance_sample

M, D, S_NOISE = 2, 3, 0.5


def linear_gaussian_parameters():
    """W [D, M], b [D] and the posterior covariance Sigma [M, M], fixed by a seed."""
    g = torch.Generator().manual_seed(0)
    W = torch.randn(D, M, generator=g, dtype=torch.float64)
    b = torch.randn(D, generator=g, dtype=torch.float64)
    post_cov = torch.linalg.inv(torch.eye(M, dtype=torch.float64) + W.T @ W / S_NOISE**2)
    return W, b, post_cov


@pytest.fixture
def linear_gaussian():
    W, b, post_cov = linear_gaussian_parameters()

    def model(x):
        with pyro.plate("data", x.shape[0], dim=-1):
            z = pyro.sample("z", dist.Normal(torch.zeros(M, dtype=torch.float64), 1.0).to_event(1))
            pyro.sample("x", dist.Normal(z @ W.T + b, S_NOISE).to_event(1), obs=x)

    cov = W @ W.T + S_NOISE**2 * torch.eye(D, dtype=torch.float64)
    marginal = dist.MultivariateNormal(b, cov)

    def exact_guide(x):
        loc = (x - b) @ W @ post_cov.T / S_NOISE**2
        with pyro.plate("data", x.shape[0], dim=-1):
            pyro.sample("z", dist.MultivariateNormal(loc, post_cov))

    x = marginal.sample((40,))
    return model, exact_guide, x, marginal.log_prob(x)


@pytest.mark.parametrize("chunk_size", [None, 7, 1])
def test_exact_posterior_guide_gives_the_exact_log_likelihood(linear_gaussian, chunk_size):
    model, guide, x, log_px = linear_gaussian
    estimate = importance_sample(model, guide, x, num_samples=50, chunk_size=chunk_size)
    assert estimate.num_samples == 50
    assert torch.allclose(estimate.log_likelihood, log_px, atol=1e-6, rtol=0)
    assert torch.allclose(estimate.elbo, log_px, atol=1e-6, rtol=0)


class AmortisedGuide(nn.Module):
    """A diagonal Gaussian guide, linear in x: it cannot represent the posterior's correlation."""

    def __init__(self):
        super().__init__()
        self.loc = nn.Linear(D, M).double()
        self.log_scale = nn.Parameter(torch.zeros(M, dtype=torch.float64))

    def __call__(self, x):
        pyro.module("guide", self)
        with pyro.plate("data", x.shape[0], dim=-1):
            pyro.sample("z", dist.Normal(self.loc(x), self.log_scale.exp()).to_event(1))


@pytest.fixture
def trained_guide(linear_gaussian):
    model, _, x, _ = linear_gaussian
    guide = AmortisedGuide()
    svi = SVI(model, guide, pyro.optim.Adam({"lr": 0.05}), Trace_ELBO(num_particles=8, vectorize_particles=True))
    for _ in range(300):
        svi.step(x)
    return guide


def test_error_shrinks_as_samples_grow(linear_gaussian, trained_guide):
    model, _, x, log_px = linear_gaussian
    errors = []
    for num_samples in (1, 30, 1000, 30000):
        pyro.set_rng_seed(1)
        estimate = importance_sample(model, trained_guide, x, num_samples, chunk_size=1000)
        errors.append((estimate.log_likelihood - log_px).abs().mean().item())
    assert errors[0] > errors[1] > errors[2] > errors[3]
    assert errors[3] < 0.01 and errors[0] > 0.05


def test_estimate_is_above_the_elbo_and_below_the_truth_on_average(linear_gaussian, trained_guide):
    model, _, x, log_px = linear_gaussian
    estimate = importance_sample(model, trained_guide, x, num_samples=200, chunk_size=64)
    assert torch.all(estimate.log_likelihood >= estimate.elbo)  # Jensen, for the same draws
    gap_is = (estimate.log_likelihood.mean() - log_px.mean()).abs()
    gap_elbo = (estimate.elbo.mean() - log_px.mean()).abs()
    assert estimate.elbo.mean() < estimate.log_likelihood.mean() and gap_is < gap_elbo


def test_agrees_with_pyro_renyi_elbo_at_alpha_zero(linear_gaussian, trained_guide):
    """RenyiELBO(alpha=0) is minus the sum over points of the per-point IS estimate."""
    model, _, x, log_px = linear_gaussian
    renyi = RenyiELBO(alpha=0, num_particles=20000, vectorize_particles=True).loss(model, trained_guide, x)
    ours = importance_sample(model, trained_guide, x, 20000, chunk_size=5000).log_likelihood.sum().item()
    assert abs(-renyi - ours) < 0.01 * x.shape[0] and abs(ours - log_px.sum().item()) < 0.01 * x.shape[0]


@pytest.mark.parametrize("sizes", [(5,), (2, 3), (1, 1, 1, 1, 1), (4, 1)])
def test_chunked_log_mean_exp_equals_the_direct_one(sizes):
    log_w = 30 * torch.randn(sum(sizes), 6, dtype=torch.float64)
    running = RunningLogMeanExp()
    for chunk in log_w.split(list(sizes)):
        running.update(chunk)
    direct = torch.logsumexp(log_w, 0) - math.log(log_w.shape[0])
    assert torch.allclose(running.log_mean_exp, direct, atol=1e-12)
    assert torch.allclose(running.mean, log_w.mean(0), atol=1e-12)


def test_never_uses_fewer_samples_than_asked(linear_gaussian):
    model, guide, x, _ = linear_gaussian
    counted = []
    for chunk in (3, 4, 10):
        counted.append(importance_sample(model, guide, x, num_samples=10, chunk_size=chunk).num_samples)
    assert counted == [10, 10, 10]


def test_chunk_size_changes_the_estimate_only_within_monte_carlo_error(linear_gaussian, trained_guide):
    """Chunks draw the same number of samples in another order: for a fixed seed the estimates
    differ only by Monte Carlo noise, here far below the 0.01 nats the analytic check allows."""
    model, _, x, log_px = linear_gaussian
    estimates = []
    for chunk_size in (20000, 5000, 777):
        pyro.set_rng_seed(2)
        estimates.append(importance_sample(model, trained_guide, x, 20000, chunk_size).log_likelihood)
    for estimate in estimates:
        assert (estimate - estimates[0]).abs().max() < 0.005
        assert (estimate - log_px).abs().mean() < 0.01


def test_batched_and_one_point_at_a_time_agree(linear_gaussian, trained_guide):
    model, exact_guide, x, _ = linear_gaussian
    batched = importance_sample(model, exact_guide, x, 30).log_likelihood
    single = torch.cat(
        [importance_sample(model, exact_guide, x[i : i + 1], 30).log_likelihood for i in range(x.shape[0])]
    )
    assert torch.allclose(batched, single, atol=1e-9)
    batched = importance_sample(model, trained_guide, x, 20000, chunk_size=5000).log_likelihood
    single = torch.cat(
        [importance_sample(model, trained_guide, x[i : i + 1], 20000).log_likelihood for i in range(x.shape[0])]
    )
    assert (batched - single).abs().max() < 0.005  # Monte Carlo noise only


@pytest.mark.slow
def test_reconstruction_term_is_the_expected_log_likelihood(linear_gaussian):
    """With the exact posterior N(mu, Sigma), E_q ln p(x|z) = ln N(x | W mu + b, s^2 I) - tr(W Sigma W^T) / 2 s^2."""
    model, exact_guide, x, log_px = linear_gaussian
    W, b, post_cov = linear_gaussian_parameters()
    mu = (x - b) @ W @ post_cov.T / S_NOISE**2
    expected = dist.Normal(mu @ W.T + b, S_NOISE).log_prob(x).sum(-1) - torch.trace(W @ post_cov @ W.T) / (
        2 * S_NOISE**2
    )
    estimate = importance_sample(model, exact_guide, x, 100000, chunk_size=50000)
    # Monte Carlo error of a mean of 1e5 draws of a quadratic form with variance O(1): ~0.01
    assert (estimate.reconstruction - expected).abs().max() < 0.02
    assert torch.allclose(estimate.elbo, log_px, atol=1e-6)
