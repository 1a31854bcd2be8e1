"""Likelihoods p(x | z): Bernoulli for binary images, discretised logistic for grey images, Gaussian
for real values (MLP models only: its variance is a per-dimension parameter, not a per-pixel output)."""

import torch

from .bernoulli import BernoulliHead, bernoulli_image
from .discretized_logistic import DiscretizedLogistic, DiscretizedLogisticHead, logistic_image
from .gaussian import GaussianHead

LIKELIHOOD_HEADS = {"bernoulli": BernoulliHead, "logistic": DiscretizedLogisticHead, "gaussian": GaussianHead}
#: Parameters per pixel of each likelihood (for convolutional decoders; "gaussian" has none: the
#: convolutional models refuse it).
PIXEL_PARAMETERS = {"bernoulli": 1, "logistic": 2}


def image_distribution(likelihood: str, params: torch.Tensor):
    """p(x | z) from per-pixel parameters ``[..., P, D]`` (P from :data:`PIXEL_PARAMETERS`)."""
    if likelihood == "bernoulli":
        return bernoulli_image(params[..., 0, :])
    return logistic_image(params[..., 0, :], params[..., 1, :])


__all__ = [
    "LIKELIHOOD_HEADS",
    "PIXEL_PARAMETERS",
    "BernoulliHead",
    "DiscretizedLogistic",
    "DiscretizedLogisticHead",
    "GaussianHead",
    "image_distribution",
]
