"""The ELBO decomposition: average KL = mutual information + marginal KL to float precision, the
mutual information is 0 for an encoder that ignores x and ln N for posteriors that do not overlap,
the KL matches the analytic Gaussian KL, and every term matches an explicit loop.

Tolerances: the identity holds draw by draw, so only float64 rounding of sums of terms of size
~100 separates the two sides (1e-10). Monte Carlo comparisons use 4 standard errors.
"""

import math

import pyro.distributions as dist
import torch

from pyro_vamp.inference import elbo_decomposition, top_latent_decomposition
from pyro_vamp.models import VAE
from pyro_vamp.priors import EqualGaussianMixture


def posteriors(n=40, m=3, spread=1.0, seed=0):
    torch.manual_seed(seed)
    return spread * torch.randn(n, m), 0.3 + 0.5 * torch.rand(n, m)


def standard(m):
    return dist.Normal(torch.zeros(m), 1.0).to_event(1)


def test_the_decomposition_adds_up():
    loc, scale = posteriors()
    prior = EqualGaussianMixture(torch.randn(5, 3), 0.5 + torch.rand(5, 3), exact=True)
    parts = elbo_decomposition(loc, scale, prior, num_samples=20)
    assert parts.kl.shape == parts.mutual_information.shape == parts.marginal_kl.shape == (40,)
    assert parts.kl.dtype == torch.float64
    assert torch.allclose(parts.kl, parts.mutual_information + parts.marginal_kl, rtol=0, atol=1e-10)
    summary = parts.summary()
    assert math.isclose(summary["kl_top"], summary["mutual_information"] + summary["marginal_kl"], abs_tol=1e-10)
    assert summary["decomposition_samples"] == 20 and summary["mutual_information_max"] == math.log(40)
    assert 0 <= summary["mutual_information"] <= math.log(40)


def test_mutual_information_is_zero_when_the_encoder_ignores_x():
    torch.manual_seed(0)
    model = VAE(10, prior="mog", num_components=4, latent_dim=3, hidden=8)
    with torch.no_grad():  # the encoder's first layer sees nothing of x
        for name, p in model.top_encoder.named_parameters():
            if name.startswith("body.0"):
                p.zero_()
    x = torch.bernoulli(torch.full((60, 10), 0.5))
    with model.prior.frozen():
        summary = top_latent_decomposition(model, x, num_samples=10).summary()
    assert abs(summary["mutual_information"]) <= 3 * summary["mutual_information_se"] + 1e-12
    assert abs(summary["mutual_information"]) < 1e-9  # q(z|x_n) = q(z): exactly zero, up to rounding
    assert math.isclose(summary["kl_top"], summary["marginal_kl"], abs_tol=1e-9)


def test_posteriors_that_do_not_overlap_have_mutual_information_ln_n():
    loc, scale = posteriors(n=8, spread=100.0)  # means ~100 apart, scales < 1
    summary = elbo_decomposition(loc, scale * 0.1, standard(3), num_samples=5).summary()
    assert math.isclose(summary["mutual_information"], math.log(8), abs_tol=1e-6)


def test_the_kl_term_matches_the_analytic_gaussian_kl():
    loc, scale = posteriors(n=200)
    parts = elbo_decomposition(loc, scale, standard(3), num_samples=10)
    analytic = (0.5 * (scale**2 + loc**2 - 1) - scale.log()).sum(-1).double()  # KL(N(mu, s) || N(0, I))
    error = parts.kl - analytic
    assert abs(error.mean().item()) < 4 * error.std().item() / math.sqrt(error.shape[0])
    assert error.std() > 0  # a Monte Carlo estimate, not the formula


def test_every_term_matches_an_explicit_loop():
    loc, scale = posteriors(n=6, m=2)
    prior = EqualGaussianMixture(torch.randn(3, 2), 0.5 + torch.rand(3, 2), exact=True)
    torch.manual_seed(5)
    parts = elbo_decomposition(loc, scale, prior, num_samples=3)
    torch.manual_seed(5)  # the same draws: z_ns = mu_n + s_n eps_ns
    z = loc + scale * torch.randn(3, 6, 2)
    n_points, num = loc.shape[0], z.shape[0]

    def log_q(value, m):
        return dist.Normal(loc[m].double(), scale[m].double()).log_prob(value.double()).sum(-1)

    def log_p(value):
        terms = [
            dist.Normal(prior.locs[k].double(), prior.scales[k].double()).log_prob(value.double()).sum(-1)
            for k in range(3)
        ]
        return torch.logsumexp(torch.stack(terms), 0) - math.log(3)

    for n in range(n_points):
        kl = mi = mkl = 0.0
        for s in range(num):
            own = log_q(z[s, n], n)
            aggregate = torch.logsumexp(torch.stack([log_q(z[s, n], m) for m in range(n_points)]), 0)
            aggregate = aggregate - math.log(n_points)
            kl += (own - log_p(z[s, n])).item() / num
            mi += (own - aggregate).item() / num
            mkl += (aggregate - log_p(z[s, n])).item() / num
        assert math.isclose(parts.kl[n].item(), kl, rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(parts.mutual_information[n].item(), mi, rel_tol=1e-9, abs_tol=1e-9)
        assert math.isclose(parts.marginal_kl[n].item(), mkl, rel_tol=1e-9, abs_tol=1e-9)


def test_blocks_do_not_change_the_result():
    loc, scale = posteriors(n=30)
    prior = EqualGaussianMixture(torch.randn(7, 3), 0.5 + torch.rand(7, 3), exact=True)
    torch.manual_seed(1)
    whole = elbo_decomposition(loc, scale, prior, num_samples=4)
    torch.manual_seed(1)
    blocked = elbo_decomposition(loc, scale, prior, num_samples=4, max_entries=10)  # one row per block
    for a, b in [(whole.kl, blocked.kl), (whole.mutual_information, blocked.mutual_information)]:
        assert torch.allclose(a, b, rtol=0, atol=1e-12)
