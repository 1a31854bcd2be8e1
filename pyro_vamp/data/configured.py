"""The data a training config names: a built-in dataset (``--dataset NAME``) or the user's own
file or folder (``--data PATH``), and the record that lets ``eval`` and ``sample`` find the same
data again and refuse it when it changed."""

from pathlib import Path
from typing import Protocol

from ..errors import InputError
from .dataset import ImageDataset
from .files import data_fingerprint, load_path
from .registry import load_dataset


class DataSettings(Protocol):
    """The settings that name the data (a :class:`~pyro_vamp.config.TrainConfig` has them)."""

    dataset: str
    data: str | None
    data_dir: str | None
    split_seed: int
    val_fraction: float
    test_fraction: float
    likelihood: str | None
    binarize: bool


def load_config_data(settings: DataSettings, data_dir: str | None = None) -> ImageDataset:
    """The dataset ``settings`` name: the user's own ``data`` (split by ``val_fraction``,
    ``test_fraction`` and ``split_seed``, likelihood from the values or ``likelihood``), else the
    built-in ``dataset`` from ``data_dir`` (default ``settings.data_dir``)."""
    if settings.data is not None:
        return load_path(
            settings.data,
            val_fraction=settings.val_fraction,
            test_fraction=settings.test_fraction,
            split_seed=settings.split_seed,
            likelihood=settings.likelihood,
            binarize=settings.binarize,
        )
    return load_dataset(settings.dataset, data_dir or settings.data_dir, settings.split_seed)


def source_record(settings: DataSettings) -> dict:
    """Where the data came from, for the run folder: the path and its content hash (own data), or
    the dataset's name (built-in datasets, whose published files have recorded checksums)."""
    if settings.data is None:
        return {"dataset": settings.dataset}
    return {"path": settings.data, "fingerprint": data_fingerprint(settings.data)}


def check_source(record: dict, run_name: str) -> None:
    """Refuse own data whose content changed since the run was trained (``record`` from
    :func:`source_record`); :class:`InputError` naming the file."""
    if "path" not in record:
        return
    path = Path(record["path"])
    if not path.exists():
        raise InputError(f"{path}, the data {run_name} was trained on, is missing; put it back where it was")
    if data_fingerprint(path) != record["fingerprint"]:
        raise InputError(
            f"{path} changed since {run_name} was trained on it (its content hash differs); restore the "
            "original data, or train a new run on the changed data"
        )
