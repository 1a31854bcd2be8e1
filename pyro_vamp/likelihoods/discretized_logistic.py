"""The discretised logistic likelihood for 8-bit grey images (paper section 4, grey data).

Grey levels v in {0, ..., 255} are scaled to bin centres x = (v + 0.5) / 256. Bin v
covers [v / 256, (v + 1) / 256]; the first bin is open to -inf and the last to +inf,
so the 256 probabilities sum to one exactly (the original code has no open edge bins
and a 1e-7 floor inside the log, so its numbers differ slightly from ours).
"""

import math

import torch
from pyro.distributions import TorchDistribution
from torch import nn
from torch.distributions import constraints
from torch.distributions.utils import broadcast_all
from torch.nn import functional as F

from ..networks.dense import he_linear

NUM_BINS = 256

# Decoder clamps of the original code: mean in [1/512, 1 - 1/512], log-scale in [-4.5, 0].
MEAN_MIN, MEAN_MAX = 1.0 / 512, 1.0 - 1.0 / 512
LOG_SCALE_MIN, LOG_SCALE_MAX = -4.5, 0.0


def _log1mexp(d: torch.Tensor) -> torch.Tensor:
    """ln(1 - exp(-d)) for d > 0, stable for small and large d (Maechler 2012)."""
    return torch.where(d < math.log(2), torch.log(-torch.expm1(-d)), torch.log1p(-torch.exp(-d)))


class DiscretizedLogistic(TorchDistribution):
    """A logistic distribution discretised into 256 bins of width 1/256 on [0, 1].

    P(v) = sigmoid((upper_v - loc) / scale) - sigmoid((lower_v - loc) / scale),
    with lower_0 = -inf and upper_255 = +inf. In log space, for a > b,
    ln(sigmoid(a) - sigmoid(b)) = ln sigmoid(a) + ln sigmoid(-b) + ln(1 - exp(b - a)).

    :param loc: location in [0, 1] (any real works), shape ``[...]``.
    :param scale: positive scale, broadcastable with ``loc``.

    Values are the bin centres (v + 0.5) / 256 (anything in a bin counts as that bin).
    One distribution per pixel: use ``.to_event(1)`` for an image.

    Example::

        d = DiscretizedLogistic(torch.tensor(0.5), torch.tensor(0.1))
        levels = (torch.arange(256) + 0.5) / 256
        d.log_prob(levels).exp().sum()   # tensor(1.)
    """

    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.unit_interval
    has_rsample = False

    def __init__(self, loc, scale, *, validate_args=None):
        self.loc, self.scale = broadcast_all(loc, scale)
        super().__init__(self.loc.shape, validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(DiscretizedLogistic, _instance)
        batch_shape = torch.Size(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        super(DiscretizedLogistic, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        level = torch.clamp(torch.floor(value * NUM_BINS), 0, NUM_BINS - 1)
        inv_scale = self.scale.reciprocal()
        a = (level + 1) / NUM_BINS * inv_scale - self.loc * inv_scale  # upper edge, standardised
        b = level / NUM_BINS * inv_scale - self.loc * inv_scale  # lower edge, standardised
        inner = F.logsigmoid(a) + F.logsigmoid(-b) + _log1mexp(inv_scale / NUM_BINS)
        lowest = torch.where(level == 0, F.logsigmoid(a), inner)
        return torch.where(level == NUM_BINS - 1, F.logsigmoid(-b), lowest)

    def sample(self, sample_shape=torch.Size()):
        """Draw a continuous logistic sample and return the centre of its bin."""
        shape = self._extended_shape(sample_shape)
        with torch.no_grad():
            u = torch.rand(shape, dtype=self.loc.dtype, device=self.loc.device).clamp(1e-6, 1 - 1e-6)
            x = self.loc.expand(shape) + self.scale.expand(shape) * u.logit()
            level = torch.clamp(torch.floor(x * NUM_BINS), 0, NUM_BINS - 1)
            return (level + 0.5) / NUM_BINS

    @property
    def mean(self):
        """The mean of the logistic before discretisation, clamped to [0, 1]."""
        return self.loc.clamp(0, 1)


def logistic_image(mean: torch.Tensor, log_scale: torch.Tensor):
    """p(x | z) over the pixels of the last dim, from unconstrained outputs ``[..., D]`` each:
    loc = sigmoid(mean) clamped to [1/512, 1 - 1/512], scale = exp(hardtanh(log_scale, -4.5, 0))."""
    loc = torch.sigmoid(mean.float()).clamp(MEAN_MIN, MEAN_MAX)  # float32 also under bfloat16 autocast
    return DiscretizedLogistic(loc, F.hardtanh(log_scale.float(), LOG_SCALE_MIN, LOG_SCALE_MAX).exp()).to_event(1)


class DiscretizedLogisticHead(nn.Module):
    """Decoder output layer: features ``[..., H]`` -> p(x | z) over ``[..., D]`` grey pixels.

    mean = sigmoid(W h) clamped to [1/512, 1 - 1/512], log-scale = hardtanh(W h, -4.5, 0),
    as in the original code. The log-scale floor of -4.5 caps Frey Faces at about 3.51
    bits per dimension whatever the model learns.
    """

    def __init__(self, in_features: int, data_dim: int):
        super().__init__()
        self.mean = he_linear(in_features, data_dim)
        self.log_scale = he_linear(in_features, data_dim)

    def forward(self, h: torch.Tensor):
        return logistic_image(self.mean(h), self.log_scale(h))
