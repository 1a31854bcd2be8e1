"""Training step time of pyro-vamp against two plain-PyTorch references (see reference.py).

    python benchmarks/train_step.py [--models vae,hvae] [--priors standard,vamp] [--steps 200]

For each model and prior, three steps are timed on batches of 100 real mnist5k digits, K = 500:

- ``pyro-vamp``: what `pyro-vamp train` runs: Pyro's Trace_ELBO of model and guide at beta = 0.5,
  backward, fused Adam, argument validation and per-call ``pyro.module`` registration off;
- ``pyro-vamp bf16``: the same with ``--precision bf16`` (bfloat16 autocast for the networks);
- ``pyro-vamp, float32 mixture`` (VampPrior only): the step with the mixture's log-density in
  float32 as before, to measure what the exact (float64) mixture costs;
- ``plain fastest``: the same networks with a hand-written ELBO (reference.fast_loss), fused Adam;
- ``plain straightforward``: the original code's way (reference.Straightforward), torch Adam.

The three run interleaved, in rounds of a few steps each, so that a shared machine's changing load
falls on all of them alike; the median over at least ``--steps`` timed steps is reported. Each
variant trains its own weights. FLOPs per step are counted by torch for each variant and divided
by its median time (achieved GFLOP/s). The mean loss of the
timed steps is printed, so speed never comes from doing less (the variants' losses differ a little:
each trains its own weights, and the straightforward one parameterises the pseudo-inputs differently).

With ``--epoch-images N`` (for a GPU) it also times whole epochs of the pyro-vamp step over N
images (mnist5k's training digits repeated), data resident on the device.
"""

import argparse
import copy
import math
import statistics
import sys
import time

from pyro_vamp.runtime import tune_openmp

tune_openmp()

import pyro  # noqa: E402  (after the OpenMP setting)
import torch  # noqa: E402
from machine import add_device_argument, start_run, sync  # noqa: E402
from mixture_cost import Float32Mixture  # noqa: E402
from pyro.infer import Trace_ELBO  # noqa: E402
from reference import Straightforward, fast_loss  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from pyro_vamp.data import load_dataset  # noqa: E402
from pyro_vamp.models import MODELS  # noqa: E402
from pyro_vamp.training import precision  # noqa: E402

BETA = 0.5
ROUND = 10  # timed steps of one variant before the next variant's turn
REFERENCE_LEVELS = {"vae": 1, "hvae": 2}  # models with plain references, by stochastic layers


def pyro_vamp_step(model, precision_name="fp32"):
    model.register_params = False  # as in pyro_vamp.training.train
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, fused=True)
    loss_fn = Trace_ELBO().differentiable_loss
    device = next(model.parameters()).device

    def step(x):
        with pyro.validation_enabled(False), precision.autocast(precision_name, device):
            loss = loss_fn(model.model, model.guide, x, BETA) / x.shape[0]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def plain_step(loss_fn, parameters, **adam):
    optimizer = torch.optim.Adam(parameters, lr=5e-4, **adam)

    def step(x):
        loss = loss_fn(x, BETA)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    return step


def float32_mixture_step(model):
    """The pyro-vamp step with the prior's mixture in float32 (the VampPrior's distribution swapped)."""
    prior = model.prior

    def distribution(exact=False):
        return Float32Mixture(*prior.encoder(prior.pseudo_inputs))

    prior.distribution = distribution
    return pyro_vamp_step(model)


def variants(name: str, prior: str, device: torch.device) -> dict:
    """The steps to compare for one model and prior, each with its own weights (the same initial ones
    for the pyro-vamp variants)."""
    torch.manual_seed(0)
    pyro.clear_param_store()
    model = MODELS[name](784, prior=prior, num_components=500, image_shape=(28, 28)).to(device)
    ours = {"pyro-vamp": pyro_vamp_step(model), "pyro-vamp bf16": pyro_vamp_step(copy.deepcopy(model), "bf16")}
    if prior == "vamp":
        ours["pyro-vamp, float32 mixture"] = float32_mixture_step(copy.deepcopy(model))
    if name not in REFERENCE_LEVELS:  # the convolutional models have no plain reference
        return ours
    plain = copy.deepcopy(model)
    reference = Straightforward(REFERENCE_LEVELS[name], prior).to(device)
    return {
        **ours,
        "plain fastest": plain_step(lambda x, beta: fast_loss(plain, x, beta), plain.parameters(), fused=True),
        "plain straightforward": plain_step(reference.loss, reference.parameters()),
    }


def timed(step, x, device) -> tuple[float, float]:
    sync(device)
    began = time.perf_counter()
    loss = step(x)
    sync(device)
    return time.perf_counter() - began, loss


def compare_steps(name, prior, images, steps, warmup, batch_size, device) -> dict:
    """Median step seconds and mean loss of each variant, timed in interleaved rounds."""
    steps_of = variants(name, prior, device)
    times: dict[str, list[float]] = {k: [] for k in steps_of}
    losses: dict[str, list[float]] = {k: [] for k in steps_of}
    draw = torch.Generator(device="cpu").manual_seed(1)
    for round_ in range(math.ceil(steps / ROUND) + math.ceil(warmup / ROUND)):
        for key, step in steps_of.items():
            for _ in range(ROUND):
                x = images.as_float(torch.randint(len(images), (batch_size,), generator=draw).to(device))
                seconds, loss = timed(step, x, device)
                if round_ >= math.ceil(warmup / ROUND):
                    times[key].append(seconds)
                    losses[key].append(loss)
    return {k: (statistics.median(times[k]), statistics.mean(losses[k]), len(times[k])) for k in steps_of}


def step_flops(name, prior, x, device) -> dict:
    """FLOPs of one step of each variant, counted by torch."""
    flops = {}
    for variant, step in variants(name, prior, device).items():
        with FlopCounterMode(display=False) as counter:
            step(x)
        flops[variant] = counter.get_total_flops()
    return flops


def training_table(models, priors, images, steps, warmup, batch_size, device, peak) -> None:
    """One row per variant: its median step, its speed against pyro-vamp's and the straightforward
    reference's, and its achieved rate against the matmul peak of its own precision."""
    print(
        "\n| model | prior | variant | median step (ms) | time / pyro-vamp's | straightforward / this | timed steps "
        "| GFLOP/step | achieved GFLOP/s | of matmul peak (own precision) | mean loss (nats) |"
        "\n|---|---|---|---|---|---|---|---|---|---|---|"
    )
    for name in models:
        for prior in priors:
            flops = step_flops(name, prior, images.as_float(torch.arange(batch_size, device=device)), device)
            result = compare_steps(name, prior, images, steps, warmup, batch_size, device)
            ours = result["pyro-vamp"][0]
            straightforward = result.get("plain straightforward", (math.nan,))[0]
            for variant, (median, loss, count) in result.items():
                achieved = flops[variant] / median / 1e9
                own_peak = peak["bf16" if "bf16" in variant else "fp32"]
                print(
                    f"| {name} | {prior} | {variant} | {1000 * median:.1f} | {median / ours:.2f} "
                    f"| {straightforward / median:.2f} | {count} | {flops[variant] / 1e9:.2f} | {achieved:.1f} "
                    f"| {100 * achieved / own_peak:.0f} % | {loss:.2f} |",
                    flush=True,
                )


def epoch_table(models, priors, images, epoch_images, batch_size, device) -> None:
    """Seconds per epoch of the pyro-vamp step over ``epoch_images`` images (the second of two epochs)."""
    repeated = images.subset(torch.arange(epoch_images) % len(images)).to(device)
    print("\n| model | prior | images per epoch | batch | epoch seconds | mean loss |\n|---|---|---|---|---|---|")
    for name in models:
        for prior in priors:
            step = variants(name, prior, device)["pyro-vamp"]
            for _ in range(2):
                sync(device)
                began, total = time.perf_counter(), 0.0
                for x in repeated.batches(batch_size, torch.randperm(epoch_images, device=device)):
                    total += step(x)
                sync(device)
            seconds = time.perf_counter() - began
            print(
                f"| {name} | {prior} | {epoch_images} | {batch_size} | {seconds:.2f} "
                f"| {total * batch_size / epoch_images:.2f} |",
                flush=True,
            )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--models", default="vae,hvae")
    parser.add_argument("--priors", default="standard,vamp")
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--epoch-images", type=int, default=0, help="also time epochs over this many images")


def run(args, peak: float) -> None:
    device = torch.device(args.device)
    images = load_dataset("mnist5k").train.to(device)
    models, priors = args.models.split(","), args.priors.split(",")
    training_table(models, priors, images, args.steps, args.warmup, args.batch_size, device, peak)
    if args.epoch_images:
        epoch_table(models, priors, images, args.epoch_images, args.batch_size, device)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_device_argument(parser)
    add_arguments(parser)
    args = parser.parse_args(argv)
    _, peak = start_run(args.device)
    run(args, peak)


if __name__ == "__main__":
    sys.exit(main())
