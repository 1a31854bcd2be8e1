"""Static binarised MNIST (Larochelle & Murray 2011): ``binarized_mnist_{train,valid,test}.amat``.

Each file is whitespace-separated text, one image per line: 784 values, each 0 or 1,
row-major 28 x 28. Splits 50,000 / 10,000 / 10,000 as published; Bernoulli likelihood.
"""

from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from .dataset import ImageDataset, Split

FILES = {
    "train": "binarized_mnist_train.amat",
    "val": "binarized_mnist_valid.amat",
    "test": "binarized_mnist_test.amat",
}
PIXELS = 784


def read_amat(path: Path) -> np.ndarray:
    """The ``[N, 784]`` uint8 0/1 images of an ``.amat`` file."""
    try:
        values = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as err:
        raise InputError(
            f"{path}: not whitespace-separated numbers ({str(err).splitlines()[0]}); replace it with the published file"
        ) from None
    if values.shape[1] != PIXELS:
        raise InputError(f"{path}: expected {PIXELS} values per line, got {values.shape[1]}; replace the file")
    if not np.isin(values, (0.0, 1.0)).all():
        raise InputError(f"{path}: values must be 0 or 1 (statically binarised); replace the file")
    return values.astype(np.uint8)


def load_static_mnist(data_dir: Path, split_seed: int = 0) -> ImageDataset:
    """Static MNIST from the three ``.amat`` files in ``data_dir`` (``split_seed`` is unused:
    the split is the published one)."""
    splits = {name: Split(torch.from_numpy(read_amat(Path(data_dir) / f)), "binary") for name, f in FILES.items()}
    return ImageDataset(
        "static-mnist",
        (28, 28),
        "bernoulli",
        pseudo_init=(0.05, 0.01),
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
    )
