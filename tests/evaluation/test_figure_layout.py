"""Figures and tables a reader can use: reconstructions of a fixed random selection of test points
(not the first, which are all one class), captioned pseudo-input blocks instead of a strip, and a
comparison whose numbers stay whole at 80 columns and name each latent layer."""

import importlib
import json
from types import SimpleNamespace

import numpy as np
import torch
from click.testing import CliRunner
from PIL import Image

from pyro_vamp.cli.main import cli
from pyro_vamp.config import TrainConfig
from pyro_vamp.data import Split
from pyro_vamp.data.mnist5k import PER_CLASS, SPLIT_SEED, mnist5k_path, read_mnist5k_csv, stratified_split
from pyro_vamp.evaluation import figures
from pyro_vamp.evaluation.evaluate import write_figures
from pyro_vamp.models import MODELS

evaluate_module = importlib.import_module("pyro_vamp.evaluation.evaluate")


def test_the_selection_is_fixed_and_spans_the_classes_of_a_class_ordered_test_split():
    _, labels = read_mnist5k_csv(mnist5k_path())
    test_labels = labels[stratified_split(labels, PER_CLASS, SPLIT_SEED)[2]]
    assert (np.diff(test_labels) >= 0).all()  # the test split is ordered by class: its first 50 are zeros
    chosen = figures.display_selection(len(test_labels), 50)
    assert torch.equal(chosen, figures.display_selection(len(test_labels), 50)) and len(set(chosen.tolist())) == 50
    counts = np.bincount(test_labels[chosen.numpy()], minlength=10)
    assert (counts > 0).all() and counts.max() <= 10  # every digit, none dominating (5 expected each)
    assert len(figures.display_selection(7, 50)) == 7


def vamp_vae():
    torch.manual_seed(0)
    return MODELS["vae"](784, prior="vamp", num_components=10, latent_dim=2, hidden=8).eval()


def test_write_figures_reconstructs_the_fixed_selection(tmp_path, monkeypatch):
    seen = {}

    def capture(model, x, image_shape, path, per_row=10):
        seen["x"] = x
        return path

    monkeypatch.setattr(figures, "save_reconstructions", capture)
    monkeypatch.setattr(evaluate_module, "display_shape", lambda run: (28, 28))  # images of 28 x 28
    images = (torch.arange(200)[:, None] >> torch.arange(784)[None, :] % 8 & 1).to(torch.uint8)  # row i encodes i
    split = Split(images, "binary")
    run = SimpleNamespace(model=vamp_vae(), image_shape=(28, 28), config=TrainConfig(), run_dir=tmp_path)
    write_figures(run, split, torch.zeros(200), tmp_path, num=4)
    assert torch.equal(seen["x"], split.as_float(figures.display_selection(200, 50)))


def test_pseudo_input_samples_are_one_captioned_block_per_pseudo_input(tmp_path):
    model = vamp_vae()
    path = figures.save_pseudo_input_samples(model, [3, 7], 100, (28, 28), tmp_path / "grid.png")
    picture = np.asarray(Image.open(path))
    tile, caption = 28 + 2, 14
    block = caption + 10 * tile + 2  # the caption, then 10 rows of 10 samples
    assert picture.shape == (2 * block, 11 * tile + 2)  # 11 columns: u_k, then 10 samples per row
    for first in (0, block):
        assert (picture[first : first + caption] < 128).sum() > 20  # the caption's text
        u = picture[first + caption + 2 : first + caption + 2 + 28, 2:30]
        assert u.mean() < 250  # u_k at the block's top left, white below it
        assert (picture[first + caption + 2 + tile : first + block - 2, 2:30] == 255).all()
    expected = figures.image_grid(model.prior.pseudo_inputs[3:4], (28, 28))[2:30, 2:30]
    assert np.array_equal(picture[caption + 2 : caption + 30, 2:30], expected)
    small = np.asarray(Image.open(figures.save_pseudo_input_samples(model, [0, 1, 2], 9, (28, 28), tmp_path / "s.png")))
    assert small.shape[0] == 3 * (caption + tile + 2)  # one row per pseudo-input when it fits


def make_run(folder, prior, ll):
    folder.mkdir()
    config = TrainConfig(prior=prior, dataset="caltech101-silhouettes").to_dict()
    (folder / "config.json").write_text(json.dumps({"config": config, "data": {"likelihood": "bernoulli"}}))
    (folder / "metrics.jsonl").write_text(json.dumps({"epoch": 1, "seconds": 1.5}) + "\n")
    summary = {"test_ll": ll, "bits_per_dim": 0.2, "active_units": {"z2": 12, "z1": 40}, "n_points": 2307}
    (folder / "eval.json").write_text(json.dumps({**summary, "samples": 5000, "seconds": 12.4}))
    return folder


def test_compare_keeps_its_numbers_whole_at_80_columns_and_names_the_layers(tmp_path):
    runs = [str(make_run(tmp_path / f"r{i}", "vamp", ll)) for i, ll in enumerate((-96.5, -97.0))]
    runs.append(str(make_run(tmp_path / "s", "standard", -101.25)))
    narrow = CliRunner().invoke(cli, ["compare", *runs], env={"COLUMNS": "80"})
    assert narrow.exit_code == 0, narrow.output
    assert all(len(line) <= 80 for line in narrow.output.splitlines())
    assert "    ln p(x): -96.75 ± 0.35" in narrow.output and "    ln p(x): -101.25" in narrow.output
    assert "active units (per latent layer): z2: 12, z1: 40" in narrow.output
    wide = CliRunner().invoke(cli, ["compare", *runs], env={"COLUMNS": "250"})
    assert "-96.75 ± 0.35" in wide.output and "z2: 12, z1: 40" in wide.output and "┃ dataset" in wide.output
