"""Every paper dataset's loader on small files written in the published formats."""

import gzip
import io
import pickle
import struct
import subprocess
import sys
import tarfile

import numpy as np
import pytest
import torch
from scipy.io import savemat

from pyro_vamp.data import idx as idx_module
from pyro_vamp.data import load_dataset
from pyro_vamp.data import matlab as matlab_module
from pyro_vamp.errors import InputError


def marked_images(n, seed=0, levels=False):
    """n distinct 28 x 28 images, each with a bright bar in the top-left corner of the first row,
    so that a transposed or flipped image is recognised. Values 0/1, or 0..255 with ``levels``."""
    rng = np.random.default_rng(seed)
    images = (rng.random((n, 28, 28)) < 0.2).astype(np.uint8)
    images[:, 0, :6] = 1
    images[:, :, 27] = 0
    images[:, 27, :] = 0
    return images * 255 if levels else images


def assert_marked(flat):
    images = flat.reshape(-1, 28, 28)
    assert torch.all(images[:, 0, :6] > 0) and torch.all(images[:, :, 27] == 0) and torch.all(images[:, 27] == 0)


# --- static MNIST (.amat) ----------------------------------------------------------------------


def write_amat(path, images):
    path.write_text("\n".join(" ".join(str(v) for v in image.reshape(-1)) for image in images) + "\n")


def test_static_mnist(tmp_path):
    for name, n, seed in (("train", 7, 0), ("valid", 3, 1), ("test", 4, 2)):
        write_amat(tmp_path / f"binarized_mnist_{name}.amat", marked_images(n, seed))
    data = load_dataset("static-mnist", tmp_path)
    assert (len(data.train), len(data.val), len(data.test)) == (7, 3, 4)
    assert data.train.encoding == "binary" and data.train.images.dtype == torch.uint8
    assert_marked(data.test.images)
    assert torch.equal(data.val.images, torch.from_numpy(marked_images(3, 1).reshape(3, 784)))


@pytest.mark.parametrize(
    "content,match", [("0 1 2\n", "784 values"), ("0 " * 783 + "7\n", "0 or 1"), ("a b c\n", "numbers")]
)
def test_static_mnist_rejects_bad_files(tmp_path, content, match):
    for name in ("train", "valid", "test"):
        write_amat(tmp_path / f"binarized_mnist_{name}.amat", marked_images(2))
    (tmp_path / "binarized_mnist_valid.amat").write_text(content)
    with pytest.raises(InputError, match=match):
        load_dataset("static-mnist", tmp_path)


# --- dynamic MNIST (IDX) -----------------------------------------------------------------------


def idx_bytes(images, magic=0x00000803):
    n = images.shape[0]
    return struct.pack(">IIII", magic, n, 28, 28) + images.astype(np.uint8).tobytes()


@pytest.mark.parametrize("gzipped", [True, False])
def test_dynamic_mnist(tmp_path, monkeypatch, gzipped):
    monkeypatch.setattr(idx_module, "VALIDATION_SIZE", 3)
    for name, images in (
        ("train-images-idx3-ubyte", marked_images(10, 0, levels=True)),
        ("t10k-images-idx3-ubyte", marked_images(4, 1, levels=True)),
    ):
        data = idx_bytes(images)
        if gzipped:
            (tmp_path / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (tmp_path / name).write_bytes(data)
    data = load_dataset("dynamic-mnist", tmp_path)
    assert (len(data.train), len(data.val), len(data.test)) == (7, 3, 4)
    assert data.train.encoding == "dynamic" and data.val.encoding == data.test.encoding == "binary"
    assert torch.equal(data.train.images, torch.from_numpy(marked_images(10, 0, levels=True)[:7].reshape(7, 784)))
    assert torch.equal(data.val.images, torch.from_numpy(marked_images(10, 0)[7:].reshape(3, 784)))  # 0/255 -> 0/1
    assert_marked(data.test.images)


@pytest.mark.parametrize(
    "corruption,match",
    [
        ("labels-magic", "magic number"),
        ("truncated-gzip", "damaged or truncated"),
        ("short-body", "header promises"),
        ("wrong-size", "expected 28 x 28"),
    ],
)
def test_dynamic_mnist_rejects_bad_files(tmp_path, monkeypatch, corruption, match):
    monkeypatch.setattr(idx_module, "VALIDATION_SIZE", 1)
    good = idx_bytes(marked_images(4, levels=True))
    bad = {
        "labels-magic": gzip.compress(idx_bytes(marked_images(4), magic=0x00000801)),
        "truncated-gzip": gzip.compress(good)[:-40],
        "short-body": gzip.compress(good[:-100]),
        "wrong-size": gzip.compress(struct.pack(">IIII", 0x803, 1, 32, 32) + bytes(1024)),
    }[corruption]
    (tmp_path / "train-images-idx3-ubyte.gz").write_bytes(bad)
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(good))
    with pytest.raises(InputError, match=match):
        load_dataset("dynamic-mnist", tmp_path)


# --- OMNIGLOT and Caltech 101 Silhouettes (MATLAB) ----------------------------------------------


def column_major(images):
    """[N, 28, 28] -> [N, 784] read column by column, as the published .mat files store them."""
    return np.stack([image.flatten(order="F") for image in images])


def test_omniglot(tmp_path, monkeypatch):
    monkeypatch.setattr(matlab_module, "OMNIGLOT_VALIDATION", 2)
    train, test = marked_images(6, 0), marked_images(3, 1)
    savemat(
        tmp_path / "chardata.mat",
        {
            "data": column_major(train).T.astype(np.float64),
            "testdata": column_major(test).T.astype(np.float64),
            "target": np.zeros((50, 6)),
        },
    )
    data = load_dataset("omniglot", tmp_path, split_seed=0)
    assert (len(data.train), len(data.val), len(data.test)) == (4, 2, 3)
    assert data.train.encoding == "dynamic"
    assert_marked(data.train.images) and assert_marked(data.test.images)
    rows = {tuple(r.tolist()) for r in torch.cat([data.train.images // 255, data.val.images])}
    assert rows == {tuple(r) for r in train.reshape(6, 784).tolist()}  # disjoint, and together all of data
    again = load_dataset("omniglot", tmp_path, split_seed=0)
    other = [load_dataset("omniglot", tmp_path, split_seed=s).val.images for s in range(1, 6)]
    assert torch.equal(again.val.images, data.val.images)
    assert any(not torch.equal(v, data.val.images) for v in other)


def test_caltech_silhouettes_objects_are_ones(tmp_path):
    splits = {"train_data": marked_images(5, 0), "val_data": marked_images(2, 1), "test_data": marked_images(3, 2)}
    # published polarity: objects are 0, background 1
    savemat(
        tmp_path / "caltech101_silhouettes_28_split1.mat",
        {key: (1 - column_major(images)).astype(np.float64) for key, images in splits.items()},
    )
    data = load_dataset("caltech101-silhouettes", tmp_path)
    assert (len(data.train), len(data.val), len(data.test)) == (5, 2, 3)
    assert_marked(data.train.images)
    assert torch.equal(data.val.images, torch.from_numpy(splits["val_data"].reshape(2, 784)))


def test_matlab_file_without_the_arrays_is_rejected(tmp_path):
    savemat(tmp_path / "chardata.mat", {"something": np.zeros((3, 3))})
    with pytest.raises(InputError, match="no data, testdata array"):
        load_dataset("omniglot", tmp_path)
    (tmp_path / "chardata.mat").write_bytes(b"MATLAB 5.0 MAT-file" + bytes(50))
    with pytest.raises(InputError, match="chardata.mat"):
        load_dataset("omniglot", tmp_path)


# --- Histopathology (pickle, or the pickle in a .tar.gz) ----------------------------------------


def histopathology_pickle(float_values=True):
    content = {}
    for key, n, seed in (("training", 6, 0), ("validation", 2, 1), ("test", 3, 2)):
        images = marked_images(n, seed, levels=True)
        content[key] = images / 255.0 if float_values else images
    return pickle.dumps(content, protocol=2)


@pytest.mark.parametrize("packaging", ["pkl", "tar.gz"])
def test_histopathology(tmp_path, packaging):
    data = histopathology_pickle()
    if packaging == "pkl":
        (tmp_path / "histopathology.pkl").write_bytes(data)
    else:
        with tarfile.open(tmp_path / "histopathology.pkl.tar.gz", "w:gz") as archive:
            info = tarfile.TarInfo("histopathologyGray/histopathology.pkl")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    loaded = load_dataset("histopathology", tmp_path)
    assert (len(loaded.train), len(loaded.val), len(loaded.test)) == (6, 2, 3)
    assert loaded.likelihood == "logistic" and loaded.train.encoding == "grey"
    assert torch.equal(loaded.test.images, torch.from_numpy(marked_images(3, 2, levels=True).reshape(3, 784)))


def test_histopathology_truncated_archive_is_rejected(tmp_path):
    with tarfile.open(tmp_path / "full.tar.gz", "w:gz") as archive:
        data = histopathology_pickle()
        info = tarfile.TarInfo("histopathology.pkl")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    (tmp_path / "histopathology.pkl.tar.gz").write_bytes((tmp_path / "full.tar.gz").read_bytes()[:300])
    with pytest.raises(InputError, match="damaged or truncated"):
        load_dataset("histopathology", tmp_path)


# --- every corruption through the CLI: exit 2, one line, no traceback ----------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "dataset,files",
    [
        ("dynamic-mnist", {"train-images-idx3-ubyte.gz": b"\x1f\x8b\x08\x00garbage", "t10k-images-idx3-ubyte": b""}),
        (
            "dynamic-mnist",
            {
                "train-images-idx3-ubyte": idx_bytes(marked_images(2), magic=0x801),
                "t10k-images-idx3-ubyte": idx_bytes(marked_images(2)),
            },
        ),
        ("frey-faces", {"freyfaces.pkl": pickle.dumps({"a": [1, 2]})}),
        ("frey-faces", {"freyfaces.pkl": pickle.dumps([np.zeros((5, 560), dtype=np.float32)])}),
        ("histopathology", {"histopathology.pkl": b"not a pickle"}),
        ("omniglot", {"chardata.mat": b"\x00" * 200}),
        (
            "static-mnist",
            {
                "binarized_mnist_train.amat": "2 " * 784,
                "binarized_mnist_valid.amat": "",
                "binarized_mnist_test.amat": "",
            },
        ),
    ],
)
def test_bad_files_exit_2_with_one_line(tmp_path, dataset, files):
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content) if isinstance(content, bytes) else path.write_text(content)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pyro_vamp.cli",
            "train",
            "--dataset",
            dataset,
            "--data-dir",
            tmp_path,
            "--epochs",
            "1",
            "--out",
            tmp_path / "run",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr and str(tmp_path) in lines[0]
    assert not (tmp_path / "run" / "checkpoint-last.pt").exists()


def test_missing_dataset_names_the_download_command(tmp_path):
    with pytest.raises(
        InputError,
        match=r"pyro-vamp datasets download static-mnist .*binarized_mnist_train\.amat|"
        r"binarized_mnist_train\.amat.*pyro-vamp datasets download static-mnist",
    ):
        load_dataset("static-mnist", tmp_path)
