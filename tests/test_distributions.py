"""The distribution contract of every custom distribution, in the style of Pyro's tests/distributions:
fixture tables over parameter shapes, and each test checks one part of the contract for every row.

Custom distributions: :class:`~pyro_vamp.priors.EqualGaussianMixture` (what the MoG and VampPrior
priors return; the table also holds what ``StandardPrior(M)()``, ``MixtureOfGaussiansPrior()()``,
``VampPrior(...)()`` and their ``frozen()`` forms return) and
:class:`~pyro_vamp.likelihoods.DiscretizedLogistic`.

The references are independent of the code under test: an explicit loop over mixture components
with ``torch.distributions.Normal`` in float64, and differences of the logistic CDF in float64 with
the edge bins written out open.

Tolerances come from rounding (u = 2^-24 in float32, 2^-53 in float64, ``torch.finfo(dtype).eps / 2``):

* Mixture: each component's log-density is a sum over the M coordinates of terms of size at most
  t_km = ((|z_m| + |mu_km|)^2 / s_km^2 + 2 |ln s_km| + ln 2 pi) / 2, whatever the order in which the
  code expands and sums the quadratic (matrix products included), so its error is at most
  gamma_n sum_m t_km ~ n u T_k, with n = M plus a few roundings per term (we take M + 8). The
  logsumexp moves an error of its inputs by at most their largest one, and adds about u (|result| + ln K).
* Discretised logistic: the standardised edges (x - loc) / scale carry an error of a few u
  (1 + |loc|) / scale; ln sigmoid is 1-Lipschitz, and ln(1 - exp(-d)) with d = 1 / (256 scale) has
  relative condition number at most 1. So the log-pmf is off by at most delta = 32 u ((1 + |loc|) /
  scale + 1) and the pmf by a factor exp(delta). The float64 reference is off absolutely: each CDF
  value 1 / (1 + exp(-t)) by about 3 u64, plus u64 |t| F'(t) <= 0.23 u64 per unit error of t,
  so at most 4 u64 each and 8 u64 for their difference (this, not the code, limits float64 tails).
"""

import math
from dataclasses import dataclass, field

import pytest
import torch
from pyro.distributions import Distribution

from pyro_vamp.likelihoods import DiscretizedLogistic
from pyro_vamp.networks.dense import GaussianEncoder
from pyro_vamp.priors import EqualGaussianMixture, MixtureOfGaussiansPrior, StandardPrior, VampPrior

SAMPLE_SHAPES = [(), (1,), (4,), (2, 3)]
EXPAND_SHAPES = [(), (3,), (2, 3)]
LEVELS = (torch.arange(256, dtype=torch.float64) + 0.5) / 256


def unit_roundoff(dtype: torch.dtype) -> float:
    return torch.finfo(dtype).eps / 2


# ---------------------------------------------------------------------------------------------------
# Equal-weight Gaussian mixtures over R^M: batch_shape (), event_shape (M,)
# ---------------------------------------------------------------------------------------------------


@dataclass
class MixtureCase:
    """One row: ``build()`` returns the distribution and the component parameters ``[K, M]`` that
    define it, computed by the test itself (not read back from the distribution)."""

    name: str
    build: object
    dtype: torch.dtype = torch.float32  # dtype of log_prob
    options: dict = field(default_factory=dict)

    def __str__(self):
        return self.name


def equal_mixture(k, m, exact=False):
    def build():
        locs, scales = torch.randn(k, m), 0.5 + torch.rand(k, m)
        return EqualGaussianMixture(locs, scales, exact=exact), locs, scales

    return build


def standard_prior(m):
    def build():
        return StandardPrior(m)(), torch.zeros(1, m), torch.ones(1, m)

    return build


def mog_prior(m, k, frozen=False):
    def build():
        prior = MixtureOfGaussiansPrior(m, num_components=k)
        with torch.no_grad():
            prior.logvars.uniform_(-1.0, 1.0)
        locs, scales = prior.means.detach(), prior.logvars.detach().mul(0.5).exp()
        if frozen:
            with prior.frozen() as distribution:
                return distribution, locs, scales
        return prior(), locs, scales

    return build


def vamp_prior(m, k, d, frozen=False):
    def build():
        encoder = GaussianEncoder(d, m, hidden=16)
        prior = VampPrior.from_normal(encoder, k, d, mean=0.5, std=0.4)  # some u_k outside [0, 1]: clipped
        with torch.no_grad():
            locs, scales = encoder(prior.raw_pseudo_inputs.clamp(0.0, 1.0))
        if frozen:
            with prior.frozen() as distribution:
                return distribution, locs, scales
        return prior(), locs, scales

    return build


MIXTURES = [
    MixtureCase("mixture-K1-M1", equal_mixture(1, 1)),
    MixtureCase("mixture-K1-M4", equal_mixture(1, 4)),
    MixtureCase("mixture-K6-M1", equal_mixture(6, 1)),
    MixtureCase("mixture-K7-M5", equal_mixture(7, 5)),
    MixtureCase("mixture-K20-M40", equal_mixture(20, 40)),
    MixtureCase("mixture-K7-M5-exact", equal_mixture(7, 5, exact=True), torch.float64),
    MixtureCase("mixture-K20-M40-exact", equal_mixture(20, 40, exact=True), torch.float64),
    MixtureCase("StandardPrior(3)()", standard_prior(3)),
    MixtureCase("MixtureOfGaussiansPrior(4,K6)()", mog_prior(4, 6)),
    MixtureCase("MixtureOfGaussiansPrior(4,K6).frozen()", mog_prior(4, 6, frozen=True), torch.float64),
    MixtureCase("VampPrior(M4,K5,D12)()", vamp_prior(4, 5, 12)),
    MixtureCase("VampPrior(M4,K5,D12).frozen()", vamp_prior(4, 5, 12, frozen=True), torch.float64),
]


@pytest.fixture(params=MIXTURES, ids=str)
def mixture(request):
    distribution, locs, scales = request.param.build()
    return request.param, distribution, locs, scales


def reference_mixture_log_prob(z, locs, scales):
    """ln (1/K) sum_k prod_m N(z_m | mu_km, s_km): a loop over the K components, float64."""
    z = z.double()
    per_component = [
        torch.distributions.Normal(loc.double(), scale.double()).log_prob(z).sum(-1)
        for loc, scale in zip(locs, scales, strict=True)
    ]
    return torch.logsumexp(torch.stack(per_component, -1), -1) - math.log(len(per_component))


def mixture_error_bound(z, locs, scales, reference, dtype):
    """The rounding bound of the module docstring, for each value: ``[..., M] -> [...]``."""
    z, locs, scales = z.double(), locs.double(), scales.double()
    terms = ((z.unsqueeze(-2).abs() + locs.abs()) / scales) ** 2 + 2 * scales.log().abs() + math.log(2 * math.pi)
    largest = 0.5 * terms.sum(-1).amax(-1)  # max_k T_k
    u = unit_roundoff(dtype)
    return (locs.shape[-1] + 8) * u * largest + 4 * u * (reference.abs() + math.log(locs.shape[0]) + 1)


def test_mixture_shapes(mixture):
    case, d, locs, _ = mixture
    assert isinstance(d, Distribution)  # a Pyro distribution, for pyro.sample
    assert d.batch_shape == () and d.event_shape == (locs.shape[-1],)
    assert d.has_rsample


@pytest.mark.parametrize("sample_shape", SAMPLE_SHAPES, ids=str)
def test_mixture_sample_shape_and_support(mixture, sample_shape):
    _, d, locs, _ = mixture
    for z in (d.sample(sample_shape), d.rsample(sample_shape)):
        assert z.shape == sample_shape + (locs.shape[-1],)
        assert z.dtype == locs.dtype
        assert d.support.check(z).all()
        assert d.log_prob(z).shape == sample_shape


@pytest.mark.parametrize("value_shape", [(), (3,), (2, 3)], ids=str)
def test_mixture_log_prob_against_a_loop_over_components(mixture, value_shape):
    case, d, locs, scales = mixture
    m = locs.shape[-1]
    values = {
        "wide": 2 * torch.randn(value_shape + (m,)),
        "sampled": d.sample(value_shape),  # where the mass is: one component dominates
    }
    for kind, z in values.items():
        actual = d.log_prob(z)
        expected = reference_mixture_log_prob(z, locs, scales)
        assert actual.shape == value_shape and actual.dtype == case.dtype, kind
        bound = mixture_error_bound(z, locs, scales, expected, case.dtype)
        error = (actual.double() - expected).abs()
        assert (error <= bound).all(), f"{kind}: error {error.max().item():.3g}, bound {bound.min().item():.3g}"


@pytest.mark.parametrize("new_batch_shape", EXPAND_SHAPES, ids=str)
@pytest.mark.parametrize("sample_shape", [(), (2,)], ids=str)
def test_mixture_expand(mixture, new_batch_shape, sample_shape):
    _, d, locs, _ = mixture
    m = locs.shape[-1]
    expanded = d.expand(torch.Size(new_batch_shape))
    assert expanded.batch_shape == new_batch_shape and expanded.event_shape == (m,)
    z = expanded.sample(sample_shape)
    assert z.shape == sample_shape + new_batch_shape + (m,)
    assert expanded.support.check(z).all()
    # the same values score the same, and one value is broadcast over the new batch
    assert torch.equal(expanded.log_prob(z), d.log_prob(z))
    one = d.sample()
    assert torch.equal(expanded.log_prob(one), d.log_prob(one).expand(new_batch_shape))


# ---------------------------------------------------------------------------------------------------
# The discretised logistic over the 256 bin centres: batch_shape = broadcast(loc, scale), event_shape ()
# ---------------------------------------------------------------------------------------------------


@dataclass
class LogisticCase:
    loc_shape: tuple
    scale_shape: tuple
    dtype: torch.dtype

    @property
    def batch_shape(self):
        return torch.broadcast_shapes(self.loc_shape, self.scale_shape)

    def __str__(self):
        return f"loc{list(self.loc_shape)}-scale{list(self.scale_shape)}-{str(self.dtype)[6:]}"


LOGISTICS = [
    LogisticCase(loc_shape, scale_shape, dtype)
    for loc_shape, scale_shape in [((), ()), ((5,), (5,)), ((5,), ()), ((2, 1), (3,)), ((4, 1), (4, 1))]
    for dtype in (torch.float32, torch.float64)
]


@pytest.fixture(params=LOGISTICS, ids=str)
def logistic(request):
    case = request.param
    # locations over and beyond [0, 1], scales from 0.01 (near the decoder's floor e^-4.5) to 3
    loc = (torch.rand(case.loc_shape, dtype=torch.float64) * 1.4 - 0.2).to(case.dtype)
    scale = torch.exp(torch.rand(case.scale_shape, dtype=torch.float64) * 5.7 - 4.6).to(case.dtype)
    return case, DiscretizedLogistic(loc, scale), loc, scale


def reference_pmf(loc, scale):
    """P(v) for the 256 levels, ``[256, *batch]``: F(upper_v) - F(lower_v), F the logistic CDF in
    float64, with the first bin open to -inf (F = 0) and the last to +inf (F = 1)."""
    loc, scale = torch.broadcast_tensors(loc.double(), scale.double())
    inner = torch.arange(1, 256, dtype=torch.float64).reshape((-1,) + (1,) * loc.dim()) / 256
    cdf = 1 / (1 + torch.exp(-(inner - loc) / scale))  # F at the 255 inner edges
    zero, one = torch.zeros((1,) + loc.shape, dtype=torch.float64), torch.ones((1,) + loc.shape, dtype=torch.float64)
    edges = torch.cat([zero, cdf, one])  # the open edge bins: F(-inf) = 0, F(+inf) = 1
    return edges[1:] - edges[:-1]


def levels_for(batch_shape, dtype):
    """The 256 bin centres, ``[256, 1, ..., 1]`` against ``batch_shape``."""
    return LEVELS.to(dtype).reshape((-1,) + (1,) * len(batch_shape))


def test_logistic_shapes(logistic):
    case, d, _, _ = logistic
    assert d.batch_shape == case.batch_shape and d.event_shape == ()
    assert not d.has_rsample


@pytest.mark.parametrize("sample_shape", SAMPLE_SHAPES, ids=str)
def test_logistic_sample_shape_and_support(logistic, sample_shape):
    case, d, _, _ = logistic
    x = d.sample(sample_shape)
    assert x.shape == sample_shape + case.batch_shape and x.dtype == case.dtype
    assert d.support.check(x).all()
    assert torch.equal(x * 256 - 0.5, torch.round(x * 256 - 0.5))  # bin centres
    assert d.log_prob(x).shape == sample_shape + case.batch_shape


def test_logistic_log_prob_against_cdf_differences(logistic):
    case, d, loc, scale = logistic
    actual = d.log_prob(levels_for(case.batch_shape, case.dtype))
    assert actual.shape == (256,) + case.batch_shape and actual.dtype == case.dtype
    expected = reference_pmf(loc, scale)
    u = unit_roundoff(case.dtype)
    delta = 32 * u * ((1 + loc.double().abs()) / scale.double() + 1)
    error = (actual.double().exp() - expected).abs()
    assert (error <= expected * torch.expm1(delta) + 8 * unit_roundoff(torch.float64)).all()


def test_logistic_pmf_sums_to_one_over_256_levels(logistic):
    case, d, loc, scale = logistic
    total = d.log_prob(levels_for(case.batch_shape, case.dtype)).double().exp().sum(0)
    # the 256 probabilities are each off by a factor exp(delta) at most, and they sum to one
    delta = 32 * unit_roundoff(case.dtype) * ((1 + loc.double().abs()) / scale.double() + 1)
    assert total.shape == case.batch_shape
    assert ((total - 1).abs() <= torch.expm1(delta) + 256 * unit_roundoff(torch.float64)).all()


@pytest.mark.parametrize("sample_shape", [(), (2,)], ids=str)
def test_logistic_expand(logistic, sample_shape):
    case, d, _, _ = logistic
    new_batch_shape = (3,) + case.batch_shape
    expanded = d.expand(torch.Size(new_batch_shape))
    assert type(expanded) is DiscretizedLogistic
    assert expanded.batch_shape == new_batch_shape and expanded.event_shape == ()
    x = expanded.sample(sample_shape)
    assert x.shape == sample_shape + new_batch_shape and expanded.support.check(x).all()
    assert torch.equal(expanded.log_prob(x), d.log_prob(x))
    levels = levels_for(case.batch_shape, case.dtype)  # [256, 1, ..., 1]
    broadcast = d.log_prob(levels).unsqueeze(1).expand((256,) + new_batch_shape)
    assert torch.equal(expanded.log_prob(levels.unsqueeze(1)), broadcast)
