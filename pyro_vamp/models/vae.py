"""The one-layer VAE: p(x | z) p(z) with guide q(z | x) (paper section 2)."""

import pyro
import pyro.distributions as dist
from pyro import poutine
from torch import nn

from ..networks.dense import GaussianEncoder, gated_mlp
from .base import LatentVariableModel


class VAE(LatentVariableModel):
    """VAE with one stochastic layer of ``latent_dim`` units and gated MLPs of 2 x ``hidden``.

    Model: z ~ prior, x ~ p(x | z). Guide: z ~ q(z | x) = N(mu(x), diag sigma^2(x)).

    Example::

        vae = VAE(784, prior="vamp", num_components=500)
        loss = pyro.infer.Trace_ELBO().differentiable_loss(vae.model, vae.guide, x, 0.5)
    """

    pyro_name = "vae"
    latent_sites = ("z",)

    def build_networks(self):
        input_dim, latent_dim, hidden = self.input_dim, self.latent_dim, self.hidden
        self.encoder = GaussianEncoder(input_dim, latent_dim, hidden)
        self.decoder = nn.Sequential(gated_mlp(latent_dim, hidden), self.output_layer())

    @property
    def top_encoder(self):
        return self.encoder

    def model(self, x=None, beta=1.0, num=None):
        """p(x, z) = p(x | z) p(z), latent site scaled by ``beta``; ``x``: ``[N, D]`` or None."""
        self.register()
        prior = self.prior()
        with self._plate(x, num):
            with poutine.scale(scale=beta):
                z = pyro.sample("z", prior)
            px = self.decoder(z)
            pyro.sample("x", px, obs=x)
        return px

    def guide(self, x, beta=1.0, num=None):
        """q(z | x), scaled by ``beta``; ``x``: ``[N, D]``."""
        self.register()
        loc, scale = self.encoder(x)
        with self._plate(x, num), poutine.scale(scale=beta):
            pyro.sample("z", dist.Normal(loc, scale).to_event(1))
