"""The Exemplar prior: its leave-one-out mixture against an explicit loop, the uniform exemplar subsets,
the exact mixture outside training, shapes under plates, sampling moments, what checkpoints hold.

Tolerances. The float32 mixture (the expanded quadratic, two matrix products) is off from the exact
log-density by at most (M + 8) u T + u (|result| + ln K), u = 2^-24, where
T = max_k sum_m ((|z_m| + |mu_km|)^2 / s^2 + 2 |ln s| + ln 2 pi) / 2 bounds the size of the terms
(see tests/test_distributions.py); the float64 reference is exact to far below that. The float64
mixture of ``frozen()`` is checked to 1e-9 relative. Sampling moments: 5 standard errors of the
sample estimate (the standard error itself estimated from the samples).
"""

import math

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro import poutine

from pyro_vamp.models import HVAE, VAE
from pyro_vamp.networks.dense import GaussianEncoder
from pyro_vamp.priors import EqualGaussianMixture, ExemplarPrior

N, D, M = 12, 6, 3
U32 = torch.finfo(torch.float32).eps / 2


SIGMA = 0.7  # the shared scale the tests set


def make_prior(num_exemplars=N - 1, n=N):
    torch.manual_seed(1)
    encoder = GaussianEncoder(D, M, hidden=8)
    images = torch.rand(n, D)
    prior = ExemplarPrior(encoder, M, D, images, num_exemplars=num_exemplars)
    with torch.no_grad():
        prior.log_scale.fill_(math.log(SIGMA))
    return prior, encoder, images


def reference_log_prob(z, locs, sigma, rows):
    """ln 1/|rows| sum_{k in rows} prod_m N(z_m | mu_km, sigma): an explicit loop, float64."""
    z = z.double()
    terms = [dist.Normal(locs[k].double(), sigma).log_prob(z).sum(-1) for k in rows]
    return torch.logsumexp(torch.stack(terms, -1), -1) - math.log(len(terms))


def float32_tolerance(z, locs, sigma, reference):
    size = ((z.abs().unsqueeze(-2) + locs.abs()) ** 2 / sigma**2 + 2 * abs(math.log(sigma)) + math.log(2 * math.pi)) / 2
    terms = size.sum(-1).max(-1).values.double()  # T per value
    return (M + 8) * U32 * terms + U32 * (reference.abs() + math.log(N))


def test_each_point_leaves_itself_out():
    prior, encoder, images = make_prior(num_exemplars=N - 1)
    prior.train()
    with torch.no_grad():
        locs = encoder(images)[0]
    sigma = prior.scale.item()  # ln 0.7 in float32, exponentiated
    z = 1.5 * torch.randn(5, M)
    for n in range(N):
        prior.before_step(torch.tensor([n]))
        assert sorted(prior.subset.tolist()) == [m for m in range(N) if m != n]
        distribution = prior()
        assert distribution.num_components == N - 1
        got = distribution.log_prob(z)
        want = reference_log_prob(z, locs, sigma, [m for m in range(N) if m != n])
        assert torch.all((got.double() - want).abs() <= float32_tolerance(z, locs, sigma, want)), n


def test_a_batch_never_uses_its_own_points():
    prior, encoder, images = make_prior(num_exemplars=100)  # more than remain: all N - B others
    prior.train()
    batch = torch.tensor([2, 5, 7])
    prior.before_step(batch)
    others = [m for m in range(N) if m not in batch.tolist()]
    assert sorted(prior.subset.tolist()) == others
    with torch.no_grad():
        locs = encoder(images)[0]
    z, sigma = torch.randn(4, M), prior.scale.item()
    want = reference_log_prob(z, locs, sigma, others)
    assert torch.all((prior().log_prob(z).double() - want).abs() <= float32_tolerance(z, locs, sigma, want))


def test_subsets_are_uniform_over_the_rows_outside_the_batch():
    n, k, draws = 20, 5, 4000
    prior, _, _ = make_prior(num_exemplars=k, n=n)
    batch = torch.tensor([0, 1, 2, 3])
    counts = torch.zeros(n)
    for _ in range(draws):
        prior.before_step(batch)
        subset = prior.subset
        assert subset.shape == (k,) and subset.unique().shape == (k,)  # without replacement
        counts[subset] += 1
    assert counts[batch].sum() == 0
    p = k / (n - len(batch))  # each remaining row is in a subset with probability K / (N - B)
    expected, sd = draws * p, math.sqrt(draws * p * (1 - p))
    assert torch.all((counts[4:] - expected).abs() < 5 * sd), counts


def test_the_draw_uses_the_global_torch_generator():
    prior, _, _ = make_prior(num_exemplars=4)
    torch.manual_seed(3)
    prior.before_step(torch.tensor([0]))
    first = prior.subset.clone()
    torch.manual_seed(3)
    prior.before_step(torch.tensor([0]))
    assert torch.equal(first, prior.subset)


def test_outside_training_the_prior_is_the_exact_mixture_over_all_exemplars():
    prior, encoder, images = make_prior(num_exemplars=3)
    with torch.no_grad():
        locs = encoder(images)[0]
    z = 2 * torch.randn(6, M)
    want = reference_log_prob(z, locs, prior.scale.item(), range(N))
    prior.train()
    assert prior().num_components == N  # no before_step yet: every exemplar
    prior.before_step(torch.tensor([0]))
    assert prior().num_components == 3
    prior.eval()  # evaluation mode: all N again, and the subset is forgotten
    assert prior.subset is None and prior().num_components == N
    with prior.frozen() as frozen:
        got = frozen.log_prob(z)
    assert got.dtype == torch.float64
    assert torch.allclose(got, want, rtol=1e-9, atol=1e-9)
    prior.train()
    prior.before_step(torch.tensor([0]))
    with prior.frozen() as frozen:  # frozen() is exact even in training mode
        assert frozen.num_components == N


def test_the_mixture_is_an_equal_gaussian_mixture_with_one_shared_isotropic_scale():
    prior, encoder, images = make_prior()
    distribution = prior()
    assert isinstance(distribution, EqualGaussianMixture)
    assert distribution.scales.shape == (N, M)
    assert torch.allclose(distribution.scales, torch.full((N, M), SIGMA))
    assert torch.allclose(distribution.locs, encoder(images)[0])


@pytest.mark.parametrize("training", [True, False])
def test_shapes_and_expand_under_plates(training):
    prior, _, _ = make_prior(num_exemplars=5)
    prior.train(training)
    if training:
        prior.before_step(torch.tensor([1, 2]))
    distribution = prior()
    assert distribution.batch_shape == () and distribution.event_shape == (M,)
    with pyro.plate("particles", 4, dim=-2), pyro.plate("data", 7, dim=-1):
        trace = poutine.trace(lambda: pyro.sample("z", prior())).get_trace()
    site = trace.nodes["z"]
    assert site["fn"].batch_shape == (4, 7) and site["fn"].event_shape == (M,)
    assert site["value"].shape == (4, 7, M)
    assert site["fn"].log_prob(site["value"]).shape == (4, 7)
    expanded = distribution.expand((2, 3))
    assert expanded.batch_shape == (2, 3)
    for sample_shape in [(), (5,), (2, 4)]:
        value = expanded.sample(sample_shape)
        assert value.shape == (*sample_shape, 2, 3, M)
        assert expanded.log_prob(value).shape == (*sample_shape, 2, 3)


def test_sampling_moments():
    prior, encoder, images = make_prior()
    prior.eval()
    with torch.no_grad():
        locs = encoder(images)[0].double()
        samples = prior().sample((200_000,)).double()
    mean = locs.mean(0)
    variance = locs.var(0, unbiased=False) + prior.scale.item() ** 2  # of the mixture: spread of the means + sigma^2
    n = samples.shape[0]
    assert torch.all((samples.mean(0) - mean).abs() < 5 * samples.std(0) / math.sqrt(n))
    centred = (samples - mean) ** 2
    assert torch.all((centred.mean(0) - variance).abs() < 5 * centred.std(0) / math.sqrt(n))


def test_gradients_reach_the_encoder_and_the_scale():
    prior, encoder, _ = make_prior(num_exemplars=4)
    prior.train()
    prior.before_step(torch.tensor([0, 1]))
    prior().log_prob(torch.randn(3, M)).sum().backward()
    assert prior.log_scale.grad is not None and prior.log_scale.grad != 0
    assert all(p.grad is not None for p in [*encoder.body.parameters(), *encoder.head.loc.parameters()])
    assert encoder.head.logvar.weight.grad is None  # the exemplars' scale is the shared sigma, not q's


def test_a_checkpoint_holds_no_images_and_attach_checks_them():
    prior, encoder, images = make_prior()
    state = prior.state_dict()
    assert int(state["exemplar_count"]) == N
    own = {key for key in state if not key.startswith("encoder.")}  # the encoder is the model's own
    assert own == {"log_scale", "exemplar_count", "exemplar_checksum"}  # no images
    loaded = ExemplarPrior(GaussianEncoder(D, M, hidden=8), M, D, None, num_exemplars=N - 1)
    loaded.load_state_dict(state)
    assert not loaded.has_exemplars and loaded.num_components == N
    with pytest.raises(RuntimeError, match="attach_exemplars"):
        loaded()
    with pytest.raises(ValueError, match="not the 12 training images"):
        loaded.attach_exemplars(images[:-1])
    with pytest.raises(ValueError, match="not the 12 training images"):
        loaded.attach_exemplars(images + 0.01)
    loaded.attach_exemplars(images)
    z = torch.randn(5, M)
    assert torch.equal(loaded().log_prob(z), prior().log_prob(z))


@pytest.mark.parametrize("model_class", [VAE, HVAE])
def test_the_model_passes_the_batch_rows_to_its_exemplar_prior(model_class):
    images = torch.rand(30, 20)
    model = model_class(20, prior="exemplar", num_components=8, latent_dim=3, hidden=8, train_images=images)
    assert isinstance(model.prior, ExemplarPrior) and model.prior.encoder is model.top_encoder
    model.train()
    model.before_step(torch.arange(10))
    assert model.prior.subset.shape == (8,) and model.prior.subset.min() >= 10
    loss = pyro.infer.Trace_ELBO().differentiable_loss(model.model, model.guide, torch.bernoulli(images[:10]))
    loss.backward()
    assert model.prior.log_scale.grad is not None
    assert model.sample_images(3).shape == (3, 20)
