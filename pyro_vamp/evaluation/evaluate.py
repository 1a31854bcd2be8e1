"""Evaluate a trained model: importance-sampled log-likelihood, ELBO and its terms, bits/dim,
active units, and the paper's figures, written to the run folder."""

import json
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pyro
import torch
from pyro import poutine
from pyro.poutine.util import site_is_subsample
from torch import nn

from ..data import Split
from ..data.dataset import as_split
from ..inference import active_units, importance_sample, posterior_means, top_latent_decomposition
from ..inference.memory import bytes_per_row, rows_per_chunk
from ..models import LatentVariableModel
from ..priors import VampPrior, frozen_prior
from ..run_folder import (
    EVAL_FILE,
    FIGURE_FILES,
    evaluation_to_keep,
    holding_run_lock,
    load_run,
    log_likelihood_file,
    logger,
    read_metrics,
    write_file,
    write_npy,
)
from ..runtime import resolve_device
from . import figures
from .images import save_image_grid
from .report import write_report

POINTS_PER_BATCH = 20
#: Draws from each q(z | x_n) for the ELBO decomposition of the top latent.
DECOMPOSITION_SAMPLES = 10
SUBSET_SEED = 0


@torch.no_grad()
def evaluate_model(
    model,
    split: Split,
    num_samples: int = 5000,
    max_rows: int = 5000,
    points_per_batch: int = POINTS_PER_BATCH,
    progress: Callable[[int, int], None] | None = None,
    decomposition_samples: int = DECOMPOSITION_SAMPLES,
) -> dict:
    """Per-point IS log-likelihood, ELBO and reconstruction term over ``split``, with exactly
    ``num_samples`` samples each, and (for a :class:`~pyro_vamp.models.LatentVariableModel`, with
    ``decomposition_samples`` > 0) the ELBO decomposition of its top latent over the whole split
    (:func:`~pyro_vamp.inference.top_latent_decomposition`, under ``result["decomposition"]``).

    Data points go in batches of ``points_per_batch``; samples in chunks of
    ``max_rows // points_per_batch``, so peak memory does not grow with S. The prior's
    component parameters are computed once for the whole evaluation (``prior.frozen()``,
    float64 mixture log-densities).

    Returns ``{"log_likelihood", "elbo", "reconstruction": [N], "means": {site: [N, M]}}``
    (float64 tensors but the means).
    """
    points_per_batch = max(1, min(points_per_batch, max_rows))
    chunk = max(1, max_rows // points_per_batch)
    sites = latent_sites(model, split)
    results: dict[str, list[torch.Tensor]] = {"log_likelihood": [], "elbo": [], "reconstruction": []}
    means: dict[str, list[torch.Tensor]] = {name: [] for name in sites}
    done = 0
    with frozen_prior(model), pyro.validation_enabled(False):
        for x in split.batches(points_per_batch):
            estimate = importance_sample(model.model, model.guide, x, num_samples, chunk)
            for key in results:
                results[key].append(getattr(estimate, key))
            for name, value in posterior_means(model.guide, x, sites).items():
                means[name].append(value)
            done += x.shape[0]
            if progress:
                progress(done, len(split))
        decomposition = None  # after the sampler, so that its numbers do not depend on this
        if decomposition_samples > 0 and isinstance(model, LatentVariableModel):
            decomposition = top_latent_decomposition(model, split.as_float(), decomposition_samples)
    return {
        **{key: torch.cat(v) for key, v in results.items()},
        "means": {name: torch.cat(v) for name, v in means.items()},
        **({"decomposition": decomposition} if decomposition is not None else {}),
    }


def latent_sites(model: nn.Module, data: Split) -> tuple[str, ...]:
    """The model's ``latent_sites`` (top first), or else the latent sample sites of its guide in the
    order the guide draws them (found by tracing it on one data point)."""
    sites = getattr(model, "latent_sites", None)
    if sites is not None:
        return tuple(sites)
    with torch.no_grad(), pyro.validation_enabled(False):
        x = data.as_float(torch.arange(1, device=data.images.device))
        trace = poutine.trace(cast(Callable[..., Any], model.guide)).get_trace(x)
    return tuple(
        name
        for name, site in trace.nodes.items()
        if site["type"] == "sample" and not site["is_observed"] and not site_is_subsample(site)
    )


def evaluate(
    model: nn.Module,
    data: "torch.Tensor | Split | torch.utils.data.Dataset",
    num_samples: int = 5000,
    *,
    max_memory: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Importance-sampled evaluation of any model with Pyro ``model(x, beta)`` and ``guide(x, beta)``
    methods (see :func:`pyro_vamp.training.fit`) on ``data`` (a tensor ``[N, ...]``, a ``Split`` or a
    ``Dataset``), on the device of the model's parameters.

    :param num_samples: importance samples per data point (the paper: 5,000).
    :param max_memory: bytes the sampler may use (default: half the free memory); samples go in
        chunks within it, so peak memory does not grow with ``num_samples``.
    :returns: per-point float64 tensors ``[N]``: ``log_likelihood`` (ln p(x)), ``elbo``,
        ``reconstruction`` (E_q ln p(x|z)) and ``kl`` (reconstruction - ELBO); ``means``
        (``{site: [N, M]}``, E_q[z | x]); ``active_units`` (``{site: count}``, Burda et al. 2015);
        ``summary`` (the means and standard errors, as in ``eval.json``).
    """
    split = as_split(data)
    device = next(iter(model.parameters())).device
    split = split.to(device)
    model.eval()
    rows = rows_per_chunk(device, bytes_per_row(model, split.images.shape[1]), max_memory)
    result = evaluate_model(model, split, num_samples, max_rows=rows, progress=progress)
    result["kl"] = result["reconstruction"] - result["elbo"]
    result["summary"] = summarize(result, num_samples, split.images.shape[1])
    result["active_units"] = result["summary"]["active_units"]
    return result


def summarize(result: dict, num_samples: int, input_dim: int) -> dict:
    """The numbers of ``eval.json`` from :func:`evaluate_model`'s per-point results.

    ``test_ll`` is the mean ln p(x) (negative, nats) with its standard error ``test_ll_se``;
    ``bits_per_dim`` = -test_ll / (D ln 2) (positive); ``reconstruction`` = E_q ln p(x|z) and
    ``kl`` = reconstruction - ELBO, both per point. With a ``decomposition`` in ``result``:
    ``kl_top`` = ``mutual_information`` + ``marginal_kl`` of the top latent, each with ``*_se``.
    """
    ll, elbo, reconstruction = result["log_likelihood"], result["elbo"], result["reconstruction"]
    n = ll.shape[0]
    return {
        "test_ll": ll.mean().item(),
        "test_ll_se": (ll.std().item() / math.sqrt(n)) if n > 1 else 0.0,
        "test_elbo": elbo.mean().item(),
        "reconstruction": reconstruction.mean().item(),
        "kl": (reconstruction - elbo).mean().item(),
        "bits_per_dim": -ll.mean().item() / (input_dim * math.log(2)),
        "active_units": {name: active_units(m) for name, m in result["means"].items()},
        "samples": num_samples,
        "n_points": n,
        **(result["decomposition"].summary() if result.get("decomposition") is not None else {}),
    }


def original_scale(summary_ll: torch.Tensor, dataset) -> dict:
    """Which scale ``test_ll`` is on, and for standardised real-valued data (a Gaussian likelihood on
    x_std = (x - mean) / std) the log-likelihood in the data's own units, by the change of
    variables ln p(x) = ln p(x_std) - sum_d ln std_d (``log_jacobian``); bits per dimension, a
    measure for discrete data, are then None."""
    if dataset.standardize is None:
        return {"ll_scale": "data"}
    jacobian = dataset.log_jacobian()
    return {
        "ll_scale": "standardised",
        "log_jacobian": jacobian,
        "test_ll_original": summary_ll.mean().item() + jacobian,
        "bits_per_dim": None,
    }


def display_shape(run) -> tuple[int, ...] | None:
    """The shape image figures draw a data point in: (H, W) grey, (H, W, C) colour, or None where
    data points are no images in [0, 1] (plain vectors, or real values under a Gaussian likelihood)."""
    if run.image_shape is None or run.likelihood == "gaussian":
        return None
    return run.image_shape if run.channels == 1 else (*run.image_shape, run.channels)


def write_figures(run, split: Split, log_likelihoods: torch.Tensor, out_dir: Path, num: int = 100) -> dict:
    """Every figure of a run: samples, reconstructions, pseudo-inputs and images generated from
    them (VampPriors; images only where data points are images, see :func:`display_shape`), the
    log-likelihood histogram, the aggregate posterior and the training curves. Returns name -> path."""
    model, shape = run.model, display_shape(run)
    paths = {
        "ll_histogram": figures.save_log_likelihood_histogram(
            log_likelihoods,
            out_dir / FIGURE_FILES["ll_histogram"],
            f"{run.config.dataset} {run.config.model} + {run.config.prior}",
        ),
    }
    if shape is not None:
        paths["samples"] = save_image_grid(model.sample_images(num), shape, out_dir / FIGURE_FILES["samples"])
        paths["reconstructions"] = figures.save_reconstructions(
            model,
            split.as_float(figures.display_selection(len(split), 50).to(split.images.device)),
            shape,
            out_dir / FIGURE_FILES["reconstructions"],
        )
    if shape is not None and isinstance(model.prior, VampPrior):
        paths["pseudo_inputs"] = figures.save_pseudo_inputs(model.prior, shape, out_dir / FIGURE_FILES["pseudo_inputs"])
        components = range(min(5, model.prior.num_components))
        paths["pseudo_input_samples"] = figures.save_pseudo_input_samples(
            model, components, 9, shape, out_dir / FIGURE_FILES["pseudo_input_samples"]
        )
    if isinstance(model, LatentVariableModel):
        paths["aggregate_posterior"] = figures.save_aggregate_posterior(
            model,
            split.as_float(torch.arange(min(2000, len(split)), device=split.images.device)),
            out_dir / FIGURE_FILES["aggregate_posterior"],
            f"{run.config.dataset} {run.config.model} + {run.config.prior}: top latent",
        )
    records = read_metrics(run.run_dir)
    if records:
        paths["training_curves"] = figures.save_training_curves(records, out_dir / FIGURE_FILES["training_curves"])
    return paths


@holding_run_lock  # one command at a time writes a run folder
def evaluate_run(
    run_dir: Path | str,
    *,
    num_samples: int = 5000,
    split: str = "test",
    device: str = "auto",
    data_dir: str | None = None,
    seed: int = 0,
    subset: int | None = None,
    max_memory: int | None = None,
    make_figures: bool = True,
    progress: Callable[[int, int], None] | None = None,
    replace: bool = False,
) -> dict:
    """Evaluate a run folder's best checkpoint on ``split`` and write into the folder
    ``eval.json``, ``{split}_ll.npy`` (per-point ln p(x)), ``report.md`` and the figures.

    A quicker evaluation never replaces a fuller one: when ``eval.json`` holds one of another split,
    or of more points or more samples, the new numbers are returned (and the CLI prints them) but
    no file is written, and a warning says so, unless ``replace``.

    :param num_samples: importance samples per data point (the paper: 5,000).
    :param split: ``test`` or ``val``.
    :param device: ``auto``, ``cpu`` or ``cuda``.
    :param data_dir: where the dataset's files are, instead of the folder the run was trained from.
    :param seed: seed of the importance samples and the figures.
    :param subset: evaluate only this many points, drawn at random with a fixed seed.
    :param max_memory: bytes the importance sampler may use (default: half the free memory).
    :param make_figures: write the figures and ``report.md``.
    :param progress: called with (points done, points in all) after each batch of points.
    :param replace: write the files even over a fuller evaluation.
    """
    began = time.perf_counter()
    if num_samples < 1:
        raise ValueError("num_samples must be >= 1")
    run_dir = Path(run_dir)
    on = resolve_device(device)
    run = load_run(run_dir, "best", on, data_dir=data_dir)  # refuses own data that changed
    config = run.config
    dataset = run.data()
    data = dataset.split(split)
    if subset is not None and subset < len(data):
        generator = torch.Generator().manual_seed(SUBSET_SEED)
        data = data.subset(torch.randperm(len(data), generator=generator)[:subset])
    data = data.to(on)
    kept = None if replace else evaluation_to_keep(run_dir, split, len(data), num_samples)
    torch.manual_seed(seed)
    run.model.eval()
    rows = rows_per_chunk(on, bytes_per_row(run.model, dataset.input_dim), max_memory)
    result = evaluate_model(run.model, data, num_samples, max_rows=rows, progress=progress)
    summary = {
        "dataset": config.dataset,
        "model": config.model,
        "prior": config.prior,
        "split": split,
        "epoch": run.epoch,
        **summarize(result, num_samples, dataset.input_dim),
        "seconds": time.perf_counter() - began,
        "device": str(on),
        "rows_per_chunk": rows,
        **original_scale(summary_ll=result["log_likelihood"], dataset=dataset),
    }
    if kept is not None:
        logger.warning(
            f"kept the fuller evaluation in {run_dir}/{EVAL_FILE} ({kept['split']} split, {kept['n_points']} points x "
            f"{kept['samples']} samples, epoch {kept.get('epoch')}) and its files; this one ({split}, {len(data)} x "
            f"{num_samples}) wrote nothing: pass --replace to write it instead"
        )
        return summary
    write_npy(run_dir / log_likelihood_file(split), result["log_likelihood"].cpu().numpy())
    figure_paths = write_figures(run, data, result["log_likelihood"], run_dir) if make_figures else {}
    write_file(run_dir / EVAL_FILE, (json.dumps(summary, indent=2) + "\n").encode())
    write_report(run_dir, summary, config, figure_paths)
    return summary
