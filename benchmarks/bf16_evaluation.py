"""Would bfloat16 evaluation keep every log-likelihood within 0.05 nats of float32? Evaluates a
trained run's test points both ways with the same random numbers.

    python benchmarks/bf16_evaluation.py RUN_DIR [--points 50] [--samples 1000]

Prints the seconds and mean ln p(x) of each, and the largest per-point difference.
"""

import argparse
import sys
import time

from pyro_vamp.runtime import tune_openmp

tune_openmp()

import torch  # noqa: E402  (after the OpenMP setting)

from pyro_vamp.data import load_config_data  # noqa: E402
from pyro_vamp.evaluation import evaluate_model  # noqa: E402
from pyro_vamp.run_folder import load_run  # noqa: E402
from pyro_vamp.training import precision  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--samples", type=int, default=1000)
    args = parser.parse_args(argv)
    run = load_run(args.run_dir)
    test = load_config_data(run.config).test
    data = test.subset(torch.linspace(0, len(test) - 1, args.points).long())
    results = {}
    for name in ("fp32", "bf16"):
        torch.manual_seed(0)
        began = time.perf_counter()
        with precision.autocast(name, torch.device("cpu")):
            results[name] = evaluate_model(run.model.eval(), data, args.samples, max_rows=5000)["log_likelihood"]
        print(f"{name}: {time.perf_counter() - began:.1f} s, mean ln p(x) {results[name].mean().item():.4f}")
    difference = results["bf16"] - results["fp32"]
    print(f"largest |difference| {difference.abs().max().item():.3f} nats, mean {difference.mean().item():+.4f}")


if __name__ == "__main__":
    sys.exit(main())
