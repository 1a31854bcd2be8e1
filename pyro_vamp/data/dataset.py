"""Image datasets held as uint8 tensors until a batch is made."""

from dataclasses import dataclass, field

import torch

#: How the stored uint8 values of a split become floats in [0, 1]:
#: ``binary``  0/1 values, used as they are (static binarisation);
#: ``dynamic`` grey levels 0..255, binarised x ~ Bernoulli(v / 255) each time a batch is made;
#: ``grey``    grey levels 0..255, scaled to bin centres (v + 0.5) / 256 (discretised logistic).
ENCODINGS = ("binary", "dynamic", "grey")


@dataclass
class Split:
    """One split of a dataset: ``images`` is ``[N, D]`` uint8 and ``encoding`` one of :data:`ENCODINGS`."""

    images: torch.Tensor
    encoding: str

    def __post_init__(self):
        if self.encoding not in ENCODINGS:
            raise ValueError(f"unknown encoding {self.encoding!r}")
        if self.images.dtype != torch.uint8 or self.images.dim() != 2:
            raise ValueError("a split holds a [N, D] uint8 tensor")

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

    :param image_shape: (height, width); D = height * width.
    :param likelihood: ``"bernoulli"`` or ``"logistic"``.
    :param pseudo_init: (mean, std) of the VampPrior's initial pseudo-inputs (the original code's).
    """

    name: str
    image_shape: tuple[int, int]
    likelihood: str
    train: Split
    val: Split
    test: Split
    pseudo_init: tuple[float, float] = (0.05, 0.01)
    extra: dict = field(default_factory=dict)

    @property
    def input_dim(self) -> int:
        return self.image_shape[0] * self.image_shape[1]

    def split(self, name: str) -> Split:
        if name not in ("train", "val", "test"):
            raise ValueError(f"unknown split {name!r}: choose train, val or test")
        return getattr(self, name)

    def to(self, device) -> "ImageDataset":
        """The same dataset with its images on ``device`` (so batches are made there)."""
        moved = {s: self.split(s).to(device) for s in ("train", "val", "test")}
        return ImageDataset(
            self.name, self.image_shape, self.likelihood, pseudo_init=self.pseudo_init, extra=self.extra, **moved
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
