"""Files in the published formats holding bad pixel values, or that cannot be read (issue 17.7, 7b):
refused at load with one line naming the file and what is wrong (they loaded before, and the model
trained on garbage levels or scrambled images, or the message blamed a corrupt download)."""

import errno
import gzip
import pathlib
import pickle
import struct

import numpy as np
import pytest
from scipy.io import savemat

from pyro_vamp.data import load_dataset
from pyro_vamp.data import matlab as matlab_module
from pyro_vamp.errors import InputError
from tests.data.test_datasets import column_major, marked_images


def histopathology(tmp_path, test):
    """histopathology.pkl as published (a pickle of a dict of N x 784 arrays) with ``test`` as its test split."""
    good = {"training": marked_images(6, 0) * 0.5, "validation": marked_images(2, 1) * 0.5, "test": test}
    (tmp_path / "histopathology.pkl").write_bytes(pickle.dumps(good, protocol=2))
    return "histopathology", tmp_path / "histopathology.pkl"


def omniglot(tmp_path, data):
    """chardata.mat as published (784 x N columns, grey values in [0, 1]) with ``data`` as its data."""
    savemat(tmp_path / "chardata.mat", {"data": data, "testdata": column_major(marked_images(3, 1)).T * 1.0})
    return "omniglot", tmp_path / "chardata.mat"


def grey(n=4, seed=2):
    return marked_images(n, seed).reshape(n, 784) * 0.5


def with_value(array, value):
    array = array.astype(np.float64 if not isinstance(value, complex) else np.complex128)
    array.flat[100] = value
    return array


CASES = {
    "histopathology-nan": (lambda t: histopathology(t, with_value(grey(), np.nan)), "test holds NaN or infinite"),
    "histopathology-inf": (lambda t: histopathology(t, with_value(grey(), np.inf)), "test holds NaN or infinite"),
    "histopathology-nan-and-out-of-range": (
        lambda t: histopathology(t, with_value(with_value(grey(), 7.0), np.nan)),
        "test holds NaN or infinite",
    ),
    "histopathology-out-of-range": (lambda t: histopathology(t, with_value(grey(), 1.5)), "from 0 to 1.5, outside"),
    "omniglot-nan": (lambda t: omniglot(t, with_value(column_major(marked_images(6)).T * 0.5, np.nan)), "NaN"),
    "omniglot-out-of-range": (
        lambda t: omniglot(t, with_value(with_value(column_major(marked_images(6)).T * 0.5, 255.0), np.nan)),
        "data holds NaN",
    ),
    "omniglot-transposed": (
        lambda t: omniglot(t, column_major(marked_images(6)) * 1.0),  # N x 784 instead of 784 x N
        "data has shape (6, 784) and dtype float64, expected 784 x N (one image per column) numbers (stored "
        "transposed?)",
    ),
    "omniglot-complex": (
        lambda t: omniglot(t, with_value(column_major(marked_images(6)).T * 0.5, 0.5 + 0.25j)),
        "data holds complex numbers",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_pixel_values_are_refused_naming_the_file(case, tmp_path, monkeypatch):
    monkeypatch.setattr(matlab_module, "OMNIGLOT_VALIDATION", 2)
    write, match = CASES[case]
    name, path = write(tmp_path)
    with pytest.raises(InputError) as refused:
        load_dataset(name, tmp_path)
    message = str(refused.value)
    assert message.startswith(f"{path}: ") and match in message and "\n" not in message, message


def idx_file(tmp_path, name, n):
    (tmp_path / f"{name}.gz").write_bytes(gzip.compress(struct.pack(">IIII", 0x803, n, 28, 28) + bytes(784 * n)))
    return tmp_path / f"{name}.gz"


@pytest.mark.parametrize("dataset", ["dynamic-mnist", "frey-faces", "histopathology", "omniglot"])
def test_a_file_that_may_not_be_read_says_so(dataset, tmp_path, monkeypatch, frey_dir):
    """Issue 17.7b: reading is refused (tests run as root, so the refusal is simulated where the
    loaders read): "cannot be read", not "damaged, download it again" nor an unexpected error."""
    if dataset == "dynamic-mnist":
        idx_file(tmp_path, "train-images-idx3-ubyte", 3)
        target = idx_file(tmp_path, "t10k-images-idx3-ubyte", 2)
    elif dataset == "frey-faces":
        target = tmp_path / "freyfaces.pkl"
        target.write_bytes((frey_dir / "freyfaces.pkl").read_bytes())
    elif dataset == "histopathology":
        _, target = histopathology(tmp_path, grey())
    else:
        _, target = omniglot(tmp_path, column_major(marked_images(6)).T * 0.5)
    real_read_bytes, real_open = pathlib.Path.read_bytes, open

    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    def read_bytes(self):
        return denied(self) if self == target else real_read_bytes(self)

    def opener(file, *args, **kwargs):
        return denied(file) if str(file) == str(target) else real_open(file, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "read_bytes", read_bytes)
    monkeypatch.setattr("builtins.open", opener)  # scipy's loadmat opens the file itself
    with pytest.raises(InputError, match=f"^{target}: cannot be read \\(Permission denied\\); give yourself read"):
        load_dataset(dataset, tmp_path)
