"""The standard Gaussian prior p(z) = N(0, I)."""

import pyro.distributions as dist
import torch

from .base import Prior


class StandardPrior(Prior):
    """p(z) = N(z | 0, I) in R^M; it has no parameters.

    Example::

        prior = StandardPrior(40)
        prior().sample((3,)).shape   # torch.Size([3, 40])
    """

    _zero: torch.Tensor

    def __init__(self, latent_dim: int):
        super().__init__(latent_dim)
        self.register_buffer("_zero", torch.zeros(()))

    def distribution(self, exact: bool = False):
        zeros = self._zero.expand(self.latent_dim)
        return dist.Normal(zeros, 1.0).to_event(1)
