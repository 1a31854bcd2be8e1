"""Importance-sampled evaluation: test points per second at S samples, achieved GFLOP/s against the
machine's measured float32 matrix-multiply rate, and peak memory for several S.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/eval_throughput.py [--points 100] [--samples 5000]

Models have the paper's sizes (MNIST, 784 pixels; gated MLPs 2 x 300; 40 latent units; K = 500)
with their initial weights: the cost does not depend on the weights. The data are real mnist5k
test digits. The log-likelihood each run computes is printed, so speed never comes from doing less.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from pyro_vamp.data import load_dataset
from pyro_vamp.evaluation import evaluate_model
from pyro_vamp.inference import importance_sample
from pyro_vamp.models import MODELS
from pyro_vamp.resources import APPLIED, bytes_per_row, rows_per_chunk, tune_malloc


def matmul_gflops(device: torch.device, n: int = 2000, repeats: int = 10, trials: int = 5) -> float:
    """The best of ``trials`` timings of ``repeats`` float32 n x n matrix products (a shared machine's
    other load only ever slows a trial down)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    for _ in range(3):
        a @ b
    best = float("inf")
    for _ in range(trials):
        _sync(device)
        began = time.perf_counter()
        for _ in range(repeats):
            a @ b
        _sync(device)
        best = min(best, time.perf_counter() - began)
    return 2 * n**3 * repeats / best / 1e9


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def build(name: str, device: torch.device):
    torch.manual_seed(0)
    return MODELS[name](784, prior="vamp", num_components=500).to(device).eval()


def flops_per_point(model, x: torch.Tensor, rows: int) -> float:
    """FLOPs of one data point's evaluation at one sample, counted by torch on one chunk."""
    samples = max(1, rows // x.shape[0])
    with FlopCounterMode(display=False) as counter, model.prior.frozen(), torch.no_grad():
        importance_sample(model.model, model.guide, x, samples, samples)
    return counter.get_total_flops() / (x.shape[0] * samples)


def throughput(name: str, points: int, samples: int, device: torch.device) -> dict:
    model = build(name, device)
    split = load_dataset("mnist5k").test.subset(torch.arange(points)).to(device)
    rows = rows_per_chunk(device, bytes_per_row(model))
    evaluate_model(model, split.subset(torch.arange(2)), 50, max_rows=rows)  # warm-up
    _sync(device)
    began = time.perf_counter()
    result = evaluate_model(model, split, samples, max_rows=rows)
    _sync(device)
    seconds = time.perf_counter() - began
    flops = flops_per_point(model, split.as_float()[:20], rows) * samples
    return {"model": name, "points": points, "samples": samples, "seconds": seconds,
            "points_per_s": points / seconds, "gflops": flops * points / seconds / 1e9,
            "mean_ll": result["log_likelihood"].mean().item(), "rows_per_chunk": rows}


def _resident_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024


def peak_memory_child(name: str, samples: int, points: int) -> None:
    """Run in a subprocess: load, reset the peak-resident counter (Linux), evaluate, and print the
    resident memory before and the peak during evaluation, in MiB."""
    tune_malloc()
    device = torch.device("cpu")
    model = build(name, device)
    split = load_dataset("mnist5k").test.subset(torch.arange(points))
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM, the peak resident set size
    before = _resident_mib("VmRSS:")
    evaluate_model(model, split, samples, max_rows=rows_per_chunk(device, bytes_per_row(model)))
    print(json.dumps({"before_mib": before, "peak_mib": _resident_mib("VmHWM:")}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--models", default="vae,hvae")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--memory-samples", default="1000,5000,20000")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return peak_memory_child(args.child[0], int(args.child[1]), int(args.child[2]))
    tune_malloc()
    device = torch.device(args.device)
    peak = matmul_gflops(device)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"device {device}; torch {torch.__version__}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}; "
          f"allocator {APPLIED}")
    print(f"float32 matmul (2000 x 2000): {peak:.1f} GFLOP/s\n")
    print("| model + VampPrior (K=500) | points x S | seconds | points/s | achieved GFLOP/s | of matmul peak "
          "| mean ln p(x) |")
    print("|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        r = throughput(name, args.points, args.samples, device)
        print(f"| {name} | {r['points']} x {r['samples']} | {r['seconds']:.1f} | {r['points_per_s']:.2f} "
              f"| {r['gflops']:.1f} | {100 * r['gflops'] / peak:.0f} % | {r['mean_ll']:.2f} |")
    if device.type != "cpu":
        return
    print("\n| model | S | resident before (MiB) | peak during evaluation (MiB) |\n|---|---|---|---|")
    for name in args.models.split(","):
        for samples in map(int, args.memory_samples.split(",")):
            out = subprocess.run([sys.executable, __file__, "--child", name, str(samples), "10"],
                                 capture_output=True, text=True, check=True).stdout
            memory = json.loads(out.splitlines()[-1])
            print(f"| {name} | {samples} | {memory['before_mib']:.0f} | {memory['peak_mib']:.0f} |")


if __name__ == "__main__":
    main()
