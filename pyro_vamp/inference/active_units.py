"""Active units (Burda et al. 2015): unit i of a latent layer is active when
Cov_x(E_{q(z|x)}[z_i]) > 0.01 over a data set."""

import pyro
import torch
from pyro import poutine

THRESHOLD = 0.01


@torch.no_grad()
def posterior_means(guide, x: torch.Tensor, sites, num_particles: int = 100) -> dict:
    """E_q[z | x] for each latent site named in ``sites``: ``{name: [N, M]}``.

    Each site's conditional mean (the ``mean`` of its guide distribution) is averaged over
    ``num_particles`` draws of the sites above it; for the top site this is exact.
    """
    with pyro.plate("particles", num_particles, dim=-2):
        trace = poutine.trace(guide).get_trace(x)
    return {name: trace.nodes[name]["fn"].mean.expand_as(trace.nodes[name]["value"]).mean(0) for name in sites}


def active_units(means: torch.Tensor, threshold: float = THRESHOLD) -> int:
    """How many columns of ``means`` (``[N, M]``, E_q[z|x_n]) have variance over n above ``threshold``."""
    return int((means.var(0, unbiased=True) > threshold).sum())
