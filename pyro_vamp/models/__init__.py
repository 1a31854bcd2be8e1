"""Models: each an ``nn.Module`` with a Pyro ``model(x, beta)`` and ``guide(x, beta)``."""

from .base import LatentVariableModel
from .conv_hvae import ConvHVAE, ConvHVAEPlain
from .factory import MODELS, build_model
from .hvae import HVAE
from .vae import VAE

__all__ = ["MODELS", "VAE", "ConvHVAE", "ConvHVAEPlain", "HVAE", "LatentVariableModel", "build_model"]
