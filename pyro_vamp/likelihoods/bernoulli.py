"""The Bernoulli likelihood for binary images, parameterised by logits."""

import pyro.distributions as dist
import torch
from torch import nn

from ..layers import he_linear


class BernoulliHead(nn.Module):
    """Decoder output layer: features ``[..., H]`` -> p(x | z) = prod_d Bernoulli(x_d | sigmoid(l_d)).

    Logits are used directly (numerically stable, no clamping of probabilities);
    the distribution's ``mean`` is the image of pixel probabilities.
    """

    def __init__(self, in_features: int, data_dim: int):
        super().__init__()
        self.logits = he_linear(in_features, data_dim)

    def forward(self, h: torch.Tensor):
        return dist.Bernoulli(logits=self.logits(h)).to_event(1)
