"""Your own data from a path (pyro_vamp.data.load_path): arrays and image folders, the likelihood
chosen from the values, standardisation, the folder cache, the fingerprint, and bad input."""

import hashlib
import os

import numpy as np
import pytest
import torch
from PIL import Image

from pyro_vamp.data import data_fingerprint, load_path
from pyro_vamp.data import files as data_files
from pyro_vamp.data.dataset import split_indices
from pyro_vamp.data.mnist5k import mnist5k_path, read_mnist5k_csv
from pyro_vamp.errors import InputError

N = 300


@pytest.fixture(scope="module")
def digits():
    """300 real MNIST digits ``[300, 28, 28]`` uint8 and their labels."""
    images, labels = read_mnist5k_csv(mnist5k_path())
    return images[:N].reshape(N, 28, 28), labels[:N]


def load(path, tmp_path, **options):
    return load_path(path, cache_dir=tmp_path / "cache", **options)


def write_pngs(folder, images, names=None):
    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        Image.fromarray(image).save(folder / (names[i] if names else f"{i:04d}.png"))


def test_each_input_form_gives_the_same_splits(digits, tmp_path):
    images, labels = digits
    np.save(tmp_path / "digits.npy", images)
    np.savez(tmp_path / "digits.npz", images=images, labels=labels)
    torch.save(torch.from_numpy(images), tmp_path / "digits.pt")
    write_pngs(tmp_path / "pngs", images)
    loaded = [load(tmp_path / name, tmp_path) for name in ("digits.npy", "digits.npz", "digits.pt", "pngs")]
    parts = [np.sort(p.numpy()) for p in split_indices(N, (240, 30, 30), seed=0)]
    flat = torch.from_numpy(images.reshape(N, 784))
    for dataset in loaded:
        assert (dataset.likelihood, dataset.image_shape, dataset.channels, dataset.input_dim) == (
            "logistic",
            (28, 28),
            1,
            784,
        )
        for split, rows in zip(("train", "val", "test"), parts, strict=True):
            assert dataset.split(split).encoding == "grey"
            assert torch.equal(dataset.split(split).images, flat[rows])  # bit-identical, in file order
    assert torch.equal(loaded[1].labels["val"], torch.from_numpy(labels[parts[1]]))
    assert loaded[0].labels is None and loaded[3].labels is None
    other_seed = load(tmp_path / "digits.npy", tmp_path, split_seed=1)
    assert not torch.equal(other_seed.train.images, loaded[0].train.images)


def test_named_splits_keep_their_rows_and_missing_ones_are_split_off_train(digits, tmp_path):
    images, _ = digits
    row_ids = np.arange(N)  # labels naming each row, to follow the rows through the split
    np.savez(
        tmp_path / "named.npz",
        train=images[:200],
        val=images[200:250],
        test=images[250:],
        train_labels=row_ids[:200],
        val_labels=row_ids[200:250],
        test_labels=row_ids[250:],
    )
    named = load(tmp_path / "named.npz", tmp_path)
    assert (len(named.train), len(named.val), len(named.test)) == (200, 50, 50)
    assert torch.equal(named.test.images, torch.from_numpy(images[250:].reshape(50, -1)))
    assert torch.equal(named.labels["val"], torch.arange(200, 250))
    tensors = {"train": torch.from_numpy(images[:250]), "test": torch.from_numpy(images[250:])}
    tensors |= {"train_labels": torch.arange(250), "test_labels": torch.arange(250, N)}
    torch.save(tensors, tmp_path / "named.pt")
    carved = load(tmp_path / "named.pt", tmp_path, val_fraction=0.2)
    assert (len(carved.train), len(carved.val), len(carved.test)) == (200, 50, 50)
    for split in ("train", "val"):
        rows = carved.labels[split].numpy()
        assert torch.equal(carved.split(split).images, torch.from_numpy(images[rows].reshape(len(rows), -1)))
    assert set(carved.labels["val"].tolist()) <= set(range(250))


def test_string_labels_become_indices_with_names(tmp_path):
    values = np.random.default_rng(0).integers(0, 256, (40, 3, 4)).astype(np.uint8)
    names = np.array(["dog", "cat"] * 20)
    np.savez(tmp_path / "pets.npz", x=values, labels=names)
    dataset = load(tmp_path / "pets.npz", tmp_path, val_fraction=0.25, test_fraction=0.25)
    assert dataset.label_names == ("cat", "dog")
    index = np.sort(split_indices(40, (20, 10, 10), 0)[0].numpy())
    assert dataset.labels["train"].tolist() == [1 if n == "dog" else 0 for n in names[index]]


def test_image_folder_with_split_and_class_folders(digits, tmp_path):
    images, labels = digits
    root = tmp_path / "digits"
    for split, rows in (("train", range(0, 200)), ("test", range(200, N))):
        for i in rows:
            write_pngs(root / split / f"class-{labels[i]}", images[i : i + 1], [f"{i:04d}.png"])
    (root / "README.txt").write_text("not an image: skipped")
    (root / "train" / ".hidden.png").write_bytes(b"skipped")
    dataset = load(root, tmp_path, val_fraction=0.1)
    assert dataset.label_names == tuple(f"class-{d}" for d in sorted(set(labels[:N].tolist())))
    assert (len(dataset.train), len(dataset.val), len(dataset.test)) == (180, 20, 100)
    for split in ("train", "val", "test"):
        names = [dataset.label_names[k] for k in dataset.labels[split].tolist()]
        rows = dataset.split(split).images.reshape(-1, 28, 28).numpy()
        for row, name in zip(rows, names, strict=True):  # each image's label is its folder's
            matches = [i for i in range(N) if np.array_equal(images[i], row)]
            assert any(f"class-{labels[i]}" == name for i in matches)


def test_rgb_images_are_flattened_channels_last(tmp_path):
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (12, 5, 7, 3)).astype(np.uint8)
    write_pngs(tmp_path / "rgb", pixels)
    Image.fromarray(pixels[0, :, :, 0]).save(tmp_path / "rgb" / "9999-grey.png")  # a grey one, read as RGB
    dataset = load(tmp_path / "rgb", tmp_path, val_fraction=0.2, test_fraction=0.2)
    assert (dataset.image_shape, dataset.channels, dataset.input_dim) == ((5, 7), 3, 105)
    every = torch.cat([dataset.train.images, dataset.val.images, dataset.test.images])
    assert every.shape == (13, 105)
    row, column, channel = 2, 4, 1
    wanted = {int(p[row, column, channel]) for p in pixels} | {int(pixels[0, row, column, 0])}
    assert set(every[:, (row * 7 + column) * 3 + channel].tolist()) == wanted
    np.save(tmp_path / "rgb.npy", np.concatenate([pixels, np.repeat(pixels[:1, :, :, :1], 3, axis=3)]))
    from_array = load(tmp_path / "rgb.npy", tmp_path, val_fraction=0.2, test_fraction=0.2)
    assert from_array.channels == 3 and torch.equal(from_array.train.images, dataset.train.images)


def test_bilevel_images_give_a_bernoulli_likelihood(tmp_path):
    bits = np.random.default_rng(0).random((10, 6, 6)) > 0.5
    (tmp_path / "bits").mkdir()
    for i, b in enumerate(bits):
        Image.fromarray(b).save(tmp_path / "bits" / f"{i}.png")  # mode "1"
    dataset = load(tmp_path / "bits", tmp_path, val_fraction=0.2, test_fraction=0.2)
    assert dataset.likelihood == "bernoulli" and dataset.train.encoding == "binary"
    assert set(dataset.train.images.unique().tolist()) == {0, 1}


def test_likelihood_follows_the_values_and_can_be_overridden(tmp_path):
    rng = np.random.default_rng(0)
    np.save(tmp_path / "binary.npy", rng.integers(0, 2, (50, 8)).astype(np.int64))
    np.save(tmp_path / "levels.npy", rng.integers(0, 256, (50, 8)).astype(np.float32))  # integer-valued floats
    np.save(tmp_path / "real.npy", rng.normal(size=(50, 8)))
    chosen = {name: load(tmp_path / f"{name}.npy", tmp_path) for name in ("binary", "levels", "real")}
    assert [(d.likelihood, d.train.encoding) for d in chosen.values()] == [
        ("bernoulli", "binary"),
        ("logistic", "grey"),
        ("gaussian", "real"),
    ]
    assert chosen["binary"].image_shape is None and chosen["binary"].input_dim == 8
    dynamic = load(tmp_path / "levels.npy", tmp_path, binarize=True)
    assert (dynamic.likelihood, dynamic.train.encoding, dynamic.val.encoding, dynamic.test.encoding) == (
        "bernoulli",
        "dynamic",
        "binary",
        "binary",
    )
    forced = load(tmp_path / "levels.npy", tmp_path, likelihood="gaussian")
    assert forced.likelihood == "gaussian" and forced.standardize is not None
    with pytest.raises(InputError, match="binarize"):
        load(tmp_path / "levels.npy", tmp_path, likelihood="bernoulli")
    with pytest.raises(InputError, match="gaussian"):
        load(tmp_path / "real.npy", tmp_path, likelihood="logistic")


def test_real_data_are_standardised_on_the_training_split(tmp_path):
    rng = np.random.default_rng(0)
    values = rng.normal(loc=[5.0, -3.0, 100.0, 0.0], scale=[2.0, 0.5, 30.0, 1.0], size=(400, 4))
    values[:, 3] = 7.0  # a constant dimension: std floored
    np.save(tmp_path / "table.npy", values)
    dataset = load(tmp_path / "table.npy", tmp_path)
    index = [np.sort(p.numpy()) for p in split_indices(400, (320, 40, 40), 0)]
    mean, std = dataset.standardize
    assert torch.allclose(mean, torch.from_numpy(values[index[0]].mean(0)))
    raw_std = values[index[0]].std(0)
    assert torch.allclose(std[:3], torch.from_numpy(raw_std[:3]))
    assert std[3] == pytest.approx(data_files.STD_FLOOR * raw_std.mean())
    train = dataset.train.images.double()
    assert dataset.train.images.dtype == torch.float32
    assert torch.allclose(train[:, :3].mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-6)
    assert torch.allclose(train[:, :3].std(0, correction=0), torch.ones(3, dtype=torch.float64), atol=1e-5)
    assert torch.allclose(dataset.original_scale(dataset.test.images.double()), torch.from_numpy(values[index[2]]))
    assert dataset.log_jacobian() == pytest.approx(-np.log(std.numpy()).sum())
    assert dataset.data_range == (train.min().item(), train.max().item())
    assert dataset.pseudo_init[0] == pytest.approx(train.mean().item(), abs=1e-9)


def test_a_changed_image_is_noticed_and_an_unchanged_folder_comes_from_the_cache(digits, tmp_path, monkeypatch):
    images, _ = digits
    root = tmp_path / "bmps"  # BMP files: a change of pixels keeps the file size
    write_pngs(root, images[:40], [f"{i:04d}.bmp" for i in range(40)])
    decoded = []
    decode = data_files.decode_image
    monkeypatch.setattr(data_files, "decode_image", lambda data, path: decoded.append(path) or decode(data, path))
    first = load(root, tmp_path)
    assert len(decoded) == 40 and data_files.folder_cache_file(root, tmp_path / "cache").is_file()
    again = load(root, tmp_path)
    assert len(decoded) == 40 and torch.equal(again.train.images, first.train.images)
    target = root / "0003.bmp"
    stat = os.stat(target)
    Image.fromarray(255 - images[3]).save(target)  # new pixels; even with the old time and size...
    os.utime(target, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert os.stat(target).st_size == stat.st_size
    changed = load(root, tmp_path)
    assert len(decoded) == 80  # ... the change is noticed (files this new are compared by content)
    every = torch.cat([changed.train.images, changed.val.images, changed.test.images])
    assert any(torch.equal(row, torch.from_numpy(255 - images[3].reshape(-1))) for row in every)


def test_old_files_are_checked_by_name_size_and_time_only(digits, tmp_path, monkeypatch):
    images, _ = digits
    root = tmp_path / "pngs"
    write_pngs(root, images[:20])
    for path in root.iterdir():
        os.utime(path, (1e9, 1e9))  # long before the cache is made
    load(root, tmp_path)
    reads = []
    read = data_files._read
    monkeypatch.setattr(data_files, "_read", lambda path: reads.append(path) or read(path))
    load(root, tmp_path)
    assert reads == []  # the cache was valid without reading a file
    Image.fromarray(255 - images[5]).save(root / "0005.png")
    os.utime(root / "0005.png", (1e9 + 1, 1e9 + 1))
    load(root, tmp_path)
    assert len(reads) == 20  # a changed time: decoded again


def test_fingerprints(digits, tmp_path):
    images, _ = digits
    np.save(tmp_path / "digits.npy", images)
    raw = (tmp_path / "digits.npy").read_bytes()
    assert data_fingerprint(tmp_path / "digits.npy") == "sha256:" + hashlib.sha256(raw).hexdigest()
    root = tmp_path / "pngs"
    write_pngs(root / "a", images[:3])
    write_pngs(root / "b", images[3:5])
    names = ["a/0000.png", "a/0001.png", "a/0002.png", "b/0000.png", "b/0001.png"]
    by_hand = hashlib.sha256()
    for name in names:
        by_hand.update(name.encode() + b"\0" + hashlib.sha256((root / name).read_bytes()).digest())
    cache = tmp_path / "cache"
    assert data_fingerprint(root, cache) == "sha256:" + by_hand.hexdigest()
    assert data_fingerprint(root, cache) == "sha256:" + by_hand.hexdigest()  # from the cache
    Image.fromarray(images[9]).save(root / "b" / "0001.png")
    assert data_fingerprint(root, cache) != "sha256:" + by_hand.hexdigest()


class Payload:
    """Not a tensor: a .pt file holding one is refused."""


def _bad_inputs(tmp_path, digits):
    """(path, options, words the message must hold) of each kind of bad input."""
    images, labels = digits
    cases = {}
    sizes = tmp_path / "sizes"
    write_pngs(sizes, images[:3])
    Image.fromarray(np.zeros((30, 28), np.uint8)).save(sizes / "0001.png")
    cases["sizes"] = (sizes / "0001.png", {}, "one size")
    broken = tmp_path / "broken"
    write_pngs(broken, images[:3])
    (broken / "0002.png").write_bytes(b"\x89PNG not really")
    cases["unreadable"] = (broken / "0002.png", {}, "not a readable image")
    np.save(tmp_path / "words.npy", np.array([["a", "b"], ["c", "d"]]))
    cases["non-numeric"] = (tmp_path / "words.npy", {}, "not numbers")
    np.save(tmp_path / "objects.npy", np.array([[1, "a"], [2, None]], dtype=object), allow_pickle=True)
    cases["object"] = (tmp_path / "objects.npy", {}, "object array")
    for name, value in (("nan", np.nan), ("inf", np.inf)):
        values = np.random.default_rng(0).normal(size=(20, 4))
        values[7, 2] = value
        np.save(tmp_path / f"{name}.npy", values)
        cases[name] = (tmp_path / f"{name}.npy", {}, "NaN or Inf values (first in row 7)")
    np.savez(tmp_path / "empty.npz", train=images[:10], val=images[:0], test=images[10:20])
    cases["empty split"] = (tmp_path / "empty.npz", {}, "val split is empty")
    real = np.random.default_rng(0).normal(size=(10, 3, 2))
    np.savez(tmp_path / "empty_real.npz", train=real, test=real[:0])
    cases["empty real split"] = (tmp_path / "empty_real.npz", {}, "test split is empty")
    np.save(tmp_path / "few.npy", images[:4])
    cases["empty fraction"] = (tmp_path / "few.npy", {}, "would be empty")
    empty_dir = tmp_path / "empty_test"
    write_pngs(empty_dir / "train", images[:5])
    (empty_dir / "test").mkdir()
    cases["empty split folder"] = (empty_dir / "test", {}, "test split is empty")
    np.savez(tmp_path / "labels.npz", x=images[:50], labels=labels[:49])
    cases["labels length"] = (tmp_path / "labels.npz", {}, "one label per row")
    torch.save([torch.zeros(3, 4)], tmp_path / "list.pt")
    cases["pt list"] = (tmp_path / "list.pt", {}, "not a tensor or a dict")
    torch.save({"train": torch.zeros(3, 4), "note": 3}, tmp_path / "mixed.pt")
    cases["pt dict"] = (tmp_path / "mixed.pt", {}, "not a tensor or a dict")
    torch.save(Payload(), tmp_path / "object.pt")
    cases["pt object"] = (tmp_path / "object.pt", {}, "weights_only")
    np.save(tmp_path / "vector.npy", np.arange(10))
    cases["1-d"] = (tmp_path / "vector.npy", {}, "expected [N, D]")
    (tmp_path / "data.csv").write_text("1,2\n")
    cases["suffix"] = (tmp_path / "data.csv", {}, "unknown file type")
    return cases


BAD = [
    "sizes",
    "unreadable",
    "non-numeric",
    "object",
    "nan",
    "inf",
    "empty split",
    "empty real split",
    "empty fraction",
    "empty split folder",
    "labels length",
    "pt list",
    "pt dict",
    "pt object",
    "1-d",
    "suffix",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_naming_the_file(case, digits, tmp_path):
    path, options, words = _bad_inputs(tmp_path, digits)[case]
    target = path.parent if case in ("sizes", "unreadable", "empty split folder") else path
    with pytest.raises(InputError) as raised:
        load(target, tmp_path, **options)
    message = str(raised.value)
    assert "\n" not in message and str(path) in message and words in message


def test_each_input_form_gives_the_same_first_epoch_loss(digits, tmp_path, monkeypatch):
    from pyro_vamp.config import TrainConfig
    from pyro_vamp.run_folder import read_metrics
    from pyro_vamp.training import train

    monkeypatch.setenv("PYRO_VAMP_DATA_DIR", str(tmp_path / "data-cache"))  # where the PNG cache goes
    images, labels = digits
    np.save(tmp_path / "digits.npy", images)
    np.savez(tmp_path / "digits.npz", images=images, labels=labels)
    torch.save(torch.from_numpy(images), tmp_path / "digits.pt")
    write_pngs(tmp_path / "pngs", images)
    tiny = dict(model="vae", prior="vamp", components=5, latent_dim=4, hidden=16, warmup=1, batch_size=60, epochs=1)
    losses = []
    for name in ("digits.npy", "digits.npz", "digits.pt", "pngs"):
        config = TrainConfig(data=str(tmp_path / name), dataset=name, **tiny)
        train(config, tmp_path / f"run-{name}")
        losses.append(read_metrics(tmp_path / f"run-{name}")[0]["train_loss"])
    assert losses[0] == losses[1] == losses[2] == losses[3]
