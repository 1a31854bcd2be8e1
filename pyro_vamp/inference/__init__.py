"""Estimators: importance-sampled log-likelihood and ELBO, active units."""

from .active_units import active_units, posterior_means
from .importance import ImportanceEstimate, RunningLogMeanExp, importance_sample, log_weights_and_likelihoods

__all__ = [
    "ImportanceEstimate",
    "RunningLogMeanExp",
    "active_units",
    "importance_sample",
    "log_weights_and_likelihoods",
    "posterior_means",
]
