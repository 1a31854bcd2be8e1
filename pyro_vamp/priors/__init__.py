"""Priors for the top latent, each a module whose call returns a Pyro distribution.

===============  ==================================  ======================================
name             class                               p(z)
===============  ==================================  ======================================
``standard``     :class:`StandardPrior`              N(0, I)
``mog``          :class:`MixtureOfGaussiansPrior`    1/K sum_k N(mu_k, diag sigma_k^2)
``vamp``         :class:`VampPrior`                  1/K sum_k q(z | u_k), u_k learnable
``vamp-data``    :class:`VampPrior` (fixed u_k)      1/K sum_k q(z | x_k), x_k training images
``exemplar``     :class:`ExemplarPrior`              1/N sum_n N(z | mu(x_n), sigma^2 I)
``flow``         :class:`FlowPrior`                  N(0, I) through coupling layers
===============  ==================================  ======================================
"""

from .base import Prior, frozen_prior
from .exemplar import ExemplarPrior
from .factory import PRIOR_NAMES, PriorSpec, make_prior, resolve_prior
from .flow import FlowPrior
from .mixture import EqualGaussianMixture
from .mog import MixtureOfGaussiansPrior
from .standard import StandardPrior
from .vamp import VampPrior

__all__ = [
    "PRIOR_NAMES",
    "EqualGaussianMixture",
    "ExemplarPrior",
    "FlowPrior",
    "MixtureOfGaussiansPrior",
    "Prior",
    "frozen_prior",
    "PriorSpec",
    "StandardPrior",
    "VampPrior",
    "make_prior",
    "resolve_prior",
]
