"""The paper's figures from a trained model: samples (Fig. 4), reconstructions (Fig. 5),
pseudo-inputs and images generated from them (Fig. 3), the histogram of test
log-likelihoods (Fig. 6), and training curves. Grids with numpy + Pillow, plots with
matplotlib's Agg backend."""

import io
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..priors import VampPrior
from ..run_folder import write_file
from .images import image_grid, save_image_grid

#: Pixel size of the matplotlib figures (width, height).
PLOT_SIZE = (800, 500)
_DPI = 100


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def display_selection(n: int, num: int, seed: int = 0) -> torch.Tensor:
    """Rows of a split of ``n`` points to show in a figure: ``min(num, n)`` of them drawn at random
    with a fixed ``seed`` (the same every time). Test splits are often ordered by class and carry no
    labels, so the first rows would all be one class; a random draw shows each class about as often
    as the split holds it (not an exactly class-balanced selection, which needs the labels)."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))[: min(num, n)]


def _check_pseudo_input(prior, component: int) -> None:
    """:class:`InputError` unless ``prior`` is a VampPrior with a pseudo-input ``component``."""
    if not isinstance(prior, VampPrior):
        raise InputError(f"only a VampPrior has pseudo-inputs; this model's prior is a {type(prior).__name__}")
    if not 0 <= component < prior.num_components:
        raise InputError(f"pseudo-input {component} does not exist: choose 0 to {prior.num_components - 1}")


@torch.no_grad()
def pseudo_input_samples(model, component: int, num: int) -> torch.Tensor:
    """Images generated from one VampPrior component: z_top ~ q(z | u_k), then the rest of the
    generative model; returns images ``[num, D]`` (paper Fig. 3, top)."""
    _check_pseudo_input(model.prior, component)
    loc, scale = model.top_encoder(model.prior.pseudo_inputs[component : component + 1])
    return model.decode_from_top(loc + scale * torch.randn(num, loc.shape[-1], device=loc.device))


def pseudo_input_sample_grid(model, components, num: int, image_shape, per_row: int = 10) -> np.ndarray:
    """One captioned block per chosen pseudo-input k, as a uint8 picture ``[H, W]``: the caption
    ``pseudo-input k`` (14 pixels high), then u_k in the first column and the ``num`` images generated
    from it beside it, ``per_row`` to a row (a block of one row when ``num <= per_row``)."""
    from PIL import Image, ImageDraw

    for k in components:
        _check_pseudo_input(model.prior, k)
    pseudo_inputs = model.prior.pseudo_inputs
    blank = torch.ones_like(pseudo_inputs[:1])  # a white tile
    blocks = []
    for k in components:
        samples = pseudo_input_samples(model, k, num)
        tiles = []
        for first in range(0, num, per_row):
            tiles += [pseudo_inputs[k : k + 1] if first == 0 else blank, samples[first : first + per_row]]
        grid = image_grid(torch.cat(tiles), image_shape, ncols=1 + min(num, per_row))
        caption = f"pseudo-input {k}"
        height = 14
        width = max(grid.shape[1], int(ImageDraw.Draw(Image.new("L", (1, 1))).textlength(caption)) + 6)
        band = Image.new("L", (width, height), 255)
        ImageDraw.Draw(band).text((3, 1), caption, fill=0)
        block = np.full((height + grid.shape[0], width), 255, dtype=np.uint8)
        block[:height] = np.asarray(band)
        block[height:, : grid.shape[1]] = grid
        blocks.append(block)
    width = max(b.shape[1] for b in blocks)
    return np.concatenate([np.pad(b, ((0, 0), (0, width - b.shape[1])), constant_values=255) for b in blocks])


def save_pseudo_input_samples(model, components, num: int, image_shape, path: Path, per_row: int = 10) -> Path:
    """Write :func:`pseudo_input_sample_grid` as a PNG at ``path``: one captioned block per chosen
    pseudo-input, u_k then ``num`` generated images, ``per_row`` to a row."""
    from PIL import Image

    buffer = io.BytesIO()
    picture = pseudo_input_sample_grid(model, components, num, image_shape, per_row)
    Image.fromarray(picture, mode="L").save(buffer, format="PNG")
    return write_file(path, buffer.getvalue(), make_parents=True)


def save_reconstructions(model, x: torch.Tensor, image_shape, path: Path, per_row: int = 10) -> Path:
    """Rows of ``per_row`` test images, each followed by a row of their reconstructions (Fig. 5)."""
    recon = model.reconstruct(x)
    rows = []
    for start in range(0, x.shape[0], per_row):
        rows += [x[start : start + per_row], recon[start : start + per_row]]
    return save_image_grid(torch.cat(rows), image_shape, path, ncols=per_row)


def save_pseudo_inputs(prior: VampPrior, image_shape, path: Path, num: int = 100) -> Path:
    """The first ``num`` pseudo-inputs u_k (Fig. 3, bottom)."""
    return save_image_grid(prior.pseudo_inputs[:num], image_shape, path)


def _save_figure(fig, path: Path) -> None:
    """Render ``fig`` as PNG in memory, then write it with :func:`~pyro_vamp.run_folder.write_file`
    (atomically, never through a symbolic link)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=_DPI)
    write_file(path, buffer.getvalue())


def _figure():
    plt = _pyplot()
    return plt, plt.figure(figsize=(PLOT_SIZE[0] / _DPI, PLOT_SIZE[1] / _DPI), dpi=_DPI)


def save_log_likelihood_histogram(log_likelihoods, path: Path, title: str = "") -> Path:
    """Histogram of per-point test log-likelihoods (Fig. 6)."""
    plt, fig = _figure()
    ax = fig.add_subplot()
    ax.hist(torch.as_tensor(log_likelihoods).cpu().numpy(), bins=50, color="tab:blue")
    ax.set_xlabel("ln p(x) (nats)")
    ax.set_ylabel("test points")
    ax.set_title(title)
    _save_figure(fig, path)
    plt.close(fig)
    return Path(path)


def save_training_curves(records: list[dict], path: Path) -> Path:
    """Training objective, validation ELBO and beta per epoch, from ``metrics.jsonl`` records."""
    plt, fig = _figure()
    epochs = [r["epoch"] for r in records]
    ax = fig.add_subplot()
    ax.plot(epochs, [-r["train_loss"] for r in records], label="train: -loss (ELBO at beta)")
    ax.plot(epochs, [r["val_elbo"] for r in records], label="validation ELBO")
    ax.set_xlabel("epoch")
    ax.set_ylabel("nats per data point")
    beta_axis = ax.twinx()
    beta_axis.plot(epochs, [r["beta"] for r in records], color="grey", linestyle="--", label="beta (right axis)")
    beta_axis.set_ylabel("beta")
    beta_axis.set_ylim(0, 1.05)
    handles = ax.get_legend_handles_labels()[0] + beta_axis.get_legend_handles_labels()[0]
    ax.legend(handles=handles, loc="lower right")
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)
    return Path(path)


@torch.no_grad()
def save_aggregate_posterior(model, x: torch.Tensor, path: Path, title: str = "", num: int = 2000) -> Path:
    """The aggregate posterior q(z) = 1/N sum_n q(z | x_n) of the top latent over the points ``x``
    (``[N, D]``) against the prior p(z): ``num`` samples of each, projected on the first two
    principal axes of the posterior means E_q[z | x_n]. Where one has mass and the other none is the
    marginal KL(q(z) || p(z)) of the ELBO decomposition."""
    parts = [model.top_encoder(chunk) for chunk in x.split(1000)]
    loc, scale = torch.cat([p[0] for p in parts]), torch.cat([p[1] for p in parts])
    pick = torch.randint(loc.shape[0], (num,), device=loc.device)
    q_samples = loc[pick] + scale[pick] * torch.randn(num, loc.shape[1], dtype=loc.dtype, device=loc.device)
    p_samples = model.prior().sample((num,)).to(loc.dtype)
    center = loc.mean(0)
    axes = torch.linalg.svd((loc - center).double(), full_matrices=False)[2][:2].T.to(loc.dtype)  # [M, <=2]

    def project(z):
        flat = ((z - center) @ axes).cpu()
        return torch.cat([flat, torch.zeros(flat.shape[0], 2 - flat.shape[1])], 1).numpy()

    q2, p2 = project(q_samples), project(p_samples)
    plt, fig = _figure()
    ax = fig.add_subplot()
    ax.scatter(p2[:, 0], p2[:, 1], s=4, alpha=0.3, color="tab:orange", label=f"p(z): prior ({num} samples)")
    label = f"q(z): aggregate posterior over {loc.shape[0]} points"
    ax.scatter(q2[:, 0], q2[:, 1], s=4, alpha=0.3, color="tab:blue", label=label)
    ax.set_xlabel("principal axis 1 of the posterior means E_q[z | x]")
    ax.set_ylabel("principal axis 2")
    ax.set_title(title)
    ax.legend(loc="upper right", markerscale=4)
    fig.tight_layout()
    _save_figure(fig, path)
    plt.close(fig)
    return Path(path)
