"""Training: the loop (:mod:`.loop`), its state (:mod:`.state`), optimisers, early stopping,
signals, and data-parallel training over several processes (:mod:`.distributed`)."""

from ..errors import TrainingError, TrainingInterrupted
from .early_stopping import EarlyStopping
from .loop import TrainingHooks, TrainResult, end_epoch, run_epoch, train, validation_elbo, warmup_beta
from .optim import NormalizedGradientAdam, make_optimizer
from .state import EpochPosition, TrainingState

__all__ = [
    "EarlyStopping",
    "EpochPosition",
    "NormalizedGradientAdam",
    "TrainResult",
    "TrainingError",
    "TrainingHooks",
    "TrainingInterrupted",
    "TrainingState",
    "end_epoch",
    "make_optimizer",
    "run_epoch",
    "train",
    "validation_elbo",
    "warmup_beta",
]
