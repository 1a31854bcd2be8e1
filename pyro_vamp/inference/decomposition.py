"""The ELBO decomposition of Hoffman & Johnson (2016, "ELBO surgery") for the top latent z:

    1/N sum_n KL(q(z | x_n) || p(z))  =  I_q(x; z)  +  KL(q(z) || p(z))

with the aggregate posterior q(z) = 1/N sum_n q(z | x_n) over the N points of a data set,
the index-code mutual information I_q(x; z) = 1/N sum_n E_{q(z|x_n)}[ln q(z | x_n) - ln q(z)]
and the marginal KL E_{q(z)}[ln q(z) - ln p(z)]. A prior can only lower the average KL through
the marginal term: the mutual information is fixed by the encoder.

Estimator (per point n, S draws z_ns ~ q(z | x_n)):

    kl_n  = mean_s [ln q(z_ns | x_n) - ln p(z_ns)]
    mi_n  = mean_s [ln q(z_ns | x_n) - ln q(z_ns)]
    mkl_n = mean_s [ln q(z_ns) - ln p(z_ns)]

with ln q(z) = logsumexp_m ln q(z | x_m) - ln N over all N points (the point n itself included),
so kl_n = mi_n + mkl_n holds draw by draw, to float rounding. The three numbers are the means of
the per-point terms, with standard errors std / sqrt(N). ``ln q(z)`` is exact for the aggregate
posterior of the N points, but as an estimate of the aggregate posterior of the data distribution
it is biased: the term m = n makes mi_n <= ln N for every draw, so I_q(x; z) is underestimated once
it approaches ln N (and the marginal KL correspondingly overestimated).
"""

import math
from dataclasses import dataclass

import torch
from torch.distributions import Normal

from ..priors.mixture import EqualGaussianMixture

#: Entries of a [rows, components] block of mixture log-densities computed at once.
MAX_ENTRIES = 2**22


@dataclass
class ELBODecomposition:
    """Per-point terms ``[N]`` (float64): ``kl`` = ``mutual_information`` + ``marginal_kl``,
    each a mean over ``num_samples`` draws from q(z | x_n)."""

    kl: torch.Tensor
    mutual_information: torch.Tensor
    marginal_kl: torch.Tensor
    num_samples: int

    def summary(self) -> dict:
        """``kl_top``, ``mutual_information``, ``marginal_kl`` (nats, means over the points), each with
        its standard error ``*_se``, and ``decomposition_samples`` (S); ``mutual_information_max``
        is ln N, the estimator's upper bound for the mutual information."""
        n = self.kl.shape[0]
        out: dict = {}
        terms = {"kl_top": self.kl, "mutual_information": self.mutual_information, "marginal_kl": self.marginal_kl}
        for key, values in terms.items():
            out[key] = values.mean().item()
            out[f"{key}_se"] = values.std().item() / math.sqrt(n) if n > 1 else 0.0
        out["mutual_information_max"] = math.log(n)
        out["decomposition_samples"] = self.num_samples
        return out


def _chunked_log_prob(distribution, z: torch.Tensor, components: int, max_entries: int) -> torch.Tensor:
    rows = max(1, max_entries // max(1, components))
    return torch.cat([distribution.log_prob(chunk).double() for chunk in z.split(rows)])


@torch.no_grad()
def elbo_decomposition(
    loc: torch.Tensor, scale: torch.Tensor, prior, num_samples: int = 10, max_entries: int = MAX_ENTRIES
) -> ELBODecomposition:
    """Average KL(q(z|x) || p(z)) = I_q(x; z) + KL(q(z) || p(z)) over N diagonal-Gaussian posteriors.

    :param loc: means of q(z | x_n), ``[N, M]``.
    :param scale: standard deviations of q(z | x_n), ``[N, M]``.
    :param prior: p(z), any distribution with ``event_shape == (M,)`` (e.g. a prior module's
        ``frozen()`` distribution).
    :param num_samples: S, draws from each q(z | x_n) (with the global torch RNG).
    :param max_entries: size of the blocks of [draws, components] log-densities (memory).

    ln q(z | x_n) and ln q(z) are computed in float64 (q(z) as an exact equal-weight mixture of the N
    posteriors); ln p(z) in the prior's own precision. Draws are in the dtype of ``loc``.

    Example::

        loc, scale = model.top_encoder(x_test)
        with model.prior.frozen() as prior:
            parts = elbo_decomposition(loc, scale, prior, num_samples=10)
        parts.summary()["mutual_information"]
    """
    if loc.dim() != 2 or loc.shape != scale.shape:
        raise ValueError(f"loc and scale must both be [N, M], got {tuple(loc.shape)} and {tuple(scale.shape)}")
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    n, m = loc.shape
    z = loc + scale * torch.randn(num_samples, n, m, dtype=loc.dtype, device=loc.device)  # [S, N, M]
    loc64, scale64 = loc.double(), scale.double()
    log_q_given_x = Normal(loc64, scale64).log_prob(z.double()).sum(-1)  # [S, N]
    flat = z.reshape(-1, m)
    aggregate = EqualGaussianMixture(loc64, scale64, exact=True)
    log_q = _chunked_log_prob(aggregate, flat, n, max_entries).reshape(num_samples, n)
    components = getattr(prior, "num_components", 1)
    log_p = _chunked_log_prob(prior, flat, components, max_entries).reshape(num_samples, n)
    return ELBODecomposition(
        kl=(log_q_given_x - log_p).mean(0),
        mutual_information=(log_q_given_x - log_q).mean(0),
        marginal_kl=(log_q - log_p).mean(0),
        num_samples=num_samples,
    )


@torch.no_grad()
def top_latent_decomposition(model, x: torch.Tensor, num_samples: int = 10, batch_size: int = 1000):
    """:func:`elbo_decomposition` of a :class:`~pyro_vamp.models.LatentVariableModel`'s top latent
    over the data ``x`` (``[N, D]``): q(z | x) from ``model.top_encoder``, p(z) = ``model.prior()``.
    Call it inside ``model.prior.frozen()`` for the float64 mixture log-densities of evaluation."""
    parts = [model.top_encoder(chunk) for chunk in x.split(batch_size)]
    loc = torch.cat([p[0] for p in parts])
    scale = torch.cat([p[1] for p in parts])
    return elbo_decomposition(loc, scale, model.prior(), num_samples)
