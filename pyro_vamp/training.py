"""Training with SVI: Trace_ELBO, Adam, KL warm-up, validation, checkpoints (DESIGN.md section 1-3).

The loss of a batch is Pyro's ``Trace_ELBO`` of the model and guide, whose latent sites
are scaled by beta = min(1, epoch / warmup) (epochs counted from 1): exactly
-(ln p(x|z) + beta (ln p(z) - ln q(z|x))) per point (paper eq. 2 with warm-up). The
gradient step is a torch optimiser over the model's parameters, Pyro's documented pattern for
custom training loops: it costs less per step than ``pyro.infer.SVI`` with a Pyro optimiser,
and the model's per-call ``pyro.module`` registration (about 1.6 ms per step) is turned off,
since nothing reads the param store. Argument validation is off in the step loop.

Safety: checkpoints are written atomically after every epoch and hold every RNG state, so
``resume=True`` continues bit for bit on a CPU; SIGINT / SIGTERM finish the current step,
save a checkpoint inside the epoch and raise :class:`TrainingInterrupted`; a NaN or Inf
loss or gradient raises :class:`TrainingError` before anything is saved.
"""

import json
import math
import random
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyro
import torch
from pyro.infer import Trace_ELBO

from . import distributed
from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import load_dataset
from .early_stopping import EarlyStopping
from .errors import InputError
from .optim import make_optimizer
from .run import BEST_CHECKPOINT, LAST_CHECKPOINT, METRICS_FILE, build_model, resolve_device, write_run_config

VALIDATION_BATCH = 1000


class TrainingError(RuntimeError):
    """Training cannot go on (a NaN or Inf loss or gradient); the checkpoints are left as they were."""


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM arrived; the current step finished and a checkpoint was saved.

    ``exit_code`` is 128 + the signal number (130 for SIGINT, 143 for SIGTERM); ``is_main`` is
    False on the processes of a data-parallel run other than rank 0 (which saved the checkpoint).
    """

    def __init__(self, signum: int, epoch: int, step: int, path: Path, is_main: bool = True):
        self.exit_code, self.is_main = 128 + signum, is_main
        super().__init__(f"{signal.Signals(signum).name} at epoch {epoch}, step {step}: saved {path}; "
                         "continue with --resume")


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


def _rng_state(shuffle: torch.Generator, device: torch.device) -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": [torch.cuda.get_rng_state(device)] if device.type == "cuda" else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": random.getstate(),
        "shuffle": shuffle.get_state(),
    }


def _set_rng_state(state: dict, shuffle: torch.Generator, device: torch.device) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and device.type == "cuda":  # the generator of the device that drew the noise
        torch.cuda.set_rng_state(state["cuda"][0].cpu(), device)
    np_state = state["numpy"]
    np.random.set_state(("MT19937", np_state["keys"].numpy().astype(np.uint32), np_state["pos"],
                         np_state["has_gauss"], np_state["cached"]))
    random.setstate(state["python"])
    shuffle.set_state(state["shuffle"])


@torch.no_grad()
def validation_elbo(model, split, batch_size: int = VALIDATION_BATCH) -> float:
    """Mean single-sample ELBO per point at beta = 1 over ``split`` (a :class:`~pyro_vamp.data.Split`)."""
    elbo = Trace_ELBO()
    total = 0.0
    with model.prior.frozen():
        for x in split.batches(batch_size):
            total += elbo.loss(model.model, model.guide, x)
    return -total / len(split)


def _check_resumable(saved: dict, config: TrainConfig, path: Path) -> None:
    ignored = {"epochs", "device", "data_dir"}
    saved_config = {k: v for k, v in saved.items() if k not in ignored}
    current = {k: v for k, v in config.to_dict().items() if k not in ignored}
    if saved_config != current:
        diff = sorted(k for k in current if saved_config.get(k) != current[k])
        raise InputError(f"--resume: {path} was trained with other settings ({', '.join(diff)}); "
                         "use the same options or a new --out folder")


class _StopSignals:
    """While active, SIGINT and SIGTERM only set ``received``; the loop checks it after each step."""

    def __init__(self):
        self.received: int | None = None
        self._previous = {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame):
        self.received = signum

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)


def _finite_gradients(parameters) -> bool:
    grads = [p.grad for p in parameters if p.grad is not None]
    return bool(torch.isfinite(torch.stack(torch._foreach_norm(grads))).all()) if grads else True


def train(config: TrainConfig, run_dir: Path | str, resume: bool = False,
          hooks: TrainingHooks | None = None) -> TrainResult:
    """Train the model ``config`` describes, writing the run folder ``run_dir``.

    A folder that already holds a checkpoint is only continued with ``resume=True``
    (never overwritten). Returns where training ended, the best validation ELBO and the model.
    Started by torchrun, the processes train one model data-parallel (:mod:`pyro_vamp.distributed`);
    only rank 0 writes the folder and calls ``hooks``.
    """
    config.validate()
    workers, device_name = distributed.join(config.device)
    together = False  # whether every process ends at this point: a return, or an interrupt they agreed on
    try:
        result = _train(config, Path(run_dir), resume, hooks or TrainingHooks(), workers, resolve_device(device_name))
        together = True
        return result
    except TrainingInterrupted:
        together = True
        raise
    finally:
        workers.leave(wait_for_others=together)


def _train(config, run_dir, resume, hooks, workers, device) -> TrainResult:
    if not workers.is_main:
        hooks = TrainingHooks()
    last_path = run_dir / LAST_CHECKPOINT
    if resume and not last_path.is_file():
        raise InputError(f"--resume: {run_dir} has no {LAST_CHECKPOINT} to resume from")
    if not resume and last_path.exists():
        raise InputError(f"{run_dir} already holds a trained run; pass --resume to continue it or choose another --out")
    dataset = load_dataset(config.dataset, config.data_dir, config.split_seed).to(device)
    distributed.check_divisible(workers, len(dataset.train), config.batch_size)
    workers.barrier()  # every process has checked the folder before rank 0 writes to it

    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    pyro.clear_param_store()
    model = build_model(config, dataset.image_shape, dataset.likelihood, dataset.pseudo_init,
                        dataset.train.unit_interval()).to(device)
    model.register_params = False  # the optimiser below holds the parameters
    parameters = list(model.parameters())
    optimizer = make_optimizer(config.optimizer, parameters, config.lr)
    shuffle = torch.Generator().manual_seed(config.seed)
    stopper = EarlyStopping(config.early_stopping, config.warmup)
    start, in_epoch, history = 1, None, []
    if resume:
        state = load_checkpoint(last_path, map_location=device)
        _check_resumable(state["config"], config, last_path)
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
        except (RuntimeError, ValueError, KeyError) as err:
            raise InputError(f"{last_path} does not match this model ({str(err).splitlines()[0]}); "
                             "use a new --out folder")
        _set_rng_state(state["rng"], shuffle, device)
        stopper = EarlyStopping.from_state_dict(state["early_stopping"])
        history, in_epoch = state["metrics"], state.get("in_epoch")
        start = state["epoch"] + 1 if in_epoch is None else state["epoch"]
    if workers.is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_run_config(run_dir, config, dataset, device, workers.world_size)
        (run_dir / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in history))

    def checkpoint(epoch: int, position: dict | None) -> dict:
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                "config": config.to_dict(), "rng": _rng_state(shuffle, device),
                "early_stopping": stopper.state_dict(), "metrics": history, "in_epoch": position}

    shard_loss = distributed.ShardLoss(model, Trace_ELBO().differentiable_loss, workers.world_size)
    if workers.parallel:
        shard_loss = distributed.data_parallel(shard_loss, device)
    num_steps = math.ceil(len(dataset.train) / config.batch_size)
    stopped_early, epoch = False, start - 1
    with _StopSignals() as signals:
        for epoch in range(start, config.epochs + 1):
            beta = warmup_beta(epoch, config.warmup)
            if in_epoch is not None:  # finish the epoch an interrupt cut short
                order, first_step, total, seconds = in_epoch["order"], in_epoch["next_step"], in_epoch["loss_sum"], \
                    in_epoch["seconds"]
                in_epoch = None
            else:
                order, first_step, total, seconds = torch.randperm(len(dataset.train), generator=shuffle), 0, 0.0, 0.0
            began = time.perf_counter()
            hooks.start_epoch(epoch, num_steps, beta)
            model.train()
            with pyro.validation_enabled(False):
                batches = dataset.train.batches(config.batch_size, order, start=first_step)
                for step, x_global in enumerate(batches, first_step + 1):
                    first, rows = workers.shard(x_global.shape[0])
                    loss = shard_loss(x_global[first:first + rows], beta, first, x_global.shape[0])
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    value = workers.sum([loss.item()], device)[0] / workers.world_size
                    if not math.isfinite(value) or not _finite_gradients(parameters):
                        what = f"the loss became {value}" if not math.isfinite(value) else "a gradient became NaN or Inf"
                        raise TrainingError(f"{what} at epoch {epoch}, step {step}; training stopped and "
                                            f"the checkpoints in {run_dir} are unchanged (try a lower --lr)")
                    optimizer.step()
                    total += value * x_global.shape[0]
                    hooks.step(value)
                    if workers.any(signals.received is not None, device) and step < num_steps:
                        position = {"order": order, "next_step": step, "loss_sum": total,
                                    "seconds": seconds + time.perf_counter() - began}
                        if workers.is_main:
                            save_checkpoint(checkpoint(epoch, position), last_path)
                        raise TrainingInterrupted(_signal_number(signals), epoch, step, last_path, workers.is_main)
            model.eval()
            val_elbo = validation_elbo(model, dataset.val)
            improved = stopper.update(epoch, val_elbo)
            record = {"epoch": epoch, "beta": beta, "train_loss": total / len(dataset.train), "val_elbo": val_elbo,
                      "best_val_elbo": stopper.best_value, "seconds": seconds + time.perf_counter() - began}
            history.append(record)
            if workers.is_main:
                with open(run_dir / METRICS_FILE, "a") as f:
                    f.write(json.dumps(record) + "\n")
                state = checkpoint(epoch, None)
                if improved:
                    save_checkpoint(state, run_dir / BEST_CHECKPOINT)
                save_checkpoint(state, last_path)
            hooks.end_epoch(record)
            if workers.any(signals.received is not None, device):
                raise TrainingInterrupted(_signal_number(signals), epoch, num_steps, last_path, workers.is_main)
            if stopper.should_stop(epoch):
                stopped_early = True
                break
    return TrainResult(epoch, stopper.best_epoch, stopper.best_value, stopped_early, run_dir, model, workers.is_main)


def _signal_number(signals: "_StopSignals") -> int:
    """The signal this process received, or SIGTERM when only another process received one."""
    return signals.received if signals.received is not None else signal.SIGTERM
