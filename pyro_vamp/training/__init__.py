"""Training: the one loop for every model (:mod:`.loop`; :func:`fit` for any Pyro model), the
built-in models from a config (:mod:`.configured`; :func:`train`), its state (:mod:`.state`),
optimisers, early stopping, signals, and data-parallel training over several processes
(:mod:`.distributed`)."""

from ..errors import TrainingError, TrainingInterrupted
from .configured import train
from .early_stopping import EarlyStopping
from .loop import (
    PyroFunctions,
    TrainingHooks,
    TrainResult,
    end_epoch,
    fit,
    run_epoch,
    run_loop,
    validation_elbo,
    warmup_beta,
)
from .optim import NormalizedGradientAdam, make_optimizer
from .state import EpochPosition, TrainingState

__all__ = [
    "EarlyStopping",
    "EpochPosition",
    "NormalizedGradientAdam",
    "PyroFunctions",
    "TrainResult",
    "TrainingError",
    "TrainingHooks",
    "TrainingInterrupted",
    "TrainingState",
    "end_epoch",
    "fit",
    "make_optimizer",
    "run_epoch",
    "run_loop",
    "train",
    "validation_elbo",
    "warmup_beta",
]
