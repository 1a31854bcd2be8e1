"""Models: each an ``nn.Module`` with a Pyro ``model(x, beta)`` and ``guide(x, beta)``."""

from .base import LatentVariableModel
from .conv_hvae import ConvHVAE, ConvHVAEPlain
from .hvae import HVAE
from .vae import VAE

MODELS = {"vae": VAE, "hvae": HVAE, "convhvae": ConvHVAE, "convhvae-plain": ConvHVAEPlain}

__all__ = ["ConvHVAE", "ConvHVAEPlain", "HVAE", "MODELS", "LatentVariableModel", "VAE"]
