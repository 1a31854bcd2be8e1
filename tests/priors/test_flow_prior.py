"""The flow prior: its density is the change-of-variables formula (autograd Jacobians, float64), it
starts as N(0, I), shapes under plates, sampling agrees with the density (a 2-D quadrature), and
checkpoints restore it exactly.

Tolerances: in float64 the library's log-density and the reference differ only by rounding of a few
dozen operations on numbers of size ~10, far below 1e-9. The quadrature over a 0.02 grid on
[-12, 12]^2 integrates a smooth density whose tails beyond 12 are below e^-40: its error is far below
the Monte Carlo error of the samples, so moments are compared to 5 standard errors of the samples.
"""

import math

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro import poutine
from torch.autograd.functional import jacobian

from pyro_vamp.models import HVAE, VAE
from pyro_vamp.priors import FlowPrior


def random_flow(latent_dim=3, depth=3, hidden=8, std=0.3, seed=0):
    """A flow prior whose coupling networks are random (not the identity it starts at), in float64."""
    torch.manual_seed(seed)
    prior = FlowPrior(latent_dim, depth=depth, hidden=hidden)
    with torch.no_grad():
        for coupling in prior.couplings:
            last = coupling.nn.layers[-1]
            last.weight.normal_(0.0, std)
            last.bias.normal_(0.0, std)
    return prior.double()


def forward(prior, x):
    for transform in prior.transforms:
        x = transform(x)
    return x


def inverse(prior, z):
    for transform in reversed(prior.transforms):
        z = transform.inv(z)
    return z


def standard_normal(x):
    return dist.Normal(torch.zeros_like(x), 1.0).log_prob(x).sum(-1)


def test_log_prob_is_the_change_of_variables_formula():
    prior = random_flow()
    z = 2 * torch.randn(6, 3, dtype=torch.float64)
    got = prior().log_prob(z)
    for i in range(z.shape[0]):
        x = inverse(prior, z[i])
        log_det = torch.linalg.slogdet(jacobian(lambda v: inverse(prior, v), z[i]))[1]
        assert math.isclose(got[i].item(), (standard_normal(x) + log_det).item(), rel_tol=1e-9, abs_tol=1e-9)


def test_samples_are_the_base_pushed_forward_with_the_forward_jacobian():
    prior = random_flow(seed=1)
    x = torch.randn(5, 3, dtype=torch.float64)
    z = forward(prior, x)
    got = prior().log_prob(z)
    for i in range(x.shape[0]):
        assert torch.allclose(inverse(prior, z[i]), x[i], atol=1e-10)  # the inverse is exact
        log_det = torch.linalg.slogdet(jacobian(lambda v: forward(prior, v), x[i]))[1]
        assert math.isclose(got[i].item(), (standard_normal(x[i]) - log_det).item(), rel_tol=1e-9, abs_tol=1e-9)


def test_an_untrained_flow_is_the_standard_normal():
    prior = FlowPrior(5, depth=3, hidden=16)
    z = 3 * torch.randn(10, 5)
    assert torch.allclose(prior().log_prob(z), standard_normal(z), atol=1e-5)


def test_shapes_and_expand_under_plates():
    prior = FlowPrior(4, depth=2, hidden=8)
    distribution = prior()
    assert distribution.batch_shape == () and distribution.event_shape == (4,)
    with pyro.plate("particles", 3, dim=-2), pyro.plate("data", 7, dim=-1):
        trace = poutine.trace(lambda: pyro.sample("z", prior())).get_trace()
    site = trace.nodes["z"]
    assert site["fn"].batch_shape == (3, 7) and site["value"].shape == (3, 7, 4)
    assert site["fn"].log_prob(site["value"]).shape == (3, 7)
    expanded = distribution.expand((2, 3))
    for sample_shape in [(), (5,), (2, 4)]:
        value = expanded.rsample(sample_shape)
        assert value.shape == (*sample_shape, 2, 3, 4)
        assert expanded.log_prob(value).shape == (*sample_shape, 2, 3)


def test_sampling_moments_agree_with_the_density():
    prior = random_flow(latent_dim=2, depth=2, hidden=8, std=0.4, seed=2)
    step = 0.02
    axis = torch.arange(-12, 12, step, dtype=torch.float64) + step / 2
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        density = prior().log_prob(grid).exp() * step**2
        samples = prior().sample((100_000,))
    assert math.isclose(density.sum().item(), 1.0, abs_tol=1e-6)  # normalised: the log-det is right
    mean = (density[:, None] * grid).sum(0)
    second = (density[:, None] * grid**2).sum(0)
    n = samples.shape[0]
    assert torch.all((samples.mean(0) - mean).abs() < 5 * samples.std(0) / math.sqrt(n))
    squares = samples**2
    assert torch.all((squares.mean(0) - second).abs() < 5 * squares.std(0) / math.sqrt(n))


def test_a_checkpoint_restores_the_flow_exactly():
    prior = random_flow(seed=3).float()
    state = prior.state_dict()
    assert {f"permutation_{layer}" for layer in range(3)} <= set(state)
    torch.manual_seed(99)
    other = FlowPrior(3, depth=3, hidden=8)
    other.load_state_dict(state)
    z = torch.randn(8, 3)
    assert torch.equal(other().log_prob(z), prior().log_prob(z))


def test_gradients_reach_every_coupling_network():
    prior = random_flow().float()
    prior().log_prob(torch.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in prior.parameters())


def test_a_flow_needs_two_latent_units():
    with pytest.raises(ValueError, match="at least 2"):
        FlowPrior(1)


@pytest.mark.parametrize("model_class", [VAE, HVAE])
def test_flow_prior_in_the_models(model_class):
    model = model_class(20, prior="flow", latent_dim=3, hidden=8, flow_depth=2, flow_hidden=6)
    assert isinstance(model.prior, FlowPrior) and len(model.prior.couplings) == 2
    assert model.prior.couplings[0].nn.layers[0].out_features == 6
    x = torch.bernoulli(torch.full((5, 20), 0.3))
    pyro.infer.Trace_ELBO().differentiable_loss(model.model, model.guide, x).backward()
    assert all(p.grad is not None for p in model.prior.parameters())
    assert model.sample_images(3).shape == (3, 20)
