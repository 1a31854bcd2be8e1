"""Tracking (--logger tensorboard / mlflow): what a run logs, read back with each tracker's own reader;
a resumed run logs no step twice; evaluations, sweeps, missing packages and data-parallel ranks."""

import json

import pytest
import torch

pytest.importorskip("tensorboard")
pytest.importorskip("mlflow")

from mlflow.tracking import MlflowClient  # noqa: E402
from tensorboard.backend.event_processing import event_accumulator  # noqa: E402

from pyro_vamp import training  # noqa: E402
from pyro_vamp.cli.main import main  # noqa: E402
from pyro_vamp.config import TrainConfig, resolve_config  # noqa: E402
from pyro_vamp.run_folder import load_checkpoint, read_metrics  # noqa: E402
from pyro_vamp.sweep import EvalOptions, Experiment, run_experiment  # noqa: E402
from pyro_vamp.training import tracking  # noqa: E402
from tests.common import InterruptAt  # noqa: E402
from tests.training.test_training import SMALL, assert_same_parameters  # noqa: E402

# 4,000 training images in batches of 500: 8 steps per epoch
STEPS = 8
TINY = [
    "--model", "vae", "--prior", "vamp", "--components", "5", "--latent-dim", "4", "--hidden", "16",
    "--batch-size", "500", "--warmup", "1", "--log-images-every", "1",
]  # fmt: skip
IMAGES = {"samples", "reconstructions", "pseudo_inputs"}


@pytest.fixture(autouse=True)
def file_store(monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 asks to opt in to its file store
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


def cli(*args):
    assert main([str(a) for a in args]) == 0


def events(run_dir):
    everything = {event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0}
    accumulator = event_accumulator.EventAccumulator(str(run_dir / tracking.TENSORBOARD_DIR), size_guidance=everything)
    accumulator.Reload()
    return accumulator


def scalar_steps(accumulator, tag):
    return [event.step for event in accumulator.Scalars(tag)]


def assert_training_logged(accumulator, epochs, images_every=1):
    assert scalar_steps(accumulator, "train/loss") == list(range(1, epochs * STEPS + 1))  # each step once
    assert scalar_steps(accumulator, "train/beta") == list(range(1, epochs * STEPS + 1))
    for tag in ("val/elbo", "val/best_elbo", "train/epoch_loss", "train/lr", "train/epoch_seconds", "epoch"):
        assert scalar_steps(accumulator, tag) == [e * STEPS for e in range(1, epochs + 1)], tag
    for tag in IMAGES:
        assert [e.step for e in accumulator.Images(tag)] == [
            e * STEPS for e in range(1, epochs + 1) if e % images_every == 0
        ], tag


def test_tensorboard_logs_each_step_and_epoch_once_across_a_resume(tmp_path):
    run = tmp_path / "run"
    cli("train", *TINY, "--epochs", 2, "--logger", "tensorboard", "--out", run)
    logged = events(run)
    assert_training_logged(logged, epochs=2)
    assert [e.value for e in logged.Scalars("val/elbo")] == pytest.approx([r["val_elbo"] for r in read_metrics(run)])
    image = logged.Images("samples")[0]
    assert image.width > 28 and image.height > 28
    assert "config/text_summary" in logged.Tags()["tensors"]  # the resolved config, as text
    assert logged.PluginTagToContent("hparams")  # and as hyper-parameters

    cli("train", *TINY, "--epochs", 3, "--logger", "tensorboard", "--out", run, "--resume")
    resumed = events(run)
    assert_training_logged(resumed, epochs=3)
    assert scalar_steps(resumed, "val/elbo") == [8, 16, 24]

    cli("eval", run, "--samples", 5, "--subset", 20)  # the run's own loggers by default
    evaluated = events(run)
    summary = json.loads((run / "eval.json").read_text())
    for tag, key in (("test/log_likelihood", "test_ll"), ("test/bits_per_dim", "bits_per_dim"), ("test/kl", "kl")):
        assert [(e.step, round(e.value, 4)) for e in evaluated.Scalars(tag)] == [(24, round(summary[key], 4))]
    assert scalar_steps(evaluated, "test/active_units/z") == [24]
    assert {"test/samples", "test/reconstructions", "test/pseudo_inputs"} <= set(evaluated.Tags()["images"])
    assert_training_logged(evaluated, epochs=3)


def test_an_interrupt_inside_an_epoch_logs_the_steps_of_an_uninterrupted_run(tmp_path):
    config = TrainConfig(epochs=3, logger=("tensorboard",), log_images_every=2, **SMALL)
    training.train(config, tmp_path / "straight")
    with pytest.raises(training.TrainingInterrupted):
        training.train(config, tmp_path / "cut", hooks=InterruptAt(2, 3))
    training.train(config, tmp_path / "cut", resume=True)
    straight, cut = events(tmp_path / "straight"), events(tmp_path / "cut")
    assert_training_logged(cut, epochs=3, images_every=2)
    for tag in ("train/loss", "val/elbo"):
        assert [(e.step, e.value) for e in cut.Scalars(tag)] == [(e.step, e.value) for e in straight.Scalars(tag)]
    # drawing the images used their own random numbers: training is that of a run without a tracker
    training.train(TrainConfig(epochs=3, **SMALL), tmp_path / "untracked")
    assert_same_parameters(
        load_checkpoint(tmp_path / "untracked" / "checkpoint-last.pt")["model"],
        load_checkpoint(tmp_path / "straight" / "checkpoint-last.pt")["model"],
    )


def metric_steps(client, run_id, key):
    return [m.step for m in client.get_metric_history(run_id, key)]


def test_mlflow_logs_into_one_run_that_resume_and_eval_continue(tmp_path):
    run = tmp_path / "runs" / "vae-vamp"
    cli("train", *TINY, "--epochs", 2, "--logger", "mlflow", "--out", run)
    record = json.loads((run / tracking.MLFLOW_FILE).read_text())
    assert record["tracking_uri"] == (tmp_path / "runs" / "mlruns").as_uri()  # a local file store beside the run
    client = MlflowClient(record["tracking_uri"])
    logged = client.get_run(record["run_id"])
    assert logged.info.status == "FINISHED" and logged.info.run_name == "vae-vamp"
    assert client.get_experiment(record["experiment_id"]).name == "runs"
    assert logged.data.params["components"] == "5" and logged.data.params["logger"] == "mlflow"
    assert metric_steps(client, record["run_id"], "train/loss") == list(range(1, 2 * STEPS + 1))
    assert metric_steps(client, record["run_id"], "val/elbo") == [8, 16]

    cli("train", *TINY, "--epochs", 3, "--logger", "mlflow", "--out", run, "--resume")
    assert json.loads((run / tracking.MLFLOW_FILE).read_text()) == record  # the same run
    assert metric_steps(client, record["run_id"], "train/loss") == list(range(1, 3 * STEPS + 1))
    assert metric_steps(client, record["run_id"], "val/elbo") == [8, 16, 24]
    images = [a.path for a in client.list_artifacts(record["run_id"], "images")]
    for name in IMAGES:
        assert sum(f"images/{name}+step+" in p and p.endswith(".png") for p in images) == 3, name

    cli("eval", run, "--samples", 5, "--subset", 20)
    summary = json.loads((run / "eval.json").read_text())
    history = client.get_metric_history(record["run_id"], "test/log_likelihood")
    assert [(m.step, m.value) for m in history] == [(24, pytest.approx(summary["test_ll"]))]
    figures = {a.path for a in client.list_artifacts(record["run_id"], "evaluation-test")}
    assert {"evaluation-test/samples.png", "evaluation-test/reconstructions.png"} <= figures
    assert len(client.search_runs([record["experiment_id"]])) == 1


def test_a_sweep_logs_each_run_under_one_experiment(tmp_path):
    out = tmp_path / "table"
    store = (tmp_path / "store").as_uri()
    base = {**SMALL, "epochs": 1, "logger": ("mlflow",), "mlflow_uri": store}
    for prior in ("standard", "vamp"):
        experiment = Experiment(f"run-{prior}", TrainConfig(**{**base, "prior": prior}))
        run_experiment(experiment, out / experiment.name, EvalOptions(samples=5, subset=10, figures=False))
    client = MlflowClient(store)
    experiment = client.get_experiment_by_name("table")
    runs = client.search_runs([experiment.experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["run-standard", "run-vamp"]
    assert all("test/log_likelihood" in r.data.metrics for r in runs)


def test_a_missing_tracker_package_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(tracking.TRACKER_MODULES, "tensorboard", ("no_such_module_here", "tensorboard"))
    code = main(["train", *TINY, "--epochs", "1", "--logger", "tensorboard", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "tensorboard" in err and 'pip install "pyro-vamp[tracking]"' in err
    assert not (tmp_path / "run").exists()


def test_only_the_main_process_tracks(tmp_path):
    hooks = training.TrainingHooks()
    config = TrainConfig(logger=("tensorboard", "mlflow"))
    with tracking.tracked(config, tmp_path, False, hooks, is_main=False) as used:
        assert used is hooks
    with tracking.tracked(config, tmp_path, False, hooks, is_main=True) as used:
        assert isinstance(used, tracking.FanOutHooks) and used.hooks[0] is hooks and len(used.hooks) == 3
    assert not any(tmp_path.iterdir())  # a tracker opens only when an epoch starts


def test_logger_is_a_config_key_and_a_repeatable_option(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('logger = "tensorboard"\n')
    assert resolve_config(path, {}).logger == ("tensorboard",)
    assert resolve_config(path, {"logger": ("mlflow", "tensorboard", "mlflow")}).logger == ("mlflow", "tensorboard")
    assert resolve_config(path, {"logger": ("none",)}).logger is None
    path.write_text('logger = ["tensorboard", "wandb"]\n')
    with pytest.raises(Exception, match="logger 'wandb' is not one of: none, tensorboard, mlflow"):
        resolve_config(path, {})


def test_fan_out_calls_every_hook_in_order():
    calls = []

    class Record(training.TrainingHooks):
        def __init__(self, name):
            self.name = name

        def start_epoch(self, epoch, num_steps, beta):
            calls.append((self.name, "start", epoch, num_steps, beta))

        def step(self, loss):
            calls.append((self.name, "step", loss))

        def end_epoch(self, record):
            calls.append((self.name, "end", record["epoch"]))

    hooks = tracking.FanOutHooks(Record("a"), None, Record("b"))
    hooks.start_epoch(1, 2, 0.5)
    hooks.step(torch.tensor(3.0).item())
    hooks.end_epoch({"epoch": 1})
    assert calls == [
        ("a", "start", 1, 2, 0.5),
        ("b", "start", 1, 2, 0.5),
        ("a", "step", 3.0),
        ("b", "step", 3.0),
        ("a", "end", 1),
        ("b", "end", 1),
    ]
