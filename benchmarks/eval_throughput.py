"""Importance-sampled evaluation: test points per second at S samples, achieved GFLOP/s against the
machine's measured float32 matrix-multiply rate, and peak memory for several S.

    python benchmarks/eval_throughput.py [--points 200] [--samples 5000]

Models have the paper's sizes (MNIST, 784 pixels; gated MLPs 2 x 300; 40 latent units; K = 500)
with their initial weights: the cost does not depend on the weights. The data are real mnist5k
test digits (repeated when more than its 500 are asked for, e.g. the paper's 10,000 on a GPU).
The log-likelihood each run computes is printed, so speed never comes from doing less. Peak memory
is the process's peak resident set (Linux) on a CPU, torch's peak allocation on a GPU.
"""

import argparse
import json
import subprocess
import sys
import time

from pyro_vamp.runtime import tune_openmp

tune_openmp()

import torch  # noqa: E402  (after the OpenMP setting)
from machine import add_device_argument, start_run, sync  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from pyro_vamp.data import load_dataset  # noqa: E402
from pyro_vamp.evaluation import evaluate_model  # noqa: E402
from pyro_vamp.inference import importance_sample  # noqa: E402
from pyro_vamp.inference.memory import bytes_per_row, rows_per_chunk  # noqa: E402
from pyro_vamp.models import MODELS  # noqa: E402
from pyro_vamp.runtime import tune_malloc  # noqa: E402


def build(name: str, device: torch.device):
    torch.manual_seed(0)
    return MODELS[name](784, prior="vamp", num_components=500).to(device).eval()


def flops_per_point(model, x: torch.Tensor, rows: int) -> float:
    """FLOPs of one data point's evaluation at one sample, counted by torch on one chunk."""
    samples = max(1, rows // x.shape[0])
    with FlopCounterMode(display=False) as counter, model.prior.frozen(), torch.no_grad():
        importance_sample(model.model, model.guide, x, samples, samples)
    return counter.get_total_flops() / (x.shape[0] * samples)


def test_points(points: int):
    test = load_dataset("mnist5k").test
    return test.subset(torch.arange(points) % len(test))


def throughput(name: str, points: int, samples: int, device: torch.device) -> dict:
    model = build(name, device)
    split = test_points(points).to(device)
    rows = rows_per_chunk(device, bytes_per_row(model, model.input_dim))
    evaluate_model(model, split.subset(torch.arange(2)), 50, max_rows=rows)  # warm-up
    sync(device)
    began = time.perf_counter()
    result = evaluate_model(model, split, samples, max_rows=rows)
    sync(device)
    seconds = time.perf_counter() - began
    flops = flops_per_point(model, split.as_float()[:20], rows) * samples
    return {
        "model": name,
        "points": points,
        "samples": samples,
        "seconds": seconds,
        "points_per_s": points / seconds,
        "gflops": flops * points / seconds / 1e9,
        "mean_ll": result["log_likelihood"].mean().item(),
        "rows_per_chunk": rows,
    }


def _resident_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field)) / 1024


def peak_memory_child(name: str, samples: int, points: int) -> None:
    """Run in a subprocess: load, reset the peak-resident counter (Linux), evaluate, and print the
    resident memory before and the peak during evaluation, in MiB."""
    tune_malloc()
    device = torch.device("cpu")
    model = build(name, device)
    split = test_points(points)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM, the peak resident set size
    before = _resident_mib("VmRSS:")
    evaluate_model(model, split, samples, max_rows=rows_per_chunk(device, bytes_per_row(model, model.input_dim)))
    print(json.dumps({"before_mib": before, "peak_mib": _resident_mib("VmHWM:")}))


def peak_memory(name: str, samples: int, points: int, device: torch.device) -> dict:
    if device.type == "cpu":
        out = subprocess.run(
            [sys.executable, __file__, "--child", name, str(samples), str(points)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return json.loads(out.splitlines()[-1])
    model = build(name, device)
    split = test_points(points).to(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device) / 2**20
    evaluate_model(model, split, samples, max_rows=rows_per_chunk(device, bytes_per_row(model, model.input_dim)))
    return {"before_mib": before, "peak_mib": torch.cuda.max_memory_allocated(device) / 2**20}


def evaluation_table(models, points, samples, device, peak) -> None:
    print(
        "\n| model + VampPrior (K=500) | points x S | seconds | points/s | achieved GFLOP/s | of matmul peak "
        "| mean ln p(x) |\n|---|---|---|---|---|---|---|"
    )
    for name in models:
        r = throughput(name, points, samples, device)
        print(
            f"| {name} | {r['points']} x {r['samples']} | {r['seconds']:.1f} | {r['points_per_s']:.2f} "
            f"| {r['gflops']:.1f} | {100 * r['gflops'] / peak:.0f} % | {r['mean_ll']:.2f} |",
            flush=True,
        )


def memory_table(models, memory_samples, points, device) -> None:
    print("\n| model | S | points | memory before (MiB) | peak during evaluation (MiB) |\n|---|---|---|---|---|")
    for name in models:
        for samples in memory_samples:
            memory = peak_memory(name, samples, points, device)
            print(
                f"| {name} | {samples} | {points} | {memory['before_mib']:.0f} | {memory['peak_mib']:.0f} |", flush=True
            )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--samples", type=int, default=5000)
    parser.add_argument("--eval-models", default="vae,hvae")
    parser.add_argument("--memory-samples", default="1000,5000,20000")
    parser.add_argument("--memory-points", type=int, default=10)


def run(args, peak: dict[str, float]) -> None:
    device = torch.device(args.device)
    models = args.eval_models.split(",")
    evaluation_table(models, args.points, args.samples, device, peak["fp32"])  # evaluation runs in float32/64
    memory_table(models, [int(s) for s in args.memory_samples.split(",")], args.memory_points, device)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_device_argument(parser)
    add_arguments(parser)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return peak_memory_child(args.child[0], int(args.child[1]), int(args.child[2]))
    _, peak = start_run(args.device)
    run(args, peak)


if __name__ == "__main__":
    sys.exit(main())
