"""Build the model a training config describes."""

from typing import Protocol

import torch

from ..errors import InputError
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
    flow_depth: int
    flow_hidden: int


def build_model(
    config: ModelSettings,
    image_shape: tuple[int, int] | None,
    likelihood: str,
    pseudo_init: tuple[float, float],
    train_images: torch.Tensor | None = None,
    *,
    input_dim: int | None = None,
    channels: int = 1,
    data_range: tuple[float, float] = (0.0, 1.0),
) -> LatentVariableModel:
    """The model ``config`` describes, for images of ``image_shape`` with ``likelihood``.

    :param image_shape: (H, W) of the images, or None for plain vectors (then give ``input_dim``).
    :param pseudo_init: (mean, std) of the VampPrior's initial pseudo-inputs (the dataset's).
    :param train_images: ``[N, D]`` in the data range; they seed the pseudo-inputs of ``vamp-data``
        and of ``pseudo_init = "data"``. Without them (loading a checkpoint, whose weights replace
        them) zeros stand in; the Exemplar prior (its exemplars) is then built without them and
        needs ``model.prior.attach_exemplars(train_images)`` before use.
    :param input_dim: D; default H * W * ``channels`` (an :class:`~pyro_vamp.data.ImageDataset`'s
        ``input_dim``).
    :param channels: colour channels of the images (RGB images: 3, stored channels-last in D).
    :param data_range: (min, max) the VampPrior's pseudo-inputs are clipped to (the dataset's).

    The convolutional models need single-channel images and a per-pixel likelihood: anything else
    is an :class:`~pyro_vamp.errors.InputError`.
    """
    if input_dim is None:
        if image_shape is None:
            raise ValueError("give image_shape=(H, W) or input_dim for vectors")
        input_dim = image_shape[0] * image_shape[1] * channels
    model_class = MODELS[config.model]
    if issubclass(model_class, ConvHVAEPlain) and (image_shape is None or channels != 1):
        what = "plain vectors" if image_shape is None else f"images of {channels} channels"
        raise InputError(
            f"--model {config.model} needs single-channel (grey) images, but the data are {what}; "
            "use --model vae or hvae, or convert the images to grey"
        )
    if train_images is None and config.prior != "exemplar":
        train_images = torch.zeros(config.components, input_dim)
    return model_class(
        input_dim,
        likelihood=likelihood,
        image_shape=(image_shape[0], image_shape[1]) if image_shape is not None and channels == 1 else None,
        prior=config.prior,
        latent_dim=config.latent_dim,
        hidden=config.hidden,
        num_components=config.components,
        train_images=train_images,
        pseudo_init="data" if config.pseudo_init == "data" else pseudo_init,
        data_range=data_range,
        flow_depth=config.flow_depth,
        flow_hidden=config.flow_hidden,
    )
