"""The run folder: the names of its files, its checkpoints, and what ``train`` writes and
``eval`` / ``sample`` read. Every file name of a run folder is defined here and nowhere else.

::

    RUN_DIR/config.json          resolved config, dataset facts, library versions, device
    RUN_DIR/checkpoint-last.pt   after every epoch
    RUN_DIR/checkpoint-best.pt   best validation ELBO so far
    RUN_DIR/metrics.jsonl        one JSON object per epoch
    RUN_DIR/eval.json            after `pyro-vamp eval`, with report.md, {split}_ll.npy and the figures

Checkpoints are written atomically and are readable with ``torch.load(weights_only=True)``.
"""

import json
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pyro
import torch

from .config import TrainConfig
from .data import ImageDataset
from .errors import InputError
from .models import LatentVariableModel, build_model
from .runtime import MALLOC_APPLIED, openmp_settings

CONFIG_FILE = "config.json"
LAST_CHECKPOINT = "checkpoint-last.pt"
BEST_CHECKPOINT = "checkpoint-best.pt"
METRICS_FILE = "metrics.jsonl"
EVAL_FILE = "eval.json"
REPORT_FILE = "report.md"
SWEEP_FILE = "sweep.json"
#: The figures of an evaluated run, by name.
FIGURE_FILES = {
    "samples": "samples.png",
    "reconstructions": "reconstructions.png",
    "pseudo_inputs": "pseudo_inputs.png",
    "pseudo_input_samples": "pseudo_input_samples.png",
    "ll_histogram": "ll_histogram.png",
    "training_curves": "training_curves.png",
}

CHECKPOINT_FORMAT = "pyro-vamp-checkpoint-1"


def log_likelihood_file(split: str) -> str:
    """The file of per-point log-likelihoods of an evaluated ``split``: ``{split}_ll.npy``."""
    return f"{split}_ll.npy"


def save_checkpoint(state: dict, path: Path) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file in the same folder, fsync, rename.

    A crash at any moment leaves either the old file or the new one, never half of one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # the permissions a plain open() would give
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": CHECKPOINT_FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint (tensors and plain data only); :class:`InputError` if missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no checkpoint at {path}; train first (pyro-vamp train --out {path.parent})")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"checkpoint {path} is corrupt or unreadable ({reason}); retrain or restore it") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path} is not a pyro-vamp checkpoint; retrain or restore it")
    return state


def environment_facts(device: torch.device) -> dict:
    """Library versions and the device, recorded in the run folder."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pyro": pyro.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "threads": torch.get_num_threads(),
        "allocator": dict(MALLOC_APPLIED),
        "openmp": openmp_settings(),
    }


def run_record(config: TrainConfig, dataset: ImageDataset) -> dict:
    """What ``config.json`` says of a run that ``pyro-vamp train`` made: the resolved config and the
    dataset facts that :func:`load_run` needs to rebuild the model (the environment is added by
    :meth:`RunWriter.start`)."""
    return {
        "config": config.to_dict(),
        "data": {
            "image_shape": list(dataset.image_shape),
            "likelihood": dataset.likelihood,
            "pseudo_init": list(dataset.pseudo_init),
            "train_size": len(dataset.train),
        },
    }


class RunWriter:
    """Everything training writes into a run folder, on the main process only (``is_main``): the
    record ``config.json``, the ``metrics.jsonl`` lines and the two checkpoints.

    ``settings`` (a dict of plain values) is stored in every checkpoint, and a run is only resumed
    with the same settings, but for those in ``may_change``.
    """

    def __init__(self, run_dir: Path, settings: dict, is_main: bool = True, may_change: tuple[str, ...] = ()):
        self.run_dir, self.settings, self.is_main, self.may_change = Path(run_dir), settings, is_main, may_change

    @property
    def last(self) -> Path:
        return self.run_dir / LAST_CHECKPOINT

    def check_start(self, resume: bool) -> None:
        """A folder that holds a trained run is only continued with ``resume``, never overwritten."""
        if resume and not self.last.is_file():
            raise InputError(f"--resume: {self.run_dir} has no {LAST_CHECKPOINT} to resume from")
        if not resume and self.last.exists():
            raise InputError(
                f"{self.run_dir} already holds a trained run; pass --resume to continue it or choose another --out"
            )

    def load_last(self, device: torch.device) -> dict:
        """The last checkpoint, refused when it was written with other settings."""
        saved = load_checkpoint(self.last, map_location=device)
        keep = [k for k in self.settings if k not in self.may_change]
        if {k: saved["config"].get(k) for k in keep} != {k: self.settings[k] for k in keep}:
            diff = sorted(k for k in keep if saved["config"].get(k) != self.settings[k])
            raise InputError(
                f"--resume: {self.last} was trained with other settings ({', '.join(diff)}); "
                "use the same options or a new --out folder"
            )
        return saved

    def start(self, record: dict, history: list[dict], device: torch.device, processes: int) -> None:
        """Write ``config.json`` (``record`` and the environment) and ``metrics.jsonl`` (``history``)."""
        if not self.is_main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        full = {**record, "environment": {**environment_facts(device), "processes": processes}}
        (self.run_dir / CONFIG_FILE).write_text(json.dumps(full, indent=2) + "\n")
        (self.run_dir / METRICS_FILE).write_text("".join(json.dumps(r) + "\n" for r in history))

    def save_interrupted(self, state: dict) -> None:
        """The checkpoint of an epoch an interrupt cut short (``state`` holds the position in it)."""
        if self.is_main:
            save_checkpoint({**state, "config": self.settings}, self.last)

    def save_epoch(self, state: dict, record: dict, improved: bool) -> None:
        """The end of an epoch: its metrics line, then the best checkpoint if it ``improved``, then the last."""
        if not self.is_main:
            return
        with open(self.run_dir / METRICS_FILE, "a") as f:
            f.write(json.dumps(record) + "\n")
        checkpoint = {**state, "config": self.settings}
        if improved:
            save_checkpoint(checkpoint, self.run_dir / BEST_CHECKPOINT)
        save_checkpoint(checkpoint, self.last)


@dataclass
class LoadedRun:
    """A trained run: its config, dataset facts, and the model with the chosen checkpoint's weights."""

    run_dir: Path
    config: TrainConfig
    image_shape: tuple[int, int]
    likelihood: str
    model: LatentVariableModel
    epoch: int


def read_run_record(run_dir: Path) -> dict:
    """The parsed ``config.json`` of a run folder; :class:`InputError` if it is not a run folder."""
    path = Path(run_dir) / CONFIG_FILE
    if not Path(run_dir).is_dir():
        raise InputError(f"run folder {run_dir} does not exist; train one with pyro-vamp train --out {run_dir}")
    try:
        return json.loads(path.read_text())
    except OSError:
        raise InputError(f"{path} is missing: {run_dir} is not a pyro-vamp run folder") from None
    except ValueError as err:
        raise InputError(f"{path} is not valid JSON ({err}); restore it or retrain") from None


def load_run(run_dir: Path | str, which: str = "best", device: torch.device | str = "cpu") -> LoadedRun:
    """Load a run folder's model from its ``best`` or ``last`` checkpoint onto ``device``."""
    run_dir = Path(run_dir)
    record = read_run_record(run_dir)
    config = TrainConfig.from_dict(record["config"], str(run_dir / CONFIG_FILE))
    data = record["data"]
    image_shape = (int(data["image_shape"][0]), int(data["image_shape"][1]))
    model = build_model(config, image_shape, data["likelihood"], tuple(data["pseudo_init"]))
    name = BEST_CHECKPOINT if which == "best" else LAST_CHECKPOINT
    state = load_checkpoint(run_dir / name)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(f"{run_dir / name} does not match the run's model ({first}); retrain or restore it") from None
    return LoadedRun(run_dir, config, image_shape, data["likelihood"], model.to(device), int(state["epoch"]))


def read_metrics(run_dir: Path) -> list[dict]:
    """The per-epoch records of ``metrics.jsonl`` (empty if there are none)."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except ValueError as err:
        raise InputError(f"{path} is not valid JSON lines ({err}); restore it or retrain") from None
