"""A quick evaluation never replaces a fuller one (issue 17.8): ``eval --subset 50 --samples 500``
after a full evaluation rewrote eval.json, report.md, test_ll.npy and every figure, and ``compare``
then showed the quick number. Now it prints its numbers, writes nothing and says so; ``--replace``
writes it anyway; an evaluation at least as full replaces the old one."""

import json
import logging

import pytest

from pyro_vamp import training
from pyro_vamp.cli.main import main
from pyro_vamp.config import TrainConfig
from pyro_vamp.evaluation import evaluate_run
from pyro_vamp.evaluation.report import comparison_rows

SMALL = dict(model="vae", prior="vamp", components=5, latent_dim=4, hidden=16, warmup=1, batch_size=500)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("runs") / "run"
    training.train(TrainConfig(epochs=1, **SMALL), run_dir)
    return run_dir


def outputs(run_dir):
    names = ("eval.json", "report.md", "test_ll.npy", "val_ll.npy", "samples.png", "ll_histogram.png")
    return {name: (run_dir / name).read_bytes() for name in names if (run_dir / name).is_file()}


def test_a_quicker_evaluation_keeps_the_fuller_one(run_dir, caplog, capsys):
    full = evaluate_run(run_dir, num_samples=20, subset=60, device="cpu")
    kept = outputs(run_dir)
    assert {"eval.json", "report.md", "test_ll.npy", "samples.png", "ll_histogram.png"} <= set(kept)
    for quick in (dict(num_samples=5, subset=60), dict(num_samples=20, subset=10), dict(split="val", subset=60)):
        with caplog.at_level(logging.WARNING, "pyro_vamp"):
            summary = evaluate_run(run_dir, device="cpu", **{"num_samples": 20, **quick})
        assert summary["n_points"] == quick.get("subset", 60) and outputs(run_dir) == kept
        assert "kept the fuller evaluation" in caplog.text and "pass --replace" in caplog.text
        caplog.clear()
    assert comparison_rows([run_dir])[0]["points"] == "60 x 20"
    # the command line: the quick numbers printed, the files kept, one line saying so
    assert main(["eval", str(run_dir), "--samples", "5", "--subset", "10", "--device", "cpu", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["n_points"] == 10 and outputs(run_dir) == kept
    assert [line for line in err.splitlines() if "kept the fuller evaluation" in line and "--replace" in line]
    # --replace writes the quicker one; an evaluation as full as the one saved replaces it
    assert main(["eval", str(run_dir), "--samples", "5", "--subset", "10", "--device", "cpu", "--replace"]) == 0
    assert json.loads((run_dir / "eval.json").read_text())["n_points"] == 10
    again = evaluate_run(run_dir, num_samples=20, subset=60, device="cpu")
    assert json.loads((run_dir / "eval.json").read_text())["test_ll"] == again["test_ll"] == full["test_ll"]
