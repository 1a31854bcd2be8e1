"""Optimisers by name: Adam, and Adam on per-tensor normalised gradients (as in the paper)."""

import torch

from ..config import OPTIMIZER_NAMES


class NormalizedGradientAdam(torch.optim.Adam):
    """Adam applied to g / ||g||_2, each parameter tensor's gradient divided by its own L2 norm
    (Yu et al. 2017, "normalized gradient"; the VampPrior paper trains with it). A zero gradient
    is left as it is.

    Example::

        optimizer = NormalizedGradientAdam(model.parameters(), lr=5e-4)
    """

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            grads = [p.grad for p in group["params"] if p.grad is not None]
            if grads:
                norms = torch._foreach_norm(grads)
                torch._foreach_div_(grads, [torch.where(n > 0, n, torch.ones_like(n)) for n in norms])
        return super().step(closure)


def make_optimizer(name: str, parameters, lr: float) -> torch.optim.Optimizer:
    """``adam`` or ``adam-normalized`` over ``parameters`` (fused kernels where torch has them)."""
    classes = {"adam": torch.optim.Adam, "adam-normalized": NormalizedGradientAdam}
    if name not in classes:
        raise ValueError(f"unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZER_NAMES)}")
    return classes[name](list(parameters), lr=lr, fused=True)
