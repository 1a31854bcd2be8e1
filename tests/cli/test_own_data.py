"""Own data from the command line: train on an .npz of real digits and on a table of real-valued
measurements, evaluate, encode, interpolate; a changed data file and --data with --dataset are refused."""

import json

import numpy as np
import pytest

from pyro_vamp.cli.main import main
from pyro_vamp.data.mnist5k import mnist5k_path, read_mnist5k_csv

TINY = ["--model", "vae", "--prior", "vamp", "--components", "5", "--latent-dim", "4", "--hidden", "16"]
TINY += ["--epochs", "2", "--warmup", "1", "--batch-size", "50"]


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory):
    images, labels = read_mnist5k_csv(mnist5k_path())
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, images=images[:300].reshape(300, 28, 28), labels=labels[:300])
    return path


def run(*args) -> int:
    return main([str(a) for a in args])


def test_train_eval_encode_interpolate_on_own_digits(tmp_path, digits_file, capsys):
    out = tmp_path / "run"
    assert run("train", "--data", digits_file, *TINY, "--out", out) == 0
    record = json.loads((out / "config.json").read_text())
    assert record["config"]["dataset"] == "digits" and record["data"]["likelihood"] == "logistic"
    assert record["source"]["fingerprint"].startswith("sha256:")
    assert run("eval", out, "--samples", "5", "--no-figures", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ll_scale"] == "data" and summary["n_points"] == 30  # 10 % of 300 for testing
    assert run("encode", out, "--out", tmp_path / "codes" / "test.npz") == 0
    codes = np.load(tmp_path / "codes" / "test.npz")
    assert codes["z"].shape == (30, 4) and codes["labels"].shape == (30,)
    assert run("interpolate", out, "--between", 0, 1, "--steps", 5, "--out", tmp_path / "path.png") == 0
    assert (tmp_path / "path.png").stat().st_size > 0


def test_a_changed_data_file_is_refused_by_eval(tmp_path, digits_file, capsys):
    data = tmp_path / "digits.npz"
    data.write_bytes(digits_file.read_bytes())
    assert run("train", "--data", data, *TINY, "--epochs", "1", "--out", tmp_path / "run") == 0
    images = np.load(data)["images"]
    images[0, 0, 0] = 255 - images[0, 0, 0]
    np.savez(data, images=images, labels=np.load(data)["labels"])
    capsys.readouterr()
    assert run("eval", tmp_path / "run", "--samples", "5") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "changed since" in err and str(data) in err


def test_data_together_with_dataset_is_refused(tmp_path, digits_file, capsys):
    assert run("train", "--data", digits_file, "--dataset", "mnist5k", "--out", tmp_path / "run") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--data and --dataset" in err


def test_real_valued_table_gets_a_gaussian_likelihood_on_the_original_scale(tmp_path, capsys):
    from sklearn.datasets import load_diabetes

    table = load_diabetes().data.astype(np.float32) * 100 + 5  # real measurements, in their own units
    path = tmp_path / "diabetes.npy"
    np.save(path, table)
    out = tmp_path / "run"
    assert run("train", "--data", path, *TINY, "--out", out) == 0
    assert json.loads((out / "config.json").read_text())["data"]["likelihood"] == "gaussian"
    capsys.readouterr()
    assert run("eval", out, "--samples", "20", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["ll_scale"] == "standardised" and summary["bits_per_dim"] is None
    std = table[: int(0.8 * len(table))].std(0)  # about the training split's std: a sanity check of the sign
    assert summary["test_ll_original"] == pytest.approx(summary["test_ll"] + summary["log_jacobian"])
    assert summary["log_jacobian"] == pytest.approx(-np.log(std).sum(), rel=0.2)
    assert not (out / "samples.png").exists()  # no image figures for plain vectors
    assert (out / "ll_histogram.png").is_file()
