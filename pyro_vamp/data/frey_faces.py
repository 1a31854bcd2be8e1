"""Frey Faces: 1,965 grey 28 x 20 face images from ``freyfaces.pkl``.

The published file is a pickle (protocol 0, Python 2) of a list holding one uint8
array of shape 1,965 x 560. Split 1,565 / 200 / 200 at random by ``split_seed``;
discretised logistic likelihood on (v + 0.5) / 256.
"""

from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from .dataset import ImageDataset, Split, split_indices
from .safe_pickle import load_arrays

FILE = "freyfaces.pkl"
SHAPE = (28, 20)
SIZES = (1565, 200, 200)


def read_freyfaces(path: Path) -> np.ndarray:
    """The ``[1965, 560]`` uint8 array in ``freyfaces.pkl``."""
    arrays = load_arrays(path)
    images = arrays[0] if len(arrays) == 1 else None
    if images is None or images.dtype != np.uint8 or images.shape != (sum(SIZES), SHAPE[0] * SHAPE[1]):
        raise InputError(
            f"{path}: expected one uint8 array of shape ({sum(SIZES)}, {SHAPE[0] * SHAPE[1]}), "
            f"got {[(a.dtype.name, a.shape) for a in arrays]}; replace the file with the published one"
        )
    return images


def load_frey_faces(data_dir: Path, split_seed: int = 0) -> ImageDataset:
    images = torch.from_numpy(read_freyfaces(Path(data_dir) / FILE))
    train, val, test = (images[i] for i in split_indices(len(images), SIZES, split_seed))
    return ImageDataset(
        name="frey-faces",
        image_shape=SHAPE,
        likelihood="logistic",
        train=Split(train, "grey"),
        val=Split(val, "grey"),
        test=Split(test, "grey"),
        pseudo_init=(0.5, 0.02),
    )
