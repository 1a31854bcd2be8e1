"""Training with SVI: Trace_ELBO, Adam, KL warm-up, validation, checkpoints (DESIGN.md section 1-3).

The loss of a batch is Pyro's ``Trace_ELBO`` of the model and guide, whose latent sites
are scaled by beta = min(1, epoch / warmup) (epochs counted from 1): exactly
-(ln p(x|z) + beta (ln p(z) - ln q(z|x))) per point (paper eq. 2 with warm-up). The
gradient step is a ``torch.optim.Adam`` over the model's parameters (all of them are
registered with ``pyro.module`` too), which is Pyro's documented pattern for custom
training loops and costs less per step than ``pyro.infer.SVI`` with a Pyro optimiser.
"""

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyro
import torch
from pyro.infer import Trace_ELBO

from .checkpoint import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .data import load_dataset
from .errors import InputError
from .run import BEST_CHECKPOINT, LAST_CHECKPOINT, METRICS_FILE, build_model, resolve_device, write_run_config

VALIDATION_BATCH = 1000


class TrainingError(RuntimeError):
    """Training cannot go on (a NaN or Inf loss); the best checkpoint is left as it was."""


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
    epochs: int
    best_epoch: int
    best_val_elbo: float
    stopped_early: bool
    run_dir: Path


def _rng_state(shuffle: torch.Generator) -> dict:
    np_state = np.random.get_state()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "cached": float(np_state[4])},
        "python": random.getstate(),
        "shuffle": shuffle.get_state(),
    }


def _set_rng_state(state: dict, shuffle: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
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
        for x in split.batches(batch_size, shuffle=False):
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


def train(config: TrainConfig, run_dir: Path | str, resume: bool = False,
          hooks: TrainingHooks | None = None) -> TrainResult:
    """Train the model ``config`` describes, writing the run folder ``run_dir``.

    A folder that already holds a checkpoint is only continued with ``resume=True``
    (never overwritten). Returns where training ended and the best validation ELBO.
    """
    config.validate()
    hooks = hooks or TrainingHooks()
    run_dir = Path(run_dir)
    last_path = run_dir / LAST_CHECKPOINT
    if resume and not last_path.is_file():
        raise InputError(f"--resume: {run_dir} has no {LAST_CHECKPOINT} to resume from")
    if not resume and last_path.exists():
        raise InputError(f"{run_dir} already holds a trained run; pass --resume to continue it or choose another --out")
    device = resolve_device(config.device)
    dataset = load_dataset(config.dataset, config.data_dir, config.split_seed).to(device)

    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    random.seed(config.seed)
    pyro.clear_param_store()
    model = build_model(config, dataset.input_dim, dataset.likelihood, dataset.pseudo_init,
                        dataset.train.unit_interval()).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    shuffle = torch.Generator().manual_seed(config.seed)

    start, best_val, best_epoch = 1, -math.inf, 0
    if resume:
        state = load_checkpoint(last_path, map_location=device)
        _check_resumable(state["config"], config, last_path)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        _set_rng_state(state["rng"], shuffle)
        start, best_val, best_epoch = state["epoch"] + 1, state["best_val_elbo"], state["best_epoch"]
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / METRICS_FILE).write_text("")
    write_run_config(run_dir, config, dataset, device)

    loss_fn = Trace_ELBO().differentiable_loss
    stopped_early = False
    epoch = start - 1
    for epoch in range(start, config.epochs + 1):
        beta = warmup_beta(epoch, config.warmup)
        began = time.perf_counter()
        hooks.start_epoch(epoch, math.ceil(len(dataset.train) / config.batch_size), beta)
        total = 0.0
        model.train()
        with pyro.validation_enabled(False):
            for step, x in enumerate(dataset.train.batches(config.batch_size, shuffle=True, generator=shuffle), 1):
                loss = loss_fn(model.model, model.guide, x, beta) / x.shape[0]
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                value = loss.item()
                if not math.isfinite(value):
                    raise TrainingError(f"the loss became {value} at epoch {epoch}, step {step}; training stopped "
                                        f"and {run_dir / BEST_CHECKPOINT} is unchanged (try a lower --lr)")
                optimizer.step()
                total += value * x.shape[0]
                hooks.step(value)
        model.eval()
        val_elbo = validation_elbo(model, dataset.val)
        improved = val_elbo > best_val
        if improved:
            best_val, best_epoch = val_elbo, epoch
        record = {"epoch": epoch, "beta": beta, "train_loss": total / len(dataset.train), "val_elbo": val_elbo,
                  "best_val_elbo": best_val, "seconds": time.perf_counter() - began}
        with open(run_dir / METRICS_FILE, "a") as f:
            f.write(json.dumps(record) + "\n")
        state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch,
                 "best_val_elbo": best_val, "best_epoch": best_epoch, "config": config.to_dict(),
                 "rng": _rng_state(shuffle)}
        if improved:
            save_checkpoint(state, run_dir / BEST_CHECKPOINT)
        save_checkpoint(state, last_path)
        hooks.end_epoch(record)
        if config.early_stopping and epoch > config.warmup and epoch - max(best_epoch, config.warmup) >= config.early_stopping:
            stopped_early = True
            break
    return TrainResult(epoch, best_epoch, best_val, stopped_early, run_dir)
