"""``pyro-vamp train / eval / sample / compare / sweep / datasets``: parse options, call the library, print.

Exit codes: 0 success, 2 bad usage or bad input (one line on stderr), 1 an unexpected
failure (one line; set PYRO_VAMP_DEBUG=1 for the traceback), 130 / 143 interrupted by
SIGINT / SIGTERM (training saves a checkpoint first).
"""

import contextlib
import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from pyro_vamp.config import DEVICES, LOGGER_NAMES, TrainConfig, resolve_config, setting_type
from pyro_vamp.errors import InputError, TrainingError, TrainingInterrupted
from pyro_vamp.runtime import tune_malloc


def _stderr():
    from .progress import stderr

    return stderr


def _stdout():
    from rich.console import Console

    return Console()


def _none_if_empty(context, parameter, value):
    return value or None


def train_config_options(command: Callable) -> Callable:
    """One ``--option`` per :class:`TrainConfig` field, with the field's help, choices and default:
    the config is the only list of training settings. The options default to None, so that only
    those given override the ``--config`` file; a field with ``multiple`` metadata is a repeatable
    option whose values arrive as a tuple (None when not given)."""
    for setting in reversed(dataclasses.fields(TrainConfig)):
        choices, folder = setting.metadata["choices"], setting.metadata["folder"]
        kind = (
            click.Choice(choices) if choices else click.Path(file_okay=False) if folder else setting_type(setting.type)
        )
        default = "" if setting.default is None else f" [default: {setting.default}]"
        form: dict[str, Any] = {"multiple": True, "callback": _none_if_empty} if setting.metadata["multiple"] else {}
        if setting.type is bool:  # a flag: None when not given, so that the --config file's value stands
            form, kind, default = {"is_flag": True, "default": None}, bool, ""
        name = f"--{setting.name.replace('_', '-')}"
        option = click.option(name, type=kind, help=setting.metadata["help"] + default, **form)
        command = option(command)
    return command


def versions() -> str:
    """``pyro-vamp 0.1.0 (torch 2.13.0, pyro-ppl 1.9.2, Python 3.11.7)``, from the installed packages'
    metadata: nothing is imported, so ``--version`` answers as fast as ``--help``."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return (
        f"pyro-vamp {installed('pyro-vamp')} (torch {installed('torch')}, pyro-ppl {installed('pyro-ppl')}, "
        f"Python {platform.python_version()})"
    )


def _print_versions(context, parameter, value) -> None:
    if value and not context.resilient_parsing:
        click.echo(versions())
        context.exit()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_versions,
    help="Show the versions of pyro-vamp, torch, Pyro and Python, and exit.",
)
def cli():
    """VampPrior VAEs in Pyro: train, evaluate and sample (Tomczak & Welling 2017)."""


@cli.command()
@train_config_options
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML or JSON config file.")
@click.option("--out", "run_dir", required=True, type=click.Path(file_okay=False), help="Run folder to write.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@click.option(
    "--repeat",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Train N runs, OUT/repeat-I with seed and split seed + I (the paper's repeated runs).",
)
def train(config_file, run_dir, resume, repeat, **options):
    """Train a model; options override the --config file, which overrides the paper defaults.

    SIGINT / SIGTERM finish the current step, save, and exit 130 / 143; --resume continues.
    Data-parallel over N processes: torchrun --nproc-per-node N -m pyro_vamp.cli train ...
    """
    from pyro_vamp.run_folder import can_resume
    from pyro_vamp.training import train as run_training

    from .progress import LazyProgress, RichTrainingHooks

    config = resolve_config(config_file, options)
    runs = (
        [(config, Path(run_dir))]
        if repeat == 1
        else [
            (
                dataclasses.replace(config, seed=config.seed + i, split_seed=config.split_seed + i),
                Path(run_dir) / f"repeat-{i}",
            )
            for i in range(repeat)
        ]
    )
    for run_config, folder in runs:
        progress = LazyProgress()
        try:
            # with --repeat, --resume continues the runs that have started and starts the others
            resumed = resume and (repeat == 1 or can_resume(folder))
            result = run_training(
                run_config, folder, resume=resumed, hooks=RichTrainingHooks(progress, run_config.epochs)
            )
        finally:
            progress.close()
        how = "stopped early" if result.stopped_early else "finished"
        if result.is_main:  # in a data-parallel run only rank 0 reports
            _stderr().print(
                f"{how} after epoch {result.epochs}; best validation ELBO {result.best_val_elbo:.2f} "
                f"at epoch {result.best_epoch}; run folder {result.run_dir}"
            )


@cli.command(name="eval")
@click.argument("run_dir", type=click.Path())
@click.option(
    "--samples", default=5000, show_default=True, type=click.IntRange(min=1), help="Importance samples per data point."
)
@click.option("--split", default="test", show_default=True, type=click.Choice(["test", "val"]))
@click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICES))
@click.option("--data-dir", type=click.Path(file_okay=False), help="Override the run's data folder.")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--subset", type=click.IntRange(min=1), help="Evaluate only N random points (a quick estimate).")
@click.option(
    "--max-memory", type=click.IntRange(min=1), help="MiB the sampler may use [default: half the free memory]."
)
@click.option("--figures/--no-figures", default=True, show_default=True, help="Write the figures and report.md.")
@click.option("--json", "as_json", is_flag=True, help="Print eval.json on stdout.")
@click.option(
    "--logger",
    "loggers",
    type=click.Choice(LOGGER_NAMES),
    multiple=True,
    callback=_none_if_empty,
    help="Send the numbers and figures to this tracker (repeatable). [default: those the run was trained with]",
)
@click.option("--mlflow-uri", help="MLflow tracking URI. [default: the run's]")
@click.option("--replace", is_flag=True, help="Write the files even over a fuller evaluation (more points or samples).")
def evaluate(
    run_dir, samples, split, device, data_dir, seed, subset, max_memory, figures, as_json, loggers, mlflow_uri, replace
):
    """Importance-sampled log-likelihood, ELBO and its terms, bits/dim, active units and figures.

    Writes RUN_DIR/eval.json, RUN_DIR/SPLIT_ll.npy (per-point ln p(x)), report.md and the PNG figures;
    a quicker evaluation (another split, fewer points or samples) only prints, unless --replace.
    """
    from rich.table import Table

    from pyro_vamp.evaluation import evaluate_run
    from pyro_vamp.training.tracking import check_installed, evaluation_loggers, log_evaluation

    from .progress import LazyProgress

    check_installed(evaluation_loggers(run_dir, loggers))  # before any work
    progress = LazyProgress()
    try:
        summary = evaluate_run(
            run_dir,
            num_samples=samples,
            split=split,
            device=device,
            data_dir=data_dir,
            seed=seed,
            subset=subset,
            max_memory=max_memory * 2**20 if max_memory else None,
            make_figures=figures,
            progress=lambda done, total: progress.update(
                f"eval: {samples} samples per point", completed=done, total=total
            ),
            replace=replace,
        )
    finally:
        progress.close()
    log_evaluation(run_dir, summary, loggers, mlflow_uri, figures)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    table = Table(
        title=f"{run_dir}: {summary['dataset']} {summary['model']} + {summary['prior']} "
        f"(epoch {summary['epoch']}, {summary['split']} split)"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("log-likelihood (nats) ± SE", f"{summary['test_ll']:.2f} ± {summary['test_ll_se']:.2f}")
    table.add_row("ELBO (nats)", f"{summary['test_elbo']:.2f}")
    table.add_row("reconstruction, KL (nats)", f"{summary['reconstruction']:.2f}, {summary['kl']:.2f}")
    if summary["bits_per_dim"] is not None:
        table.add_row("bits per dimension", f"{summary['bits_per_dim']:.4f}")
    if "test_ll_original" in summary:
        table.add_row("log-likelihood in the data's units (nats)", f"{summary['test_ll_original']:.2f}")
    table.add_row("active units", ", ".join(f"{k}: {v}" for k, v in summary["active_units"].items()))
    table.add_row("points x samples", f"{summary['n_points']} x {summary['samples']}")
    table.add_row("seconds", f"{summary['seconds']:.1f}")
    _stdout().print(table)


@cli.command()
@click.argument("run_dir", type=click.Path())
@click.option("-n", "num", default=100, show_default=True, type=click.IntRange(min=1), help="Number of images.")
@click.option("--out", type=click.Path(dir_okay=False), help="PNG file. [default: RUN_DIR/samples.png]")
@click.option(
    "--pseudo-input",
    "components",
    type=click.IntRange(min=0),
    multiple=True,
    help="Generate from this VampPrior pseudo-input instead (repeatable): one captioned block per "
    "pseudo-input, the pseudo-input then N images, 10 to a row. [default out: RUN_DIR/pseudo_input_samples.png]",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICES))
def sample(run_dir, num, out, components, seed, device):
    """Draw images from the trained generative model as a PNG grid (decoder means; the PixelCNN samples)."""
    import torch

    from pyro_vamp.evaluation.evaluate import display_shape
    from pyro_vamp.evaluation.figures import save_pseudo_input_samples
    from pyro_vamp.evaluation.images import MAX_GRID_IMAGES, save_image_grid
    from pyro_vamp.run_folder import FIGURE_FILES, load_run
    from pyro_vamp.runtime import resolve_device

    if (num + 1) * len(components) > MAX_GRID_IMAGES or num > MAX_GRID_IMAGES:
        raise InputError(
            f"-n {num}{' with ' + str(len(components)) + ' pseudo-inputs' if components else ''} is more images than "
            f"one picture holds (at most {MAX_GRID_IMAGES}); draw several pictures with different --seed and --out"
        )
    run = load_run(run_dir, "best", resolve_device(device))  # (with the Exemplar prior's training images)
    shape = display_shape(run)
    if shape is None:
        raise InputError(f"{run_dir} was trained on data that are not images; use pyro-vamp encode for its latents")
    torch.manual_seed(seed)
    if components:
        path = save_pseudo_input_samples(
            run.model, components, num, shape, out or Path(run_dir) / FIGURE_FILES["pseudo_input_samples"]
        )
        _stderr().print(f"wrote {num} samples from each of pseudo-inputs {', '.join(map(str, components))} to {path}")
        return
    path = save_image_grid(run.model.sample_images(num), shape, out or Path(run_dir) / FIGURE_FILES["samples"])
    _stderr().print(f"wrote {num} samples to {path}")


@cli.command()
@click.argument("run_dir", type=click.Path())
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "val", "test"]))
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="NPZ file: the posterior means E[z | x] of every latent layer ([N, M] each, named by the latent "
    "site, top first), and `labels` when the data have them.",
)
@click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICES))
def encode(run_dir, split, out, device):
    """The latent codes of a split: posterior means of every latent layer, for your own analysis."""
    import io

    import numpy as np

    from pyro_vamp.evaluation.latent import encode as encode_split
    from pyro_vamp.run_folder import load_run, write_file
    from pyro_vamp.runtime import resolve_device

    on = resolve_device(device)
    run = load_run(run_dir, "best", on)
    dataset = run.data()
    arrays = {name: means.numpy() for name, means in encode_split(run.model, dataset.split(split).to(on)).items()}
    if dataset.labels is not None:
        arrays["labels"] = dataset.labels[split].numpy()
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path = write_file(out, buffer.getvalue(), make_parents=True)
    shapes = ", ".join(f"{name} {list(a.shape)}" for name, a in arrays.items())
    _stderr().print(f"wrote the {split} split's latent codes to {path}: {shapes}")


@cli.command()
@click.argument("run_dir", type=click.Path())
@click.option("--between", nargs=2, type=click.IntRange(min=0), required=True, metavar="I J",
              help="The two data points (rows of the split) to go between.")  # fmt: skip
@click.option("--steps", default=10, show_default=True, type=click.IntRange(min=2), help="Images along the line.")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "val", "test"]))
@click.option("--out", required=True, type=click.Path(dir_okay=False), help="PNG file.")
@click.option("--device", default="auto", show_default=True, type=click.Choice(DEVICES))
def interpolate(run_dir, between, steps, split, out, device):
    """Images decoded along a straight line between two data points' top latents (posterior means):
    one row, data point I, the path, data point J."""
    import torch

    from pyro_vamp.evaluation.evaluate import display_shape
    from pyro_vamp.evaluation.images import save_image_grid
    from pyro_vamp.evaluation.latent import interpolate as interpolate_between
    from pyro_vamp.run_folder import load_run
    from pyro_vamp.runtime import resolve_device

    on = resolve_device(device)
    run = load_run(run_dir, "best", on)
    shape = display_shape(run)
    if shape is None:
        raise InputError(f"{run_dir} was trained on data that are not images; use pyro-vamp encode for its latents")
    points = run.data().split(split)
    if max(between) >= len(points):
        raise InputError(f"--between {between[0]} {between[1]}: the {split} split has rows 0 to {len(points) - 1}")
    x = points.unit_interval()[list(between)].to(on)
    torch.manual_seed(0)
    path = interpolate_between(run.model, x[0], x[1], steps)
    grid = save_image_grid(torch.cat([x[:1], path.to(on), x[1:]]), shape, out, ncols=steps + 2)
    _stderr().print(f"wrote {steps} images between {split} points {between[0]} and {between[1]} to {grid}")


def comparison_block(row: dict) -> list[str]:
    """One row of the comparison as lines for a narrow terminal: the experiment, its headline number
    (``ln p(x)`` or bits/dim, mean ± standard deviation over repeated runs), the active units of each
    latent layer, and the rest."""
    components = f" (K = {row['K']})" if row["K"] != "" else ""
    return [
        f"[bold]{row['dataset']}[/]  {row['model']} + {row['prior']}{components}",
        f"    {row['metric']}: {row['value']}",
        f"    active units (per latent layer): {row['active units']}",
        f"    points x samples {row['points']}, runs {row['runs']}",
        f"    epochs {row['epochs']}, train {row['train s']} s, eval {row['eval s']} s",
    ]


@cli.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(["table", "markdown", "csv"]))
@click.option("--out", type=click.Path(dir_okay=False), help="Write the table to this file instead of stdout.")
def compare(run_dirs, fmt, out):
    """A Table-1-style comparison of evaluated run folders: ln p(x) (binary data) or bits/dim (grey)."""
    print_comparison(run_dirs, fmt, out)


def print_comparison(run_dirs, fmt: str, out: str | None) -> None:
    from rich.measure import Measurement
    from rich.table import Table

    from pyro_vamp.evaluation.report import COLUMNS, comparison_rows, format_csv, format_markdown

    rows = comparison_rows(run_dirs)
    if fmt == "table" and out is None:
        console = _stdout()
        table = Table(title="comparison")
        for column in COLUMNS:
            right = column in ("value", "epochs", "train s", "eval s")
            table.add_column(column, justify="right" if right else "left", no_wrap=column in ("metric", "value"))
        for row in rows:
            table.add_row(*(str(row[c]) for c in COLUMNS))
        unlimited = console.options.update(max_width=10_000)
        if Measurement.get(console, unlimited, table).maximum <= console.width:
            console.print(table)
        else:  # too narrow for the table: one block per experiment, every number whole
            console.print("comparison", soft_wrap=True)
            for row in rows:
                console.print()
                for line in comparison_block(row):
                    console.print(line, soft_wrap=True, highlight=False)
        return
    text = format_csv(rows) if fmt == "csv" else format_markdown(rows)
    if out:
        from pyro_vamp.run_folder import write_file

        write_file(Path(out), text.encode(), make_parents=True)
        _stderr().print(f"wrote {len(rows)} rows to {out}")
    else:
        click.echo(text, nl=False)


@cli.command()
@click.argument("configs", nargs=-1, type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder of the run folders.")
@click.option(
    "--grid",
    multiple=True,
    metavar="KEY=V1,V2",
    help="Vary a config key over values (repeatable; the runs are every combination, for each config).",
)
@click.option(
    "--address",
    default="local",
    show_default=True,
    help="local: a Ray instance on this machine; auto or ray://HOST:PORT: a running Ray cluster.",
)
@click.option("--cpus-per-run", default=1.0, show_default=True, type=click.FloatRange(min=0))
@click.option(
    "--gpus-per-run",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="GPU share of each run, e.g. 0.5 for two runs per GPU.",
)
@click.option(
    "--retries",
    default=3,
    show_default=True,
    type=click.IntRange(min=0),
    help="Retries of a run whose worker died; each resumes from the run's last checkpoint.",
)
@click.option("--epochs", type=int, help="Override every config's epochs.")
@click.option("--device", type=click.Choice(DEVICES), help="Override every config's device.")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Override every config's data folder.")
@click.option(
    "--logger",
    type=click.Choice(LOGGER_NAMES),
    multiple=True,
    callback=_none_if_empty,
    help="Track every run with this tracker (repeatable); MLflow: one experiment named after --out, "
    "stored in OUT/mlruns unless --mlflow-uri. [default: each config's]",
)
@click.option("--mlflow-uri", help="MLflow tracking URI of every run.")
@click.option(
    "--samples",
    default=5000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Importance samples per test point in each run's evaluation.",
)
@click.option("--subset", type=click.IntRange(min=1), help="Evaluate each run on this many test points only.")
@click.option("--figures/--no-figures", default=True, show_default=True)
@click.option("--format", "fmt", default="table", show_default=True, type=click.Choice(["table", "markdown", "csv"]))
def sweep(
    configs, out_dir, grid, address, cpus_per_run, gpus_per_run, retries, samples, subset, figures, fmt, **overrides
):
    """Train and evaluate every config (files or folders, e.g. configs/table1/) as Ray tasks, then compare.

    Needs the ray extra: pip install "pyro-vamp[ray]".
    """
    from pyro_vamp.sweep import EvalOptions, experiments, import_ray, parse_grid, run_sweep
    from pyro_vamp.training.tracking import check_installed

    from .progress import LazyProgress

    import_ray()  # a clear message before any work when Ray is missing
    stderr = _stderr()
    runs = experiments([Path(c) for c in configs], parse_grid(list(grid)), overrides)
    for run in runs:
        check_installed(run.config.logger)
    out = Path(out_dir)
    progress = LazyProgress()
    failed = []

    def on_done(name, summary, error):
        progress.update("runs", advance=1)
        if error is None:
            stderr.print(f"{name}: test ln p(x) {summary['test_ll']:.2f}")
        else:
            failed.append(name)
            stderr.print(f"{name}: failed: {error}")

    try:
        progress.update("runs", total=len(runs), completed=0, description=f"sweep of {len(runs)} runs")
        with contextlib.redirect_stdout(sys.stderr):  # Ray's own messages: stdout is for the table
            run_sweep(
                runs, out, address, cpus_per_run, gpus_per_run, retries, EvalOptions(samples, subset, figures), on_done
            )
    finally:
        progress.close()
    print_comparison([out / r.name for r in runs if r.name not in failed], fmt, None)
    if failed:
        raise click.ClickException(f"{len(failed)} of {len(runs)} runs failed: {', '.join(failed)}")


@cli.group(invoke_without_command=True)
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder to look in.")
@click.pass_context
def datasets(ctx, data_dir):
    """List the datasets, their files, where they are looked for, and whether they are present."""
    if ctx.invoked_subcommand is not None:
        return
    from pyro_vamp.data import DATASETS, data_folder

    console = _stdout()
    console.print(f"data folder: {data_folder(data_dir)}", soft_wrap=True, highlight=False)
    for name, info in DATASETS.items():
        console.print()
        for line in dataset_block(name, info.description, data_dir):
            console.print(line, soft_wrap=True, highlight=False)


def dataset_block(name: str, description: str, data_dir: str | None, width: int = 78) -> list[str]:
    """One dataset of ``pyro-vamp datasets``, in lines of at most ``width`` columns but file paths (rich
    markup): its name and status, what it is, each file with its size and where it is, and, when a
    file is missing, the download command alone on its line, so that it is never cut."""
    import textwrap

    from pyro_vamp.data import file_locations

    found = file_locations(name, data_dir)
    present = all(path for _, path in found)
    size = sum(path.stat().st_size for _, path in found if path) / 2**20
    lines = [f"[bold]{name}[/]: " + (f"[green]present[/], {size:.1f} MiB" if present else "[red]missing[/]")]
    lines += textwrap.wrap(description, width, initial_indent="    ", subsequent_indent="    ")
    for file, path in found:
        if path is None:
            lines.append(f"    {file}  [red]missing[/]")
        else:
            lines += [f"    {file}  {path.stat().st_size / 2**20:.1f} MiB", f"        {path}"]
    if not present:
        folder = f" --data-dir {data_dir}" if data_dir else ""
        lines += ["    download with:", f"        pyro-vamp datasets download {name}{folder}"]
    return lines


@datasets.command()
@click.argument("name")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Folder to save into [default: the data folder].")
@click.option("--mirror", help="Fetch NAME's files from MIRROR/FILE instead of their published addresses.")
@click.option("--allow-unverified", is_flag=True, help="Fetch files that have no recorded checksum.")
def download(name, data_dir, mirror, allow_unverified):
    """Fetch a dataset's published files, verifying each against its recorded checksum."""
    from pyro_vamp.data import DATASETS, download_dataset
    from pyro_vamp.data.download import sha256

    info = DATASETS.get(name)
    paths = download_dataset(name, data_dir, mirror, allow_unverified, progress=True)
    stderr = _stderr()
    for file, path in zip(info.files if info else (), paths, strict=False):
        check = file.known_hash or "no recorded checksum"
        stderr.print(f"{path}  sha256:{sha256(path)}  (verified against {check})")
    stderr.print(f"{name}: {len(paths)} file(s) ready")


class Interrupted(BaseException):
    """SIGINT or SIGTERM outside the training loop (which saves first): raised in the main thread, so
    that every ``finally`` runs (a download removes its temporary file) and the command exits
    128 + the signal's number with one line. Not an ``Exception``: nothing catches it by accident."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum, frame):
    raise Interrupted(signum)


class _WarningLines(logging.Handler):
    """The library's warnings (``logging.getLogger("pyro_vamp")``: a resume from the best checkpoint,
    an evaluation that wrote nothing) as plain lines on stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        click.echo(record.getMessage(), err=True)


def main(argv=None) -> int:
    """Run the CLI; return the exit code (the console script passes it to ``sys.exit``)."""
    tune_malloc()
    handled = (signal.SIGINT, signal.SIGTERM) if threading.current_thread() is threading.main_thread() else ()
    previous = {signum: signal.signal(signum, _interrupt) for signum in handled}  # after cli/__init__'s
    library, lines = logging.getLogger("pyro_vamp"), _WarningLines(logging.WARNING)
    library.addHandler(lines)
    library.propagate, propagate = False, library.propagate
    try:
        return _run(argv)
    except Interrupted as stop:  # in a handler of _run's
        click.echo(f"interrupted ({signal.Signals(stop.signum).name})", err=True)
        return 128 + stop.signum
    finally:
        library.removeHandler(lines)
        library.propagate = propagate
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(argv) -> int:
    try:
        result = cli.main(args=argv, prog_name="pyro-vamp", standalone_mode=False)
        return result if isinstance(result, int) else 0
    except Interrupted as stop:
        click.echo(f"interrupted ({signal.Signals(stop.signum).name})", err=True)
        return 128 + stop.signum
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except TrainingInterrupted as stop:
        if stop.is_main:  # in a data-parallel run only rank 0 reports
            click.echo(f"interrupted: {stop}", err=True)
        return stop.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt):
        click.echo("interrupted", err=True)
        return 130
    except InputError as err:
        click.echo(f"error: {err}", err=True)
        return 2
    except Exception as err:  # one line, not a traceback
        if os.environ.get("PYRO_VAMP_DEBUG"):
            raise
        kind = "" if isinstance(err, TrainingError) else f"unexpected {type(err).__name__}: "
        click.echo(f"error: {kind}{err} (set PYRO_VAMP_DEBUG=1 for the traceback)", err=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
