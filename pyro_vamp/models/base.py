"""What the VAE and the HVAE share: a prior on the top latent and Pyro model/guide conventions."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyro
import torch
from pyro import poutine
from torch import nn

from ..likelihoods import LIKELIHOOD_HEADS
from ..priors import Prior, PriorSpec, resolve_prior


class LatentVariableModel(nn.Module):
    """Base class of the models: an ``nn.Module`` with ``model(x, beta)`` and ``guide(x, beta)``.

    Conventions every model follows (the importance sampler relies on them):

    - ``x`` is ``[N, D]`` in [0, 1]; the data plate is ``pyro.plate("data", N, dim=-1)``, so an
      outer particle plate may sit at dim -2.
    - every latent site of model *and* guide is inside ``poutine.scale(scale=beta)`` (KL warm-up);
      the observed site ``"x"`` is not.
    - ``model(None, num=n)`` samples n images from the generative model; the model returns the
      distribution p(x | z) of its observed site.
    - model and guide register the module's parameters with ``pyro.module`` (so that ``SVI`` with
      a Pyro optimiser trains them) unless :attr:`register_params` is off.

    :param input_dim: D, pixels per image.
    :param likelihood: ``"bernoulli"`` or ``"logistic"`` (discretised logistic).
    :param prior: a prior name, a :class:`~pyro_vamp.priors.Prior`, or a function of the top encoder.
    :param image_shape: (H, W) with H * W = D; needed by the convolutional models.
    :param prior_options: passed to :func:`~pyro_vamp.priors.make_prior` when ``prior`` is a name.
    """

    #: The name under which ``pyro.module`` registers the model's parameters.
    pyro_name = "model"
    #: Call ``pyro.module`` in model and guide. Inside a Pyro trace that call costs about 0.8 ms
    #: (one ``pyro.param`` message per parameter tensor); a loop that steps a torch optimiser over
    #: ``model.parameters()`` itself, as ``pyro-vamp train`` does, turns it off for a while with
    #: :meth:`registration_disabled`.
    register_params = True

    def __init__(
        self,
        input_dim: int,
        likelihood: str = "bernoulli",
        prior: PriorSpec = "standard",
        latent_dim: int = 40,
        hidden: int = 300,
        image_shape: tuple[int, int] | None = None,
        **prior_options,
    ):
        super().__init__()
        if likelihood not in LIKELIHOOD_HEADS:
            raise ValueError(f"unknown likelihood {likelihood!r}: choose one of {', '.join(LIKELIHOOD_HEADS)}")
        if image_shape is not None and image_shape[0] * image_shape[1] != input_dim:
            raise ValueError(f"image_shape {image_shape} does not hold {input_dim} pixels")
        self.input_dim, self.latent_dim, self.hidden = input_dim, latent_dim, hidden
        self.likelihood, self.image_shape = likelihood, image_shape
        self.build_networks()
        self.prior: Prior = resolve_prior(prior, self.top_encoder, latent_dim, input_dim, **prior_options)

    def build_networks(self) -> None:
        """Create the guide's and the model's networks (the prior is attached after)."""
        raise NotImplementedError

    def output_layer(self) -> nn.Module:
        """The likelihood head: features ``[..., hidden]`` -> p(x | z) over ``[..., D]``."""
        return LIKELIHOOD_HEADS[self.likelihood](self.hidden, self.input_dim)

    def model(self, x: torch.Tensor | None = None, beta: float = 1.0, num: int | None = None) -> Any:
        """The generative model p(x, z) as a Pyro function; returns the distribution p(x | z)."""
        raise NotImplementedError

    def guide(self, x: torch.Tensor, beta: float = 1.0, num: int | None = None) -> None:
        """The variational posterior q(z | x) as a Pyro function."""
        raise NotImplementedError

    @property
    def top_encoder(self) -> nn.Module:
        """The guide's encoder of the top latent, q(z_top | x): the one the VampPrior uses."""
        raise NotImplementedError

    @property
    def latent_sites(self) -> tuple[str, ...]:
        """Names of the latent sample sites, top first."""
        raise NotImplementedError

    @contextmanager
    def registration_disabled(self) -> Iterator[None]:
        """Inside this block model and guide do not call ``pyro.module`` (for a loop whose own
        optimiser holds ``self.parameters()``); afterwards the model registers its parameters
        again, so that ``pyro.infer.SVI`` with a Pyro optimiser trains it."""
        previous = self.__dict__.get("register_params")
        self.register_params = False
        try:
            yield
        finally:
            if previous is None:
                del self.register_params
            else:
                self.register_params = previous

    def before_step(self, index: torch.Tensor) -> None:
        """Called by the training loop before each gradient step with the training-set rows of the
        batch (``[B]``, int64); passed on to :meth:`pyro_vamp.priors.Prior.before_step`."""
        self.prior.before_step(index)

    def register(self) -> None:
        """``pyro.module(self.pyro_name, self)`` when :attr:`register_params` is on."""
        if self.register_params:
            pyro.module(self.pyro_name, self)

    def _plate(self, x: torch.Tensor | None, num: int | None):
        size = x.shape[0] if x is not None else num
        if size is None:
            raise ValueError("give either data x or the number of samples num")
        return pyro.plate("data", size, dim=-1)

    @property
    def eval_bytes_per_sample(self) -> int:
        """Memory the importance sampler needs per (sample, data point) row, generously: float32
        activations of the MLPs and the likelihood."""
        return 4 * (4 * self.input_dim + 16 * self.hidden)

    @torch.no_grad()
    def decode_from_top(self, z_top: torch.Tensor) -> torch.Tensor:
        """Images from the generative model below a given top latent ``[n, M]``: ``[n, D]``
        (decoder means E[x | z]; autoregressive models return samples)."""
        return poutine.condition(self.model, data={self.latent_sites[0]: z_top})(None, num=z_top.shape[0]).mean

    @torch.no_grad()
    def sample_images(self, num: int) -> torch.Tensor:
        """Images for z drawn from the generative model (prior first): ``[num, D]``."""
        return self.decode_from_top(self.prior().sample((num,)))

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Images from p(x | z) for z ~ q(z | x): ``[N, D] -> [N, D]`` (means, or samples for
        autoregressive models)."""
        guide_trace = poutine.trace(self.guide).get_trace(x)
        return poutine.replay(self.model, trace=guide_trace)(x).mean
