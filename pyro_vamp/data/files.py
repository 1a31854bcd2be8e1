"""Your own data from a path: arrays in ``.npy`` / ``.npz`` / ``.pt`` files, or a folder of images.

:func:`load_path` returns an :class:`~pyro_vamp.data.ImageDataset` like the built-in datasets.

**Arrays.** A file holds either

- one array (a ``.npy`` file, a ``.npz`` with one array under any name, a ``.pt`` with one tensor
  or a dict with one tensor), split at random into train / val / test by ``val_fraction``,
  ``test_fraction`` and ``split_seed``; its labels, if any, are the array ``labels``; or
- named arrays ``train``, ``val``, ``test`` (``val`` and ``test`` may be left out: they are then
  split off ``train`` by their fractions), with labels ``train_labels``, ``val_labels``,
  ``test_labels`` (for every given split or for none).

Shapes are ``[N, H, W]`` (grey images), ``[N, H, W, C]`` (channels last, C = 1 or 3) or ``[N, D]``
(plain vectors: ``image_shape`` is None, for the MLP models only). Labels are one integer or
string per row; they colour figures and are never used in training. Files are read without
running code: ``np.load(allow_pickle=False)``, ``torch.load(weights_only=True)`` (a tensor or a
dict of tensors and nothing else).

**A folder of images** (:data:`IMAGE_SUFFIXES`, read with Pillow; hidden and other files are
skipped), grey or RGB (mode ``1`` bilevel images give 0 / 1, an alpha channel is dropped, a
folder mixing grey and RGB images is read as RGB), all one size; either flat, or with ``train/``,
``val/``, ``test/`` sub-folders (``val/`` and ``test/`` may be left out, as above). Inside either,
images may sit in class sub-folders: the labels are the index of the class folder in sorted name
order, and the names are ``label_names``. Files are read in sorted order of their relative paths.
The decoded images are cached (:func:`folder_cache_file`) and the cache is used as long as every
image file keeps its name, size and modification time (files modified within
:data:`RACY_SECONDS` of the cache's making are also compared by content, so a change made right
after a load is noticed too).

**Likelihood** (override with ``likelihood``): values all 0 or 1 -> ``bernoulli``; integers
0..255 -> ``logistic`` (discretised logistic on (v + 0.5) / 256), or with ``binarize=True``
``bernoulli`` with dynamic binarisation (training split re-binarised per batch, val and test
binarised once, as mnist5k; black-and-white images saved as 0 / 255 then stay exactly binary);
anything else -> ``gaussian``: the data are standardised per dimension with the training split's
mean and std (std floored at :data:`STD_FLOOR` times the mean std; all-constant data keep std
1), stored as float32 (``ImageDataset.standardize`` holds the transform, and
``ImageDataset.log_jacobian()`` the correction ln p(x_original) = ln p(x_stored) - sum_d ln std_d).

The VampPrior's pseudo-inputs start near the training data (``pseudo_init`` = (mean,
:data:`PSEUDO_SPREAD` x std) of the model inputs) and are clipped to the training split's
(min, max) (``data_range``).
"""

import dataclasses
import hashlib
import io
import os
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from .dataset import ImageDataset, Split, binarize_once, split_indices

#: Splits of a dataset, in order.
SPLITS = ("train", "val", "test")
#: Likelihoods :func:`load_path` can choose.
LIKELIHOODS = ("bernoulli", "logistic", "gaussian")
#: Image files a folder is read for (case-insensitive); other files are skipped.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pbm", ".pgm", ".ppm")
#: Array files.
ARRAY_SUFFIXES = (".npy", ".npz", ".pt", ".pth")
#: Standard deviations of standardised data are at least this fraction of their mean over dimensions.
STD_FLOOR = 1e-3
#: The VampPrior's initial pseudo-inputs: N(mean, (PSEUDO_SPREAD * std)^2) of the training inputs,
#: near the data mean as the original code's (0.05, 0.01) for MNIST.
PSEUDO_SPREAD = 0.1
#: Files whose modification time is this close to the cache's making (or later) are compared by content.
RACY_SECONDS = 2.0
#: Bump when the cache's content changes meaning.
CACHE_VERSION = 1


@dataclass
class RawData:
    """Arrays as read from a path, before splitting and encoding.

    ``arrays``: the given splits (``train`` at least), ``[N, ...]`` each; ``labels``: the same keys
    (or None), ``[N]`` each; ``names``: names of label values (class folders) or None."""

    source: str
    format: str
    arrays: dict[str, np.ndarray]
    labels: dict[str, np.ndarray] | None = None
    names: tuple[str, ...] | None = None


def load_path(
    path: Path | str,
    *,
    val_fraction: float = 0.1,
    test_fraction: float = 0.1,
    split_seed: int = 0,
    likelihood: str | None = None,
    binarize: bool = False,
    cache_dir: Path | str | None = None,
) -> ImageDataset:
    """The dataset in a ``.npy`` / ``.npz`` / ``.pt`` file or a folder of images (see the module).

    :param val_fraction: fraction of the ``train`` data split off as validation when no ``val``
        array (or folder) is given.
    :param test_fraction: likewise for ``test``.
    :param split_seed: seed of that random split.
    :param likelihood: ``bernoulli``, ``logistic`` or ``gaussian``; default: chosen from the values.
    :param binarize: dynamic binarisation of grey levels (a Bernoulli likelihood).
    :param cache_dir: where decoded image folders are cached (default
        :func:`~pyro_vamp.data.default_data_dir` / ``cache``).

    Raises :class:`~pyro_vamp.errors.InputError` (one line, naming the file and what to fix) for
    anything it cannot use.
    """
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise InputError(f"{name} must be in [0, 1), got {value}")
    if val_fraction + test_fraction >= 1:
        raise InputError(f"val_fraction + test_fraction must be below 1, got {val_fraction + test_fraction}")
    if likelihood is not None and likelihood not in LIKELIHOODS:
        raise InputError(f"likelihood {likelihood!r} is not one of: {', '.join(LIKELIHOODS)}")
    raw = read_path(path, cache_dir)
    for split, array in raw.arrays.items():
        _check_array(array, raw.source, split)
    raw = _complete_splits(raw, val_fraction, test_fraction, split_seed)
    return _make_dataset(raw, likelihood, binarize)


def read_path(path: Path | str, cache_dir: Path | str | None = None) -> RawData:
    """The arrays at ``path`` (a file or a folder of images), unchecked and unsplit."""
    path = Path(path).expanduser()
    if path.is_dir():
        return _read_folder(path, cache_dir)
    if not path.is_file():
        raise InputError(f"{path}: no such file or folder; give a .npy, .npz or .pt file or a folder of images")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        content = {"data": _load_npy(path)}
    elif suffix == ".npz":
        content = _load_npz(path)
    elif suffix in (".pt", ".pth"):
        content = _load_pt(path)
    else:
        raise InputError(f"{path}: unknown file type {suffix!r}; give a .npy, .npz or .pt file or a folder of images")
    return _named_arrays(content, str(path), suffix.lstrip("."))


def data_fingerprint(path: Path | str, cache_dir: Path | str | None = None) -> str:
    """A content hash of the data at ``path``: ``"sha256:<hex>"``.

    For a file, the SHA-256 of its bytes. For a folder, the SHA-256 over its image files (those
    :func:`load_path` reads) in sorted order of their relative paths, of each file's relative path
    (UTF-8, ``/`` separators), a NUL byte and the SHA-256 of the file's bytes (32 bytes); the
    per-file digests come from the folder's cache when it is valid.
    """
    path = Path(path).expanduser()
    if path.is_dir():
        scan = scan_folder(path, cache_dir)
        digest = hashlib.sha256()
        for name, file_digest in zip(scan.names, scan.digests, strict=True):
            digest.update(name.encode() + b"\0" + file_digest.tobytes())
        return "sha256:" + digest.hexdigest()
    if not path.is_file():
        raise InputError(f"{path}: no such file or folder")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return "sha256:" + digest.hexdigest()


# ---------------------------------------------------------------------------------------------
# array files


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise InputError(f"{path}: holds an object array (Python objects); save a numeric array") from None
        raise InputError(f"{path}: not a readable .npy file ({_first_line(err)}); save it with numpy.save") from None
    except (OSError, EOFError) as err:
        raise InputError(f"{path}: not a readable .npy file ({_first_line(err)}); save it with numpy.save") from None


def _load_npz(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise InputError(f"{path}: is a .npy file, not a .npz archive; rename it to .npy")
            return {key: archive[key] for key in archive.files}
    except ValueError as err:
        if "allow_pickle" in str(err):
            raise InputError(f"{path}: holds an object array (Python objects); save numeric arrays") from None
        raise InputError(f"{path}: not a readable .npz file ({_first_line(err)}); save it with numpy.savez") from None
    except (OSError, EOFError, zipfile.BadZipFile) as err:
        raise InputError(f"{path}: not a readable .npz file ({_first_line(err)}); save it with numpy.savez") from None


def _load_pt(path: Path) -> dict[str, np.ndarray]:
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many kinds of errors here; each means bad input
        raise InputError(
            f"{path}: not a torch file of tensors (torch.load with weights_only=True refused it: "
            f"{type(err).__name__}); save a tensor or a dict of tensors with torch.save"
        ) from None
    items = {"data": content} if isinstance(content, torch.Tensor) else content
    if not isinstance(items, dict) or not all(isinstance(k, str) and _plain_tensor(v) for k, v in items.items()):
        raise InputError(
            f"{path}: holds {type(content).__name__}, not a tensor or a dict of named tensors; "
            "save a tensor or a dict of tensors with torch.save"
        )
    return {key: _tensor_to_numpy(value) for key, value in items.items()}


def _plain_tensor(value) -> bool:
    return isinstance(value, torch.Tensor) and value.layout == torch.strided and not value.is_quantized


def _tensor_to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach()
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return tensor.numpy()


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _named_arrays(content: dict[str, np.ndarray], source: str, kind: str) -> RawData:
    """Interpret a file's arrays: named splits with ``*_labels``, or one array with ``labels``."""
    label_keys = {"labels"} | {f"{s}_labels" for s in SPLITS}
    data_keys = [k for k in content if k not in label_keys]
    if any(k in SPLITS for k in data_keys):
        extra = [k for k in data_keys if k not in SPLITS] + (["labels"] if "labels" in content else [])
        if extra:
            raise InputError(
                f"{source}: unexpected array {extra[0]!r} beside the named splits; "
                "name the arrays train, val, test and train_labels, val_labels, test_labels"
            )
        if "train" not in content:
            raise InputError(f"{source}: has named splits but no 'train' array; add one")
        arrays = {s: content[s] for s in SPLITS if s in content}
        labels = {s: content[f"{s}_labels"] for s in SPLITS if f"{s}_labels" in content}
    else:
        if len(data_keys) != 1:
            found = ", ".join(repr(k) for k in data_keys) or "none"
            raise InputError(
                f"{source}: expected one data array or arrays named train / val / test, found {found}; "
                "rename the arrays"
            )
        stray = [k for k in content if k in label_keys and k != "labels"]
        if stray:
            raise InputError(f"{source}: {stray[0]!r} needs a {stray[0][: -len('_labels')]!r} array; name it 'labels'")
        arrays = {"train": content[data_keys[0]]}
        labels = {"train": content["labels"]} if "labels" in content else {}
    named = any(k in SPLITS for k in data_keys)
    return RawData(source, kind, arrays, *_label_indices(labels, arrays, source, named))


def _label_indices(
    labels: dict[str, np.ndarray], arrays: dict[str, np.ndarray], source: str, named: bool
) -> tuple[dict[str, np.ndarray] | None, tuple[str, ...] | None]:
    """Labels as int64 per split (string labels as indices of their sorted names), checked;
    ``named``: the file has named splits (labels ``train_labels``, ...), not one array (``labels``)."""
    if not labels:
        return None, None
    missing = [s for s in arrays if s not in labels]
    if missing:
        raise InputError(
            f"{source}: labels are given for {', '.join(labels)} but not for {missing[0]}; give all or none"
        )
    for split, values in labels.items():
        key = f"{split}_labels" if named else "labels"
        if values.ndim != 1 or len(values) != len(arrays[split]):
            raise InputError(
                f"{source}: {key} has shape {list(values.shape)} but the {split} data have {len(arrays[split])} rows; "
                "give one label per row"
            )
    if all(v.dtype.kind in "US" for v in labels.values()):
        names = tuple(sorted(set().union(*(v.tolist() for v in labels.values()))))
        index = {name: i for i, name in enumerate(names)}
        return {s: np.array([index[v] for v in values.tolist()], np.int64) for s, values in labels.items()}, names
    for split, values in labels.items():
        if values.dtype.kind not in "biu" and not (values.dtype.kind == "f" and np.all(values == np.rint(values))):
            key = f"{split}_labels" if named else "labels"
            raise InputError(f"{source}: {key} has values of type {values.dtype}; labels are integers or strings")
    return {s: v.astype(np.int64) for s, v in labels.items()}, None


def _check_array(array: np.ndarray, source: str, split: str) -> None:
    """Numbers, of a usable shape, not empty, finite."""
    if array.dtype.kind not in "biuf":
        raise InputError(f"{source}: the {split} array has dtype {array.dtype}, not numbers; save a numeric array")
    if array.ndim not in (2, 3, 4):
        raise InputError(
            f"{source}: the {split} array has shape {list(array.shape)}; expected [N, D], [N, H, W] or [N, H, W, C]"
        )
    if array.ndim == 4 and array.shape[-1] not in (1, 3):
        raise InputError(
            f"{source}: the {split} array has shape {list(array.shape)}, whose last axis is not 1 or 3 channels; "
            "save images channels-last [N, H, W, C], or [N, H, W] for grey"
        )
    if len(array) == 0:
        raise InputError(f"{source}: the {split} split is empty; give it data")
    if array.dtype.kind == "f":
        finite = np.isfinite(array.reshape(len(array), -1)).all(axis=1)
        if not finite.all():
            raise InputError(
                f"{source}: the {split} array holds NaN or Inf values (first in row {int(np.argmin(finite))}); "
                "remove or impute them"
            )


# ---------------------------------------------------------------------------------------------
# splitting and encoding


def _check_splits(raw: RawData) -> None:
    """Every given split non-empty and of the training split's shape per row."""
    shape = raw.arrays["train"].shape[1:]
    for split, array in raw.arrays.items():
        if len(array) == 0:
            raise InputError(f"{raw.source}: the {split} split is empty; give it data")
        if array.shape[1:] != shape:
            raise InputError(
                f"{raw.source}: the {split} data have shape {list(array.shape[1:])} per row but train has "
                f"{list(shape)}; give every split the same shape"
            )


def _complete_splits(raw: RawData, val_fraction: float, test_fraction: float, seed: int) -> RawData:
    """Split the missing val / test off train at random (rows kept in their order within a split)."""
    _check_splits(raw)
    missing = [s for s in ("val", "test") if s not in raw.arrays]
    if not missing:
        return raw
    n = len(raw.arrays["train"])
    fractions = {"val": val_fraction, "test": test_fraction}
    sizes = {s: round(fractions[s] * n) if s in missing else 0 for s in ("val", "test")}
    for split in missing:
        if sizes[split] == 0:
            raise InputError(
                f"{raw.source}: the {split} split would be empty ({split}_fraction {fractions[split]} of "
                f"{n} rows); raise --{split}-fraction or give {split} data"
            )
    if n - sizes["val"] - sizes["test"] < 1:
        raise InputError(f"{raw.source}: no training rows are left after the val and test splits; give more data")
    parts = split_indices(n, (n - sizes["val"] - sizes["test"], sizes["val"], sizes["test"]), seed)
    index = dict(zip(SPLITS, (np.sort(p.numpy()) for p in parts), strict=True))

    def take(values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        drawn = {s: values["train"][index[s]] for s in ("train", *missing)}
        return {s: drawn[s] if s in drawn else values[s] for s in SPLITS}

    labels = take(raw.labels) if raw.labels is not None else None
    return dataclasses.replace(raw, arrays=take(raw.arrays), labels=labels)


def _value_kind(arrays: list[np.ndarray]) -> str:
    """``binary`` (all 0 or 1), ``levels`` (integers 0..255) or ``real``."""
    low = min(a.min() for a in arrays)
    high = max(a.max() for a in arrays)
    integral = all(a.dtype.kind in "biu" or bool(np.all(a == np.rint(a))) for a in arrays)
    if integral and low >= 0 and high <= 1:
        return "binary"
    if integral and low >= 0 and high <= 255:
        return "levels"
    return "real"


def _choose_encoding(kind: str, likelihood: str | None, binarize: bool, source: str, low: float, high: float):
    """(likelihood, encoding) for data of ``kind`` (see :func:`_value_kind`), or InputError."""
    if binarize:
        if likelihood not in (None, "bernoulli"):
            raise InputError(f"{source}: binarize gives a Bernoulli likelihood; drop --likelihood {likelihood}")
        if kind == "real" and not (low >= 0 and high <= 1):
            raise InputError(
                f"{source}: binarize needs values in [0, 1] or integers 0..255, found {low:g}..{high:g}; "
                "drop --binarize (a Gaussian likelihood)"
            )
        return "bernoulli", "binary" if kind == "binary" else "dynamic"
    chosen = likelihood or {"binary": "bernoulli", "levels": "logistic", "real": "gaussian"}[kind]
    if chosen == "bernoulli" and kind != "binary":
        raise InputError(
            f"{source}: the Bernoulli likelihood needs values 0 or 1, found {low:g}..{high:g}; "
            "pass --binarize for dynamic binarisation of grey levels, or another --likelihood"
        )
    if chosen == "logistic" and kind == "real":
        raise InputError(
            f"{source}: the discretised logistic likelihood needs integer levels 0..255, found {low:g}..{high:g}; "
            "use --likelihood gaussian"
        )
    return chosen, {"bernoulli": "binary", "logistic": "grey", "gaussian": "real"}[chosen]


def _levels(array: np.ndarray, kind: str) -> np.ndarray:
    """Rows ``[N, D]`` as uint8 levels (real values in [0, 1] as round(255 v), for binarisation)."""
    if kind == "real":
        return np.rint(array.astype(np.float64) * 255).astype(np.uint8)
    return array.astype(np.uint8)


def _standardize(flat: dict[str, np.ndarray]) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Per-dimension standardisation with the training split's mean and (floored) std."""
    train = flat["train"].astype(np.float64)
    mean, std = train.mean(axis=0), train.std(axis=0)
    typical = std.mean()
    std = np.maximum(std, STD_FLOOR * typical) if typical > 0 else np.ones_like(std)
    return {s: ((a.astype(np.float64) - mean) / std).astype(np.float32) for s, a in flat.items()}, mean, std


def _encode(flat: dict[str, np.ndarray], kind: str, encoding: str, source: str):
    """Splits, and the standardisation (or None), for ``encoding``."""
    if encoding == "real":
        values, mean, std = _standardize(flat)
        for split, array in values.items():
            if not np.isfinite(array).all():
                raise InputError(
                    f"{source}: the {split} data are too large for float32 once standardised; rescale them"
                )
        splits = {s: Split(torch.from_numpy(a), "real") for s, a in values.items()}
        return splits, (torch.from_numpy(mean), torch.from_numpy(std))
    levels = {s: torch.from_numpy(_levels(a, kind)) for s, a in flat.items()}
    if encoding == "dynamic":
        splits = {
            "train": Split(levels["train"], "dynamic"),
            "val": Split(binarize_once(levels["val"], seed=1), "binary"),
            "test": Split(binarize_once(levels["test"], seed=2), "binary"),
        }
        return splits, None
    return {s: Split(v, encoding) for s, v in levels.items()}, None


def _input_statistics(train: Split) -> tuple[tuple[float, float], tuple[float, float]]:
    """``pseudo_init`` (mean, PSEUDO_SPREAD * std) and ``data_range`` (min, max) of the training inputs
    (grey levels for dynamic splits), from the stored values by the encoding's linear map."""
    if train.encoding == "real":
        values = train.images.double()
        mean, std, low, high = values.mean(), values.std(correction=0), values.min(), values.max()
        return (float(mean), PSEUDO_SPREAD * float(std)), (float(low), float(high))
    scale, offset = {"binary": (1.0, 0.0), "dynamic": (1 / 255, 0.0), "grey": (1 / 256, 0.5 / 256)}[train.encoding]
    counts = torch.bincount(train.images.flatten(), minlength=256).double().numpy()  # no int64 copy of the data
    levels = np.arange(len(counts), dtype=np.float64)
    mean_level = (counts * levels).sum() / counts.sum()
    std_level = np.sqrt((counts * (levels - mean_level) ** 2).sum() / counts.sum())
    present = np.flatnonzero(counts)
    low, high = present[0] * scale + offset, present[-1] * scale + offset
    return (mean_level * scale + offset, PSEUDO_SPREAD * std_level * scale), (float(low), float(high))


def _make_dataset(raw: RawData, likelihood: str | None, binarize: bool) -> ImageDataset:
    arrays = raw.arrays
    sample_shape = arrays["train"].shape[1:]
    if len(sample_shape) == 1:
        image_shape, channels = None, 1
    else:
        image_shape, channels = (int(sample_shape[0]), int(sample_shape[1])), int(np.prod(sample_shape[2:]))
    flat = {s: a.reshape(len(a), -1) for s, a in arrays.items()}
    kind = _value_kind(list(flat.values()))
    low, high = float(min(a.min() for a in flat.values())), float(max(a.max() for a in flat.values()))
    chosen, encoding = _choose_encoding(kind, likelihood, binarize, raw.source, low, high)
    splits, standardize = _encode(flat, kind, encoding, raw.source)
    pseudo_init, data_range = _input_statistics(splits["train"])
    return ImageDataset(
        name=Path(raw.source).name,
        image_shape=image_shape,
        likelihood=chosen,
        pseudo_init=pseudo_init,
        extra={"source": raw.source, "format": raw.format},
        channels=channels,
        labels={s: torch.from_numpy(v) for s, v in raw.labels.items()} if raw.labels is not None else None,
        label_names=raw.names,
        standardize=standardize,
        data_range=data_range,
        **splits,
    )


# ---------------------------------------------------------------------------------------------
# folders of images


@dataclass
class FolderScan:
    """A folder's image files in sorted order of relative path, and their decoded pixels.

    ``images``: uint8 ``[N, H, W]`` (grey) or ``[N, H, W, 3]`` (RGB); ``sizes``, ``mtimes``
    (nanoseconds): int64 ``[N]``; ``digests``: uint8 ``[N, 32]``, SHA-256 of each file's bytes."""

    names: list[str]
    sizes: np.ndarray
    mtimes: np.ndarray
    digests: np.ndarray
    images: np.ndarray
    started_ns: int


def folder_cache_file(folder: Path | str, cache_dir: Path | str | None = None) -> Path:
    """Where the decoded images of ``folder`` are cached: ``cache_dir`` (default
    :func:`~pyro_vamp.data.default_data_dir` / ``cache``) / ``folder-<sha256 of the resolved path>.npz``."""
    from .registry import default_data_dir

    root = Path(cache_dir).expanduser() if cache_dir is not None else default_data_dir() / "cache"
    key = hashlib.sha256(str(Path(folder).expanduser().resolve()).encode()).hexdigest()[:32]
    return root / f"folder-{key}.npz"


def list_images(folder: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The image files under ``folder``: relative paths (``/`` separators) in sorted order, and
    their sizes and modification times (ns, int64 ``[N]``). Hidden files and folders are skipped;
    symbolic links to folders are not followed."""
    found: list[tuple[str, int, int]] = []
    pending = [("", str(folder))]
    while pending:
        prefix, where = pending.pop()
        try:
            with os.scandir(where) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        pending.append((prefix + entry.name + "/", entry.path))
                    elif entry.name.lower().endswith(IMAGE_SUFFIXES):
                        stat = entry.stat()
                        found.append((prefix + entry.name, stat.st_size, stat.st_mtime_ns))
        except OSError as err:
            raise InputError(f"{err.filename}: cannot read it ({err.strerror}); fix its permissions") from None
    found.sort()
    return [f[0] for f in found], np.array([f[1] for f in found], np.int64), np.array([f[2] for f in found], np.int64)


def scan_folder(folder: Path, cache_dir: Path | str | None = None) -> FolderScan:
    """The decoded images of ``folder``, from its cache while that is valid (else decoded and cached)."""
    folder = Path(folder).expanduser()
    started = time.time_ns()
    names, sizes, mtimes = list_images(folder)
    if not names:
        raise InputError(f"{folder}: no image files ({', '.join(IMAGE_SUFFIXES)}) found; put images in the folder")
    cache = folder_cache_file(folder, cache_dir)
    cached = _read_cache(cache, folder)
    if cached is not None and _cache_valid(cached, folder, names, sizes, mtimes):
        return cached
    scan = _decode_folder(folder, names, sizes, mtimes, started)
    _write_cache(cache, folder, scan)
    return scan


def _cache_valid(cached: FolderScan, folder: Path, names: list[str], sizes: np.ndarray, mtimes: np.ndarray) -> bool:
    """Same names, sizes and modification times; and the same bytes for files modified around or
    after the cache's making (whose change could leave the modification time as it was)."""
    if cached.names != names or not (np.array_equal(sizes, cached.sizes) and np.array_equal(mtimes, cached.mtimes)):
        return False
    racy = np.flatnonzero(mtimes >= cached.started_ns - int(RACY_SECONDS * 1e9))
    return all(hashlib.sha256(_read(folder / names[i])).digest() == cached.digests[i].tobytes() for i in racy)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise InputError(f"{path}: cannot read it ({err.strerror}); fix its permissions or remove it") from None


def _decode_folder(folder: Path, names: list[str], sizes: np.ndarray, mtimes: np.ndarray, started: int) -> FolderScan:
    """Read, hash and decode every file (sizes and times as listed before reading, so that a file
    changed while it is read counts as changed after the cache's making)."""
    digests, bilevel = [], []
    pixels: list[np.ndarray] = []
    for name in names:
        path = folder / name
        data = _read(path)
        digests.append(hashlib.sha256(data).digest())
        image, is_bilevel = decode_image(data, path)
        if pixels and image.shape[:2] != pixels[0].shape[:2]:
            raise InputError(
                f"{path}: {image.shape[0]} x {image.shape[1]} pixels, but {folder / names[0]} is "
                f"{pixels[0].shape[0]} x {pixels[0].shape[1]}; make all images one size"
            )
        pixels.append(image)
        bilevel.append(is_bilevel)
    if any(p.ndim == 3 for p in pixels):  # a folder mixing grey and RGB images is read as RGB
        pixels = [p if p.ndim == 3 else np.repeat(p[:, :, None], 3, axis=2) for p in pixels]
    images = np.stack(pixels)
    if all(bilevel):
        images //= 255
    return FolderScan(
        names, sizes, mtimes, np.frombuffer(b"".join(digests), np.uint8).reshape(len(names), 32), images, started
    )


def decode_image(data: bytes, path: Path) -> tuple[np.ndarray, bool]:
    """The pixels of an image file's bytes: uint8 ``[H, W]`` (grey) or ``[H, W, 3]`` (RGB), and
    whether it is a bilevel (mode ``1``) image, whose pixels are 0 or 255."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            mode = image.mode
            if mode in ("I", "I;16", "I;16B", "I;16L", "F"):
                raise InputError(
                    f"{path}: a {mode} image (16-bit or float pixels) is not supported; save it as 8-bit grey or RGB"
                )
            if mode not in ("1", "L", "RGB"):
                image = image.convert("L" if mode in ("LA", "La", "L;16") else "RGB")
            elif mode == "1":
                image = image.convert("L")
            return np.asarray(image, dtype=np.uint8), mode == "1"
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as err:
        raise InputError(f"{path}: not a readable image ({_first_line(err)}); replace or remove it") from None


def _read_cache(cache: Path, folder: Path) -> FolderScan | None:
    if not cache.is_file():
        return None
    try:
        with np.load(cache, allow_pickle=False) as saved:
            if int(saved["version"]) != CACHE_VERSION or str(saved["root"]) != str(folder.resolve()):
                return None
            return FolderScan(
                saved["names"].tolist(),
                saved["sizes"],
                saved["mtimes"],
                saved["digests"],
                saved["images"],
                int(saved["started_ns"]),
            )
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None  # a damaged cache is made again


def _write_cache(cache: Path, folder: Path, scan: FolderScan) -> None:
    """Write atomically (a reader never sees half a file); a cache that cannot be written is skipped."""
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=cache.parent, prefix=cache.stem, suffix=".tmp", delete=False) as f:
            np.savez(
                f,
                version=CACHE_VERSION,
                root=str(folder.resolve()),
                names=np.array(scan.names, dtype=str),
                sizes=scan.sizes,
                mtimes=scan.mtimes,
                digests=scan.digests,
                images=scan.images,
                started_ns=np.int64(scan.started_ns),
            )
        os.replace(f.name, cache)
    except OSError as err:
        warnings.warn(f"could not cache the images of {folder} in {cache}: {err}", stacklevel=3)


def _split_folders(folder: Path) -> list[str]:
    """The split sub-folders (``train``, ``val``, ``test``) that exist in ``folder``."""
    return [s for s in SPLITS if (folder / s).is_dir()]


def _split_rows(folder: Path, split_dirs: list[str], names: list[str], tops: list[str]) -> dict[str, np.ndarray]:
    """The rows of each split: from the split folders when there are any, else all in ``train``."""
    if not split_dirs:
        return {"train": np.arange(len(names))}
    outside = [name for name, top in zip(names, tops, strict=True) if top not in split_dirs]
    if outside:
        raise InputError(
            f"{folder / outside[0]}: is outside the split folders {', '.join(split_dirs)}; "
            "move it into train/, val/ or test/"
        )
    if "train" not in split_dirs:
        raise InputError(f"{folder}: has {', '.join(split_dirs)}/ but no train/ folder; add one")
    top_array = np.array(tops)
    rows = {s: np.flatnonzero(top_array == s) for s in split_dirs}
    for split, members in rows.items():
        if len(members) == 0:
            raise InputError(f"{folder / split}: the {split} split is empty; put images in it or remove it")
    return rows


def _read_folder(folder: Path, cache_dir: Path | str | None) -> RawData:
    scan = scan_folder(folder, cache_dir)
    parts = [name.split("/") for name in scan.names]
    split_dirs = _split_folders(folder)
    rows = _split_rows(folder, split_dirs, scan.names, [p[0] for p in parts])
    inner = [p[1:] for p in parts] if split_dirs else parts  # the path below the split folder
    arrays = {s: scan.images if len(r) == len(parts) else scan.images[r] for s, r in rows.items()}
    classes = _class_folders(folder, scan.names, inner)
    if classes is None:
        return RawData(str(folder), "folder", arrays)
    index = {name: i for i, name in enumerate(classes)}
    class_of = np.array([index[p[0]] for p in inner], np.int64)
    return RawData(str(folder), "folder", arrays, {s: class_of[r] for s, r in rows.items()}, classes)


def _class_folders(folder: Path, names: list[str], inner: list[list[str]]) -> tuple[str, ...] | None:
    """Sorted class folder names when every image sits in one (None when none does)."""
    depths = {len(p) for p in inner}
    if depths == {1}:
        return None
    if depths == {2}:
        return tuple(sorted({p[0] for p in inner}))
    deep = next(n for n, p in zip(names, inner, strict=True) if len(p) != min(depths))
    raise InputError(
        f"{folder / deep}: images must all sit directly in the folder (or its split folders) or all in "
        "class sub-folders, one level deep; move the images"
    )
