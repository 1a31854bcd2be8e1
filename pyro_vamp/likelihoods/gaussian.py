"""The Gaussian likelihood for real-valued data (vectors or images that are not 8-bit levels).

p(x | z) = prod_d N(x_d | mu_d(z), sigma_d^2): the mean comes from the decoder, the variance is
one learned parameter per dimension (homoscedastic: it does not depend on z), with a floor
sigma_d >= :data:`SCALE_MIN` so that the density stays bounded. The data it models are
standardised on the training split (:func:`pyro_vamp.data.load_path`), so sigma_d starts at 1.
"""

import math

import pyro.distributions as dist
import torch
from torch import nn

from ..networks.dense import he_linear

#: The smallest standard deviation of a dimension (in standardised units): ln p(x_d | z) <= -ln(1e-3
#: sqrt(2 pi)) = 5.99 nats per dimension.
SCALE_MIN = 1e-3
#: The log-variance is clamped below at 2 ln SCALE_MIN (no gradient pushes it further down).
LOGVAR_MIN = 2 * math.log(SCALE_MIN)


def gaussian_image(loc: torch.Tensor, logvar: torch.Tensor):
    """p(x | z) = prod_d N(x_d | loc_d, exp(logvar_d)) over the last dim, with logvar clamped below at
    :data:`LOGVAR_MIN`; ``loc`` ``[..., D]``, ``logvar`` broadcastable to it (e.g. ``[D]``)."""
    loc = loc.float()  # float32 also under bfloat16 autocast
    scale = torch.exp(0.5 * logvar.float().clamp(min=LOGVAR_MIN))
    return dist.Normal(loc, scale.expand_as(loc)).to_event(1)


class GaussianHead(nn.Module):
    """Decoder output layer: features ``[..., H]`` -> p(x | z) = prod_d N(x_d | (W h)_d, sigma_d^2).

    ``logvar`` is an ``nn.Parameter`` of shape ``[D]`` (initialised at 0: unit variance, the variance
    of standardised data); sigma_d = exp(logvar_d / 2) >= :data:`SCALE_MIN`. The distribution's
    ``mean`` is the decoded image (in standardised units).
    """

    def __init__(self, in_features: int, data_dim: int):
        super().__init__()
        self.loc = he_linear(in_features, data_dim)
        self.logvar = nn.Parameter(torch.zeros(data_dim))

    def forward(self, h: torch.Tensor):
        return gaussian_image(self.loc(h), self.logvar)
