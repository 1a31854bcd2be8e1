"""The NaN guard has no gap (issue 17.4): the parameters after the last update of an epoch and the
validation ELBO are checked too; the stop leaves the checkpoints as they were and its advice
(--resume with a lower --lr) works; --lr inf is refused like --lr nan."""

import json

import pytest

from pyro_vamp import training
from pyro_vamp.cli.main import main
from pyro_vamp.config import TrainConfig
from pyro_vamp.errors import InputError

#: One step per epoch: mnist5k has 4,000 training images.
ONE_STEP = dict(model="vae", prior="vamp", components=5, latent_dim=4, hidden=16, warmup=2, batch_size=4000, lr=1e-3)


@pytest.fixture
def one_epoch(tmp_path):
    run_dir = tmp_path / "run"
    training.train(TrainConfig(epochs=1, **ONE_STEP), run_dir)
    return run_dir


def checkpoints(run_dir):
    return {name: (run_dir / name).read_bytes() for name in ("checkpoint-best.pt", "checkpoint-last.pt")}


@pytest.mark.filterwarnings("ignore:Encountered NaN:UserWarning")  # the NaN is the point
@pytest.mark.parametrize(
    "lr,match",
    [
        (1e300, "a parameter became NaN or Inf in the update of epoch 2, step 1"),  # Inf parameters after the step
        (1e6, "the validation ELBO became nan after epoch 2"),  # finite parameters, a NaN validation ELBO
    ],
)
def test_a_blow_up_in_the_last_step_of_an_epoch_stops_cleanly(one_epoch, lr, match):
    """With one step per epoch and a huge --lr, validation used to crash with a tensor dump (exit 1)."""
    before = checkpoints(one_epoch)
    with pytest.raises(training.TrainingError, match=match) as stop:
        training.train(TrainConfig(epochs=2, **{**ONE_STEP, "lr": lr}), one_epoch, resume=True)
    assert "unchanged" in str(stop.value) and "--resume and a smaller --lr" in str(stop.value)
    assert checkpoints(one_epoch) == before
    assert len((one_epoch / "metrics.jsonl").read_text().splitlines()) == 1
    # the advice works: the same run resumed with a lower learning rate, the change recorded
    training.train(TrainConfig(epochs=2, **{**ONE_STEP, "lr": 1e-4}), one_epoch, resume=True)
    record = json.loads((one_epoch / "config.json").read_text())
    assert {"after_epoch": 1, "setting": "lr", "was": 1e-3, "now": 1e-4} in record["changes"]
    assert len((one_epoch / "metrics.jsonl").read_text().splitlines()) == 2


@pytest.mark.parametrize("lr", ["inf", "nan", "-inf", "0"])
def test_a_learning_rate_that_is_not_a_finite_positive_number_is_refused(lr, tmp_path, capsys):
    with pytest.raises(InputError, match="lr must be a finite number > 0"):
        TrainConfig(lr=float(lr)).validate()
    assert main(["train", "--lr", lr, "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lr must be a finite number > 0" in err[0]
    assert not (tmp_path / "run").exists()
