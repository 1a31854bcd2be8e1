"""Unpickling that admits numpy arrays and nothing else.

Published dataset pickles (Frey Faces, Histopathology) are plain pickles of numpy
arrays in a list or a dict. A pickle can run arbitrary code, so these files are read
with an unpickler that only resolves the few globals an array needs.
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
    ("__builtin__", "bytes"),  # ... and those of an empty array (bytes() makes only bytes)
    ("builtins", "bytes"),
}


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}, which is not a numpy array")
        return super().find_class(module, name)


def loads_arrays(data: bytes, source: str) -> dict | list:
    """Unpickle ``data`` (from ``source``, named in errors): a numpy array, or a list / tuple /
    dict of them, returned as a list or a dict of arrays. Anything else is an :class:`InputError`."""
    try:
        content = _ArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as err:
        raise InputError(
            f"{source}: not a pickle of numpy arrays ({err}); replace the file with the published one"
        ) from None
    items = [content] if isinstance(content, np.ndarray) else content
    values = list(items.values()) if isinstance(items, dict) else items
    if not isinstance(values, (list, tuple)) or not all(isinstance(a, np.ndarray) for a in values):
        raise InputError(f"{source}: the pickle holds {type(content).__name__}, not numpy arrays; replace the file")
    if any(a.dtype == object for a in values):
        raise InputError(f"{source}: the pickle holds an object array; replace the file with the published one")
    return dict(items) if isinstance(items, dict) else list(values)


def load_arrays(path: Path) -> list[np.ndarray]:
    """The numpy arrays in the pickle file ``path`` (a dict's values in order)."""
    content = loads_arrays(Path(path).read_bytes(), str(path))
    return list(content.values()) if isinstance(content, dict) else content
