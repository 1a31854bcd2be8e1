"""Experiment grids on Ray: every config of a folder (or a grid) trained and evaluated as a Ray task.

``pyro-vamp sweep configs/table1/ --out runs/table1 --address auto`` runs each experiment as
one task with the resources it asks for (CPUs, a GPU fraction) on a Ray cluster, or on a local
Ray instance with ``--address local``. A task trains into ``OUT/NAME`` and evaluates the run.
When a worker dies (a lost node, a killed process) Ray retries the task, which resumes from the
run's last checkpoint; a finished stage is never repeated: ``OUT/NAME/sweep.json`` records the
stage (``training``, ``trained``, ``evaluated``), the attempt, the host and the process.
Ray is an optional extra: ``pip install "pyro-vamp[ray]"``. With ``--logger`` every run is tracked
(:mod:`pyro_vamp.training.tracking`); MLflow puts the runs of a sweep in one experiment, named after
``OUT``, in the store ``OUT/mlruns`` unless ``--mlflow-uri`` names another.
"""

import itertools
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .config import TrainConfig, resolve_config
from .errors import InputError
from .run_folder import EVAL_FILE, SWEEP_FILE, can_resume, write_file


@dataclass(frozen=True)
class Experiment:
    """One run of a sweep: its name (the run folder's) and its resolved config."""

    name: str
    config: TrainConfig


@dataclass(frozen=True)
class EvalOptions:
    """What each run's evaluation uses (see :func:`pyro_vamp.evaluation.evaluate_run`)."""

    samples: int = 5000
    subset: int | None = None
    figures: bool = True


def parse_grid(items: list[str]) -> dict[str, list]:
    """``["prior=standard,vamp", "components=100,500"]`` -> ``{"prior": ["standard", "vamp"], ...}``
    (numbers become int or float; the config checks the types)."""
    grid = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key or not values:
            raise InputError(f"--grid {item!r} is not KEY=VALUE[,VALUE...], e.g. --grid prior=standard,vamp")
        grid[key] = [_number_or_text(v.strip()) for v in values.split(",")]
    return grid


def _number_or_text(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def experiments(sources: list[Path], grid: dict[str, list], overrides: dict) -> list[Experiment]:
    """Every config file in ``sources`` (files, or folders of ``.toml`` / ``.json``), each crossed
    with every combination of ``grid``, with ``overrides`` (command-line options) on top.
    Without sources the grid varies the default config."""
    files = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            found = sorted(p for p in source.iterdir() if p.suffix in (".toml", ".json"))
            if not found:
                raise InputError(f"{source} holds no .toml or .json config files")
            files += found
        elif source.is_file():
            files.append(source)
        else:
            raise InputError(f"config {source} does not exist")
    runs = []
    bases: list[Path | None] = list(files) or [None]  # no file: the grid varies the default config
    for file, combination in itertools.product(bases, itertools.product(*grid.values())):
        point = dict(zip(grid, combination, strict=True))
        name = "-".join([file.stem if file else "run"] + [f"{k}-{v}" for k, v in point.items()])
        runs.append(Experiment(name, resolve_config(file, {**point, **overrides})))
    names = [r.name for r in runs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError(
            f"two experiments would share the run folder {duplicated[0]}; give config files distinct names"
        )
    return runs


def _record(run_dir: Path, new_attempt: bool = False, **fields) -> dict:
    """Update ``sweep.json`` with ``fields`` (counting one more attempt if ``new_attempt``); returns it."""
    path = run_dir / SWEEP_FILE
    record = json.loads(path.read_text()) if path.is_file() else {"attempt": 0}
    record.update(fields, attempt=record["attempt"] + new_attempt)
    write_file(path, (json.dumps(record, indent=2) + "\n").encode(), make_parents=True)
    return record


def run_experiment(experiment: Experiment, run_dir: Path, options: EvalOptions) -> dict:
    """Train (resuming after a lost attempt) and evaluate one experiment; returns its eval summary.

    Safe to call again after any interruption: training continues from the last checkpoint and
    stages already finished are skipped.
    """
    from .evaluation import evaluate_run
    from .training import train
    from .training.tracking import log_evaluation

    run_dir = Path(run_dir)
    record = _record(run_dir, new_attempt=True, host=socket.gethostname(), pid=os.getpid())
    if record.get("stage") == "evaluated":
        return json.loads((run_dir / EVAL_FILE).read_text())
    if record.get("stage") != "trained":
        _record(run_dir, stage="training")
        train(experiment.config, run_dir, resume=can_resume(run_dir))
        _record(run_dir, stage="trained")
    summary = evaluate_run(run_dir, num_samples=options.samples, subset=options.subset, make_figures=options.figures)
    log_evaluation(run_dir, summary, experiment.config.logger, experiment.config.mlflow_uri, options.figures)
    _record(run_dir, stage="evaluated")
    return summary


def import_ray():
    try:
        import ray
    except ImportError:
        raise InputError('the sweep runs on Ray, which is not installed: pip install "pyro-vamp[ray]"') from None
    return ray


def run_sweep(
    runs: list[Experiment],
    out: Path,
    address: str = "local",
    cpus_per_run: float = 1,
    gpus_per_run: float = 0,
    retries: int = 3,
    options: EvalOptions = EvalOptions(),
    on_done: Callable[[str, dict | None, str | None], None] | None = None,
) -> dict[str, dict | None]:
    """Run ``runs`` as Ray tasks into ``out/NAME``; returns each run's eval summary (None if it failed).

    :param address: ``local`` starts a Ray instance on this machine; ``auto`` or ``ray://HOST:PORT``
        joins a running cluster (``ray start --head`` on one node, ``ray start --address ...`` on others).
    :param retries: how many times Ray retries a task whose worker died (it resumes from the checkpoint).
    :param on_done: called with (name, summary or None, error text or None) as each run ends.
    """
    ray = import_ray()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray.init(
            address=None if address == "local" else address,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    task = ray.remote(run_experiment).options(
        num_cpus=cpus_per_run, num_gpus=gpus_per_run, max_retries=retries, retry_exceptions=False
    )
    pending = {task.remote(run, (out / run.name).resolve(), options): run.name for run in runs}
    results = {}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        name = pending.pop(done[0])
        try:
            results[name], error = ray.get(done[0]), None
        except Exception as err:  # a run that failed for good: report it, finish the others
            results[name], error = None, str(err).strip().splitlines()[-1]
        if on_done is not None:
            on_done(name, results[name], error)
    return results
