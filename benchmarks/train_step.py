"""Training step time of pyro-vamp's models: the median over many steps, after warm-up.

    OMP_WAIT_POLICY=PASSIVE python benchmarks/train_step.py [--models vae,hvae] [--steps 200]

The step is the one `pyro-vamp train` runs: Pyro's Trace_ELBO of model and guide at beta = 0.5,
backward, and the optimiser step (fused Adam), argument validation off. Batch 100 of real
mnist5k digits (or Frey Faces with --dataset frey-faces --data-dir DIR), K = 500. The mean loss
of the timed steps is printed, so speed never comes from doing less.
"""

import argparse
import platform
import statistics
import time

import pyro
import torch
from pyro.infer import Trace_ELBO

from pyro_vamp.data import load_dataset
from pyro_vamp.models import MODELS
from pyro_vamp.resources import APPLIED, tune_malloc


def step_times(name, prior, dataset, steps, warmup, batch_size, device):
    torch.manual_seed(0)
    pyro.clear_param_store()
    x_all = dataset.train.to(device)
    model = MODELS[name](dataset.input_dim, likelihood=dataset.likelihood, prior=prior, num_components=500,
                         image_shape=dataset.image_shape, pseudo_init=dataset.pseudo_init).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, fused=True)
    loss_fn = Trace_ELBO().differentiable_loss
    times, losses = [], []
    with pyro.validation_enabled(False):
        for i in range(warmup + steps):
            x = x_all.as_float(torch.randint(len(x_all), (batch_size,), device=device))
            if device.type == "cuda":
                torch.cuda.synchronize()
            began = time.perf_counter()
            loss = loss_fn(model.model, model.guide, x, 0.5) / batch_size
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            value = loss.item()
            if i >= warmup:
                times.append(time.perf_counter() - began)
                losses.append(value)
    return statistics.median(times), statistics.mean(losses)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="vae,hvae")
    parser.add_argument("--priors", default="standard,vamp")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--dataset", default="mnist5k")
    parser.add_argument("--data-dir")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    tune_malloc()
    device = torch.device(args.device)
    dataset = load_dataset(args.dataset, args.data_dir)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, device "
          f"{device}; torch {torch.__version__}, pyro {pyro.__version__}; allocator {APPLIED}")
    print("\n| model | prior | dataset | batch | median step (ms) | steps | mean loss |\n|---|---|---|---|---|---|---|")
    for name in args.models.split(","):
        for prior in args.priors.split(","):
            median, loss = step_times(name, prior, dataset, args.steps, args.warmup, args.batch_size, device)
            print(f"| {name} | {prior} | {args.dataset} | {args.batch_size} | {1000 * median:.1f} | {args.steps} "
                  f"| {loss:.2f} |")


if __name__ == "__main__":
    main()
