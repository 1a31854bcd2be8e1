"""The speed settings change nothing but speed: the training step without ``pyro.module``
registration, the plain-PyTorch reference the benchmarks compare with, and the OpenMP setting."""

import os
import subprocess
import sys

import pyro
import pytest
import torch
from conftest import REPO
from pyro import poutine
from pyro.infer import Trace_ELBO

from pyro_vamp.models import HVAE, VAE

sys.path.insert(0, str(REPO / "benchmarks"))
from reference import Straightforward, fast_loss  # noqa: E402


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
        plain, plain_se = monte_carlo_mean(lambda: fast_loss(model, x, 0.5))
        ours, ours_se = monte_carlo_mean(lambda: Trace_ELBO().loss(model.model, model.guide, x, 0.5) / 4)
    assert abs(plain - ours) < 5 * (plain_se**2 + ours_se**2) ** 0.5


def test_straightforward_mixture_matches_the_matrix_form():
    """The reference's broadcast log-density equals EqualGaussianMixture's (float64 brute force)."""
    torch.manual_seed(1)
    reference = Straightforward(1, "vamp", input_dim=12, latent=3, hidden=8, K=6).double()
    z = torch.randn(7, 3, dtype=torch.float64)
    u = reference.means.weight.T.clamp(0, 1)
    loc, scale = reference.q_top(u)
    components = torch.distributions.Normal(loc, scale)
    expected = torch.logsumexp(components.log_prob(z[:, None, :]).sum(-1), -1) - torch.log(torch.tensor(6.0))
    assert torch.allclose(reference.log_prior(z), expected, atol=1e-10)


def openmp_after_import(env_update: dict, code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    env.update(env_update)
    return subprocess.run(
        [sys.executable, "-c", code + "; import os; print(os.environ.get('GOMP_SPINCOUNT'))"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[-1]


@pytest.mark.parametrize(
    "env, code, expected",
    [
        ({}, "import pyro_vamp.runtime as o; o.tune_openmp()", "10000"),
        ({"OMP_WAIT_POLICY": "PASSIVE"}, "import pyro_vamp.runtime as o; o.tune_openmp()", "10000"),
        ({"OMP_WAIT_POLICY": "active"}, "import pyro_vamp.runtime as o; o.tune_openmp()", "None"),
        ({"GOMP_SPINCOUNT": "5"}, "import pyro_vamp.runtime as o; o.tune_openmp()", "5"),
        ({}, "import torch, pyro_vamp.runtime as o; o.tune_openmp()", "None"),  # too late: left alone
    ],
)
def test_openmp_spin_count_is_set_only_before_torch_and_never_over_a_user_choice(env, code, expected):
    assert openmp_after_import(env, code) == expected
