"""Likelihoods p(x | z): Bernoulli for binary images, discretised logistic for grey images."""

from .bernoulli import BernoulliHead
from .discretized_logistic import DiscretizedLogistic, DiscretizedLogisticHead

LIKELIHOOD_HEADS = {"bernoulli": BernoulliHead, "logistic": DiscretizedLogisticHead}

__all__ = ["LIKELIHOOD_HEADS", "BernoulliHead", "DiscretizedLogistic", "DiscretizedLogisticHead"]
