"""Mixed precision for training: ``fp32``, or ``bf16`` (bfloat16 autocast for the networks).

With ``bf16`` the forward pass of a training step runs under ``torch.autocast`` with bfloat16 on the
CPU or the GPU: the matrix products and convolutions of the networks take bfloat16 inputs (this
CPU multiplies bfloat16 matrices about twice as fast as float32), while everything that makes a
log-density stays in float32 or float64: the Gaussian heads, the likelihood heads and
:func:`~pyro_vamp.likelihoods.image_distribution` return float32 parameters, the mixture priors
compute their log-density in float64 outside the autocast region, and the loss, its reduction, the
gradients and the optimiser are float32 (the parameters stay float32: autocast casts copies). On a
GPU, ``bf16`` also lets the remaining float32 matrix products use TF32. Validation and evaluation
always run in float32 (float64 mixtures).
"""

import contextlib
from collections.abc import Iterator

import torch


@contextlib.contextmanager
def autocast(precision: str, device: torch.device) -> Iterator[None]:
    """The forward pass of a training step in ``precision`` (``fp32``: as it is) on ``device``."""
    if precision == "fp32":
        yield
        return
    with torch.autocast(device.type, dtype=torch.bfloat16):
        yield


@contextlib.contextmanager
def matmul_precision(precision: str, device: torch.device) -> Iterator[None]:
    """Allow TF32 float32 matrix products on a GPU while training in ``bf16``; restored afterwards."""
    if precision == "fp32" or device.type != "cuda":
        yield
        return
    previous = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous
