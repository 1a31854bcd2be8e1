"""Runtime tuning of this process: OpenMP's thread waiting, glibc's allocator, the device.

This module imports nothing heavy (torch only inside :func:`resolve_device`): the
``pyro-vamp`` command and the benchmarks call :func:`tune_openmp` before torch is imported.

**OpenMP thread waiting**: a short bounded spin instead of sleeping at once (or spinning forever).

Between two parallel operations torch's OpenMP threads (GNU libgomp) either spin, waiting for the
next one, or sleep. ``OMP_WAIT_POLICY=PASSIVE`` makes them sleep at once, so every one of the
hundreds of small operations of a training step pays for waking them (a VampPrior HVAE step took
48-65 ms instead of 36-45 ms on 2 cores); spinning without a bound (``ACTIVE``, or libgomp's
default of 300,000 spins) steals the cores from other work when the machine is shared.
A bounded ``GOMP_SPINCOUNT`` of 10,000 spins (well under a millisecond) keeps the fast case and
was no slower than ``PASSIVE`` with two busy processes on the same 2 cores.

libgomp reads its settings once, when torch is first imported, so :func:`tune_openmp` must run
before that: the ``pyro-vamp`` command and the benchmarks call it first thing.

**The allocator**: allocations below :data:`MMAP_THRESHOLD` come from the heap, which is never
trimmed (:data:`TRIM_THRESHOLD`): the many large, short-lived tensors of a training or
evaluation loop then reuse memory instead of mapping and zeroing fresh pages each time (many
times faster evaluation on 2 cores).
"""

import ctypes
import ctypes.util
import os
import sys
from typing import Any

#: Spins of libgomp's busy-wait loop before a waiting thread sleeps.
SPIN_COUNT = 10_000

#: What :func:`tune_openmp` set in this process (recorded in run folders).
OPENMP_APPLIED: dict[str, str] = {}

# glibc mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 10**12

#: What :func:`tune_malloc` set in this process (recorded in run folders).
MALLOC_APPLIED: dict[str, Any] = {}


def tune_openmp() -> dict:
    """Set ``GOMP_SPINCOUNT=10000`` for libgomp unless the user chose a wait policy themselves
    (``GOMP_SPINCOUNT`` given, or ``OMP_WAIT_POLICY=ACTIVE``) or torch is already imported (then it
    is too late). ``OMP_WAIT_POLICY=PASSIVE`` alone is overridden by the bounded spin.
    Returns what was set."""
    user_choice = "GOMP_SPINCOUNT" in os.environ or os.environ.get("OMP_WAIT_POLICY", "").upper() == "ACTIVE"
    if not user_choice and "torch" not in sys.modules:
        os.environ["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
        OPENMP_APPLIED["GOMP_SPINCOUNT"] = str(SPIN_COUNT)
    return OPENMP_APPLIED


def openmp_settings() -> dict:
    """The OpenMP wait settings of this process's environment, as torch's libgomp saw them."""
    return {
        name: os.environ[name]
        for name in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS")
        if name in os.environ
    }


def tune_malloc() -> dict:
    """Apply :data:`MMAP_THRESHOLD` and :data:`TRIM_THRESHOLD` with glibc's ``mallopt``.

    Equivalent to ``MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1000000000000``; an
    explicit environment setting wins. Returns what was set (empty off glibc).
    """
    names = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")
    if any(name in os.environ for name in names):
        MALLOC_APPLIED.update({name: os.environ[name] for name in names if name in os.environ})
        return MALLOC_APPLIED
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        ok = libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    except (OSError, AttributeError, TypeError):
        return MALLOC_APPLIED
    if ok:
        MALLOC_APPLIED.update({"mallopt_mmap_threshold": MMAP_THRESHOLD, "mallopt_trim_threshold": TRIM_THRESHOLD})
    return MALLOC_APPLIED


def resolve_device(name: str):
    """The ``torch.device`` for ``--device``: ``auto`` picks CUDA when present; ``cuda`` without a
    GPU is an :class:`~pyro_vamp.errors.InputError`."""
    import torch

    from .errors import InputError

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but no CUDA GPU is available; use --device cpu or auto")
    return torch.device(name)
