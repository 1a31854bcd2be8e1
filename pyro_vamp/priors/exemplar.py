"""The Exemplar prior (Norouzi, Fleet & Norouzi, "Exemplar VAE", NeurIPS 2020): a Parzen window
over the encodings of the training images.

    p(z | X) = 1/N sum_n r(z | x_n),   r(z | x_n) = N(z | mu(x_n), sigma^2 I)

mu is the mean of the guide's top encoder q(z | .) and sigma one learnable scale shared by every
exemplar and every latent unit (isotropic, as in the paper). Training uses the paper's two devices
against over-fitting: *leave-one-out* (a data point never uses itself as an exemplar) and *exemplar
subsampling* (each step's prior is a mixture over a random subset of K exemplars).
"""

import math

import torch
from torch import nn

from .base import Prior
from .mixture import EqualGaussianMixture

#: Exemplars encoded per call of the encoder when the prior is built over all N of them.
ENCODE_CHUNK = 10_000


class ExemplarPrior(Prior):
    """p(z | X) = 1/N sum_n N(z | mu(x_n), sigma^2 I) over the N training images x_n.

    :param encoder: the guide's top encoder ``[n, D] -> (loc, scale)``; the prior uses ``loc``.
        It is shared, not copied: the prior's gradient reaches it through the exemplars.
    :param latent_dim: M.
    :param input_dim: D.
    :param train_images: ``[N, D]`` training images (as the encoder sees them), in the order of the
        training split (the rows :meth:`before_step` receives index them), or ``None`` to build the
        prior without them (loading a checkpoint): :meth:`attach_exemplars` must then give them.
    :param num_exemplars: K, the exemplars of each training step's prior.
    :param init_log_scale: initial ln sigma (0: sigma = 1; the original code draws its
        log-variance from N(0, 1)).

    **Training.** The training loop calls :meth:`before_step` with the training rows of each
    batch; it draws K exemplars uniformly without replacement from the rows *not* in the batch
    (with the global torch RNG, whose state checkpoints hold, so that a resumed run is bit-exact).
    In training mode the prior is then 1/K sum_{k in subset} r(z | x_k): no point of the batch is
    its own exemplar (leave-one-out), and the encoder runs on K exemplars only. Its density is an
    unbiased estimate of the density of the mixture over the N - B rows outside the batch (the
    leave-one-out mixture but for the other B - 1 points of the batch, a difference of order B / N),
    so its log-density is a stochastic lower bound (Jensen) on that mixture's log-density.

    **Everywhere else** (evaluation mode, :meth:`~Prior.frozen`, or no :meth:`before_step` call)
    the prior is the exact mixture over all N exemplars; ``frozen()`` computes it in float64.

    **What a checkpoint holds.** ``log_scale`` and two small buffers, ``exemplar_count`` (N) and
    ``exemplar_checksum`` (the float64 sum of all pixels): the images themselves are a
    non-persistent buffer (50,000 MNIST images would add 157 MB to every checkpoint), so a loaded
    model gets them back from the dataset with :meth:`attach_exemplars`, which refuses images that
    are not the ones the prior was trained with.

    Example::

        prior = ExemplarPrior(encoder, 40, 784, train_images, num_exemplars=500)
        prior.before_step(batch_rows)      # the training rows of this step's batch
        z = pyro.sample("z", prior())      # leave-one-out prior over 500 exemplars
    """

    exemplars: torch.Tensor
    exemplar_count: torch.Tensor
    exemplar_checksum: torch.Tensor

    def __init__(
        self,
        encoder: nn.Module,
        latent_dim: int,
        input_dim: int,
        train_images: torch.Tensor | None = None,
        num_exemplars: int = 500,
        init_log_scale: float = 0.0,
    ):
        super().__init__(latent_dim)
        if num_exemplars < 1:
            raise ValueError(f"num_exemplars must be >= 1, got {num_exemplars}")
        self.encoder = encoder
        self.input_dim = input_dim
        self.num_exemplars = num_exemplars
        #: ln sigma, the log standard deviation shared by every exemplar and latent unit.
        self.log_scale = nn.Parameter(torch.tensor(float(init_log_scale)))
        self.register_buffer("exemplars", torch.zeros(0, input_dim), persistent=False)
        self.register_buffer("exemplar_count", torch.zeros((), dtype=torch.int64))
        self.register_buffer("exemplar_checksum", torch.zeros((), dtype=torch.float64))
        self._subset: torch.Tensor | None = None
        if train_images is not None:
            self.attach_exemplars(train_images)

    @staticmethod
    def checksum(images: torch.Tensor) -> torch.Tensor:
        """The float64 sum of all pixels of ``images``: what identifies a set of exemplars."""
        return images.detach().double().sum()

    def attach_exemplars(self, images: torch.Tensor) -> None:
        """Give the prior its training images ``[N, D]`` (after loading a checkpoint).

        Raises ``ValueError`` if the prior already knows its exemplars (from the checkpoint) and
        ``images`` differ in number or checksum: another dataset, split or preprocessing.
        """
        if images.dim() != 2 or images.shape[1] != self.input_dim:
            raise ValueError(f"exemplars must have shape [N, {self.input_dim}], got {tuple(images.shape)}")
        if images.shape[0] < 2:
            raise ValueError("the Exemplar prior needs at least 2 training images (one is always left out)")
        images = images.detach().to(device=self.log_scale.device, dtype=torch.float32)
        count, checksum = int(self.exemplar_count), float(self.exemplar_checksum)
        new_checksum = float(self.checksum(images))
        if count and (count != images.shape[0] or not math.isclose(checksum, new_checksum, rel_tol=1e-6, abs_tol=1e-6)):
            raise ValueError(
                f"these {images.shape[0]} images (pixel sum {new_checksum:.6g}) are not the {count} training "
                f"images (pixel sum {checksum:.6g}) this Exemplar prior was trained with"
            )
        self.exemplars = images
        self.exemplar_count.fill_(images.shape[0])
        self.exemplar_checksum.fill_(new_checksum)
        self._subset = None

    @property
    def has_exemplars(self) -> bool:
        return self.exemplars.shape[0] > 0

    @property
    def num_components(self) -> int:
        """N, the components of the exact mixture (all training images)."""
        return int(self.exemplar_count)

    @property
    def scale(self) -> torch.Tensor:
        """sigma, the shared standard deviation (a scalar tensor)."""
        return self.log_scale.exp()

    @property
    def subset(self) -> torch.Tensor | None:
        """The rows of this step's exemplars ``[K]`` (set by :meth:`before_step`), or ``None``."""
        return self._subset

    def before_step(self, index: torch.Tensor) -> None:
        """Draw this step's K exemplars uniformly without replacement from the training rows not in
        ``index`` (``[B]``, the rows of the step's batch); fewer when fewer remain."""
        self._require_exemplars()
        n = self.exemplars.shape[0]
        keep = torch.ones(n, dtype=torch.bool)
        keep[index.detach().long().cpu()] = False
        order = torch.randperm(n)  # the global CPU generator: its state is in every checkpoint
        self._subset = order[keep[order]][: self.num_exemplars].to(self.exemplars.device)

    def train(self, mode: bool = True) -> "ExemplarPrior":
        if not mode:  # evaluation mode: the exact mixture, until the next before_step
            self._subset = None
        return super().train(mode)

    def _require_exemplars(self) -> None:
        if not self.has_exemplars:
            raise RuntimeError(
                "this Exemplar prior has no training images (a loaded checkpoint does not store them): "
                "call attach_exemplars(train_images) first, e.g. with dataset.train.unit_interval()"
            )

    def exemplar_locs(self, rows: torch.Tensor | None = None) -> torch.Tensor:
        """mu(x_n) for the exemplars ``rows`` (default all, encoded in chunks): ``[n, M]``."""
        self._require_exemplars()
        if rows is not None:
            return self.encoder(self.exemplars[rows])[0]
        return torch.cat([self.encoder(chunk)[0] for chunk in self.exemplars.split(ENCODE_CHUNK)])

    def distribution(self, exact: bool = False) -> EqualGaussianMixture:
        use_subset = self.training and not exact and self._subset is not None
        locs = self.exemplar_locs(self._subset if use_subset else None)
        return EqualGaussianMixture(locs, self.scale.expand_as(locs), exact=exact)
