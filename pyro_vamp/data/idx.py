"""Dynamic MNIST from the IDX files ``train-images-idx3-ubyte`` and ``t10k-images-idx3-ubyte``.

IDX (LeCun et al.): a big-endian header, magic number 0x00000803 (unsigned bytes, 3 dims),
then the dims (N, 28, 28), then N x 28 x 28 uint8 pixels, row-major. The files may be
gzipped (``.gz``). Validation = the last 10,000 training images; training batches are
binarised dynamically, validation and test once with a fixed seed.
"""

import gzip
import struct
import zlib
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from .dataset import ImageDataset, Split, binarize_once

TRAIN, TEST = "train-images-idx3-ubyte", "t10k-images-idx3-ubyte"
IMAGES_MAGIC = 0x00000803
VALIDATION_SIZE = 10_000


def find_idx(folder: Path, name: str) -> Path:
    """``folder/name.gz`` if present, else ``folder/name``."""
    gz = Path(folder) / f"{name}.gz"
    return gz if gz.is_file() else Path(folder) / name


def read_idx_images(path: Path) -> np.ndarray:
    """The ``[N, H * W]`` uint8 images of an IDX3 file, gzipped or not."""
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except PermissionError:
        raise  # load_dataset says it cannot be read
    except (OSError, EOFError, zlib.error) as err:
        raise InputError(f"{path}: the gzip data is damaged or truncated ({err}); download the file again") from None
    if len(data) < 16:
        raise InputError(f"{path}: too short for an IDX header; download the file again")
    magic, n, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != IMAGES_MAGIC:
        raise InputError(
            f"{path}: magic number {magic:#010x} is not {IMAGES_MAGIC:#010x} (IDX3 images of "
            "unsigned bytes); is it a label file? use the images file"
        )
    if len(data) != 16 + n * rows * cols:
        raise InputError(
            f"{path}: the header promises {n} images of {rows} x {cols} but the file holds "
            f"{len(data) - 16} bytes of pixels; download the file again"
        )
    if (rows, cols) != (28, 28):
        raise InputError(f"{path}: images are {rows} x {cols}, expected 28 x 28")
    if n == 0:
        raise InputError(f"{path}: the file holds 0 images; download the file again")
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, rows * cols)


def load_dynamic_mnist(data_dir: Path, split_seed: int = 0) -> ImageDataset:
    """Dynamic MNIST from ``data_dir`` (``split_seed`` is unused: validation is the last 10,000)."""
    train = torch.from_numpy(read_idx_images(find_idx(data_dir, TRAIN)).copy())
    test = torch.from_numpy(read_idx_images(find_idx(data_dir, TEST)).copy())
    if len(train) <= VALIDATION_SIZE:
        raise InputError(
            f"{find_idx(data_dir, TRAIN)}: {len(train)} training images, need more than "
            f"{VALIDATION_SIZE}; download the full file"
        )
    return ImageDataset(
        "dynamic-mnist",
        (28, 28),
        "bernoulli",
        pseudo_init=(0.05, 0.01),
        train=Split(train[:-VALIDATION_SIZE], "dynamic"),
        val=Split(binarize_once(train[-VALIDATION_SIZE:], seed=1), "binary"),
        test=Split(binarize_once(test, seed=2), "binary"),
    )
