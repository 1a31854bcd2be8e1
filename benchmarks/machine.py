"""What every benchmark reports about the machine: the float32 matrix-multiply rate measured in the
same run, and the settings that change timings (threads, OpenMP wait policy, allocator)."""

import argparse
import platform
import time

import pyro
import torch

from pyro_vamp.runtime import MALLOC_APPLIED, openmp_settings, tune_malloc


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_gflops(
    device: torch.device, n: int = 2000, repeats: int = 10, trials: int = 5, dtype: torch.dtype = torch.float32
) -> float:
    """The best of ``trials`` timings of ``repeats`` n x n matrix products in ``dtype`` (a shared
    machine's other load only ever slows a trial down)."""
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(trials):
        sync(device)
        began = time.perf_counter()
        for _ in range(repeats):
            a @ b
        sync(device)
        best = min(best, time.perf_counter() - began)
    return 2 * n**3 * repeats / best / 1e9


def describe(device: torch.device) -> str:
    """One line: processor or GPU, threads, library versions, OpenMP and allocator settings."""
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    return (
        f"machine: {name}, {torch.get_num_threads()} threads, device {device}; torch {torch.__version__}, "
        f"pyro {pyro.__version__}; OpenMP {openmp_settings()}; allocator {MALLOC_APPLIED}"
    )


def add_device_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")


def start_run(device_name: str) -> tuple[torch.device, dict[str, float]]:
    """Apply the allocator setting, measure the float32 and bfloat16 matrix-multiply rates, print the
    machine; returns the device and the rates (GFLOP/s) by precision name (``fp32``, ``bf16``)."""
    tune_malloc()
    device = torch.device(device_name)
    peak = {"fp32": matmul_gflops(device), "bf16": matmul_gflops(device, dtype=torch.bfloat16)}
    print(describe(device))
    print(f"matmul (2000 x 2000): float32 {peak['fp32']:.1f} GFLOP/s, bfloat16 {peak['bf16']:.1f} GFLOP/s")
    return device, peak
