"""Histopathology (grey): 28 x 28 patches of histopathology images (Tomczak & Welling 2016).

Published as ``histopathology.pkl.tar.gz``, a tar archive holding ``histopathology.pkl``,
a pickle of a dict with arrays ``training`` (6,800), ``validation`` (2,000) and ``test``
(2,000), grey values in [0, 1] (or uint8 levels). Either the archive or the extracted
pickle is read; the archive is read in memory, nothing is extracted to disk. Grey values
are kept as 256 levels; discretised logistic likelihood.
"""

import tarfile
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from .dataset import ImageDataset, Split, grey_to_levels
from .safe_pickle import loads_arrays

FILE = "histopathology.pkl"
ARCHIVE = "histopathology.pkl.tar.gz"
KEYS = {"train": "training", "val": "validation", "test": "test"}


def find_histopathology(folder: Path) -> Path:
    """``folder/histopathology.pkl`` if present, else the archive."""
    plain = Path(folder) / FILE
    return plain if plain.is_file() else Path(folder) / ARCHIVE


def read_histopathology_bytes(path: Path) -> bytes:
    if path.name != ARCHIVE:
        return path.read_bytes()
    try:
        with tarfile.open(path, "r:gz") as archive:
            member = next((m for m in archive.getmembers() if m.isfile() and Path(m.name).name == FILE), None)
            if member is None:
                raise InputError(f"{path}: the archive holds no {FILE}; download it again")
            content = archive.extractfile(member)
            if content is None:
                raise InputError(f"{path}: {FILE} in the archive is not a regular file; download it again")
            return content.read()
    except PermissionError:
        raise  # load_dataset says it cannot be read
    except (tarfile.TarError, EOFError, OSError) as err:
        raise InputError(f"{path}: the archive is damaged or truncated ({err}); download it again") from None


def to_levels(images: np.ndarray, source: str, key: str) -> torch.Tensor:
    """``[N, 28, 28]`` or ``[N, 784]`` uint8 levels, or floats in [0, 1] -> ``[N, 784]`` uint8 levels."""
    if images.ndim not in (2, 3) or images.shape[0] == 0 or int(np.prod(images.shape[1:])) != 784:
        raise InputError(
            f"{source}: {key} has shape {images.shape}, expected N x 28 x 28 or N x 784 with N > 0; replace the file"
        )
    flat = images.reshape(len(images), 784)
    if flat.dtype == np.uint8:
        return torch.from_numpy(flat.copy())
    if not np.issubdtype(flat.dtype, np.floating):
        raise InputError(
            f"{source}: {key} must hold uint8 levels or floats in [0, 1], got {flat.dtype}; replace the file"
        )
    if not np.isfinite(flat).all():
        raise InputError(f"{source}: {key} holds NaN or infinite grey values; replace the file")
    if flat.min() < 0 or flat.max() > 1:
        raise InputError(
            f"{source}: {key} holds grey values from {flat.min():g} to {flat.max():g}, outside [0, 1]; replace the file"
        )
    return grey_to_levels(flat)


def load_histopathology(data_dir: Path, split_seed: int = 0) -> ImageDataset:
    path = find_histopathology(data_dir)
    content = loads_arrays(read_histopathology_bytes(path), str(path))
    if not isinstance(content, dict) or any(key not in content for key in KEYS.values()):
        raise InputError(f"{path}: expected a dict with arrays {', '.join(KEYS.values())}; replace the file")
    splits = {name: Split(to_levels(content[key], str(path), key), "grey") for name, key in KEYS.items()}
    return ImageDataset(
        "histopathology",
        (28, 28),
        "logistic",
        pseudo_init=(0.4, 0.05),
        train=splits["train"],
        val=splits["val"],
        test=splits["test"],
    )
