"""An equal-weight mixture of K diagonal Gaussians over a whole latent vector.

This is the distribution behind the MoG prior and the VampPrior (paper eq. 9):

    p(z) = 1/K sum_k N(z | mu_k, diag sigma_k^2)

The mixture is over the whole vector z in R^M, not per dimension.
"""

import math

import torch
from pyro.distributions import TorchDistribution
from torch.distributions import constraints


class EqualGaussianMixture(TorchDistribution):
    """Equal-weight mixture of K diagonal Gaussians in R^M.

    :param locs: component means, shape ``[K, M]``.
    :param scales: component standard deviations, shape ``[K, M]``.
    :param exact: return :meth:`log_prob` in float64 (evaluation) instead of the dtype of the
        value (training). Either way it is computed in float64: the expanded quadratic below
        cancels terms of size |mu|^2 / sigma^2, which in float32 left errors of 0.04 to 17 nats
        for log-variances near -6 and means of 10 to 50; in float64 it is exact to about 1e-9
        nats there, at a cost of [N, K] x M multiply-adds, a few MFLOP per training step.

    ``batch_shape`` is ``()`` and ``event_shape`` is ``(M,)``: at a
    ``pyro.sample`` site inside plates Pyro expands it lazily, so the K
    components are never copied per data point.

    Example::

        prior = EqualGaussianMixture(torch.randn(10, 2), torch.ones(10, 2))
        z = prior.rsample((5,))        # [5, 2]
        prior.log_prob(z)              # [5]
    """

    arg_constraints = {
        "locs": constraints.independent(constraints.real, 2),
        "scales": constraints.independent(constraints.positive, 2),
    }
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, locs, scales, *, exact=False, validate_args=None):
        if locs.dim() != 2 or locs.shape != scales.shape:
            raise ValueError(
                f"locs and scales must both have shape [K, M], got {tuple(locs.shape)} and {tuple(scales.shape)}"
            )
        self.locs, self.scales, self.exact = locs, scales, exact
        super().__init__(torch.Size(), locs.shape[-1:], validate_args=validate_args)

    @property
    def num_components(self) -> int:
        return self.locs.shape[0]

    def component_log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """ln N(z | mu_k, sigma_k) for every component, in float64: ``[..., M] -> [..., K]``.

        Computed as the expanded quadratic with two matrix products,
        sum_m z_m^2 / s_km^2 - 2 z_m mu_km / s_km^2 + mu_km^2 / s_km^2,
        which is much faster than broadcasting to ``[..., K, M]``; in float64 (outside any
        autocast region), so that its cancellations stay exact (see ``exact``).
        """
        with torch.autocast(value.device.type, enabled=False):
            flat = value.reshape(-1, value.shape[-1]).double()  # [N, M]
            locs, scales = self.locs.double(), self.scales.double()
            precision = scales.pow(-2)  # [K, M]
            quad = flat.pow(2) @ precision.T - 2 * flat @ (locs * precision).T  # [N, K]
            const = (locs.pow(2) * precision).sum(-1) + 2 * scales.log().sum(-1)  # [K]
            log_n = -0.5 * (quad + const + locs.shape[-1] * math.log(2 * math.pi))
        return log_n.reshape(*value.shape[:-1], self.num_components)

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """ln p(z) = logsumexp_k ln N(z | mu_k, sigma_k) - ln K: ``[..., M] -> [...]``, float64 when
        ``exact``, else in the value's dtype."""
        if self._validate_args:
            self._validate_sample(value)
        log_p = torch.logsumexp(self.component_log_prob(value), dim=-1) - math.log(self.num_components)
        return log_p if self.exact else log_p.to(value.dtype)

    def sample_with_components(self, sample_shape=torch.Size()):
        """Draw ``k`` uniformly, then ``z ~ N(mu_k, sigma_k)`` (reparameterised given ``k``).

        Returns ``(z, k)`` with shapes ``sample_shape + [M]`` and ``sample_shape``.
        """
        shape = torch.Size(sample_shape)
        k = torch.randint(self.num_components, shape, device=self.locs.device)
        eps = torch.randn(shape + self.event_shape, dtype=self.locs.dtype, device=self.locs.device)
        return self.locs[k] + self.scales[k] * eps, k

    def rsample(self, sample_shape=torch.Size()):
        return self.sample_with_components(sample_shape)[0]

    @property
    def mean(self):
        return self.locs.mean(0)

    @property
    def variance(self):
        second_moment = (self.scales.pow(2) + self.locs.pow(2)).mean(0)
        return second_moment - self.mean.pow(2)
