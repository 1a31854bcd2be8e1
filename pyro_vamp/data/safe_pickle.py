"""Unpickling that admits numpy arrays and nothing else.

Published dataset pickles (Frey Faces, Histopathology) are plain pickles of numpy
arrays. A pickle can run arbitrary code, so these files are read with an
unpickler that only resolves the few numpy globals an array needs.
"""

import io
import pickle
from pathlib import Path

import numpy as np

from ..errors import InputError

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how Python 3 writes the bytes of an array in protocols 0-2
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which is not a numpy array")
        return super().find_class(module, name)


def load_arrays(path: Path) -> list[np.ndarray]:
    """The numpy arrays in a pickle holding an array or a list / tuple / dict of arrays.

    Raises :class:`~pyro_vamp.errors.InputError` for anything else (other objects,
    object arrays, a truncated or non-pickle file).
    """
    try:
        data = _ArrayUnpickler(io.BytesIO(Path(path).read_bytes()), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise InputError(f"{path}: not a pickle of numpy arrays ({err}); replace the file with the published one")
    items = list(data.values()) if isinstance(data, dict) else data
    items = [items] if isinstance(items, np.ndarray) else items
    if not isinstance(items, (list, tuple)) or not all(isinstance(a, np.ndarray) for a in items):
        raise InputError(f"{path}: the pickle holds {type(data).__name__}, not numpy arrays; replace the file")
    if any(a.dtype == object for a in items):
        raise InputError(f"{path}: the pickle holds an object array; replace the file with the published one")
    return list(items)
