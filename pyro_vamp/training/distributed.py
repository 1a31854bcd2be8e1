"""Data-parallel training over several processes with ``torch.distributed`` (one per GPU or CPU group).

Started by ``torchrun --nproc-per-node N -m pyro_vamp.cli train ...``: torchrun sets ``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``, and :func:`join` turns them
into a process group (NCCL on GPUs, gloo on CPUs). The step is then, on every process:

1. take the same global batch of ``batch_size`` images (every process shuffles with the same
   generator) and keep this process's contiguous rows (:meth:`Workers.shard`);
2. draw the guide's Gaussian noise for the *whole* global batch and keep the same rows
   (:class:`ShardNoise`), so that a run over N processes is the same computation as one
   process on the global batch: the parameters agree to float rounding, and every process's
   random-number generators stay identical (a checkpoint's RNG state is valid for all);
3. compute this shard's loss scaled by N / global batch; ``DistributedDataParallel`` averages
   the gradients of all processes (every parameter: networks, pseudo-inputs, prior), which
   makes them the gradient of the global batch's mean loss.

Only rank 0 writes the run folder; all processes read it to resume.
"""

import inspect
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from pyro.poutine.messenger import Messenger
from torch import nn
from torch.distributions import Independent, Normal

from ..errors import InputError


@dataclass
class Workers:
    """This process's place among ``world_size`` training processes."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # the group was created by :func:`join` and is destroyed by :meth:`leave`

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes checkpoints, metrics and figures."""
        return self.rank == 0

    @property
    def parallel(self) -> bool:
        return self.world_size > 1

    def shard(self, global_size: int) -> tuple[int, int]:
        """(first row, rows) of a global batch of ``global_size`` that this process takes: contiguous,
        sizes differing by at most one (as :func:`torch.tensor_split`)."""
        base, extra = divmod(global_size, self.world_size)
        first = self.rank * base + min(self.rank, extra)
        return first, base + (self.rank < extra)

    def sum(self, values: list[float], device: torch.device) -> list[float]:
        """Element-wise sum of ``values`` over all processes (float64)."""
        if not self.parallel:
            return values
        tensor = torch.tensor(values, dtype=torch.float64, device=device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether ``flag`` is true on any process (e.g. a signal received by one of them)."""
        return flag if not self.parallel else self.sum([float(flag)], device)[0] > 0

    def barrier(self) -> None:
        if self.parallel:
            dist.barrier()

    def leave(self, wait_for_others: bool) -> None:
        """Destroy the group :func:`join` created. ``wait_for_others``: first wait until every process
        is here (tearing gloo down while another process still used it aborted that process at
        exit); pass False after an error on this process alone, when the others may never arrive."""
        if self.owns_group:
            if wait_for_others:
                dist.barrier()
            dist.destroy_process_group()


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def join(device_name: str) -> tuple[Workers, str]:
    """Join the process group torchrun describes in the environment (none: a single process).

    Returns the workers and the device to use: ``cuda:LOCAL_RANK`` on GPUs (NCCL), else the
    CPU (gloo). ``device_name`` is the ``--device`` option (``auto``, ``cpu`` or ``cuda``).
    """
    if not launched_by_torchrun():
        return Workers(), device_name
    rank, world, local = (int(os.environ[k]) for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK"))
    use_cuda = device_name == "cuda" or (device_name == "auto" and torch.cuda.is_available())
    if use_cuda:
        if torch.cuda.device_count() <= local:
            raise InputError(
                f"process {rank} has local rank {local} but this machine has "
                f"{torch.cuda.device_count()} GPUs; start at most that many per node"
            )
        torch.cuda.set_device(local)
        device_name = f"cuda:{local}"
    else:
        device_name = "cpu"
    owns = not dist.is_initialized()
    if owns:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return Workers(rank, world, local, owns), device_name


def check_divisible(workers: Workers, train_size: int, batch_size: int) -> None:
    """Every process needs at least one row of every global batch."""
    smallest = min(batch_size, train_size % batch_size or batch_size)
    if smallest < workers.world_size:
        raise InputError(
            f"a batch of {smallest} images cannot be split over {workers.world_size} processes; "
            "use a larger --batch-size or fewer processes"
        )


class ShardNoise(Messenger):
    """Reparameterised Gaussian latents drawn for the whole global batch, this shard's rows kept.

    Applies to every unobserved sample site whose distribution is a ``Normal`` (or an
    ``Independent`` of one) inside the plate named ``"data"``: the noise ``eps`` is drawn with
    the data dim of size ``global_size`` exactly as ``Normal.rsample`` draws it, rows
    ``[first, first + rows)`` are kept, and the value is ``loc + eps * scale``. With one process
    (first 0, the whole batch) this is Pyro's own draw, bit for bit. Sites with a value already
    (replayed, observed, conditioned) are left alone.

    :param first: this shard's first row in the global batch.
    :param global_size: rows of the global batch.
    """

    def __init__(self, first: int, global_size: int):
        super().__init__()
        self.first, self.global_size = first, global_size

    def _pyro_sample(self, msg):
        if msg["is_observed"] or msg["value"] is not None:
            return
        fn, event_dims = msg["fn"], 0
        if isinstance(fn, Independent):
            fn, event_dims = fn.base_dist, fn.reinterpreted_batch_ndims
        frame = next((f for f in msg["cond_indep_stack"] if f.name == "data"), None)
        if not isinstance(fn, Normal) or frame is None or not fn.has_rsample:
            return
        loc, scale = fn.loc, fn.scale
        data_dim = loc.dim() + frame.dim - event_dims
        shape = list(loc.shape)
        rows, shape[data_dim] = shape[data_dim], self.global_size
        eps = torch.empty(shape, dtype=loc.dtype, device=loc.device).normal_()
        msg["value"] = loc + eps.narrow(data_dim, self.first, rows) * scale


class ShardLoss(nn.Module):
    """The training loss of one shard as a module, for ``DistributedDataParallel`` to wrap.

    ``forward(x, beta, first, global_size)``: ``loss_fn(model.model, model.guide, x, beta)`` (the
    summed loss of the shard ``x`` ``[rows, D]``) under :class:`ShardNoise`, times
    ``world_size / global_size``, so that DDP's gradient average is the global batch's mean.
    A single process (the shard is the whole batch) needs no messenger: Pyro's own draw is the same.
    """

    def __init__(self, model: nn.Module, loss_fn, world_size: int):
        super().__init__()
        self.model, self.loss_fn, self.world_size = model, loss_fn, world_size

    def forward(self, x, beta, first, global_size):
        if self.world_size == 1:
            return self.loss_fn(self.model.model, self.model.guide, x, beta) / global_size
        with ShardNoise(first, global_size):
            loss = self.loss_fn(self.model.model, self.model.guide, x, beta)
        return loss / (global_size / self.world_size)


def data_parallel(module: ShardLoss, device: torch.device) -> nn.Module:
    """``module`` wrapped in ``DistributedDataParallel`` (parameters broadcast from rank 0)."""
    device_ids = [device.index] if device.type == "cuda" else None
    ddp = nn.parallel.DistributedDataParallel
    # the buffers (fixed pseudo-inputs of vamp-data) are equal everywhere: no broadcast every step
    no_sync = (
        "forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(ddp).parameters else "broadcast_buffers"
    )  # the name before torch 2.13
    options: dict[str, Any] = {no_sync: False}
    return ddp(module, device_ids=device_ids, **options)
