"""The Exemplar and the flow prior in ``pyro-vamp train``: a run resumed from epoch 1 equals an
uninterrupted one bit for bit, the Exemplar prior is trained leave-one-out on K exemplars per step,
and its checkpoints hold no training images."""

import json

import pytest
import torch

from pyro_vamp import training
from pyro_vamp.config import TrainConfig
from pyro_vamp.priors import ExemplarPrior
from pyro_vamp.run_folder import load_checkpoint

SMALL = dict(
    model="vae", components=5, latent_dim=4, hidden=16, warmup=2, batch_size=500, lr=1e-3, flow_depth=2, flow_hidden=16
)


def last_state(run_dir):
    return load_checkpoint(run_dir / "checkpoint-last.pt")


def metrics_without_times(run_dir):
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in record.items() if k != "seconds"} for record in records]


@pytest.mark.parametrize("prior", ["exemplar", "flow"])
def test_resume_from_epoch_one_gives_the_uninterrupted_run(tmp_path, prior):
    training.train(TrainConfig(epochs=2, prior=prior, **SMALL), tmp_path / "straight")
    training.train(TrainConfig(epochs=1, prior=prior, **SMALL), tmp_path / "resumed")
    training.train(TrainConfig(epochs=2, prior=prior, **SMALL), tmp_path / "resumed", resume=True)
    straight, resumed = last_state(tmp_path / "straight")["model"], last_state(tmp_path / "resumed")["model"]
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], resumed[key]), key
    assert metrics_without_times(tmp_path / "resumed") == metrics_without_times(tmp_path / "straight")


def test_exemplar_training_leaves_each_batch_out_and_saves_no_images(tmp_path, monkeypatch):
    seen = []
    original = ExemplarPrior.before_step

    def recording(self, index):
        original(self, index)
        seen.append((index.clone(), self.subset.clone(), self.exemplars.shape[0]))

    monkeypatch.setattr(ExemplarPrior, "before_step", recording)
    result = training.train(TrainConfig(epochs=1, prior="exemplar", **SMALL), tmp_path / "run")
    assert len(seen) == 8  # mnist5k: 4,000 training images in batches of 500
    covered = torch.cat([index for index, _, _ in seen])
    assert sorted(covered.tolist()) == list(range(4000))  # the rows of every batch of the epoch
    for index, subset, n in seen:
        assert n == 4000 and subset.shape == (5,)
        assert not set(subset.tolist()) & set(index.tolist())  # leave-one-out: the batch is not its prior
    state = last_state(tmp_path / "run")["model"]
    assert not any(key.endswith("exemplars") for key in state)
    assert int(state["prior.exemplar_count"]) == 4000
    assert result.model.prior.subset is None  # evaluation mode after the last validation: all exemplars
