"""benchmarks/prior_comparison.py, which makes the six-prior page's tables: its quick pipeline check
trains and evaluates all six mnist5k configs, and its table states what the run folders hold."""

import json

import numpy as np
import pytest

from tests.common import load_benchmark

pytestmark = pytest.mark.slow

comparison = load_benchmark("prior_comparison")


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    runs = tmp_path_factory.mktemp("priors")
    argv = ["--runs", str(runs), "--datasets", "mnist5k", "--seeds", "0", "--epochs", "1", "--samples", "10"]
    argv += ["--subset", "50", "--device", "cpu", "--out", str(runs / "tables.md")]
    assert comparison.main(argv) == 0
    return runs, (runs / "tables.md").read_text()


def cells(text: str, prior: str) -> list[str]:
    (line,) = [line for line in text.splitlines() if line.startswith(f"| {prior} |")]
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_every_prior_is_trained_evaluated_and_tabulated(tables):
    runs, text = tables
    for prior in comparison.PRIORS:
        run = runs / f"mnist5k-hvae-{prior}-seed0"
        result = json.loads((run / "eval.json").read_text())
        assert result["prior"] == prior and result["n_points"] == 50 and result["samples"] == 10
        row = cells(text, prior)
        assert row[0] == prior and row[1] == "1" and row[2] == f"{result['test_ll']:.2f}"
        assert row[8] == f"{result['mutual_information']:.2f}"


def test_the_differences_to_the_vampprior_are_paired(tables):
    runs, text = tables
    vamp = np.load(runs / "mnist5k-hvae-vamp-seed0" / "test_ll.npy")
    exemplar = np.load(runs / "mnist5k-hvae-exemplar-seed0" / "test_ll.npy")
    difference = exemplar - vamp  # the same 50 test points in the same order
    row = cells(text, "exemplar")
    assert row[3] == f"{exemplar.mean() - vamp.mean():.2f}"
    assert row[4] == f"{difference.mean():.2f} ± {difference.std(ddof=1) / np.sqrt(50):.2f}"
    assert cells(text, "vamp")[3:5] == ["-", "-"]


def test_a_second_call_reads_the_runs_instead_of_redoing_them(tables, capsys):
    runs, text = tables
    argv = ["--runs", str(runs), "--datasets", "mnist5k", "--seeds", "0", "--epochs", "1", "--subset", "50"]
    assert comparison.main(argv) == 0
    captured = capsys.readouterr()
    assert "$ pyro-vamp" not in captured.err and captured.out.strip() == text.strip()
