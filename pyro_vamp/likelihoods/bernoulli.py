"""The Bernoulli likelihood for binary images, parameterised by logits."""

import pyro.distributions as dist
import torch
from torch import nn

from ..networks.dense import he_linear


def bernoulli_image(logits: torch.Tensor):
    """p(x | z) = prod_d Bernoulli(x_d | sigmoid(logits_d)) over the last dim of ``logits`` ``[..., D]``."""
    return dist.Bernoulli(logits=logits.float()).to_event(1)  # float32 also under bfloat16 autocast


class BernoulliHead(nn.Module):
    """Decoder output layer: features ``[..., H]`` -> p(x | z) = prod_d Bernoulli(x_d | sigmoid(l_d)).

    Logits are used directly (numerically stable, no clamping of probabilities);
    the distribution's ``mean`` is the image of pixel probabilities.
    """

    def __init__(self, in_features: int, data_dim: int):
        super().__init__()
        self.logits = he_linear(in_features, data_dim)

    def forward(self, h: torch.Tensor):
        return bernoulli_image(self.logits(h))
