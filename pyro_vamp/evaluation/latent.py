"""The latent space of a trained model: posterior means of the data (:func:`encode`) and decoded
images along a straight line between two data points' top latents (:func:`interpolate`).

Both take any model with a Pyro ``guide(x)``, ``latent_sites`` (top first), a ``top_encoder``
(``x -> (loc, scale)`` of q(z_top | x)) and ``decode_from_top`` (the built-in models have them).
"""

from contextlib import nullcontext

import torch

from ..data import Split
from ..data.dataset import binarize_once
from ..inference import posterior_means

#: Rows encoded at once.
ENCODE_BATCH = 500
#: Seed of the binarisation of a dynamically binarised split and of the draws of upper latents.
ENCODE_SEED = 0


def _device(model) -> torch.device:
    parameter = next(iter(model.parameters()), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _inputs(data: "Split | torch.Tensor") -> torch.Tensor:
    """Model inputs ``[N, D]``: a split's values (a dynamically binarised split binarised once, with
    a fixed seed, so that encoding is repeatable), or a tensor as it is."""
    if isinstance(data, torch.Tensor):
        return data
    if data.encoding == "dynamic":
        return Split(binarize_once(data.images.cpu(), ENCODE_SEED), "binary").as_float()
    return data.as_float()


def _quiet(model):
    """Model and guide without ``pyro.module`` registration, when the model can turn it off."""
    disabled = getattr(model, "registration_disabled", None)
    return disabled() if disabled is not None else nullcontext()


@torch.no_grad()
def encode(
    model, split: "Split | torch.Tensor", *, batch_size: int = ENCODE_BATCH, num_particles: int = 100
) -> dict[str, torch.Tensor]:
    """Posterior means E_q[z | x] of every latent layer for each row of ``split``.

    :param split: a :class:`~pyro_vamp.data.Split` or model inputs ``[N, D]``.
    :param num_particles: draws of the layers above a lower layer to average its conditional mean
        over (the top layer's mean is exact); as the active-unit count of ``eval`` does.
    :returns: ``{site: [N, M]}`` for each name in ``model.latent_sites`` (top first), on the CPU.

    Repeatable: the draws use a fixed seed and leave the global RNG as it was.
    """
    x = _inputs(split)
    device = _device(model)
    sites = tuple(model.latent_sites)
    parts: dict[str, list[torch.Tensor]] = {site: [] for site in sites}
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), _quiet(model):
        torch.manual_seed(ENCODE_SEED)
        for first in range(0, x.shape[0], batch_size):
            batch = x[first : first + batch_size].to(device)
            for site, means in posterior_means(model.guide, batch, sites, num_particles).items():
                parts[site].append(means.cpu())
    return {site: torch.cat(chunks) if chunks else torch.empty(0) for site, chunks in parts.items()}


@torch.no_grad()
def interpolation_path(model, x_i: torch.Tensor, x_j: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` points ``[steps, M]`` evenly spaced on the straight line from the top-latent posterior
    mean of ``x_i`` to that of ``x_j`` (inputs ``[D]`` or ``[1, D]``), both ends included."""
    if steps < 2:
        raise ValueError(f"steps must be at least 2 (the two ends), got {steps}")
    device = _device(model)
    ends = torch.stack([x_i.reshape(-1), x_j.reshape(-1)]).to(device)
    with _quiet(model):
        start, stop = model.top_encoder(ends)[0]
    t = torch.linspace(0, 1, steps, device=device, dtype=start.dtype).unsqueeze(-1)
    return (1 - t) * start + t * stop


@torch.no_grad()
def interpolate(model, x_i: torch.Tensor, x_j: torch.Tensor, steps: int = 10) -> torch.Tensor:
    """Decoded images ``[steps, D]`` along :func:`interpolation_path` from ``x_i`` to ``x_j``: the
    decoder means below each top latent (samples for autoregressive decoders such as the PixelCNN),
    on the CPU; the first and last are the decodings of the two data points' top-latent means."""
    path = interpolation_path(model, x_i, x_j, steps)
    with _quiet(model):
        return model.decode_from_top(path).cpu()
