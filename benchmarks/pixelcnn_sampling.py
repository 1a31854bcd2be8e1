"""Autoregressive sampling time of the convHVAE's PixelCNN decoder: N images, pixel by pixel.

    cd benchmarks && OMP_WAIT_POLICY=PASSIVE python pixelcnn_sampling.py [-n 100]

Untrained weights (the cost does not depend on them), VampPrior with K = 500, for 28 x 28
(Bernoulli) and 28 x 20 (discretised logistic) images.
"""

import argparse
import time

from pyro_vamp.runtime import tune_openmp

tune_openmp()

import torch  # noqa: E402  (after the OpenMP setting)
from machine import add_device_argument, describe  # noqa: E402

from pyro_vamp.models import ConvHVAE  # noqa: E402
from pyro_vamp.runtime import tune_malloc  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=100)
    add_device_argument(parser)
    args = parser.parse_args()
    tune_malloc()
    device = torch.device(args.device)
    print(describe(device))
    print("\n| image | likelihood | images | seconds | mean pixel value |\n|---|---|---|---|---|")
    for shape, likelihood in (((28, 28), "bernoulli"), ((28, 20), "logistic")):
        torch.manual_seed(0)
        model = ConvHVAE(
            shape[0] * shape[1], likelihood=likelihood, prior="vamp", num_components=500, image_shape=shape
        ).to(device)
        model.sample_images(2)  # warm-up
        if device.type == "cuda":
            torch.cuda.synchronize()
        began = time.perf_counter()
        images = model.sample_images(args.n)
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - began
        print(f"| {shape[0]} x {shape[1]} | {likelihood} | {args.n} | {seconds:.1f} | {images.mean().item():.3f} |")


if __name__ == "__main__":
    main()
