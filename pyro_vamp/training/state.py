"""What a training run is at any moment, as one object a checkpoint saves and restores.

:class:`TrainingState` holds the model, the optimiser, the shuffling generator, the early
stopping, the per-epoch history and, after an interrupt, the position inside the epoch; its
:meth:`~TrainingState.state_dict` also holds every random-number generator (torch, CUDA, numpy,
Python), so that a run restored from it continues bit for bit on a CPU.
"""

import random
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch
from torch import nn

from .early_stopping import EarlyStopping


@dataclass
class EpochPosition:
    """Where an interrupted epoch stopped: its shuffled ``order`` ``[N]``, the number of steps done
    (``next_step``), the summed loss of those steps and the seconds spent on them."""

    order: torch.Tensor
    next_step: int
    loss_sum: float
    seconds: float

    def state_dict(self) -> dict:
        return {"order": self.order, "next_step": self.next_step, "loss_sum": self.loss_sum, "seconds": self.seconds}

    @classmethod
    def from_state_dict(cls, state: dict | None) -> "EpochPosition | None":
        return None if state is None else cls(**state)


@dataclass
class TrainingState:
    """The model, its optimiser, the shuffling generator, early stopping and history of one run.

    ``epoch`` is the last epoch whose end was reached, or the epoch in progress when ``position``
    is set (an interrupt inside it); :attr:`next_epoch` is where training goes on.
    """

    model: nn.Module
    optimizer: torch.optim.Optimizer
    shuffle: torch.Generator
    stopper: EarlyStopping
    device: torch.device
    history: list[dict] = field(default_factory=list)
    epoch: int = 0
    position: EpochPosition | None = None

    @property
    def next_epoch(self) -> int:
        return self.epoch + 1 if self.position is None else self.epoch

    def state_dict(self) -> dict:
        """Everything :meth:`load_state_dict` needs, as tensors and plain data (a checkpoint)."""
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "rng": rng_state(self.shuffle, self.device),
            "early_stopping": self.stopper.state_dict(),
            "metrics": self.history,
            "in_epoch": None if self.position is None else self.position.state_dict(),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore from :meth:`state_dict`; raises ``RuntimeError``, ``ValueError`` or ``KeyError``
        when the weights do not fit the model."""
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        set_rng_state(state["rng"], self.shuffle, self.device)
        self.stopper = EarlyStopping.from_state_dict(state["early_stopping"])
        self.history = list(state["metrics"])
        self.epoch = int(state["epoch"])
        self.position = EpochPosition.from_state_dict(state.get("in_epoch"))


def rng_state(shuffle: torch.Generator, device: torch.device) -> dict[str, Any]:
    """Every random-number generator's state: torch, the device's CUDA generator, numpy, Python,
    and the shuffling generator ``shuffle``."""
    np_state = cast("tuple[Any, ...]", np.random.get_state())
    return {
        "torch": torch.get_rng_state(),
        "cuda": [torch.cuda.get_rng_state(device)] if device.type == "cuda" else [],
        "numpy": {
            "keys": torch.from_numpy(np_state[1].astype(np.int64)),
            "pos": int(np_state[2]),
            "has_gauss": int(np_state[3]),
            "cached": float(np_state[4]),
        },
        "python": random.getstate(),
        "shuffle": shuffle.get_state(),
    }


def set_rng_state(state: dict, shuffle: torch.Generator, device: torch.device) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and device.type == "cuda":  # the generator of the device that drew the noise
        torch.cuda.set_rng_state(state["cuda"][0].cpu(), device)
    np_state = state["numpy"]
    np.random.set_state(
        (
            "MT19937",
            np_state["keys"].numpy().astype(np.uint32),
            np_state["pos"],
            np_state["has_gauss"],
            np_state["cached"],
        )
    )
    random.setstate(state["python"])
    shuffle.set_state(state["shuffle"])
