"""What every prior module shares: it yields a Pyro distribution over R^M when called."""

from contextlib import AbstractContextManager, contextmanager, nullcontext

import torch
from pyro.distributions import TorchDistribution
from torch import nn


class Prior(nn.Module):
    """A prior over the top latent z in R^M, holding its learnable parameters.

    Calling the module returns a Pyro distribution with ``event_shape == (M,)``
    and ``batch_shape == ()``, for any ``pyro.sample`` site::

        z = pyro.sample("z", prior())

    Register the module (or a module that contains it) with ``pyro.module`` so
    that SVI trains its parameters. Subclasses implement :meth:`distribution`.
    """

    def __init__(self, latent_dim: int):
        super().__init__()
        self.latent_dim = latent_dim
        self._frozen: TorchDistribution | None = None

    def distribution(self, exact: bool = False) -> TorchDistribution:
        """Build the distribution from the current parameters (``exact``: float64 log-densities)."""
        raise NotImplementedError

    def before_step(self, index: torch.Tensor) -> None:
        """Called by the training loop before each gradient step with the training-set rows
        ``index`` (``[B]``, int64) of the step's batch; priors built from training data (the
        Exemplar prior) use it to leave a batch's own points out. The default does nothing."""

    def forward(self) -> TorchDistribution:
        return self._frozen if self._frozen is not None else self.distribution()

    @contextmanager
    def frozen(self):
        """Inside this block, calls return one distribution built once, without gradients,
        with float64 log-densities: what evaluation needs (the VampPrior's encoder runs on
        the K pseudo-inputs once per evaluation, not once per batch)."""
        with torch.no_grad():
            self._frozen = self.distribution(exact=True)
        try:
            yield self._frozen
        finally:
            self._frozen = None


def frozen_prior(model: nn.Module) -> AbstractContextManager:
    """``model.prior.frozen()`` (:meth:`Prior.frozen`: built once, float64) for a model with such a
    prior, else a block that does nothing (a user's model without one)."""
    frozen = getattr(getattr(model, "prior", None), "frozen", None)
    return frozen() if callable(frozen) else nullcontext()
