"""The training loop, for any Pyro model: SVI with Trace_ELBO, KL warm-up, validation, early
stopping, checkpoints, exact resume, signals and the NaN guard.

The loss of a batch is Pyro's ``Trace_ELBO`` of the model and guide, whose latent sites
are scaled by beta = min(1, epoch / warmup) (epochs counted from 1): exactly
-(ln p(x|z) + beta (ln p(z) - ln q(z|x))) per point (paper eq. 2 with warm-up). The
gradient step is a torch optimiser over the model's parameters, Pyro's documented pattern for
custom training loops: it costs less per step than ``pyro.infer.SVI`` with a Pyro optimiser,
and the model's per-call ``pyro.module`` registration (about 1.6 ms per step) is turned off
while training runs (:meth:`~pyro_vamp.models.LatentVariableModel.registration_disabled`),
since nothing reads the param store. Argument validation is off in the step loop.

:func:`fit` trains a user's model on tensors; ``pyro-vamp train`` trains a built-in model through
:func:`pyro_vamp.training.train`; both run :func:`run_loop`, which alternates :func:`run_epoch`
(the steps of one epoch) and :func:`end_epoch` (validation, early stopping, the metrics line and
the checkpoints) over a :class:`~pyro_vamp.training.state.TrainingState`.

Safety: checkpoints are written atomically after every epoch and hold every RNG state, so
``resume=True`` continues bit for bit on a CPU; SIGINT / SIGTERM finish the current step,
save a checkpoint inside the epoch and raise :class:`~pyro_vamp.errors.TrainingInterrupted`;
a NaN or Inf loss, gradient, parameter (checked after the last update of an epoch and before an
interrupt's save) or validation ELBO raises :class:`~pyro_vamp.errors.TrainingError` before anything
is saved. ``resume=True`` may change ``epochs``, ``device``, ``data_dir`` and ``lr`` (e.g. a lower
learning rate after a NaN stop), each change recorded in ``config.json``; with nothing left to do
it writes nothing.
"""

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyro
import torch
from pyro.infer import Trace_ELBO
from torch import nn

from ..config import TrainConfig
from ..data import Split
from ..data.dataset import as_split, split_indices
from ..errors import InputError, TrainingError, TrainingInterrupted
from ..priors import frozen_prior
from ..run_folder import RunWriter
from ..runtime import resolve_device
from . import distributed, precision
from .distributed import Workers
from .early_stopping import EarlyStopping
from .optim import make_optimizer
from .signals import StopSignals
from .state import EpochPosition, TrainingState

VALIDATION_BATCH = 1000
#: The settings of the loop itself (the :class:`TrainConfig` fields :func:`fit` takes).
LOOP_SETTINGS = ("epochs", "warmup", "early_stopping", "batch_size", "lr", "optimizer", "seed", "device", "precision")
#: Settings that may differ when a run is resumed.
RESUMABLE_CHANGES = ("epochs", "device", "data_dir", "lr", "logger", "mlflow_uri", "log_images_every")


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


class PyroFunctions(nn.Module):
    """A Pyro model function and guide function with the module that holds their parameters, as one
    object with ``model(x, beta)`` and ``guide(x, beta)`` methods, for :func:`fit` and
    :func:`pyro_vamp.evaluation.evaluate`.

    :param model: ``model(x, beta=1.0)``: data plate ``pyro.plate("data", N, dim=-1)``, latent sites
        inside ``poutine.scale(scale=beta)``, the observed site not.
    :param guide: ``guide(x, beta=1.0)`` with the same plate and scaling.
    :param module: every parameter of model and guide (e.g. an ``nn.ModuleDict`` of the networks and
        the prior).
    """

    def __init__(self, model: Callable[..., Any], guide: Callable[..., Any], module: nn.Module):
        super().__init__()
        self.model_fn, self.guide_fn, self.module = model, guide, module

    def model(self, x: torch.Tensor, beta: float = 1.0) -> Any:
        return self.model_fn(x, beta)

    def guide(self, x: torch.Tensor, beta: float = 1.0) -> Any:
        return self.guide_fn(x, beta)


def seed_everything(seed: int) -> None:
    """Seed torch, numpy and Python's ``random`` with ``seed``."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    random.seed(seed)


def fit(
    model: nn.Module,
    data: "torch.Tensor | Split | torch.utils.data.Dataset",
    *,
    run_dir: Path | str,
    val: "torch.Tensor | Split | torch.utils.data.Dataset | None" = None,
    val_fraction: float = 0.1,
    resume: bool = False,
    hooks: TrainingHooks | None = None,
    **settings: Any,
) -> TrainResult:
    """Train any Pyro model with pyro-vamp's loop: warm-up, early stopping, checkpoints, exact
    resume, signals, the NaN guard and ``metrics.jsonl``, written into ``run_dir``.

    :param model: an ``nn.Module`` holding every parameter, with Pyro methods ``model(x, beta)`` and
        ``guide(x, beta)`` (a data plate over the rows of ``x`` at dim -1; latent sites, in model *and*
        guide, inside ``poutine.scale(scale=beta)``), e.g. a :class:`PyroFunctions`.
    :param data: the training data: a tensor ``[N, ...]`` (rows flattened to ``[N, D]``), a
        :class:`~pyro_vamp.data.Split`, or a ``torch.utils.data.Dataset``.
    :param val: validation data for early stopping and the best checkpoint; without it a fraction
        ``val_fraction`` of ``data`` is held out (a random split by ``seed``).
    :param settings: the loop's settings, by their :class:`~pyro_vamp.config.TrainConfig` names and
        with its defaults: ``epochs``, ``warmup``, ``early_stopping``, ``batch_size``, ``lr``,
        ``optimizer``, ``seed``, ``device``, ``precision``.

    Seed torch before building ``model`` for reproducible initial weights; the loop seeds the
    shuffling and the noise with ``seed``. Pyro's param store is cleared first, so that parameters
    left from another model under the same ``pyro.module`` name are not reused.

    Example::

        result = fit(PyroFunctions(model, guide, nn.ModuleDict(...)), x, run_dir="runs/mine", epochs=50)
    """
    unknown = sorted(set(settings) - set(LOOP_SETTINGS))
    if unknown:
        raise InputError(f"fit: unknown setting {unknown[0]!r}; the settings are {', '.join(LOOP_SETTINGS)}")
    config = TrainConfig().updated(settings, "fit").validate()
    train_split = as_split(data)
    if val is None:
        if not 0 < val_fraction < 1 or round(val_fraction * len(train_split)) < 1:
            raise InputError(f"fit: val_fraction {val_fraction} leaves no validation points; pass val=... instead")
        held_out = round(val_fraction * len(train_split))
        val_rows, train_rows = split_indices(len(train_split), (held_out, len(train_split) - held_out), config.seed)
        train_split, val_split = train_split.subset(train_rows), train_split.subset(val_rows)
    else:
        val_split = as_split(val)
    loop_settings = {key: getattr(config, key) for key in LOOP_SETTINGS}
    record = {"fit": loop_settings, "data": {"train_size": len(train_split), "input_dim": train_split.images.shape[1]}}
    with _processes(config.device) as (workers, device):
        writer = RunWriter(Path(run_dir), loop_settings, workers.is_main, RESUMABLE_CHANGES)
        with writer.claim(resume):  # the folder's lock, held until the end
            distributed.check_divisible(workers, len(train_split), config.batch_size)
            workers.barrier()
            model = model.to(device)
            train_split, val_split = train_split.to(device), val_split.to(device)
            pyro.clear_param_store()
            _check_parameters_are_in_module(model, train_split)
            seed_everything(config.seed)
            return run_loop(model, train_split, val_split, config, writer, record, resume, hooks, workers, device)


def _check_parameters_are_in_module(model: nn.Module, data: Split) -> None:
    """The loop's optimiser steps ``model.parameters()``: refuse a ``pyro.param`` the module lacks."""
    own = {id(p) for p in model.parameters()}
    with torch.no_grad(), pyro.validation_enabled(False):
        x = data.as_float(torch.arange(min(2, len(data)), device=data.images.device))
        pyro.poutine.trace(cast(Callable[..., Any], model.guide)).get_trace(x)
        pyro.poutine.trace(cast(Callable[..., Any], model.model)).get_trace(x)
    foreign = [name for name, p in pyro.get_param_store().named_parameters() if id(p) not in own]
    pyro.clear_param_store()
    if foreign:
        raise InputError(
            f"fit trains the parameters of the module it is given, and pyro.param {foreign[0]!r} is not one of "
            "them: make it an nn.Parameter of the module (or a PyroParam of a PyroModule)"
        )


@contextlib.contextmanager
def _processes(device_name: str) -> Iterator[tuple[Workers, torch.device]]:
    """Join the data-parallel process group torchrun describes (none: one process) and leave it."""
    workers, device_name = distributed.join(device_name)
    together = False  # whether every process ends here: a return, or an interrupt they agreed on
    try:
        yield workers, resolve_device(device_name)
        together = True
    except TrainingInterrupted:
        together = True
        raise
    finally:
        workers.leave(wait_for_others=together)


@torch.no_grad()
def validation_elbo(model: nn.Module, split: Split, batch_size: int = VALIDATION_BATCH) -> float:
    """Mean single-sample ELBO per point at beta = 1 over ``split`` (a :class:`~pyro_vamp.data.Split`)."""
    elbo = Trace_ELBO()
    total = 0.0
    with pyro.validation_enabled(False), frozen_prior(model):  # NaN or Inf: a non-finite ELBO, not a crash
        for x in split.batches(batch_size):
            total += elbo.loss(model.model, model.guide, x)
    return -total / len(split)


def _registration_disabled(model: torch.nn.Module) -> AbstractContextManager:
    """The model's :meth:`~pyro_vamp.models.LatentVariableModel.registration_disabled` block, for a
    model that has one (no ``pyro.module`` call per step while the loop's optimiser trains it)."""
    disable = getattr(model, "registration_disabled", None)
    return disable() if callable(disable) else contextlib.nullcontext()


def _finite_gradients(parameters: Iterable[torch.Tensor]) -> bool:
    grads = [p.grad for p in parameters if p.grad is not None]
    return _all_finite(grads)


@torch.no_grad()
def _all_finite(tensors: Sequence[torch.Tensor]) -> bool:
    return bool(torch.isfinite(torch.stack(torch._foreach_norm(list(tensors)))).all()) if tensors else True


def _stop_advice(run_dir: Path) -> str:
    return (
        f"training stopped and the checkpoints in {run_dir} are unchanged; continue from the last one with a "
        "lower learning rate: the same command with --resume and a smaller --lr"
    )


def run_loop(
    model: nn.Module,
    train: Split,
    val: Split,
    config: TrainConfig,
    writer: RunWriter,
    record: dict,
    resume: bool,
    hooks: TrainingHooks | None,
    workers: Workers,
    device: torch.device,
) -> TrainResult:
    """The one training loop: the state of ``model`` (resumed from ``writer``'s last checkpoint with
    ``resume``), then epochs of :func:`run_epoch` and :func:`end_epoch` until ``config.epochs`` or
    early stopping. ``record`` is what ``config.json`` says of the run. Only the main process calls
    ``hooks`` and writes."""
    hooks = hooks if hooks is not None and workers.is_main else TrainingHooks()
    state = TrainingState(
        model=model,
        optimizer=make_optimizer(config.optimizer, model.parameters(), config.lr),
        shuffle=torch.Generator().manual_seed(config.seed),
        stopper=EarlyStopping(config.early_stopping, config.warmup),
        device=device,
    )
    saved = writer.load_last(device) if resume else None  # None: nothing saved yet, start from the beginning
    if saved is not None:
        try:
            state.load_state_dict(saved)
        except (RuntimeError, ValueError, KeyError) as err:
            first = str(err).splitlines()[0]
            raise InputError(f"{writer.last} does not match this model ({first}); use a new --out folder") from None
        for group in state.optimizer.param_groups:  # a learning rate changed on resume (recorded in config.json)
            group["lr"] = config.lr
    finished = (
        saved is not None
        and state.position is None
        and (state.next_epoch > config.epochs or state.stopper.should_stop(state.epoch))
    )
    writer.start(record, state.history, device, workers.world_size, config=not finished)  # finished: the record stays
    loss = distributed.ShardLoss(model, Trace_ELBO().differentiable_loss, workers.world_size)
    shard_loss = distributed.data_parallel(loss, device) if workers.parallel else loss
    stopped_early = finished and state.stopper.should_stop(state.epoch)
    with (
        StopSignals() as signals,
        _registration_disabled(model),  # the optimiser holds the parameters
        precision.matmul_precision(config.precision, device),
    ):
        steps = _EpochSteps(train, config.batch_size, shard_loss, workers, hooks, signals, writer, config.precision)
        for epoch in range(state.next_epoch, config.epochs + 1 if not finished else 0):
            beta = warmup_beta(epoch, config.warmup)
            loss_sum, started = run_epoch(state, epoch, beta, steps)
            epoch_record = end_epoch(state, epoch, beta, loss_sum / len(train), started, val, writer)
            hooks.end_epoch(epoch_record)
            if workers.any(signals.received is not None, device):
                raise TrainingInterrupted(signals.number, epoch, steps.num_steps, writer.last, workers.is_main)
            if state.stopper.should_stop(epoch):
                stopped_early = True
                break
    stopper = state.stopper
    return TrainResult(
        state.epoch, stopper.best_epoch, stopper.best_value, stopped_early, writer.run_dir, model, workers.is_main
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
    writer: RunWriter
    precision: str = "fp32"

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
    before_step = getattr(state.model, "before_step", None)  # a model may want each batch's rows
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
            if callable(before_step):
                before_step(position.order[(step - 1) * steps.batch_size : step * steps.batch_size])
            first, rows = workers.shard(x_global.shape[0])
            with precision.autocast(steps.precision, device):
                loss = steps.loss(x_global[first : first + rows], beta, first, x_global.shape[0])
            state.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            value = workers.sum([loss.item()], device)[0] / workers.world_size
            if not math.isfinite(value) or not _finite_gradients(parameters):
                what = f"the loss became {value}" if not math.isfinite(value) else "a gradient became NaN or Inf"
                raise TrainingError(f"{what} at epoch {epoch}, step {step}; {_stop_advice(steps.writer.run_dir)}")
            state.optimizer.step()
            total += value * x_global.shape[0]
            steps.hooks.step(value)
            stopping = workers.any(steps.signals.received is not None, device) and step < steps.num_steps
            if (stopping or step == steps.num_steps) and not _all_finite(parameters):  # before anything is saved
                raise TrainingError(
                    f"a parameter became NaN or Inf in the update of epoch {epoch}, step {step}; "
                    f"{_stop_advice(steps.writer.run_dir)}"
                )
            if stopping:
                seconds = position.seconds + time.perf_counter() - began
                state.position = EpochPosition(position.order, step, total, seconds)
                steps.writer.save_interrupted(state.state_dict())
                raise TrainingInterrupted(steps.signals.number, epoch, step, steps.writer.last, workers.is_main)
    return total, began - position.seconds


def end_epoch(
    state: TrainingState, epoch: int, beta: float, train_loss: float, started: float, val: Split, writer: RunWriter
) -> dict:
    """Validate, update early stopping and history, and write the metrics line and checkpoints
    (the best one first when the epoch improved). Returns the epoch's metrics record."""
    state.model.eval()
    val_elbo = validation_elbo(state.model, val)
    if not math.isfinite(val_elbo):
        raise TrainingError(
            f"the validation ELBO became {val_elbo} after epoch {epoch}; {_stop_advice(writer.run_dir)}"
        )
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
    writer.save_epoch(state.state_dict(), record, improved)
    return record
