"""The run folder: what `train` writes and `eval` / `sample` read (DESIGN.md section 3).

::

    RUN_DIR/config.json          resolved config, dataset facts, library versions, device
    RUN_DIR/checkpoint-last.pt   after every epoch
    RUN_DIR/checkpoint-best.pt   best validation ELBO so far
    RUN_DIR/metrics.jsonl        one JSON object per epoch
    RUN_DIR/eval.json            after `pyro-vamp eval`, with report.md, {split}_ll.npy and the figures
"""

import json
import platform
from dataclasses import dataclass
from pathlib import Path

import pyro
import torch

from . import resources
from .checkpoint import load_checkpoint
from .config import TrainConfig
from .data import ImageDataset
from .errors import InputError
from .models import MODELS, LatentVariableModel
from .openmp import openmp_settings

CONFIG_FILE = "config.json"
LAST_CHECKPOINT = "checkpoint-last.pt"
BEST_CHECKPOINT = "checkpoint-best.pt"
METRICS_FILE = "metrics.jsonl"
EVAL_FILE = "eval.json"
REPORT_FILE = "report.md"


def resolve_device(name: str) -> torch.device:
    """``auto`` picks CUDA when present; ``cuda`` without a GPU is an :class:`InputError`."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
    return torch.device(name)


def build_model(config: TrainConfig, image_shape: tuple[int, int], likelihood: str, pseudo_init: tuple[float, float],
                train_images: torch.Tensor | None = None) -> LatentVariableModel:
    """The model ``config`` describes. ``train_images`` (``[N, D]`` in [0, 1]) seed the pseudo-inputs of
    ``vamp-data`` and of ``pseudo_init = "data"``; without them (loading a checkpoint, whose weights
    replace them) zeros stand in."""
    input_dim = image_shape[0] * image_shape[1]
    if train_images is None:
        train_images = torch.zeros(config.components, input_dim)
    return MODELS[config.model](
        input_dim, likelihood=likelihood, image_shape=tuple(image_shape), prior=config.prior, latent_dim=config.latent_dim, hidden=config.hidden,
        num_components=config.components, train_images=train_images,
        pseudo_init="data" if config.pseudo_init == "data" else pseudo_init,
    )


def environment_facts(device: torch.device) -> dict:
    """Library versions and the device, recorded in the run folder."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pyro": pyro.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "threads": torch.get_num_threads(),
        "allocator": dict(resources.APPLIED),
        "openmp": openmp_settings(),
    }


def write_run_config(run_dir: Path, config: TrainConfig, dataset: ImageDataset, device: torch.device,
                     processes: int = 1) -> None:
    """Write ``config.json``: the resolved config, dataset facts, and the environment (with the number
    of data-parallel training processes)."""
    record = {
        "config": config.to_dict(),
        "data": {"image_shape": list(dataset.image_shape), "likelihood": dataset.likelihood,
                 "pseudo_init": list(dataset.pseudo_init), "train_size": len(dataset.train)},
        "environment": {**environment_facts(device), "processes": processes},
    }
    (run_dir / CONFIG_FILE).write_text(json.dumps(record, indent=2) + "\n")


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
    path = Path(run_dir) / CONFIG_FILE
    if not Path(run_dir).is_dir():
        raise InputError(f"run folder {run_dir} does not exist; train one with pyro-vamp train --out {run_dir}")
    try:
        return json.loads(path.read_text())
    except OSError:
        raise InputError(f"{path} is missing: {run_dir} is not a pyro-vamp run folder")
    except ValueError as err:
        raise InputError(f"{path} is not valid JSON ({err}); restore it or retrain")


def load_run(run_dir: Path, which: str = "best", device: torch.device | str = "cpu") -> LoadedRun:
    """Load a run folder's model from its ``best`` or ``last`` checkpoint onto ``device``."""
    run_dir = Path(run_dir)
    record = read_run_record(run_dir)
    config = TrainConfig.from_dict(record["config"], str(run_dir / CONFIG_FILE))
    data = record["data"]
    image_shape = tuple(data["image_shape"])
    model = build_model(config, image_shape, data["likelihood"], tuple(data["pseudo_init"]))
    name = BEST_CHECKPOINT if which == "best" else LAST_CHECKPOINT
    state = load_checkpoint(run_dir / name)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(f"{run_dir / name} does not match the run's model ({first}); retrain or restore it")
    return LoadedRun(run_dir, config, image_shape, data["likelihood"], model.to(device), int(state["epoch"]))


def read_metrics(run_dir: Path) -> list[dict]:
    """The per-epoch records of ``metrics.jsonl`` (empty if there are none)."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except ValueError as err:
        raise InputError(f"{path} is not valid JSON lines ({err}); restore it or retrain")
