"""Build a prior by name for a model's top encoder."""

from collections.abc import Callable

import torch
from torch import nn

from ..config import PRIOR_NAMES
from .base import Prior
from .exemplar import ExemplarPrior
from .flow import FlowPrior
from .mog import MixtureOfGaussiansPrior
from .standard import StandardPrior
from .vamp import VampPrior

#: What a model accepts as its prior: a name, a ready module, or a function of the top encoder.
PriorSpec = str | Prior | Callable[[nn.Module], Prior]


def make_prior(
    name: str,
    encoder: nn.Module,
    latent_dim: int,
    input_dim: int,
    num_components: int = 500,
    pseudo_init: tuple[float, float] | str = (0.05, 0.01),
    train_images: torch.Tensor | None = None,
    data_range: tuple[float, float] = (0.0, 1.0),
    flow_depth: int = 4,
    flow_hidden: int = 300,
) -> Prior:
    """The prior called ``name`` (one of :data:`PRIOR_NAMES`) over R^latent_dim.

    :param encoder: the guide's top encoder ``[K, D] -> (loc, scale)``, used by the VampPriors and
        the Exemplar prior.
    :param num_components: K: pseudo-inputs, mixture components, or the Exemplar prior's exemplars
        per training step.
    :param pseudo_init: (mean, std) of the VampPrior's initial pseudo-inputs, or ``"data"`` to
        start them at K random training images.
    :param train_images: ``[N, D]`` training images in the data range, needed by ``vamp-data`` and
        ``pseudo_init="data"``.
    :param data_range: (min, max) of the data; the VampPriors clip their pseudo-inputs to it.
    :param flow_depth: coupling layers of the flow prior.
    :param flow_hidden: hidden units per layer of each of its coupling networks.

    The Exemplar prior's exemplars are ``train_images``; without them (``None``: loading a
    checkpoint) it is built empty and needs :meth:`ExemplarPrior.attach_exemplars` before use.
    """
    if name == "standard":
        return StandardPrior(latent_dim)
    if name == "exemplar":
        return ExemplarPrior(encoder, latent_dim, input_dim, train_images, num_exemplars=num_components)
    if name == "flow":
        return FlowPrior(latent_dim, depth=flow_depth, hidden=flow_hidden)
    if name == "mog":
        return MixtureOfGaussiansPrior(latent_dim, num_components)
    if name == "vamp-data" or (name == "vamp" and pseudo_init == "data"):
        if train_images is None:
            raise ValueError(f"the {name} prior started from data needs training images (train_images=[N, D])")
        return VampPrior.from_data(
            encoder, train_images, num_components, learnable=name == "vamp", data_range=data_range
        )
    if name == "vamp" and not isinstance(pseudo_init, str):
        mean, std = pseudo_init
        return VampPrior.from_normal(encoder, num_components, input_dim, mean, std, data_range=data_range)
    raise ValueError(f"unknown prior {name!r}: choose one of {', '.join(PRIOR_NAMES)}")


def resolve_prior(spec: PriorSpec, encoder: nn.Module, latent_dim: int, input_dim: int, **options) -> Prior:
    """Turn a :data:`PriorSpec` into a prior module for a model whose top encoder is ``encoder``."""
    if isinstance(spec, Prior):
        return spec
    if isinstance(spec, str):
        return make_prior(spec, encoder, latent_dim, input_dim, **options)
    if callable(spec):
        return spec(encoder)
    raise TypeError(f"a prior must be a name, a Prior or a function of the encoder, got {type(spec)}")
