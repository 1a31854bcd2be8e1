"""Every bad input of issue 17.5 exits 2 with one line saying what is wrong (each exited 1 with
"unexpected ..." before), and output folders that do not exist yet are created. The command line
runs in this process (``main(argv)``), so that the cases cost no start-up."""

import json
import pickle
import shutil
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from pyro_vamp import training
from pyro_vamp.cli.main import main
from pyro_vamp.config import TrainConfig
from pyro_vamp.evaluation import evaluate_run
from pyro_vamp.run_folder import CHECKPOINT_FORMAT, load_checkpoint

SMALL = dict(model="vae", prior="vamp", components=5, latent_dim=4, hidden=16, warmup=1, batch_size=500)
TINY = ["--model", "vae", "--latent-dim", "4", "--hidden", "16", "--batch-size", "500", "--epochs", "1"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "run"
    training.train(TrainConfig(epochs=1, **SMALL), run_dir)
    evaluate_run(run_dir, num_samples=5, subset=20, device="cpu", make_figures=False)
    return run_dir


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.err.strip().splitlines()


def idx(n):
    return struct.pack(">IIII", 0x803, n, 28, 28) + bytes(784 * n)


def case_args(case, tmp_path, run_dir):  # noqa: C901 - one branch per case of the issue
    """The command line of each case, after writing the files it needs."""
    out = tmp_path / "out"
    if case == "seed":
        return ["train", *TINY, "--seed", 2**32, "--out", out]
    if case == "config-not-utf8":
        (tmp_path / "c.toml").write_bytes(b"epochs = 1\n# caf\xe9 in Latin-1\n")
        return ["train", "--config", tmp_path / "c.toml", "--out", out]
    if case == "components-vamp-data":
        return ["train", *TINY, "--prior", "vamp-data", "--components", 4001, "--out", out]
    if case == "components-pseudo-init-data":
        return ["train", *TINY, "--pseudo-init", "data", "--components", 5000, "--out", out]
    if case == "out-under-a-file":
        (tmp_path / "a-file").write_text("not a folder\n")
        return ["train", *TINY, "--out", tmp_path / "a-file" / "run"]
    if case == "sample-n-too-large":
        return ["sample", run_dir, "-n", 10**6, "--out", out / "s.png"]
    if case == "idx-test-file-without-images":
        (tmp_path / "train-images-idx3-ubyte").write_bytes(idx(3))
        (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx(0))
        return ["train", *TINY, "--dataset", "dynamic-mnist", "--data-dir", tmp_path, "--out", out]
    if case == "freyfaces-empty-list":
        (tmp_path / "freyfaces.pkl").write_bytes(pickle.dumps([], protocol=0))
        return ["train", *TINY, "--dataset", "frey-faces", "--data-dir", tmp_path, "--out", out]
    if case == "histopathology-empty-split":
        content = {"training": np.zeros((3, 784)), "validation": np.zeros((2, 784)), "test": np.zeros((0, 784))}
        (tmp_path / "histopathology.pkl").write_bytes(pickle.dumps(content, protocol=2))
        return ["train", *TINY, "--dataset", "histopathology", "--data-dir", tmp_path, "--out", out]
    if case in ("eval-json-a-list", "eval-json-wrong-types"):
        copy = shutil.copytree(run_dir, tmp_path / "copy")
        summary = json.loads((copy / "eval.json").read_text())
        bad = [summary] if case == "eval-json-a-list" else {**summary, "test_ll": "high"}
        (copy / "eval.json").write_text(json.dumps(bad))
        return ["compare", copy]
    if case == "checkpoint-without-epoch":
        copy = shutil.copytree(run_dir, tmp_path / "copy")
        state = load_checkpoint(copy / "checkpoint-best.pt")
        torch.save({"format": CHECKPOINT_FORMAT, "model": state["model"]}, copy / "checkpoint-best.pt")
        return ["eval", copy, "--samples", 5, "--subset", 5]
    raise AssertionError(case)


CASES = {
    "seed": "seed must be >= 0 and below 2^32",
    "config-not-utf8": "is not UTF-8 text (byte 16 is 0xe9)",
    "components-vamp-data": "--components 4001 with --prior vamp-data needs that many training images",
    "components-pseudo-init-data": "--components 5000 with --pseudo-init data needs that many training images",
    "out-under-a-file": "a-file is a file, not a folder",
    "sample-n-too-large": "-n 1000000 is more images than one picture holds (at most 10000)",
    "idx-test-file-without-images": "t10k-images-idx3-ubyte: the file holds 0 images",
    "freyfaces-empty-list": "freyfaces.pkl: expected one uint8 array of shape (1965, 560), got []",
    "histopathology-empty-split": "histopathology.pkl: test has shape (0, 784), expected N x 28 x 28 or N x 784 "
    "with N > 0",
    "eval-json-a-list": "eval.json is not an evaluation pyro-vamp wrote (it holds a JSON list",
    "eval-json-wrong-types": "eval.json is not an evaluation pyro-vamp wrote (its test_ll is missing or not a number)",
    "checkpoint-without-epoch": "checkpoint-best.pt has no 'epoch' entry",
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line(case, run_dir, tmp_path, capsys):
    code, err = run(capsys, *case_args(case, tmp_path, run_dir))
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith("error: ") and CASES[case] in err[0], err[0]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_sample_and_compare_create_a_missing_output_folder(run_dir, tmp_path, capsys):
    code, err = run(capsys, "sample", run_dir, "-n", 4, "--out", tmp_path / "new" / "deeper" / "s.png")
    assert code == 0, err
    with Image.open(tmp_path / "new" / "deeper" / "s.png") as image:
        assert image.size == (2 * 30 + 2, 2 * 30 + 2)
    code, err = run(capsys, "compare", run_dir, "--format", "csv", "--out", tmp_path / "tables" / "t.csv")
    assert code == 0, err
    assert (tmp_path / "tables" / "t.csv").read_text().startswith("dataset,model,prior")
    (tmp_path / "file").write_text("")
    code, err = run(capsys, "compare", run_dir, "--out", tmp_path / "file" / "t.md")
    assert code == 2 and len(err) == 1 and "is a file, not a folder" in err[0]
