"""Per-data-point importance-sampled log-likelihood from Pyro traces (paper section 4, evaluation).

    ln p(x) ~= logsumexp_s [ln p(x, z_s) - ln q(z_s | x)] - ln S,   z_s ~ q(z | x)

The model and guide are run under a particle plate at dim -2 (the data plate is at
dim -1), the model replayed against the guide trace; each site's log-density is
summed over its event dims but not over the data plate, giving weights ``[S, N]``.
S is processed in chunks with a running log-sum-exp in float64, so memory does not
grow with S. The same weights give the ELBO estimate mean_s ln w_s <= ln p(x), and its
split into the reconstruction term mean_s ln p(x | z_s) and KL = reconstruction - ELBO.
"""

import math
from dataclasses import dataclass

import pyro
import torch
from pyro import poutine

from .memory import bytes_per_row, rows_per_chunk


def _sum_site_log_probs(trace, shape: torch.Size, which) -> torch.Tensor:
    """Sum of the log-densities of the sample sites ``which(site)`` selects, float64, broadcast to ``shape``."""
    total = torch.zeros(shape, dtype=torch.float64, device=_device(trace))
    for site in trace.nodes.values():
        if site["type"] == "sample" and which(site):
            total = total + site["log_prob"].double()
    return total


def _device(trace):
    for site in trace.nodes.values():
        if site["type"] == "sample":
            return site["value"].device
    return torch.device("cpu")


def _observed(site):
    return site["is_observed"]


def _latent(site):
    return not site["is_observed"]


def _traces(model, guide, x: torch.Tensor, num_samples: int):
    with pyro.plate("particles", num_samples, dim=-2):
        guide_trace = poutine.trace(guide).get_trace(x)
        model_trace = poutine.trace(poutine.replay(model, trace=guide_trace)).get_trace(x)
    guide_trace.compute_log_prob(lambda name, site: _latent(site))
    model_trace.compute_log_prob()
    return model_trace, guide_trace


def log_weights_and_likelihoods(model, guide, x: torch.Tensor, num_samples: int):
    """``(ln w, ln p(x | z))`` for ``num_samples`` draws z_s ~ q(z | x), each ``[S, N]`` float64,
    where ln w_s(x_n) = ln p(x_n, z_sn) - ln q(z_sn | x_n).

    ``model(x)`` and ``guide(x)`` must put their data plate at dim -1 over the
    N rows of ``x`` and sum event dims with ``.to_event``; latent sites must have scale 1.
    """
    shape = torch.Size((num_samples, x.shape[0]))
    model_trace, guide_trace = _traces(model, guide, x, num_samples)
    log_lik = _sum_site_log_probs(model_trace, shape, _observed)
    log_prior = _sum_site_log_probs(model_trace, shape, _latent)
    log_guide = _sum_site_log_probs(guide_trace, shape, _latent)
    return log_lik + log_prior - log_guide, log_lik


class RunningLogMeanExp:
    """ln (1/S) sum_s exp(w_s) and (1/S) sum_s w_s per column, fed chunks ``[S_c, N]`` of w."""

    def __init__(self):
        self.log_sum = None
        self.sum = None
        self.count = 0

    def update(self, log_w: torch.Tensor) -> None:
        chunk_lse = torch.logsumexp(log_w, dim=0)
        chunk_sum = log_w.sum(0)
        if self.log_sum is None:
            self.log_sum, self.sum = chunk_lse, chunk_sum
        else:
            self.log_sum = torch.logaddexp(self.log_sum, chunk_lse)
            self.sum = self.sum + chunk_sum
        self.count += log_w.shape[0]

    @property
    def log_mean_exp(self) -> torch.Tensor:
        return self.log_sum - math.log(self.count)

    @property
    def mean(self) -> torch.Tensor:
        return self.sum / self.count


@dataclass
class ImportanceEstimate:
    """Per-point estimates ``[N]`` (float64): ``log_likelihood`` (IS), ``elbo`` (mean ln w) and
    ``reconstruction`` (mean ln p(x | z)); the KL term is ``reconstruction - elbo``."""

    log_likelihood: torch.Tensor
    elbo: torch.Tensor
    reconstruction: torch.Tensor
    num_samples: int


def default_chunk_size(model, x: torch.Tensor, max_memory: int | None = None) -> int:
    """Draws per chunk for the ``N`` rows of ``x`` within the memory budget:
    :func:`~pyro_vamp.inference.memory.rows_per_chunk` // N, with the row size of the model that
    ``model`` is a method of (its ``eval_bytes_per_sample``), or a generous estimate from the data size.
    At least 1; on a CPU at most :data:`~pyro_vamp.inference.memory.CPU_ROWS` // N."""
    owner = getattr(model, "__self__", None)  # vae.model: the module that says its row size
    row_bytes = bytes_per_row(owner, x[0].numel())
    return max(1, rows_per_chunk(x.device, row_bytes, max_memory) // max(1, x.shape[0]))


@torch.no_grad()
def importance_sample(
    model, guide, x: torch.Tensor, num_samples: int, chunk_size: int | None = None, max_memory: int | None = None
) -> ImportanceEstimate:
    """Importance-sampled ln p(x) for every row of ``x`` (``[N, D]``) with exactly ``num_samples`` draws.

    :param chunk_size: draws per chunk; the last chunk takes the rest, so the total is always
        ``num_samples``. Default: :func:`default_chunk_size`, as many as fit the memory budget (as
        ``pyro-vamp eval`` chooses), so that peak memory does not grow with ``num_samples``.
    :param max_memory: bytes the default chunks may use (default: half the free memory of
        ``x``'s device); not used with ``chunk_size``.

    Example (the linear-Gaussian test in ``tests/test_importance.py`` checks it against the
    analytic ln p(x))::

        est = importance_sample(vae.model, vae.guide, x, num_samples=5000, chunk_size=500)
        est.log_likelihood   # [N]
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")
    if chunk_size is None:
        chunk_size = default_chunk_size(model, x, max_memory)
    chunk_size = max(1, min(chunk_size, num_samples))
    running = RunningLogMeanExp()
    reconstruction = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
    done = 0
    while done < num_samples:
        size = min(chunk_size, num_samples - done)
        log_w, log_lik = log_weights_and_likelihoods(model, guide, x, size)
        running.update(log_w)
        reconstruction += log_lik.sum(0)
        done += size
    return ImportanceEstimate(running.log_mean_exp, running.mean, reconstruction / done, done)
