"""compare and report.md from hand-made run folders."""

import json

import pytest

from pyro_vamp.config import TrainConfig
from pyro_vamp.errors import InputError
from pyro_vamp.evaluation.report import comparison_rows, format_csv, format_markdown, write_report


def make_run(folder, prior, likelihood, ll, bpd, units, components=500, dataset=None):
    folder.mkdir()
    dataset = dataset or ("frey-faces" if likelihood == "logistic" else "mnist5k")
    config = TrainConfig(prior=prior, components=components, dataset=dataset).to_dict()
    (folder / "config.json").write_text(json.dumps({"config": config, "data": {"likelihood": likelihood}}))
    (folder / "metrics.jsonl").write_text("".join(json.dumps({"epoch": e, "seconds": 1.5}) + "\n" for e in (1, 2)))
    summary = {
        "test_ll": ll,
        "bits_per_dim": bpd,
        "active_units": units,
        "n_points": 500,
        "samples": 5000,
        "seconds": 12.4,
    }
    (folder / "eval.json").write_text(json.dumps(summary))
    return folder


def test_compare_table(tmp_path):
    runs = [
        make_run(tmp_path / "b", "vamp", "bernoulli", -97.174, 0.17, {"z2": 12, "z1": 30}),
        make_run(tmp_path / "a", "standard", "bernoulli", -100.556, 0.18, {"z2": 8, "z1": 25}),
        make_run(tmp_path / "c", "vamp", "logistic", -850.0, 4.38291, {"z2": 40, "z1": 40}),
    ]
    rows = comparison_rows(runs)
    assert format_markdown(rows) == (
        "| dataset | model | prior | K | metric | value | active units | points | runs | epochs | train s | eval s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        "| frey-faces | hvae | vamp | 500 | bits/dim | 4.3829 | z2: 40, z1: 40 | 500 x 5000 | 1 | 2 | 3 | 12 |\n"
        "| mnist5k | hvae | standard |  | ln p(x) | -100.56 | z2: 8, z1: 25 | 500 x 5000 | 1 | 2 | 3 | 12 |\n"
        "| mnist5k | hvae | vamp | 500 | ln p(x) | -97.17 | z2: 12, z1: 30 | 500 x 5000 | 1 | 2 | 3 | 12 |\n"
    )
    csv_lines = format_csv(rows).splitlines()
    assert csv_lines[0] == "dataset,model,prior,K,metric,value,active units,points,runs,epochs,train s,eval s"
    assert csv_lines[2] == 'mnist5k,hvae,standard,,ln p(x),-100.56,"z2: 8, z1: 25",500 x 5000,1,2,3,12'


def test_repeated_runs_give_mean_and_standard_deviation(tmp_path):
    runs = [
        make_run(tmp_path / f"r{i}", "vamp", "logistic", 0.0, bpd, {"z2": 40, "z1": 40}, dataset="frey-faces")
        for i, bpd in enumerate((4.40, 4.42, 4.47))
    ]
    (row,) = comparison_rows(runs)
    # mean 4.43, sample standard deviation sqrt(((-.03)^2 + (-.01)^2 + .04^2) / 2) = 0.0361
    assert row["value"] == "4.4300 ± 0.0361" and row["runs"] == 3


def test_compare_needs_an_evaluated_run(tmp_path):
    folder = make_run(tmp_path / "a", "vamp", "bernoulli", -1.0, 1.0, {"z": 1})
    (folder / "eval.json").unlink()
    with pytest.raises(InputError, match="pyro-vamp eval"):
        comparison_rows([folder])


def test_report_lists_numbers_and_figures(tmp_path):
    summary = {
        "epoch": 3,
        "split": "test",
        "n_points": 10,
        "samples": 50,
        "seconds": 1.0,
        "device": "cpu",
        "test_ll": -90.0,
        "test_ll_se": 1.5,
        "test_elbo": -95.0,
        "reconstruction": -70.0,
        "kl": 25.0,
        "bits_per_dim": 0.17,
        "active_units": {"z2": 5, "z1": 7},
    }
    text = write_report(tmp_path, summary, TrainConfig(), {"samples": tmp_path / "samples.png"}).read_text()
    assert "| log-likelihood ln p(x) (nats) | -90.00 ± 1.50 |" in text
    assert "| quantity | value ± SE (standard error over the test points) |" in text
    assert "| active units | z2: 5 / 40, z1: 7 / 40 |" in text and "![samples](samples.png)" in text
