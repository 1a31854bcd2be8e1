"""Experiment tracking: TensorBoard and MLflow as training hooks, and the numbers of an evaluation.

``--logger tensorboard`` writes the event files of a run into ``RUN_DIR/tensorboard/``
(``tensorboard --logdir RUNS`` shows every run of the folder ``RUNS``); ``--logger mlflow`` logs
into one MLflow run per run folder, in the experiment named after the folder that holds the run
folder (a sweep's ``--out``, a ``--repeat``'s ``--out``; ``$MLFLOW_EXPERIMENT_NAME`` if set), in
the tracking store ``--mlflow-uri`` (default: a local file store ``RUN_DIR/../mlruns``). The
MLflow run's id is kept in ``RUN_DIR/mlflow.json``, so that ``--resume`` and ``pyro-vamp eval``
continue the same run. Both are optional: ``pip install "pyro-vamp[tracking]"``.

Every value is logged against the global step ``(epoch - 1) * steps_per_epoch + step``:

- each step: ``train/loss`` (the step's loss per data point: -ELBO at the step's beta) and ``train/beta``;
- each epoch, at its last step: ``train/epoch_loss``, ``val/elbo``, ``val/best_elbo``, ``train/lr``,
  ``train/epoch_seconds`` and ``epoch``;
- every ``log_images_every`` epochs: the images ``samples``, ``reconstructions`` (fixed random
  validation points, each row above its reconstructions) and ``pseudo_inputs`` (VampPriors), drawn
  from the epoch's checkpoint with their own seed (training's random numbers are left as they were);
- once, when the run starts: the resolved config as hyper-parameters;
- at evaluation (:func:`log_evaluation`), at the run's last step: ``{split}/log_likelihood`` and its
  standard error, ``{split}/elbo``, ``{split}/reconstruction``, ``{split}/kl``,
  ``{split}/bits_per_dim``, ``{split}/active_units/{site}``, and the figures.

A resumed run logs no step twice: the TensorBoard writer purges the events of steps from the first
new one on (a process killed after its last checkpoint may have logged some), and the MLflow tracker
skips the steps its run already holds. Only the main process of a data-parallel run logs.
"""

import importlib.util
import json
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..config import TrainConfig
from ..errors import InputError, TrainingInterrupted
from ..evaluation.evaluate import display_shape
from ..run_folder import (
    FIGURE_FILES,
    LAST_CHECKPOINT,
    load_checkpoint,
    load_run,
    read_metrics,
    read_run_record,
    write_file,
)
from .loop import TrainingHooks

#: The folder of a run's TensorBoard event files, inside the run folder.
TENSORBOARD_DIR = "tensorboard"
#: The file of a run folder that names its MLflow run (tracking URI, experiment and run ids).
MLFLOW_FILE = "mlflow.json"
#: The store of the MLflow runs of a folder of run folders, beside them (MLflow's own default name).
MLFLOW_STORE = "mlruns"
#: The module each tracker needs, and the package that provides it.
TRACKER_MODULES = {"tensorboard": ("tensorboard", "tensorboard"), "mlflow": ("mlflow", "mlflow-skinny")}
#: Images per picture sent to a tracker; the seed of the noise they are drawn with.
NUM_IMAGES, IMAGE_SEED = 36, 0
#: Metrics per MLflow ``log_batch`` call (the store's limit is 1000).
MLFLOW_BATCH = 1000


def check_installed(loggers: Sequence[str] | None) -> None:
    """:class:`InputError` (exit code 2) naming the install command when a tracker's package is missing."""
    for name in loggers or ():
        module, package = TRACKER_MODULES[name]
        if importlib.util.find_spec(module) is None:
            raise InputError(
                f"--logger {name} needs the {package} package, which is not installed: "
                'pip install "pyro-vamp[tracking]"'
            )


class FanOutHooks(TrainingHooks):
    """Several :class:`~pyro_vamp.training.TrainingHooks` as one: each call goes to each, in order."""

    def __init__(self, *hooks: TrainingHooks | None):
        self.hooks = [h for h in hooks if h is not None]

    def start_epoch(self, epoch: int, num_steps: int, beta: float) -> None:
        for hook in self.hooks:
            hook.start_epoch(epoch, num_steps, beta)

    def step(self, loss: float) -> None:
        for hook in self.hooks:
            hook.step(loss)

    def end_epoch(self, record: dict) -> None:
        for hook in self.hooks:
            hook.end_epoch(record)


@dataclass(frozen=True)
class StartPoint:
    """Where training goes on: ``steps_done`` steps of ``epoch`` are done (0 but after an interrupt)."""

    epoch: int = 1
    steps_done: int = 0

    @classmethod
    def of_run(cls, run_dir: Path, resume: bool) -> "StartPoint":
        """Epoch 1 for a new run; after the last checkpoint's position for a resumed one."""
        if not resume or not (Path(run_dir) / LAST_CHECKPOINT).is_file():
            return cls()
        saved = load_checkpoint(Path(run_dir) / LAST_CHECKPOINT)
        position = saved.get("in_epoch")
        if position is None:
            return cls(int(saved["epoch"]) + 1, 0)
        return cls(int(saved["epoch"]), int(position["next_step"]))

    def first_step(self, num_steps: int) -> int:
        """The global step of the first step still to run."""
        return (self.epoch - 1) * num_steps + self.steps_done + 1


def hyperparameters(config: TrainConfig) -> dict[str, Any]:
    """The resolved config as plain scalars (lists joined with commas, None as ``"none"``)."""
    values = {}
    for key, value in config.to_dict().items():
        if isinstance(value, list | tuple):
            value = ",".join(map(str, value)) or "none"
        values[key] = "none" if value is None else value
    return values


class Tracker(TrainingHooks):
    """A training hook that logs to one tracker; the backends implement the ``_open``, ``_scalars``,
    ``_image``, ``_flush`` and ``_close`` methods. Opened at the first epoch it is called for, so that
    nothing is created before training really starts (nor on the other processes of a data-parallel run).
    """

    def __init__(self, config: TrainConfig, run_dir: Path, start: StartPoint):
        self.config, self.run_dir, self.start = config, Path(run_dir), start
        self.opened = False
        self.num_steps, self.global_step, self.beta = 1, 0, 1.0
        self._data = None

    # the hooks
    def start_epoch(self, epoch: int, num_steps: int, beta: float) -> None:
        if not self.opened:
            self._open(self.start.first_step(num_steps), fresh=self.start == StartPoint())
            self.opened = True
        self.num_steps, self.beta = num_steps, beta
        self.global_step = (epoch - 1) * num_steps + (self.start.steps_done if epoch == self.start.epoch else 0)

    def step(self, loss: float) -> None:
        self.global_step += 1
        self._scalars({"train/loss": loss, "train/beta": self.beta}, self.global_step)

    def end_epoch(self, record: dict) -> None:
        epoch = record["epoch"]
        step = epoch * self.num_steps
        values = {
            "train/epoch_loss": record["train_loss"],
            "val/elbo": record["val_elbo"],
            "val/best_elbo": record["best_val_elbo"],
            "train/lr": self.config.lr,
            "train/epoch_seconds": record["seconds"],
            "epoch": epoch,
        }
        self._scalars(values, step)
        every = self.config.log_images_every
        if every and epoch % every == 0:
            for tag, image in self.training_images().items():
                self._image(tag, image, step)
        self._flush()

    def close(self, status: str = "FINISHED") -> None:
        """Flush and close; ``status`` is ``FINISHED``, ``KILLED`` (interrupted) or ``FAILED``."""
        if self.opened:
            self._close(status)
            self.opened = False

    # the images of an epoch
    def _dataset(self):
        """The run's data, loaded once (for the images of its validation points)."""
        if self._data is None:
            from ..data import load_config_data

            self._data = load_config_data(self.config)
        return self._data

    def training_images(self) -> dict[str, np.ndarray]:
        """Samples, reconstructions and pseudo-inputs of the model in the last checkpoint (built and
        drawn with random numbers of their own: training's are left as they were)."""
        from ..runtime import resolve_device

        device = resolve_device(self.config.device)
        with _own_random_numbers(device):
            run = load_run(self.run_dir, "last", device, dataset=self._dataset())
            shape = display_shape(run)
            return {} if shape is None else model_images(run.model, shape, self._dataset().val.to(device))

    # what a backend implements
    def _open(self, first_step: int, fresh: bool) -> None:
        raise NotImplementedError

    def _scalars(self, values: dict[str, float], step: int) -> None:
        raise NotImplementedError

    def _image(self, tag: str, image: np.ndarray, step: int) -> None:
        raise NotImplementedError

    def _flush(self) -> None: ...

    def _close(self, status: str) -> None: ...


@contextmanager
def _own_random_numbers(device: torch.device) -> Iterator[None]:
    """Torch's generators (the CPU's and ``device``'s) seeded with :data:`IMAGE_SEED` inside, restored after."""
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(IMAGE_SEED)
        yield


@torch.no_grad()
def model_images(model, image_shape: tuple[int, ...], val, num: int = NUM_IMAGES) -> dict[str, np.ndarray]:
    """Image grids (uint8 ``[H, W]``) of ``model``: ``samples``, ``reconstructions`` (rows of fixed
    random points of the split ``val`` above their reconstructions) and, for a VampPrior,
    ``pseudo_inputs``. Drawn with seed :data:`IMAGE_SEED`; the caller's random state is unchanged."""
    from ..evaluation.figures import display_selection
    from ..evaluation.images import image_grid
    from ..priors import VampPrior

    per_row = int(num**0.5)
    with _own_random_numbers(next(model.parameters()).device), model.registration_disabled():
        model.eval()
        images = {"samples": image_grid(model.sample_images(num), image_shape)}
        x = val.as_float(display_selection(len(val), num // 2, IMAGE_SEED).to(val.images.device))
        recon = model.reconstruct(x)
        rows = [part[start : start + per_row] for start in range(0, x.shape[0], per_row) for part in (x, recon)]
        images["reconstructions"] = image_grid(torch.cat(rows), image_shape, ncols=per_row)
        if isinstance(model.prior, VampPrior):
            images["pseudo_inputs"] = image_grid(model.prior.pseudo_inputs[:num], image_shape)
    return images


class TensorBoardTracker(Tracker):
    """Logs to ``RUN_DIR/tensorboard/`` with ``torch.utils.tensorboard``; a resumed run's writer
    purges the events of the steps it runs again."""

    def __init__(self, config: TrainConfig, run_dir: Path, start: StartPoint):
        super().__init__(config, run_dir, start)
        self.writer: Any = None

    def _open(self, first_step: int, fresh: bool) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(self.run_dir / TENSORBOARD_DIR), purge_step=first_step, flush_secs=30)
        if fresh:
            write_hyperparameters(self.writer, hyperparameters(self.config))

    def _scalars(self, values: dict[str, float], step: int) -> None:
        for tag, value in values.items():
            self.writer.add_scalar(tag, value, step)

    def _image(self, tag: str, image: np.ndarray, step: int) -> None:
        self.writer.add_image(tag, image, step, dataformats="HW" if image.ndim == 2 else "HWC")

    def _flush(self) -> None:
        self.writer.flush()

    def _close(self, status: str) -> None:
        self.writer.close()


def write_hyperparameters(writer, values: dict[str, Any]) -> None:
    """The config in TensorBoard's HParams tab (in the run's own folder, not a new one as
    ``SummaryWriter.add_hparams`` makes) and as a text summary."""
    from torch.utils.tensorboard.summary import hparams

    for summary in hparams(values, {"val/best_elbo": 0.0, "test/log_likelihood": 0.0}):
        writer.file_writer.add_summary(summary)
    writer.add_text("config", "\n".join(f"    {k} = {v}" for k, v in values.items()), 0)


class MLflowTracker(Tracker):
    """Logs to one MLflow run (see the module's text); metrics are sent in batches at each epoch's end."""

    def __init__(self, config: TrainConfig, run_dir: Path, start: StartPoint):
        super().__init__(config, run_dir, start)
        self.run: MLflowRun | None = None
        self.pending: list = []

    def _open(self, first_step: int, fresh: bool) -> None:
        self.run = MLflowRun.open(self.run_dir, self.config.mlflow_uri, hyperparameters(self.config))

    def _scalars(self, values: dict[str, float], step: int) -> None:
        assert self.run is not None
        for key, value in values.items():
            if step > self.run.logged.get(key, 0):
                self.pending.append((key, float(value), step))

    def _image(self, tag: str, image: np.ndarray, step: int) -> None:
        assert self.run is not None
        self.run.client.log_image(self.run.run_id, image, key=tag, step=step)

    def _flush(self) -> None:
        assert self.run is not None
        self.run.log_metrics(self.pending)
        self.pending = []

    def _close(self, status: str) -> None:
        assert self.run is not None
        self._flush()
        self.run.client.set_terminated(self.run.run_id, status)


@dataclass
class MLflowRun:
    """The MLflow run of a run folder, its client, and the last step logged of each metric."""

    client: Any
    run_id: str
    logged: dict[str, int]

    @classmethod
    def open(cls, run_dir: Path, uri: str | None, params: dict[str, Any]) -> "MLflowRun":
        """The run named in ``RUN_DIR/mlflow.json`` (in the store ``uri`` if given), else a new one
        with ``params`` logged, recorded in that file."""
        from mlflow.tracking import MlflowClient

        run_dir = Path(run_dir).resolve()
        path = run_dir / MLFLOW_FILE
        saved = json.loads(path.read_text()) if path.is_file() else {}
        uri = uri or saved.get("tracking_uri") or (run_dir.parent / MLFLOW_STORE).as_uri()
        if uri.startswith("file:") or "://" not in uri:  # MLflow 3 asks to opt in to its file store
            os.environ.setdefault("MLFLOW_ALLOW_FILE_STORE", "true")
        client = MlflowClient(tracking_uri=uri)
        if saved.get("tracking_uri") == uri and saved.get("run_id"):
            run_id = saved["run_id"]
            client.update_run(run_id, status="RUNNING")
            return cls(client, run_id, _last_steps(client, run_id))
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME") or run_dir.parent.name or "pyro-vamp"
        experiment = client.get_experiment_by_name(name)
        experiment_id = experiment.experiment_id if experiment else client.create_experiment(name)
        run = client.create_run(experiment_id, run_name=run_dir.name, tags={"pyro_vamp.run_dir": str(run_dir)})
        run_id = run.info.run_id
        from mlflow.entities import Param

        client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])
        record = {"tracking_uri": uri, "experiment_id": experiment_id, "experiment": name, "run_id": run_id}
        write_file(path, (json.dumps(record, indent=2) + "\n").encode())
        return cls(client, run_id, {})

    def log_metrics(self, values: list[tuple[str, float, int]]) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(key, value, now, step) for key, value, step in values]
        for first in range(0, len(metrics), MLFLOW_BATCH):
            self.client.log_batch(self.run_id, metrics=metrics[first : first + MLFLOW_BATCH])
        for key, _, step in values:
            self.logged[key] = max(step, self.logged.get(key, 0))


def _last_steps(client, run_id: str) -> dict[str, int]:
    keys = client.get_run(run_id).data.metrics
    return {key: max((m.step for m in client.get_metric_history(run_id, key)), default=0) for key in keys}


TRACKERS: dict[str, type[Tracker]] = {"tensorboard": TensorBoardTracker, "mlflow": MLflowTracker}


def make_trackers(config: TrainConfig, run_dir: Path | str, resume: bool) -> list[Tracker]:
    """The trackers ``config.logger`` names, for a run into ``run_dir`` (continued if ``resume``)."""
    check_installed(config.logger)
    if not config.logger:
        return []
    start = StartPoint.of_run(Path(run_dir), resume)
    return [TRACKERS[name](config, Path(run_dir), start) for name in config.logger]


@contextmanager
def tracked(
    config: TrainConfig, run_dir: Path | str, resume: bool, hooks: TrainingHooks | None, is_main: bool = True
) -> Iterator[TrainingHooks | None]:
    """``hooks`` with the trackers of ``config.logger`` added (on the main process only), closed at
    the end with the run's status: ``FINISHED``, ``KILLED`` after an interrupt, ``FAILED`` after an error.

    Example::

        with tracked(config, run_dir, resume, hooks) as hooks:
            result = run_loop(..., hooks, ...)
    """
    check_installed(config.logger)
    trackers = make_trackers(config, run_dir, resume) if is_main else []
    if not trackers:
        yield hooks
        return
    status = "FAILED"
    try:
        yield FanOutHooks(hooks, *trackers)
        status = "FINISHED"
    except TrainingInterrupted:
        status = "KILLED"
        raise
    finally:
        for tracker in trackers:
            tracker.close(status)


def training_steps(run_dir: Path | str) -> int:
    """The global step of a run folder's last finished epoch: epochs x steps per epoch."""
    record = read_run_record(Path(run_dir))
    config = TrainConfig.from_dict(record["config"])
    steps_per_epoch = -(-int(record["data"]["train_size"]) // config.batch_size)
    return len(read_metrics(Path(run_dir))) * steps_per_epoch


def evaluation_scalars(summary: dict) -> dict[str, float]:
    """The numbers of an ``eval.json`` summary as tracker scalars, prefixed by the split."""
    split = summary["split"]
    values = {
        f"{split}/log_likelihood": summary["test_ll"],
        f"{split}/log_likelihood_se": summary["test_ll_se"],
        f"{split}/elbo": summary["test_elbo"],
        f"{split}/reconstruction": summary["reconstruction"],
        f"{split}/kl": summary["kl"],
    }
    if summary["bits_per_dim"] is not None:
        values[f"{split}/bits_per_dim"] = summary["bits_per_dim"]
    if "test_ll_original" in summary:
        values[f"{split}/log_likelihood_original_units"] = summary["test_ll_original"]
    values.update({f"{split}/active_units/{site}": n for site, n in summary["active_units"].items()})
    return values


def evaluation_loggers(run_dir: Path | str, loggers: Sequence[str] | None = None) -> list[str]:
    """The trackers an evaluation logs to: ``loggers`` (``"none"`` dropped), or if None those the run
    folder's config names."""
    if loggers is None:
        loggers = TrainConfig.from_dict(read_run_record(Path(run_dir))["config"]).logger or ()
    return [name for name in loggers if name != "none"]


def log_evaluation(
    run_dir: Path | str,
    summary: dict,
    loggers: Sequence[str] | None = None,
    mlflow_uri: str | None = None,
    figures: bool = True,
) -> list[str]:
    """Send an evaluation's numbers (:func:`evaluation_scalars`) and, with ``figures``, the figures
    of the run folder to the trackers ``loggers`` names (default: those the run was trained with;
    ``"none"`` for none), at the run's last training step: into the run's TensorBoard folder and its
    MLflow run (a new one if it had none). Returns the trackers logged to."""
    run_dir = Path(run_dir)
    config = TrainConfig.from_dict(read_run_record(run_dir)["config"])
    chosen = evaluation_loggers(run_dir, loggers)
    check_installed(chosen)
    if not chosen:
        return []
    step = training_steps(run_dir)
    values = evaluation_scalars(summary)
    split = summary["split"]
    paths = [run_dir / name for name in FIGURE_FILES.values() if figures and (run_dir / name).is_file()]
    if "tensorboard" in chosen:
        from PIL import Image
        from torch.utils.tensorboard import SummaryWriter

        with SummaryWriter(str(run_dir / TENSORBOARD_DIR)) as writer:
            for tag, value in values.items():
                writer.add_scalar(tag, value, step)
            for path in paths:
                image = np.asarray(Image.open(path).convert("RGB"))
                writer.add_image(f"{split}/{path.stem}", image, step, dataformats="HWC")
    if "mlflow" in chosen:
        run = MLflowRun.open(run_dir, mlflow_uri or config.mlflow_uri, hyperparameters(config))
        run.log_metrics([(key, float(value), step) for key, value in values.items()])
        for path in paths:
            run.client.log_artifact(run.run_id, str(path), artifact_path=f"evaluation-{split}")
        run.client.set_terminated(run.run_id, "FINISHED")
    return chosen
