"""Estimators: importance-sampled log-likelihood and ELBO, active units, and the ELBO decomposition
(mutual information and marginal KL of the top latent)."""

from .active_units import active_units, posterior_means
from .decomposition import ELBODecomposition, elbo_decomposition, top_latent_decomposition
from .importance import (
    ImportanceEstimate,
    RunningLogMeanExp,
    default_chunk_size,
    importance_sample,
    log_weights_and_likelihoods,
)

__all__ = [
    "ELBODecomposition",
    "ImportanceEstimate",
    "RunningLogMeanExp",
    "active_units",
    "default_chunk_size",
    "elbo_decomposition",
    "importance_sample",
    "log_weights_and_likelihoods",
    "posterior_means",
    "top_latent_decomposition",
]
