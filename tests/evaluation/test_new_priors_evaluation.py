"""``pyro-vamp eval`` and ``sample`` on runs with the Exemplar and the flow prior: the ELBO decomposition
in eval.json and report.md, the aggregate-posterior figure (and no pseudo-input figures), and the
Exemplar prior's training images attached again to a loaded run (its checkpoint holds none)."""

import json
import math

import pytest
import torch
from click.testing import CliRunner

from pyro_vamp import training
from pyro_vamp.cli.main import cli
from pyro_vamp.config import TrainConfig
from pyro_vamp.data import Split, load_dataset
from pyro_vamp.errors import InputError
from pyro_vamp.evaluation import evaluate_run
from pyro_vamp.models import build_model
from pyro_vamp.run_folder import load_checkpoint, load_run

SMALL = dict(
    model="vae", components=5, latent_dim=4, hidden=16, warmup=1, batch_size=500, epochs=1, flow_depth=2, flow_hidden=8
)


@pytest.fixture(scope="module", params=["exemplar", "flow"])
def run_dir(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp(request.param) / "run"
    training.train(TrainConfig(prior=request.param, **SMALL), folder)
    return folder


def test_eval_reports_the_decomposition_and_its_figure(run_dir):
    summary = evaluate_run(run_dir, num_samples=10, subset=60, device="cpu")
    saved = json.loads((run_dir / "eval.json").read_text())
    for key in ("kl_top", "mutual_information", "marginal_kl"):
        assert math.isfinite(saved[key]) and saved[f"{key}_se"] >= 0
    assert math.isclose(saved["kl_top"], saved["mutual_information"] + saved["marginal_kl"], abs_tol=1e-9)
    assert 0 <= saved["mutual_information"] <= saved["mutual_information_max"] == pytest.approx(math.log(60))
    assert saved["decomposition_samples"] == 10 and summary["kl_top"] == saved["kl_top"]
    assert (run_dir / "aggregate_posterior.png").stat().st_size > 1000
    assert not (run_dir / "pseudo_inputs.png").exists()  # pseudo-inputs are the VampPriors' only
    report = (run_dir / "report.md").read_text()
    assert "mutual information I(x;z) + marginal KL" in report and "aggregate_posterior.png" in report


def test_eval_reads_the_data_once(run_dir, monkeypatch):
    """The Exemplar prior's training images and the evaluated split come from one read of the data."""
    import importlib

    from pyro_vamp import run_folder

    reads = []
    read = run_folder.load_config_data
    for module in (run_folder, importlib.import_module("pyro_vamp.evaluation.evaluate")):  # wherever it is imported
        monkeypatch.setattr(module, "load_config_data", lambda *args: reads.append(args) or read(*args), raising=False)
    evaluate_run(run_dir, num_samples=2, subset=10, device="cpu", make_figures=False, replace=True)
    assert len(reads) == 1


def test_sample_works_from_the_run_folder(run_dir, tmp_path):
    out = tmp_path / "samples.png"
    result = CliRunner().invoke(cli, ["sample", str(run_dir), "-n", "4", "--out", str(out), "--device", "cpu"])
    assert result.exit_code == 0, result.output
    assert out.stat().st_size > 100


def test_a_loaded_exemplar_run_needs_its_training_images_back(tmp_path):
    run_dir = tmp_path / "run"
    training.train(TrainConfig(prior="exemplar", **SMALL), run_dir)
    run = load_run(run_dir)
    state = load_checkpoint(run_dir / "checkpoint-best.pt")["model"]
    assert int(state["prior.exemplar_count"]) == 4000 and not any(k.endswith(".exemplars") for k in state)
    bare = build_model(run.config, run.image_shape, run.likelihood, (0.05, 0.01))  # as a checkpoint loads
    bare.load_state_dict(state)
    assert not bare.prior.has_exemplars and bare.prior.num_components == 4000
    with pytest.raises(RuntimeError, match="attach_exemplars"):
        bare.sample_images(2)
    bare.prior.attach_exemplars(load_dataset("mnist5k").train.unit_interval())  # what load_run does
    z = torch.randn(3, 4)
    with bare.prior.frozen() as a, run.model.prior.frozen() as b:
        assert torch.equal(a.log_prob(z), b.log_prob(z))

    class Other:  # a dataset whose training images are not the run's
        train = Split(torch.zeros(4000, 784, dtype=torch.uint8), "dynamic")

    with pytest.raises(InputError, match="not the 4000 training images"):
        load_run(run_dir, dataset=Other())
    result = CliRunner().invoke(cli, ["sample", str(run_dir), "-n", "2", "--pseudo-input", "0"])
    assert isinstance(result.exception, InputError)  # exit code 2 from the installed command
    assert "only a VampPrior has pseudo-inputs" in str(result.exception)
