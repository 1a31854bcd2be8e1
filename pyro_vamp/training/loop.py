"""The training loop: SVI with Trace_ELBO, KL warm-up, validation, early stopping, checkpoints.

The loss of a batch is Pyro's ``Trace_ELBO`` of the model and guide, whose latent sites
are scaled by beta = min(1, epoch / warmup) (epochs counted from 1): exactly
-(ln p(x|z) + beta (ln p(z) - ln q(z|x))) per point (paper eq. 2 with warm-up). The
gradient step is a torch optimiser over the model's parameters, Pyro's documented pattern for
custom training loops: it costs less per step than ``pyro.infer.SVI`` with a Pyro optimiser,
and the model's per-call ``pyro.module`` registration (about 1.6 ms per step) is turned off
while training runs (:meth:`~pyro_vamp.models.LatentVariableModel.registration_disabled`),
since nothing reads the param store. Argument validation is off in the step loop.

One run is :func:`train`, which prepares a :class:`~pyro_vamp.training.state.TrainingState`
and then alternates :func:`run_epoch` (the steps of one epoch) and :func:`end_epoch` (validation,
early stopping, the metrics line and the checkpoints).

Safety: checkpoints are written atomically after every epoch and hold every RNG state, so
``resume=True`` continues bit for bit on a CPU; SIGINT / SIGTERM finish the current step,
save a checkpoint inside the epoch and raise :class:`~pyro_vamp.errors.TrainingInterrupted`;
a NaN or Inf loss or gradient raises :class:`~pyro_vamp.errors.TrainingError` before anything
is saved.
"""

import contextlib
import json
import math
import random
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyro
import torch
from pyro.infer import Trace_ELBO

from ..config import TrainConfig
from ..data import ImageDataset, Split, load_dataset
from ..errors import InputError, TrainingError, TrainingInterrupted
from ..models import build_model
from ..run_folder import (
    BEST_CHECKPOINT,
    LAST_CHECKPOINT,
    METRICS_FILE,
    load_checkpoint,
    save_checkpoint,
    write_run_config,
)
from ..runtime import resolve_device
from . import distributed
from .distributed import Workers
from .early_stopping import EarlyStopping
from .optim import make_optimizer
from .signals import StopSignals
from .state import EpochPosition, TrainingState

VALIDATION_BATCH = 1000
#: Settings that may differ when a run is resumed.
RESUMABLE_CHANGES = ("epochs", "device", "data_dir")


def warmup_beta(epoch: int, warmup: int) -> float:
    """beta = min(1, epoch / warmup) for epochs counted from 1; 1 without warm-up."""
    return 1.0 if warmup == 0 else min(1.0, epoch / warmup)


class TrainingHooks:
    """Callbacks for a progress display; the default does nothing."""

    def start_epoch(self, epoch: int, num_steps: int, beta: float) -> None: ...

    def step(self, loss: float) -> None: ...

    def end_epoch(self, record: dict) -> None: ...


@dataclass
class TrainResult:
    """Where training ended; ``model`` holds the last weights; ``is_main`` is False on the
    processes of a data-parallel run other than rank 0 (which print nothing)."""

    epochs: int
    best_epoch: int
    best_val_elbo: float
    stopped_early: bool
    run_dir: Path
    model: torch.nn.Module
    is_main: bool = True


@torch.no_grad()
def validation_elbo(model, split: Split, batch_size: int = VALIDATION_BATCH) -> float:
    """Mean single-sample ELBO per point at beta = 1 over ``split`` (a :class:`~pyro_vamp.data.Split`)."""
    elbo = Trace_ELBO()
    total = 0.0
    with model.prior.frozen():
        for x in split.batches(batch_size):
            total += elbo.loss(model.model, model.guide, x)
    return -total / len(split)


def _check_resumable(saved: dict, config: TrainConfig, path: Path) -> None:
    saved_config = {k: v for k, v in saved.items() if k not in RESUMABLE_CHANGES}
    current = {k: v for k, v in config.to_dict().items() if k not in RESUMABLE_CHANGES}
    if saved_config != current:
        diff = sorted(k for k in current if saved_config.get(k) != current[k])
        raise InputError(
            f"--resume: {path} was trained with other settings ({', '.join(diff)}); "
            "use the same options or a new --out folder"
        )


def _registration_disabled(model: torch.nn.Module) -> AbstractContextManager:
    """The model's :meth:`~pyro_vamp.models.LatentVariableModel.registration_disabled` block, for a
    model that has one (no ``pyro.module`` call per step while the loop's optimiser trains it)."""
    disable = getattr(model, "registration_disabled", None)
    return disable() if callable(disable) else contextlib.nullcontext()


def _finite_gradients(parameters: Iterable[torch.Tensor]) -> bool:
    grads = [p.grad for p in parameters if p.grad is not None]
    return bool(torch.isfinite(torch.stack(torch._foreach_norm(grads))).all()) if grads else True


def train(
    config: TrainConfig, run_dir: Path | str, resume: bool = False, hooks: TrainingHooks | None = None
) -> TrainResult:
    """Train the model ``config`` describes, writing the run folder ``run_dir``.

    A folder that already holds a checkpoint is only continued with ``resume=True``
    (never overwritten). Returns where training ended, the best validation ELBO and the model.
    Started by torchrun, the processes train one model data-parallel (:mod:`pyro_vamp.training.distributed`);
    only rank 0 writes the folder and calls ``hooks``.
    """
    config.validate()
    workers, device_name = distributed.join(config.device)
    together = False  # whether every process ends at this point: a return, or an interrupt they agreed on
    try:
        device = resolve_device(device_name)
        result = _train(config, Path(run_dir), resume, hooks or TrainingHooks(), workers, device)
        together = True
        return result
    except TrainingInterrupted:
        together = True
        raise
    finally:
        workers.leave(wait_for_others=together)


class _RunFolder:
    """What the loop writes into the run folder (on rank 0 only): metrics lines and checkpoints."""

    def __init__(self, run_dir: Path, config: TrainConfig, workers: Workers):
        self.run_dir, self.config, self.workers = run_dir, config, workers

    @property
    def last(self) -> Path:
        return self.run_dir / LAST_CHECKPOINT

    def checkpoint(self, state: TrainingState) -> dict:
        return {**state.state_dict(), "config": self.config.to_dict()}

    def save_interrupted(self, state: TrainingState) -> None:
        if self.workers.is_main:
            save_checkpoint(self.checkpoint(state), self.last)

    def save_epoch(self, state: TrainingState, record: dict, improved: bool) -> None:
        if not self.workers.is_main:
            return
        with open(self.run_dir / METRICS_FILE, "a") as f:
            f.write(json.dumps(record) + "\n")
        checkpoint = self.checkpoint(state)
        if improved:
            save_checkpoint(checkpoint, self.run_dir / BEST_CHECKPOINT)
        save_checkpoint(checkpoint, self.last)


def _initial_state(config: TrainConfig, dataset: ImageDataset, device: torch.device) -> TrainingState:
    """Seed every generator with ``config.seed``, build the model and its optimiser: epoch 0."""
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    pyro.clear_param_store()
    model = build_model(
        config, dataset.image_shape, dataset.likelihood, dataset.pseudo_init, dataset.train.unit_interval()
    ).to(device)
    return TrainingState(
        model=model,
        optimizer=make_optimizer(config.optimizer, model.parameters(), config.lr),
        shuffle=torch.Generator().manual_seed(config.seed),
        stopper=EarlyStopping(config.early_stopping, config.warmup),
        device=device,
    )


def _restore(state: TrainingState, path: Path, config: TrainConfig) -> None:
    """Continue ``state`` from the checkpoint at ``path``, which must come from the same settings."""
    saved = load_checkpoint(path, map_location=state.device)
    _check_resumable(saved["config"], config, path)
    try:
        state.load_state_dict(saved)
    except (RuntimeError, ValueError, KeyError) as err:
        raise InputError(
            f"{path} does not match this model ({str(err).splitlines()[0]}); use a new --out folder"
        ) from None


def _train(
    config: TrainConfig, run_dir: Path, resume: bool, hooks: TrainingHooks, workers: Workers, device: torch.device
) -> TrainResult:
    if not workers.is_main:
        hooks = TrainingHooks()
    folder = _RunFolder(run_dir, config, workers)
    if resume and not folder.last.is_file():
        raise InputError(f"--resume: {run_dir} has no {LAST_CHECKPOINT} to resume from")
    if not resume and folder.last.exists():
        raise InputError(f"{run_dir} already holds a trained run; pass --resume to continue it or choose another --out")
    dataset = load_dataset(config.dataset, config.data_dir, config.split_seed).to(device)
    distributed.check_divisible(workers, len(dataset.train), config.batch_size)
    workers.barrier()  # every process has checked the folder before rank 0 writes to it

    state = _initial_state(config, dataset, device)
    if resume:
        _restore(state, folder.last, config)
    if workers.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_run_config(run_dir, config, dataset, device, workers.world_size)
        (run_dir / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in state.history))

    model = state.model
    loss = distributed.ShardLoss(model, Trace_ELBO().differentiable_loss, workers.world_size)
    shard_loss = distributed.data_parallel(loss, device) if workers.parallel else loss
    stopped_early = False
    with StopSignals() as signals, _registration_disabled(model):  # the optimiser holds the parameters
        for epoch in range(state.next_epoch, config.epochs + 1):
            beta = warmup_beta(epoch, config.warmup)
            steps = _EpochSteps(dataset.train, config.batch_size, shard_loss, workers, hooks, signals, folder)
            loss_sum, started = run_epoch(state, epoch, beta, steps)
            record = end_epoch(state, epoch, beta, loss_sum / len(dataset.train), started, dataset.val, folder)
            hooks.end_epoch(record)
            if workers.any(signals.received is not None, device):
                raise TrainingInterrupted(signals.number, epoch, steps.num_steps, folder.last, workers.is_main)
            if state.stopper.should_stop(epoch):
                stopped_early = True
                break
    stopper = state.stopper
    return TrainResult(
        state.epoch, stopper.best_epoch, stopper.best_value, stopped_early, run_dir, model, workers.is_main
    )


@dataclass
class _EpochSteps:
    """What the steps of an epoch use besides the state: the data, the loss, the processes, the
    progress hooks, the signals to watch and the folder to save into when one arrives."""

    train: Split
    batch_size: int
    loss: Callable[..., torch.Tensor]
    workers: Workers
    hooks: TrainingHooks
    signals: StopSignals
    folder: _RunFolder

    @property
    def num_steps(self) -> int:
        return math.ceil(len(self.train) / self.batch_size)


def run_epoch(state: TrainingState, epoch: int, beta: float, steps: _EpochSteps) -> tuple[float, float]:
    """The gradient steps of ``epoch`` at warm-up factor ``beta``, from where an interrupt left it.

    Returns the summed loss over the epoch's data points and the ``time.perf_counter()`` at which the
    epoch would have started had it run without a break. Raises :class:`TrainingError` on a
    non-finite loss or gradient (before the step), and :class:`TrainingInterrupted` after saving a
    checkpoint inside the epoch when a signal arrived.
    """
    workers, device, parameters = steps.workers, state.device, list(state.model.parameters())
    if state.position is not None:  # finish the epoch an interrupt cut short
        position, state.position = state.position, None
    else:
        order = torch.randperm(len(steps.train), generator=state.shuffle)
        position = EpochPosition(order, next_step=0, loss_sum=0.0, seconds=0.0)
    state.epoch = epoch
    began = time.perf_counter()
    total = position.loss_sum
    steps.hooks.start_epoch(epoch, steps.num_steps, beta)
    state.model.train()
    with pyro.validation_enabled(False):
        batches = steps.train.batches(steps.batch_size, position.order, start=position.next_step)
        for step, x_global in enumerate(batches, position.next_step + 1):
            first, rows = workers.shard(x_global.shape[0])
            loss = steps.loss(x_global[first : first + rows], beta, first, x_global.shape[0])
            state.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            value = workers.sum([loss.item()], device)[0] / workers.world_size
            if not math.isfinite(value) or not _finite_gradients(parameters):
                what = f"the loss became {value}" if not math.isfinite(value) else "a gradient became NaN or Inf"
                raise TrainingError(
                    f"{what} at epoch {epoch}, step {step}; training stopped and "
                    f"the checkpoints in {steps.folder.run_dir} are unchanged (try a lower --lr)"
                )
            state.optimizer.step()
            total += value * x_global.shape[0]
            steps.hooks.step(value)
            if workers.any(steps.signals.received is not None, device) and step < steps.num_steps:
                state.position = EpochPosition(
                    position.order, step, total, position.seconds + time.perf_counter() - began
                )
                steps.folder.save_interrupted(state)
                raise TrainingInterrupted(steps.signals.number, epoch, step, steps.folder.last, workers.is_main)
    return total, began - position.seconds


def end_epoch(
    state: TrainingState, epoch: int, beta: float, train_loss: float, started: float, val: Split, folder: _RunFolder
) -> dict:
    """Validate, update early stopping and history, and write the metrics line and checkpoints
    (the best one first when the epoch improved). Returns the epoch's metrics record."""
    state.model.eval()
    val_elbo = validation_elbo(state.model, val)
    improved = state.stopper.update(epoch, val_elbo)
    record = {
        "epoch": epoch,
        "beta": beta,
        "train_loss": train_loss,
        "val_elbo": val_elbo,
        "best_val_elbo": state.stopper.best_value,
        "seconds": time.perf_counter() - started,
    }
    state.history.append(record)
    folder.save_epoch(state, record, improved)
    return record
