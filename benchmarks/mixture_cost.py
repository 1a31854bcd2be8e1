"""What the exact (float64) training mixture costs against the float32 form it replaced, alone:
forward and backward of a VampPrior-sized mixture log-density.

    python benchmarks/mixture_cost.py [--points 100] [--components 500] [--latent 40]

Prints the median over 50 rounds of 20 forward + backward passes of each form, interleaved, and the
largest difference between them and a float64 brute force on the same points.
"""

import argparse
import math
import statistics
import sys
import time

from pyro_vamp.runtime import tune_openmp

tune_openmp()

import torch  # noqa: E402  (after the OpenMP setting)

from pyro_vamp.priors import EqualGaussianMixture  # noqa: E402


class Float32Mixture(EqualGaussianMixture):
    """The expanded quadratic in float32, as the training loss computed it before."""

    def component_log_prob(self, value):
        precision = self.scales.pow(-2)
        flat = value.reshape(-1, value.shape[-1])
        quad = flat.pow(2) @ precision.T - 2 * flat @ (self.locs * precision).T
        const = (self.locs.pow(2) * precision).sum(-1) + 2 * self.scales.log().sum(-1)
        log_n = -0.5 * (quad + const + self.locs.shape[-1] * math.log(2 * math.pi))
        return log_n.reshape(*value.shape[:-1], self.num_components)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100)
    parser.add_argument("--components", type=int, default=500)
    parser.add_argument("--latent", type=int, default=40)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    locs = torch.randn(args.components, args.latent, requires_grad=True)
    scales = torch.rand(args.components, args.latent).add(0.1).requires_grad_()
    z = torch.randn(args.points, args.latent, requires_grad=True)
    forms = {"float64 (now)": EqualGaussianMixture, "float32 (before)": Float32Mixture}
    times: dict[str, list[float]] = {name: [] for name in forms}
    for _ in range(50):
        for name, form in forms.items():
            began = time.perf_counter()
            for _ in range(20):
                form(locs, scales).log_prob(z).sum().backward()
            times[name].append((time.perf_counter() - began) / 20)
    for name, values in times.items():
        print(f"{name}: median {1000 * statistics.median(values):.3f} ms per forward + backward "
              f"([{args.points}, {args.latent}] points, K = {args.components})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
