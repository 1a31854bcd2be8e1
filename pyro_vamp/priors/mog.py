"""The mixture-of-Gaussians prior with learnable components (paper Table 2, "MoG")."""

import torch
from torch import nn

from .base import Prior
from .mixture import EqualGaussianMixture


class MixtureOfGaussiansPrior(Prior):
    """p(z) = 1/K sum_k N(z | mu_k, diag exp(logvar_k)), equal weights (paper eq. 9).

    :param latent_dim: M.
    :param num_components: K.
    :param init_std: standard deviation of the random initial means (log-variances start at 0).

    Parameters: ``means`` ``[K, M]`` and ``logvars`` ``[K, M]``.

    Example::

        prior = MixtureOfGaussiansPrior(40, num_components=500)
        prior().log_prob(torch.zeros(7, 40)).shape   # torch.Size([7])
    """

    def __init__(self, latent_dim: int, num_components: int, init_std: float = 1.0):
        super().__init__(latent_dim)
        self.means = nn.Parameter(init_std * torch.randn(num_components, latent_dim))
        self.logvars = nn.Parameter(torch.zeros(num_components, latent_dim))

    def distribution(self, exact: bool = False):
        return EqualGaussianMixture(self.means, torch.exp(0.5 * self.logvars), exact=exact)
