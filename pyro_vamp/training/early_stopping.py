"""Early stopping on the validation ELBO with a look-ahead, not counted during warm-up."""

import math
from dataclasses import asdict, dataclass


@dataclass
class EarlyStopping:
    """Track the best validation ELBO; stop after ``patience`` epochs past warm-up without a better one.

    An epoch inside warm-up (epoch <= ``warmup``) can set a new best but never counts towards
    the look-ahead. ``patience = 0`` never stops.

    Example::

        stopper = EarlyStopping(patience=50, warmup=100)
        for epoch in range(1, 2001):
            stopper.update(epoch, validation_elbo)
            if stopper.should_stop(epoch):
                break
    """

    patience: int
    warmup: int
    best_value: float = -math.inf
    best_epoch: int = 0

    def update(self, epoch: int, value: float) -> bool:
        """Record the validation ELBO of ``epoch``; True if it is a new best."""
        if value > self.best_value:
            self.best_value, self.best_epoch = value, epoch
            return True
        return False

    def epochs_without_improvement(self, epoch: int) -> int:
        """Epochs after warm-up since the best one."""
        return max(0, epoch - max(self.best_epoch, self.warmup))

    def should_stop(self, epoch: int) -> bool:
        return self.patience > 0 and self.epochs_without_improvement(epoch) >= self.patience

    def state_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_state_dict(cls, state: dict) -> "EarlyStopping":
        return cls(**state)
