"""bfloat16 mixed precision: a step's loss within 1 % of float32's at the same weights, finite
gradients, and ``precision`` through config files, the run folder and an exact resume."""

import json

import pyro
import pytest
import torch
from pyro.infer import Trace_ELBO

from pyro_vamp.config import TrainConfig, resolve_config
from pyro_vamp.data import load_dataset
from pyro_vamp.models import HVAE, VAE
from pyro_vamp.run_folder import CONFIG_FILE, LAST_CHECKPOINT, load_checkpoint
from pyro_vamp.training import precision, train


@pytest.mark.parametrize("model_class", [VAE, HVAE])
def test_a_bf16_step_is_within_1_percent_of_fp32_with_finite_gradients(model_class):
    torch.manual_seed(0)
    model = model_class(784, prior="vamp", num_components=50)
    x = load_dataset("mnist5k").train.as_float(torch.arange(100))
    losses, grads = {}, {}
    for name in ("fp32", "bf16"):
        torch.manual_seed(1)  # the same noise for both
        model.zero_grad()
        with pyro.validation_enabled(False), precision.autocast(name, torch.device("cpu")):
            loss = Trace_ELBO().differentiable_loss(model.model, model.guide, x, 0.5) / x.shape[0]
        loss.backward()
        losses[name] = loss.item()
        grads[name] = [p.grad.clone() for p in model.parameters()]
        assert loss.dtype == torch.float32
    assert losses["bf16"] == pytest.approx(losses["fp32"], rel=0.01)
    assert all(torch.isfinite(g).all() for g in grads["bf16"])
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast casts copies only


SMALL = dict(model="vae", prior="vamp", components=5, latent_dim=4, hidden=16, warmup=2, batch_size=500, lr=1e-3)


def test_precision_round_trips_through_config_run_folder_and_resume(tmp_path):
    config_file = tmp_path / "run.toml"
    config_file.write_text('precision = "bf16"\n')
    config = resolve_config(config_file, {"epochs": 3, **SMALL})
    assert config.precision == "bf16"
    train(config, tmp_path / "straight")
    assert json.loads((tmp_path / "straight" / CONFIG_FILE).read_text())["config"]["precision"] == "bf16"
    train(TrainConfig(**{**config.to_dict(), "epochs": 1}), tmp_path / "resumed")
    train(config, tmp_path / "resumed", resume=True)
    straight = load_checkpoint(tmp_path / "straight" / LAST_CHECKPOINT)["model"]
    resumed = load_checkpoint(tmp_path / "resumed" / LAST_CHECKPOINT)["model"]
    assert all(torch.equal(straight[k], resumed[k]) for k in straight)
    fp32 = TrainConfig(**{**config.to_dict(), "precision": "fp32"})
    with pytest.raises(Exception, match="other settings \\(precision\\)"):
        train(fp32, tmp_path / "resumed", resume=True)
