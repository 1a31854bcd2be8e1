"""Every figure is written with the expected pixel size, for 28 x 28 and 28 x 20 images."""

from pathlib import Path

import pytest
import torch
from PIL import Image

from pyro_vamp.config import TrainConfig
from pyro_vamp.data import Split
from pyro_vamp.evaluation import write_figures
from pyro_vamp.evaluation.figures import PLOT_SIZE, pseudo_input_samples
from pyro_vamp.models import HVAE, VAE, ConvHVAE
from pyro_vamp.run_folder import METRICS_FILE, LoadedRun


def grid_size(n, shape, ncols=None):
    """(width, height) of a grid of n tiles with 2-pixel padding."""
    import math

    ncols = ncols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / ncols)
    return ncols * (shape[1] + 2) + 2, rows * (shape[0] + 2) + 2


@pytest.mark.parametrize("shape,likelihood", [((28, 28), "bernoulli"), ((28, 20), "logistic")])
@pytest.mark.parametrize("model_cls", [VAE, HVAE, pytest.param(ConvHVAE, marks=pytest.mark.slow)])
def test_every_figure_has_the_expected_size(tmp_path, shape, likelihood, model_cls):
    d = shape[0] * shape[1]
    model = model_cls(
        d, likelihood=likelihood, prior="vamp", num_components=20, latent_dim=3, hidden=8, image_shape=shape
    )
    (tmp_path / METRICS_FILE).write_text('{"epoch": 1, "beta": 0.5, "train_loss": 3.0, "val_elbo": -2.0}\n')
    run = LoadedRun(tmp_path, TrainConfig(), {"image_shape": list(shape), "likelihood": likelihood}, model, epoch=1)
    split = Split(torch.randint(0, 256, (60, d), dtype=torch.uint8), "grey")
    paths = write_figures(run, split, torch.randn(60), tmp_path)
    expected = {
        "samples": grid_size(100, shape),
        "reconstructions": grid_size(100, shape, ncols=10),
        "pseudo_inputs": grid_size(20, shape),
        # 5 captioned blocks of one row each: a 14-pixel caption, then u_k and 9 samples
        "pseudo_input_samples": (grid_size(10, shape, ncols=10)[0], 5 * (14 + grid_size(10, shape, ncols=10)[1])),
        "ll_histogram": PLOT_SIZE,
        "training_curves": PLOT_SIZE,
        "aggregate_posterior": PLOT_SIZE,
    }
    assert set(paths) == set(expected)
    for name, size in expected.items():
        with Image.open(Path(paths[name])) as image:
            assert image.size == size, name


def test_no_pseudo_input_figures_without_a_vampprior(tmp_path):
    model = VAE(12, prior="standard", latent_dim=2, hidden=4)
    run = LoadedRun(tmp_path, TrainConfig(), {"image_shape": [3, 4], "likelihood": "bernoulli"}, model, epoch=1)
    paths = write_figures(run, Split(torch.zeros(5, 12, dtype=torch.uint8), "binary"), torch.randn(5), tmp_path)
    assert set(paths) == {"samples", "reconstructions", "ll_histogram", "aggregate_posterior"}
    with pytest.raises(ValueError, match="only a VampPrior"):
        pseudo_input_samples(model, 0, 3)


def test_reconstruction_of_a_sharp_decoder_returns_its_mean():
    model = VAE(6, prior="standard", latent_dim=2, hidden=4)
    with torch.no_grad():
        out = model.decoder[1].logits
        out.weight.zero_()
        out.bias.copy_(torch.tensor([-20.0, 20, -20, 20, -20, 20]))
    recon = model.reconstruct(torch.zeros(3, 6))
    assert torch.allclose(recon, torch.tensor([0.0, 1, 0, 1, 0, 1]).expand(3, 6), atol=1e-6)


def test_pseudo_input_samples_come_from_that_component():
    model = HVAE(6, prior="vamp", num_components=4, latent_dim=2, hidden=4)
    seen = []
    model.p_z1.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    pseudo_input_samples(model, 2, 500)
    loc, scale = model.top_encoder(model.prior.pseudo_inputs[2:3])
    z2 = seen[-1]
    assert z2.shape == (500, 2)
    assert torch.all((z2.mean(0) - loc[0]).abs() < 5 * scale[0] / 500**0.5)
