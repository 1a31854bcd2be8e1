"""OMNIGLOT (``chardata.mat``, Burda et al.) and Caltech 101 Silhouettes
(``caltech101_silhouettes_28_split1.mat``, Marlin et al.), both MATLAB v5 files.

Both store each 28 x 28 image column-major (MATLAB order): a row of 784 values is the
image read column by column, so it is reshaped in Fortran order.

- OMNIGLOT: ``data`` (784 x 24,345) and ``testdata`` (784 x 8,070), grey levels in [0, 1];
  1,345 validation images drawn from ``data`` with a fixed seed; dynamic binarisation.
- Caltech 101 Silhouettes: ``train_data`` (4,100 x 784), ``val_data`` (2,264 x 784),
  ``test_data`` (2,307 x 784), 0/1 with objects as 0; inverted so that objects are ones,
  as in the paper's code; static.
"""

from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from .dataset import ImageDataset, Split, binarize_once, grey_to_levels, split_indices

OMNIGLOT_FILE = "chardata.mat"
CALTECH_FILE = "caltech101_silhouettes_28_split1.mat"
OMNIGLOT_VALIDATION = 1345


def read_mat(path: Path, keys: tuple[str, ...], images_in: str = "rows") -> dict:
    """The named arrays of a MATLAB v5 file, as float64, each with 784 values per image: one image
    per row (``images_in="rows"``: N x 784) or per column (``"columns"``: 784 x N, as OMNIGLOT's).
    Values must be real, finite and in [0, 1]."""
    from scipy.io import loadmat

    try:
        with open(path, "rb") as f:  # opened here: scipy would hide a PermissionError
            content = loadmat(f)
    except PermissionError:
        raise  # load_dataset says it cannot be read
    except Exception as err:  # scipy raises many types (MatReadError, ValueError, IndexError, ...) for bad files
        raise InputError(f"{path}: not a readable MATLAB file ({err}); replace it with the published one") from None
    missing = [k for k in keys if k not in content]
    if missing:
        raise InputError(f"{path}: has no {', '.join(missing)} array; replace it with the published file")
    arrays = {}
    for key in keys:
        array = np.asarray(content[key])
        axis = 0 if images_in == "columns" else 1
        if array.ndim != 2 or not np.issubdtype(array.dtype, np.number) or array.shape[axis] != 784:
            expected = "784 x N (one image per column)" if axis == 0 else "N x 784 (one image per row)"
            transposed = " (stored transposed?)" if array.ndim == 2 and array.shape[1 - axis] == 784 else ""
            raise InputError(
                f"{path}: {key} has shape {array.shape} and dtype {array.dtype}, expected {expected} numbers"
                f"{transposed}; replace it with the published file"
            )
        if np.iscomplexobj(array):
            raise InputError(f"{path}: {key} holds complex numbers, expected real grey values; replace the file")
        if not np.isfinite(array).all():
            raise InputError(f"{path}: {key} holds NaN or infinite values; replace the file")
        if array.min() < 0 or array.max() > 1:
            raise InputError(
                f"{path}: {key} has values from {array.min():g} to {array.max():g}, outside [0, 1]; replace the file"
            )
        arrays[key] = array.astype(np.float64)
    return arrays


def column_major_to_row_major(images: np.ndarray) -> np.ndarray:
    """``[N, 784]`` images stored column by column -> the same images row by row."""
    return images.reshape(-1, 28, 28).transpose(0, 2, 1).reshape(-1, 784)


def load_omniglot(data_dir: Path, split_seed: int = 0) -> ImageDataset:
    path = Path(data_dir) / OMNIGLOT_FILE
    arrays = read_mat(path, ("data", "testdata"), images_in="columns")
    train_all = grey_to_levels(column_major_to_row_major(arrays["data"].T))
    test = grey_to_levels(column_major_to_row_major(arrays["testdata"].T))
    if len(train_all) <= OMNIGLOT_VALIDATION:
        raise InputError(f"{path}: {len(train_all)} training images, need more than {OMNIGLOT_VALIDATION}")
    val_index, train_index = split_indices(
        len(train_all), (OMNIGLOT_VALIDATION, len(train_all) - OMNIGLOT_VALIDATION), seed=split_seed
    )
    return ImageDataset(
        "omniglot",
        (28, 28),
        "bernoulli",
        pseudo_init=(0.05, 0.01),
        train=Split(train_all[train_index.sort().values], "dynamic"),
        val=Split(binarize_once(train_all[val_index.sort().values], seed=1), "binary"),
        test=Split(binarize_once(test, seed=2), "binary"),
    )


def load_caltech_silhouettes(data_dir: Path, split_seed: int = 0) -> ImageDataset:
    path = Path(data_dir) / CALTECH_FILE
    arrays = read_mat(path, ("train_data", "val_data", "test_data"))
    splits: dict[str, Split] = {}
    for name, key in (("train", "train_data"), ("val", "val_data"), ("test", "test_data")):
        if not np.isin(arrays[key], (0.0, 1.0)).all():
            raise InputError(f"{path}: {key} must be 0/1 silhouettes; replace the file")
        splits[name] = Split(torch.from_numpy((1 - column_major_to_row_major(arrays[key])).astype(np.uint8)), "binary")
    return ImageDataset(
        "caltech101-silhouettes",
        (28, 28),
        "bernoulli",
        pseudo_init=(0.5, 0.02),
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
    )
