"""Image datasets held as uint8 tensors until a batch is made."""

import dataclasses
from dataclasses import dataclass, field

import torch

from ..errors import InputError

#: How the stored uint8 values of a split become floats in [0, 1]:
#: ``binary``  0/1 values, used as they are (static binarisation);
#: ``dynamic`` grey levels 0..255, binarised x ~ Bernoulli(v / 255) each time a batch is made;
#: ``grey``    grey levels 0..255, scaled to bin centres (v + 0.5) / 256 (discretised logistic);
#: ``real``    float32 values, used as they are (a user's own tensors; standardised real data).
ENCODINGS = ("binary", "dynamic", "grey", "real")


@dataclass
class Split:
    """One split of a dataset: ``images`` is ``[N, D]``, uint8 for the encodings ``binary``,
    ``dynamic`` and ``grey``, float32 for ``real``; ``encoding`` is one of :data:`ENCODINGS`."""

    images: torch.Tensor
    encoding: str

    def __post_init__(self):
        if self.encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}")
        dtype = torch.float32 if self.encoding == "real" else torch.uint8
        if self.images.dtype != dtype or self.images.dim() != 2:
            raise ValueError(f"a split of encoding {self.encoding!r} holds a [N, D] {dtype} tensor")

    def __len__(self) -> int:
        return self.images.shape[0]

    def to(self, device) -> "Split":
        return Split(self.images.to(device), self.encoding)

    def subset(self, index: torch.Tensor) -> "Split":
        """The rows ``index`` of this split."""
        return Split(self.images[index], self.encoding)

    def as_float(self, index: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``[n, D]`` (rows ``index``, default all) as model inputs; dynamic splits are
        binarised afresh with the global torch RNG on the split's device."""
        x = self.images if index is None else self.images[index]
        if self.encoding == "real":
            return x
        if self.encoding == "binary":
            return x.float()
        if self.encoding == "dynamic":
            return torch.bernoulli(x.float() / 255)
        return (x.float() + 0.5) / 256

    def unit_interval(self) -> torch.Tensor:
        """Images ``[N, D]`` in [0, 1] without binarisation (grey level for dynamic splits):
        what VampPrior-data pseudo-inputs and mean images are made of."""
        if self.encoding == "dynamic":
            return self.images.float() / 255
        return self.as_float()

    def batches(self, batch_size: int, order: torch.Tensor | None = None, start: int = 0):
        """Yield float batches ``[B, D]`` of the rows in ``order`` (default: as stored), from batch
        number ``start`` on (to continue an interrupted epoch); the last batch may be smaller."""
        order = torch.arange(len(self)) if order is None else order
        order = order.to(self.images.device)
        for first in range(start * batch_size, len(self), batch_size):
            yield self.as_float(order[first : first + batch_size])


@dataclass
class ImageDataset:
    """A dataset with its train / val / test splits and what a model needs to know about it.

    :param image_shape: (height, width) of the images, or None for plain vectors [N, D].
    :param likelihood: ``"bernoulli"``, ``"logistic"`` or ``"gaussian"``.
    :param pseudo_init: (mean, std) of the VampPrior's initial pseudo-inputs (the original code's
        for the built-in datasets; :func:`~pyro_vamp.data.load_path` derives it from the training data).
    :param channels: colour channels (1 grey, 3 RGB). A row holds D = H * W * channels values,
        flattened channels-last: value (row, column, channel) is at index (row * W + column) * C + channel.
    :param labels: per split name (``"train"``, ``"val"``, ``"test"``), int64 labels ``[N]``, for
        colouring figures only (never used in training); None when the data have none.
    :param label_names: the name of each label value (class folders, string labels), or None.
    :param standardize: (mean ``[D]``, std ``[D]``) of the training split that real-valued data were
        standardised with (x_stored = (x_original - mean) / std), or None when stored as given.
    :param data_range: (min, max) of the model inputs the VampPrior's pseudo-inputs are clipped to.
    :param extra: anything else a loader records (:func:`~pyro_vamp.data.load_path`: ``source``,
        ``format``).
    """

    name: str
    image_shape: tuple[int, int] | None
    likelihood: str
    train: Split
    val: Split
    test: Split
    pseudo_init: tuple[float, float] = (0.05, 0.01)
    extra: dict = field(default_factory=dict)
    channels: int = 1
    labels: dict[str, torch.Tensor] | None = None
    label_names: tuple[str, ...] | None = None
    standardize: tuple[torch.Tensor, torch.Tensor] | None = None
    data_range: tuple[float, float] = (0.0, 1.0)

    @property
    def input_dim(self) -> int:
        """D, values per data point: H * W * channels for images, the row length for vectors."""
        if self.image_shape is None:
            return self.train.images.shape[1]
        return self.image_shape[0] * self.image_shape[1] * self.channels

    def log_jacobian(self) -> float:
        """The change-of-variables correction from standardised to original units: -sum_d ln std_d,
        so that ln p(x_original) = ln p(x_stored) + log_jacobian(); 0.0 for data stored as given."""
        if self.standardize is None:
            return 0.0
        return -float(self.standardize[1].double().log().sum())

    def original_scale(self, x: torch.Tensor) -> torch.Tensor:
        """Model inputs or decoded images ``[..., D]`` back in the data's original units
        (x * std + mean for standardised data; unchanged otherwise)."""
        if self.standardize is None:
            return x
        mean, std = (t.to(x.device, x.dtype) for t in self.standardize)
        return x * std + mean

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}: choose train, val or test")
        return getattr(self, name)

    def to(self, device) -> "ImageDataset":
        """The same dataset with its images on ``device`` (so batches are made there)."""
        return dataclasses.replace(
            self, train=self.train.to(device), val=self.val.to(device), test=self.test.to(device)
        )


def grey_to_levels(images) -> torch.Tensor:
    """Grey values in [0, 1] (a numpy array) -> uint8 levels round(255 v): how float-valued
    published files are stored (for dynamic binarisation the levels are the Bernoulli means)."""
    import numpy as np

    return torch.from_numpy(np.rint(np.asarray(images) * 255).astype(np.uint8))


def binarize_once(grey: torch.Tensor, seed: int) -> torch.Tensor:
    """Fixed binarisation of ``[N, D]`` uint8 grey levels: x ~ Bernoulli(v / 255) with a seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    return torch.bernoulli(grey.float() / 255, generator=generator).to(torch.uint8)


def split_indices(n: int, sizes: tuple[int, ...], seed: int) -> list[torch.Tensor]:
    """A random partition of ``range(n)`` into disjoint parts of ``sizes`` (summing to at most n)."""
    if sum(sizes) > n:
        raise ValueError(f"cannot take {sum(sizes)} items from {n}")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    bounds = torch.tensor((0,) + sizes).cumsum(0).tolist()
    return [order[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]


def as_split(data: "torch.Tensor | Split | torch.utils.data.Dataset") -> Split:
    """A :class:`~pyro_vamp.data.Split` of float rows ``[N, D]`` from a tensor ``[N, ...]`` (each row
    flattened), a ``Split`` (as it is) or a ``torch.utils.data.Dataset`` (its items, or the first
    element of each item that is a tuple, stacked)."""
    if isinstance(data, Split):
        return data
    if isinstance(data, torch.utils.data.Dataset) and not isinstance(data, torch.Tensor):
        items = [data[i] for i in range(len(data))]  # type: ignore[arg-type]  # a map-style Dataset has __len__
        data = torch.stack([item[0] if isinstance(item, tuple | list) else item for item in items])
    if not isinstance(data, torch.Tensor) or data.dim() < 2 or data.shape[0] == 0:
        raise InputError("data must be a non-empty tensor [N, ...], a Split or a Dataset of tensors")
    values = data.detach().reshape(data.shape[0], -1).to(torch.float32)
    if not torch.isfinite(values).all():
        raise InputError("the data holds NaN or Inf values; remove or impute them first")
    return Split(values.contiguous(), "real")
