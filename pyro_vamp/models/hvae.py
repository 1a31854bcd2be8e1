"""The two-level HVAE: p(x | z1, z2) p(z1 | z2) p(z2), guide q(z2 | x) q(z1 | x, z2) (paper eq. 11-16)."""

import pyro
import pyro.distributions as dist
from pyro import poutine
from torch import nn

from ..networks.dense import GatedJoin, GaussianEncoder, GaussianHead, JointGaussianEncoder, gated_mlp
from .base import LatentVariableModel


class HVAE(LatentVariableModel):
    """Two stochastic layers of ``latent_dim`` units each, gated MLPs of 2 x ``hidden``.

    Generative (eq. 11): z2 ~ prior, z1 ~ N(mu(z2), diag sigma^2(z2)), x ~ p(x | z1, z2).
    Guide (eq. 12): z2 ~ q(z2 | x), z1 ~ q(z1 | x, z2). The prior on z2 (a VampPrior, eq. 13)
    uses q(z2 | .), the guide's top encoder. z1 and z2 are combined by concatenating
    their hidden features.

    Example::

        hvae = HVAE(784, prior="vamp", num_components=500)
        images = hvae.sample_images(16)   # [16, 784]
    """

    pyro_name = "hvae"
    latent_sites = ("z2", "z1")

    def build_networks(self):
        input_dim, latent_dim, hidden = self.input_dim, self.latent_dim, self.hidden
        # guide
        self.q_z2 = GaussianEncoder(input_dim, latent_dim, hidden)
        self.q_z1 = JointGaussianEncoder(input_dim, latent_dim, latent_dim, hidden)
        # model
        self.p_z1 = nn.Sequential(gated_mlp(latent_dim, hidden), GaussianHead(hidden, latent_dim))
        self.p_x_join = GatedJoin(latent_dim, latent_dim, hidden)
        self.p_x_out = self.output_layer()

    @property
    def top_encoder(self):
        return self.q_z2

    def model(self, x=None, beta=1.0, num=None):
        """p(x, z1, z2), latent sites scaled by ``beta``; ``x``: ``[N, D]`` or None."""
        self.register()
        prior = self.prior()
        with self._plate(x, num):
            with poutine.scale(scale=beta):
                z2 = pyro.sample("z2", prior)
                z1 = pyro.sample("z1", dist.Normal(*self.p_z1(z2)).to_event(1))
            px = self.likelihood_of(x, z1, z2)
            pyro.sample("x", px, obs=x)
        return px

    def likelihood_of(self, x, z1, z2):
        """p(x | z1, z2) as a distribution over ``[..., D]`` (x is unused: not autoregressive)."""
        return self.p_x_out(self.p_x_join(z1, z2))

    def guide(self, x, beta=1.0, num=None):
        """q(z2 | x) q(z1 | x, z2), scaled by ``beta``; ``x``: ``[N, D]``."""
        self.register()
        with self._plate(x, num), poutine.scale(scale=beta):
            z2 = pyro.sample("z2", dist.Normal(*self.q_z2(x)).to_event(1))
            pyro.sample("z1", dist.Normal(*self.q_z1(x, z2)).to_event(1))
