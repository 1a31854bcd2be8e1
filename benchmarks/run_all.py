"""Every benchmark in one run, with one matrix-multiply measurement for all of them.

    python benchmarks/run_all.py [--steps 200] [--points 200] [--device cuda --epoch-images 50000 --points 10000]

Prints markdown tables: the machine, the float32 matrix-multiply rate, training steps of pyro-vamp
against the plain-PyTorch references (train_step.py), importance-sampled evaluation throughput and
peak memory (eval_throughput.py). PixelCNN sampling has its own script (pixelcnn_sampling.py).
On a 2-core CPU the defaults take about 6 minutes.
"""

import argparse
import sys

from pyro_vamp.runtime import tune_openmp

tune_openmp()

import eval_throughput  # noqa: E402  (after the OpenMP setting)
import train_step  # noqa: E402
from machine import add_device_argument, matmul_gflops, start_run  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_device_argument(parser)
    train_step.add_arguments(parser)
    eval_throughput.add_arguments(parser)
    args = parser.parse_args(argv)
    device, peak = start_run(args.device)
    train_step.run(args, peak)
    eval_throughput.run(args, peak)
    print(f"\nfloat32 matmul at the end of the run: {matmul_gflops(device):.1f} GFLOP/s")


if __name__ == "__main__":
    sys.exit(main())
