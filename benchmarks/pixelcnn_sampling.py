"""Autoregressive sampling time of the convHVAE's PixelCNN decoder: N images, pixel by pixel.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/pixelcnn_sampling.py [-n 100]

Untrained weights (the cost does not depend on them), VampPrior with K = 500, for 28 x 28
(Bernoulli) and 28 x 20 (discretised logistic) images.
"""

import argparse
import platform
import time

import torch

from pyro_vamp.models import ConvHVAE
from pyro_vamp.resources import tune_malloc


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=100)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    tune_malloc()
    device = torch.device(args.device)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"device {device}; torch {torch.__version__}")
    print("\n| image | likelihood | images | seconds | mean pixel value |\n|---|---|---|---|---|")
    for shape, likelihood in (((28, 28), "bernoulli"), ((28, 20), "logistic")):
        torch.manual_seed(0)
        model = ConvHVAE(shape[0] * shape[1], likelihood=likelihood, prior="vamp", num_components=500,
                         image_shape=shape).to(device)
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
