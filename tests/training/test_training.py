"""Paper-faithful, resumable and safe training: resume exactness, signals, NaN, early stopping,
the normalised-gradient optimiser, configs."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from pyro_vamp import training
from pyro_vamp.config import TrainConfig, resolve_config
from pyro_vamp.errors import InputError
from pyro_vamp.run_folder import load_checkpoint, load_run
from pyro_vamp.training import configured as training_configured
from pyro_vamp.training.early_stopping import EarlyStopping
from pyro_vamp.training.optim import NormalizedGradientAdam
from tests.common import REPO, InterruptAt

SMALL = dict(model="vae", prior="vamp", components=5, latent_dim=4, hidden=16, warmup=2, batch_size=500, lr=1e-3)


def final_parameters(run_dir):
    return load_checkpoint(run_dir / "checkpoint-last.pt")["model"]


def assert_same_parameters(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_resume_gives_the_parameters_of_an_uninterrupted_run(tmp_path):
    training.train(TrainConfig(epochs=4, **SMALL), tmp_path / "straight")
    training.train(TrainConfig(epochs=2, **SMALL), tmp_path / "resumed")
    training.train(TrainConfig(epochs=4, **SMALL), tmp_path / "resumed", resume=True)
    assert_same_parameters(final_parameters(tmp_path / "straight"), final_parameters(tmp_path / "resumed"))
    assert metrics_without_times(tmp_path / "resumed") == metrics_without_times(tmp_path / "straight")


def metrics_without_times(run_dir):
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in record.items() if k != "seconds"} for record in records]


@pytest.mark.parametrize("signum,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_inside_an_epoch_resumes_exactly(tmp_path, signum, code):
    training.train(TrainConfig(epochs=3, **SMALL), tmp_path / "straight")
    with pytest.raises(training.TrainingInterrupted, match=f"{signum.name} at epoch 2, step 3") as info:
        training.train(TrainConfig(epochs=3, **SMALL), tmp_path / "cut", hooks=InterruptAt(2, 3, signum))
    assert info.value.exit_code == code
    state = load_checkpoint(tmp_path / "cut" / "checkpoint-last.pt")
    assert state["epoch"] == 2 and state["in_epoch"]["next_step"] == 3
    training.train(TrainConfig(epochs=3, **SMALL), tmp_path / "cut", resume=True)
    assert_same_parameters(final_parameters(tmp_path / "straight"), final_parameters(tmp_path / "cut"))


def test_same_seed_same_numbers(tmp_path):
    for name in ("a", "b"):
        training.train(TrainConfig(epochs=1, **SMALL), tmp_path / name)
    assert metrics_without_times(tmp_path / "a") == metrics_without_times(tmp_path / "b")
    assert_same_parameters(final_parameters(tmp_path / "a"), final_parameters(tmp_path / "b"))


@pytest.mark.slow
def test_sigint_to_a_training_process(tmp_path):
    run_dir = tmp_path / "run"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyro_vamp.cli",
            "train",
            "--model",
            "vae",
            "--components",
            "5",
            "--epochs",
            "1000",
            "--warmup",
            "1",
            "--out",
            run_dir,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_WAIT_POLICY": "PASSIVE"},
    )
    deadline = time.monotonic() + 300
    while not (run_dir / "checkpoint-last.pt").exists():  # wait until the first epoch is saved
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert "interrupted: SIGINT at epoch" in err and "--resume" in err
    state = torch.load(run_dir / "checkpoint-last.pt", weights_only=True)
    assert state["epoch"] >= 1 and "rng" in state and "optimizer" in state


class NaNAfter:
    """Wraps model_for so that the decoder's output turns NaN at one training step."""

    def __init__(self, step):
        self.step, self.calls = step, 0

    def __call__(self, *args, **kwargs):
        model = training_build_model(*args, **kwargs)

        def poison(module, inputs, output):
            if module.training:
                self.calls += 1
                if self.calls == self.step:
                    return output * float("nan")
            return output

        model.decoder[0].register_forward_hook(poison)
        return model


training_build_model = training_configured.model_for


@pytest.mark.filterwarnings("ignore:Encountered NaN:UserWarning")  # the NaN is the point
def test_nan_stops_and_keeps_the_checkpoints(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    training.train(TrainConfig(epochs=2, **SMALL), run_dir)
    before = {name: (run_dir / name).read_bytes() for name in ("checkpoint-best.pt", "checkpoint-last.pt")}
    monkeypatch.setattr(training_configured, "model_for", NaNAfter(step=5))
    with pytest.raises(training.TrainingError, match="at epoch 3, step 5"):
        training.train(TrainConfig(epochs=4, **SMALL), run_dir, resume=True)
    assert {name: (run_dir / name).read_bytes() for name in before} == before


def test_a_checkpoint_of_another_model_is_rejected(tmp_path):
    training.train(TrainConfig(epochs=1, **SMALL), tmp_path / "vae")
    training.train(TrainConfig(epochs=1, **{**SMALL, "model": "hvae"}), tmp_path / "hvae")
    (tmp_path / "hvae" / "checkpoint-best.pt").write_bytes((tmp_path / "vae" / "checkpoint-best.pt").read_bytes())
    with pytest.raises(InputError, match="does not match the run's model"):
        load_run(tmp_path / "hvae")
    with pytest.raises(InputError, match="other settings"):
        training.train(TrainConfig(epochs=2, **{**SMALL, "warmup": 5}), tmp_path / "vae", resume=True)


@pytest.mark.parametrize(
    "curve,patience,warmup,stop_epoch",
    [
        ([-5, -4, -3, -3.5, -3.2, -3.1, -3.4], 3, 0, 6),  # best at 3, three worse epochs
        ([-5, -4, -3, -3.5, -3.2, -3.1, -3.4], 3, 5, None),  # after warm-up only epochs 6, 7 count
        ([-9, -8, -9, -9, -9, -9, -9, -9, -9], 2, 5, 7),  # best inside warm-up; counting starts at 6
        ([-5, -4, -3, -2, -1], 1, 0, None),  # always improving
    ],
)
def test_early_stopping_on_a_scripted_curve(curve, patience, warmup, stop_epoch):
    stopper = EarlyStopping(patience, warmup)
    stopped = None
    for epoch, value in enumerate(curve, 1):
        stopper.update(epoch, value)
        if stopper.should_stop(epoch):
            stopped = epoch
            break
    assert stopped == stop_epoch


def test_normalized_gradient_adam_matches_a_hand_computation():
    weight = torch.tensor([[1.0, -2.0], [0.5, 3.0]], requires_grad=True)
    bias = torch.tensor([0.25, -0.75], requires_grad=True)
    lr, (b1, b2), eps = 0.1, (0.9, 0.999), 1e-8
    optimizer = NormalizedGradientAdam([weight, bias], lr=lr, betas=(b1, b2), eps=eps)
    grads = [torch.tensor([[3.0, 4.0], [0.0, 0.0]]), torch.tensor([0.0, -2.0])]
    expected = [p.detach().clone() for p in (weight, bias)]
    m = [torch.zeros_like(g) for g in grads]
    v = [torch.zeros_like(g) for g in grads]
    for t in (1, 2):
        for p, g in zip((weight, bias), grads, strict=True):
            p.grad = g.clone() * t  # the scale must not matter after normalising
        optimizer.step()
        for i, g in enumerate(grads):
            normalised = g / g.norm()
            m[i] = b1 * m[i] + (1 - b1) * normalised
            v[i] = b2 * v[i] + (1 - b2) * normalised**2
            m_hat, v_hat = m[i] / (1 - b1**t), v[i] / (1 - b2**t)
            expected[i] = expected[i] - lr * m_hat / (v_hat.sqrt() + eps)
    assert torch.allclose(weight.detach(), expected[0], atol=1e-6) and torch.allclose(
        bias.detach(), expected[1], atol=1e-6
    )


def test_every_config_file_resolves():
    files = sorted((REPO / "configs").rglob("*.toml"))
    # Table 1, Table 2, Figure 2 (VampPrior and MoG), Frey Faces repeats, the six-prior grid
    assert len(files) >= 36 + 4 + 2 * 7 + 3 + 2 * 6
    short = sorted((REPO / "configs" / "priors").glob("mnist5k-*.toml"))  # the README job's settings
    assert len(short) == 6
    for path in files:
        config = resolve_config(path, {})
        if path in short:
            assert (config.epochs, config.warmup, config.model) == (80, 20, "hvae")
        else:
            assert config.epochs == 2000 and config.early_stopping == 50 and config.optimizer == "adam-normalized"
    for folder in ("table2", "figure2", "priors"):  # the paper's Table 2 and Figure 2 use the HVAE
        assert {resolve_config(p, {}).model for p in (REPO / "configs" / folder).glob("*.toml")} == {"hvae"}
    assert resolve_config(REPO / "configs/table1/omniglot-hvae-vamp.toml", {}).components == 1000
