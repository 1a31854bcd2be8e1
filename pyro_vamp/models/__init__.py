"""Models: each an ``nn.Module`` with a Pyro ``model(x, beta)`` and ``guide(x, beta)``."""

from .base import LatentVariableModel
from .hvae import HVAE
from .vae import VAE

MODELS = {"vae": VAE, "hvae": HVAE}

__all__ = ["HVAE", "MODELS", "LatentVariableModel", "VAE"]
