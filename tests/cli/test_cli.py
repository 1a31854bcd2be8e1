"""The CLI end to end, as a user runs it: real processes, exit codes and stderr."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

#: Every test here runs the command line in a fresh process.
pytestmark = pytest.mark.slow

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "COLUMNS": "200"}


def pyro_vamp(*args, check=True):
    result = subprocess.run(
        [sys.executable, "-m", "pyro_vamp.cli", *map(str, args)], capture_output=True, text=True, env=ENV, timeout=600
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "vae-vamp"
    pyro_vamp(
        "train",
        "--dataset",
        "mnist5k",
        "--model",
        "vae",
        "--prior",
        "vamp",
        "--components",
        10,
        "--epochs",
        2,
        "--warmup",
        1,
        "--out",
        out,
    )
    return out


def test_train_writes_the_run_folder(run_dir):
    assert {"config.json", "checkpoint-last.pt", "checkpoint-best.pt", "metrics.jsonl"} <= {
        p.name for p in run_dir.iterdir()
    }
    lines = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2] and [r["beta"] for r in lines] == [1.0, 1.0]
    record = json.loads((run_dir / "config.json").read_text())
    assert record["config"]["components"] == 10 and record["environment"]["torch"]


def test_eval_json_then_sample_then_compare(run_dir, tmp_path):
    result = pyro_vamp("eval", run_dir, "--samples", 20, "--subset", 100, "--json")
    summary = json.loads(result.stdout)
    for key in (
        "test_ll",
        "test_ll_se",
        "test_elbo",
        "reconstruction",
        "kl",
        "bits_per_dim",
        "active_units",
        "samples",
        "n_points",
        "seconds",
    ):
        assert key in summary
    assert summary["samples"] == 20 and summary["n_points"] == 100
    assert summary["test_elbo"] <= summary["test_ll"] < 0 < summary["bits_per_dim"]
    assert abs(summary["reconstruction"] - summary["kl"] - summary["test_elbo"]) < 1e-6
    assert json.loads((run_dir / "eval.json").read_text())["test_ll"] == summary["test_ll"]
    assert np.load(run_dir / "test_ll.npy").shape == (100,)
    for figure in (
        "samples",
        "reconstructions",
        "pseudo_inputs",
        "pseudo_input_samples",
        "ll_histogram",
        "training_curves",
    ):
        assert (run_dir / f"{figure}.png").is_file() and f"({figure}.png)" in (run_dir / "report.md").read_text()
    out = tmp_path / "s.png"
    pyro_vamp("sample", run_dir, "-n", 9, "--out", out)
    with Image.open(out) as image:
        assert image.size == (3 * 30 + 2, 3 * 30 + 2)
    pyro_vamp("sample", run_dir, "--pseudo-input", 2, "--pseudo-input", 5, "-n", 4, "--out", out)
    with Image.open(out) as image:
        assert image.size == (5 * 30 + 2, 2 * (14 + 30 + 2))  # a captioned block per pseudo-input: u_k, 4 samples
    table = pyro_vamp("compare", run_dir, "--format", "csv").stdout.splitlines()
    assert table[0].startswith("dataset,model,prior") and table[1].startswith("mnist5k,vae,vamp,10,ln p(x),")
    assert table[1].split(",")[8:10] == ["1", "2"]  # one run of two epochs


def test_resume_continues_and_a_finished_run_is_never_overwritten(run_dir, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(run_dir, copy)
    best = hashlib.sha256((copy / "checkpoint-best.pt").read_bytes()).hexdigest()
    train = ["train", "--model", "vae", "--prior", "vamp", "--components", 10, "--warmup", 1, "--out", copy]
    again = pyro_vamp(*train, "--epochs", 2, check=False)
    assert again.returncode == 2 and "--resume" in again.stderr
    assert hashlib.sha256((copy / "checkpoint-best.pt").read_bytes()).hexdigest() == best
    pyro_vamp(*train, "--epochs", 3, "--resume")
    assert len((copy / "metrics.jsonl").read_text().splitlines()) == 3


def _corrupt(run_dir, tmp_path):
    copy = tmp_path / "corrupt"
    shutil.copytree(run_dir, copy)
    data = (copy / "checkpoint-best.pt").read_bytes()
    (copy / "checkpoint-best.pt").write_bytes(data[: len(data) // 3])
    return copy


@pytest.mark.parametrize(
    "case",
    [
        "unknown-dataset",
        "negative-epochs",
        "missing-run",
        "corrupt-checkpoint",
        "unknown-config-key",
        "cuda-missing",
        "no-such-pseudo-input",
        "compare-unevaluated",
    ],
)
def test_bad_input_exits_2_with_one_line(case, run_dir, tmp_path):
    if case == "cuda-missing" and __import__("torch").cuda.is_available():
        pytest.skip("this machine has a GPU")
    bad_config = tmp_path / "bad.toml"
    bad_config.write_text("epoch = 3\n")
    args = {
        "unknown-dataset": ["train", "--dataset", "nope", "--out", tmp_path / "r"],
        "negative-epochs": ["train", "--epochs", "-1", "--out", tmp_path / "r"],
        "missing-run": ["eval", tmp_path / "no-such-run"],
        "corrupt-checkpoint": ["eval", _corrupt(run_dir, tmp_path) if case == "corrupt-checkpoint" else ""],
        "unknown-config-key": ["train", "--config", bad_config, "--out", tmp_path / "r"],
        "cuda-missing": ["train", "--device", "cuda", "--out", tmp_path / "r"],
        "no-such-pseudo-input": ["sample", run_dir, "--pseudo-input", 10],
        "compare-unevaluated": ["compare", tmp_path / "no-such-run"],
    }[case]
    result = pyro_vamp(*args, check=False)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "r" / "checkpoint-last.pt").exists()
