"""The VampPrior: a mixture of the variational posterior at K pseudo-inputs (paper eq. 7, 13)."""

import torch
from torch import nn

from .base import Prior
from .mixture import EqualGaussianMixture


class VampPrior(Prior):
    """p(z) = 1/K sum_k q(z | u_k) with the guide's own encoder q (paper eq. 7).

    :param encoder: the guide's encoder of the top latent, mapping ``[K, D]`` to
        ``(loc [K, M], scale [K, M])``. It is shared, not copied: its gradient flows
        through q(z|x) and through the prior.
    :param pseudo_inputs: initial u_k, shape ``[K, D]``.
    :param learnable: ``True`` for the VampPrior (u_k is an ``nn.Parameter``),
        ``False`` for VampPrior-data (u_k fixed training images, a buffer).
    :param data_range: u_k are clipped to this range (hard-tanh, as in the original code),
        so they stay in the data space.

    The encoder runs once on all K pseudo-inputs per call of the module, never per data point.
    Use :meth:`from_normal` or :meth:`from_data` to build one.

    Example::

        encoder = GaussianEncoder(784, 40)
        prior = VampPrior.from_normal(encoder, num_components=500, input_dim=784,
                                      mean=0.05, std=0.01)
        z = pyro.sample("z", prior())
    """

    def __init__(
        self,
        encoder: nn.Module,
        pseudo_inputs: torch.Tensor,
        learnable: bool = True,
        data_range: tuple[float, float] = (0.0, 1.0),
    ):
        with torch.no_grad():
            latent_dim = encoder(pseudo_inputs[:1])[0].shape[-1]
        super().__init__(latent_dim)
        self.encoder = encoder
        self.data_range = data_range
        self.learnable = learnable
        if learnable:
            self.raw_pseudo_inputs = nn.Parameter(pseudo_inputs.clone())
        else:
            self.register_buffer("raw_pseudo_inputs", pseudo_inputs.clone())

    @classmethod
    def from_normal(
        cls,
        encoder,
        num_components: int,
        input_dim: int,
        mean: float,
        std: float,
        data_range: tuple[float, float] = (0.0, 1.0),
    ):
        """Learnable u_k initialised N(mean, std^2) per pixel (the original: 0.05, 0.01 for MNIST)."""
        return cls(encoder, mean + std * torch.randn(num_components, input_dim), data_range=data_range)

    @classmethod
    def from_data(
        cls,
        encoder,
        images: torch.Tensor,
        num_components: int,
        learnable=False,
        generator=None,
        data_range: tuple[float, float] = (0.0, 1.0),
    ):
        """u_k = K training images drawn without replacement; ``images``: ``[N, D]`` in the data range.

        ``learnable=False`` gives VampPrior-data (fixed u_k); ``True`` starts a VampPrior from data.
        """
        if num_components > images.shape[0]:
            raise ValueError(f"cannot draw {num_components} pseudo-inputs from {images.shape[0]} training images")
        index = torch.randperm(images.shape[0], generator=generator)[:num_components]
        return cls(encoder, images[index].float(), learnable=learnable, data_range=data_range)

    @property
    def num_components(self) -> int:
        return self.raw_pseudo_inputs.shape[0]

    @property
    def pseudo_inputs(self) -> torch.Tensor:
        """u_k clipped to the data range, ``[K, D]``."""
        return self.raw_pseudo_inputs.clamp(*self.data_range)

    def distribution(self, exact: bool = False):
        locs, scales = self.encoder(self.pseudo_inputs)
        return EqualGaussianMixture(locs, scales, exact=exact)
