"""Evaluate a trained model: importance-sampled log-likelihood, ELBO, bits/dim, active units."""

import json
import math
import time
from pathlib import Path
from typing import Callable

import pyro
import torch

from .data import Split, load_dataset
from .inference import active_units, importance_sample, posterior_means
from .run import EVAL_FILE, load_run, resolve_device

#: Rows (samples x data points) pushed through the networks at once; bounds peak memory.
MAX_ROWS = 10_000
POINTS_PER_BATCH = 20


@torch.no_grad()
def evaluate_model(model, split: Split, num_samples: int = 5000, max_rows: int = MAX_ROWS,
                   points_per_batch: int = POINTS_PER_BATCH,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """Per-point IS log-likelihood and ELBO over ``split``, with exactly ``num_samples`` samples each.

    Data points go in batches of ``points_per_batch``; samples in chunks of
    ``max_rows // points_per_batch``, so peak memory does not grow with S. The prior's
    component parameters are computed once for the whole evaluation (``prior.frozen()``,
    float64 mixture log-densities).

    Returns ``{"log_likelihood": [N], "elbo": [N], "means": {site: [N, M]}}`` (float64 tensors).
    """
    chunk = max(1, max_rows // points_per_batch)
    log_px, elbo, means = [], [], {name: [] for name in model.latent_sites}
    done = 0
    with model.prior.frozen(), pyro.validation_enabled(False):
        for x in split.batches(points_per_batch, shuffle=False):
            estimate = importance_sample(model.model, model.guide, x, num_samples, chunk)
            log_px.append(estimate.log_likelihood)
            elbo.append(estimate.elbo)
            for name, value in posterior_means(model.guide, x, model.latent_sites).items():
                means[name].append(value)
            done += x.shape[0]
            if progress:
                progress(done, len(split))
    return {"log_likelihood": torch.cat(log_px), "elbo": torch.cat(elbo),
            "means": {name: torch.cat(v) for name, v in means.items()}}


def summarize(result: dict, num_samples: int, input_dim: int) -> dict:
    """The numbers of ``eval.json`` from :func:`evaluate_model`'s per-point results.

    ``test_ll`` is the mean ln p(x) (negative, nats); ``bits_per_dim`` = -test_ll / (D ln 2) (positive).
    """
    ll, elbo = result["log_likelihood"], result["elbo"]
    n = ll.shape[0]
    return {
        "test_ll": ll.mean().item(),
        "test_ll_se": (ll.std().item() / math.sqrt(n)) if n > 1 else 0.0,
        "test_elbo": elbo.mean().item(),
        "bits_per_dim": -ll.mean().item() / (input_dim * math.log(2)),
        "active_units": {name: active_units(m) for name, m in result["means"].items()},
        "samples": num_samples,
        "n_points": n,
    }


def evaluate_run(run_dir: Path | str, num_samples: int = 5000, split: str = "test", device: str = "auto",
                 data_dir: str | None = None, seed: int = 0,
                 progress: Callable[[int, int], None] | None = None) -> dict:
    """Evaluate a run folder's best checkpoint on ``split`` and write ``eval.json`` there."""
    began = time.perf_counter()
    if num_samples < 1:
        raise ValueError("num_samples must be >= 1")
    device = resolve_device(device)
    run = load_run(run_dir, "best", device)
    config = run.config
    dataset = load_dataset(config.dataset, data_dir or config.data_dir, config.split_seed)
    torch.manual_seed(seed)
    run.model.eval()
    result = evaluate_model(run.model, dataset.split(split).to(device), num_samples, progress=progress)
    summary = {
        "dataset": config.dataset, "model": config.model, "prior": config.prior, "split": split,
        "epoch": run.epoch, **summarize(result, num_samples, dataset.input_dim),
        "seconds": time.perf_counter() - began, "device": str(device),
    }
    (Path(run_dir) / EVAL_FILE).write_text(json.dumps(summary, indent=2) + "\n")
    return summary
