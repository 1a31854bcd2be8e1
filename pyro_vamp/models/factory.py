"""Build the model a training config describes."""

from typing import Protocol

import torch

from .base import LatentVariableModel
from .conv_hvae import ConvHVAE, ConvHVAEPlain
from .hvae import HVAE
from .vae import VAE

#: The models by their ``--model`` name (the names are :data:`pyro_vamp.config.MODEL_NAMES`).
MODELS: dict[str, type[LatentVariableModel]] = {
    "vae": VAE,
    "hvae": HVAE,
    "convhvae": ConvHVAE,
    "convhvae-plain": ConvHVAEPlain,
}


class ModelSettings(Protocol):
    """The settings :func:`build_model` reads (a :class:`~pyro_vamp.config.TrainConfig` has them)."""

    model: str
    prior: str
    components: int
    latent_dim: int
    hidden: int
    pseudo_init: str


def build_model(
    config: ModelSettings,
    image_shape: tuple[int, int],
    likelihood: str,
    pseudo_init: tuple[float, float],
    train_images: torch.Tensor | None = None,
) -> LatentVariableModel:
    """The model ``config`` describes, for images of ``image_shape`` with ``likelihood``.

    :param pseudo_init: (mean, std) of the VampPrior's initial pseudo-inputs (the dataset's).
    :param train_images: ``[N, D]`` in [0, 1]; they seed the pseudo-inputs of ``vamp-data`` and of
        ``pseudo_init = "data"``. Without them (loading a checkpoint, whose weights replace them)
        zeros stand in.
    """
    input_dim = image_shape[0] * image_shape[1]
    if train_images is None:
        train_images = torch.zeros(config.components, input_dim)
    return MODELS[config.model](
        input_dim,
        likelihood=likelihood,
        image_shape=(image_shape[0], image_shape[1]),
        prior=config.prior,
        latent_dim=config.latent_dim,
        hidden=config.hidden,
        num_components=config.components,
        train_images=train_images,
        pseudo_init="data" if config.pseudo_init == "data" else pseudo_init,
    )
