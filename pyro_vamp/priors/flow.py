"""The flow prior: a standard Gaussian pushed through a learnable normalising flow (RealNVP-style
affine coupling layers from Pyro's own transforms, with fixed permutations between them)."""

import pyro.distributions as dist
import torch
from pyro.distributions.transforms import AffineCoupling, Permute, affine_coupling

from .base import Prior


class FlowPrior(Prior):
    """p(z) = N(f^{-1}(z) | 0, I) |det d f^{-1} / dz|, with f = P_L o C_L o ... o P_1 o C_1.

    Each C_l is Pyro's :class:`~pyro.distributions.transforms.AffineCoupling` (RealNVP, Dinh et al.
    2017): the first M // 2 coordinates pass unchanged and set a shift and a log-scale (clipped to
    [-5, 3], Pyro's default) of the others through a dense network of two hidden layers of
    ``hidden`` ReLU units. Each P_l is a fixed random permutation of the M coordinates (a buffer,
    saved in checkpoints), so every coordinate is transformed by the layers that follow. The last
    layer of every coupling network starts at zero, so an untrained flow prior is N(0, I).

    :param latent_dim: M (at least 2).
    :param depth: L, the number of coupling layers.
    :param hidden: units per hidden layer of each coupling network.

    The distribution is a :class:`pyro.distributions.TransformedDistribution` with
    ``event_shape == (M,)``: ``log_prob`` inverts the couplings exactly (one pass of each network),
    ``rsample`` runs them forward. The log-density is float32 also in ``frozen()``: unlike the
    mixtures it has no cancelling terms.

    Example::

        prior = FlowPrior(40, depth=4, hidden=300)
        z = pyro.sample("z", prior())
    """

    _zero: torch.Tensor

    def __init__(self, latent_dim: int, depth: int = 4, hidden: int = 300):
        if latent_dim < 2:
            raise ValueError(f"a coupling flow needs at least 2 latent units, got {latent_dim}")
        if depth < 1 or hidden < 1:
            raise ValueError(f"flow depth and hidden units must be positive, got {depth} and {hidden}")
        super().__init__(latent_dim)
        self.depth, self.hidden = depth, hidden
        self.couplings = torch.nn.ModuleList()
        for layer in range(depth):
            coupling = affine_coupling(latent_dim, hidden_dims=[hidden, hidden])
            last = coupling.nn.layers[-1]
            torch.nn.init.zeros_(last.weight)  # start at the identity: p(z) = N(0, I)
            torch.nn.init.zeros_(last.bias)
            self.couplings.append(coupling)
            generator = torch.Generator().manual_seed(layer)  # the same permutations in every run
            self.register_buffer(f"permutation_{layer}", torch.randperm(latent_dim, generator=generator))
        self.register_buffer("_zero", torch.zeros(()))

    @property
    def transforms(self) -> list:
        """C_1, P_1, ..., C_L, P_L: the transforms from the base N(0, I) to z."""
        steps: list = []
        for layer, coupling in enumerate(self.couplings):
            assert isinstance(coupling, AffineCoupling)
            steps += [coupling, Permute(getattr(self, f"permutation_{layer}"))]
        return steps

    def distribution(self, exact: bool = False) -> dist.TransformedDistribution:
        base = dist.Normal(self._zero.expand(self.latent_dim), 1.0).to_event(1)
        return dist.TransformedDistribution(base, self.transforms)
