"""Checkpoints: written atomically, readable with ``torch.load(weights_only=True)``."""

import os
import tempfile
from pathlib import Path

import torch

from .errors import InputError

FORMAT = "pyro-vamp-checkpoint-1"


def save_checkpoint(state: dict, path: Path) -> None:
    """Write ``state`` to ``path`` atomically: a temporary file in the same folder, fsync, rename.

    A crash at any moment leaves either the old file or the new one, never half of one.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # the permissions a plain open() would give
        with os.fdopen(fd, "wb") as f:
            torch.save({"format": FORMAT, **state}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_checkpoint(path: Path, map_location="cpu") -> dict:
    """Read a checkpoint (tensors and plain data only); :class:`InputError` if missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no checkpoint at {path}; train first (pyro-vamp train --out {path.parent})")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # torch raises many types for a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"checkpoint {path} is corrupt or unreadable ({reason}); retrain or restore it")
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise InputError(f"{path} is not a pyro-vamp checkpoint; retrain or restore it")
    return state
