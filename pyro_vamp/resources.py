"""Memory budgets for evaluation, and glibc allocator settings for large tensors."""

import ctypes
import ctypes.util
import os

import torch

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: Allocations below this come from the heap, which is never trimmed: the many large,
#: short-lived tensors of a training or evaluation loop then reuse memory instead of
#: mapping and zeroing fresh pages each time (many times faster evaluation on 2 cores).
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 10**12

#: What :func:`tune_malloc` set in this process (recorded in run folders).
APPLIED: dict = {}

#: Rows (samples x points) per chunk on a CPU: larger chunks run slower there (cache).
CPU_ROWS = 5000
#: Upper limit of rows per chunk on a GPU.
GPU_ROWS = 500_000


def tune_malloc() -> dict:
    """Apply :data:`MMAP_THRESHOLD` and :data:`TRIM_THRESHOLD` with glibc's ``mallopt``.

    Equivalent to ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1000000000000``; an
    explicit environment setting wins. Returns what was set (empty off glibc).
    """
    names = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    if any(name in os.environ for name in names):
        APPLIED.update({name: os.environ[name] for name in names if name in os.environ})
        return APPLIED
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    except (OSError, AttributeError, TypeError):
        return APPLIED
    if ok:
        APPLIED.update({"mallopt_mmap_threshold": MMAP_THRESHOLD, "mallopt_trim_threshold": TRIM_THRESHOLD})
    return APPLIED


def available_memory(device: torch.device) -> int:
    """Bytes free on ``device``: the GPU's free memory, or the system's MemAvailable."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 1024**3


def bytes_per_row(model) -> int:
    """A generous estimate of the evaluation memory per (sample, data point) row: the model's
    activations (``model.eval_bytes_per_sample``) and the float64 [rows, K] mixture terms."""
    return model.eval_bytes_per_sample + 8 * 4 * getattr(model.prior, "num_components", 1)


def rows_per_chunk(device: torch.device, row_bytes: int, max_memory: int | None = None) -> int:
    """Rows per evaluation chunk: within ``max_memory`` bytes (default: half the free memory),
    and at most :data:`CPU_ROWS` on a CPU or :data:`GPU_ROWS` on a GPU."""
    budget = max_memory if max_memory is not None else available_memory(device) // 2
    cap = GPU_ROWS if device.type == "cuda" else CPU_ROWS
    return max(1, min(cap, budget // row_bytes))
