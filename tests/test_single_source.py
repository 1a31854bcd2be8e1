"""One source of truth per setting: the command line's train options are the config's fields, the
name tables agree with what builds them, and the config module stays free of torch and the models."""

import dataclasses
import subprocess
import sys

import pyro
import torch
from click.testing import CliRunner

from pyro_vamp.cli.main import cli
from pyro_vamp.config import MODEL_NAMES, OPTIMIZER_NAMES, PRIOR_NAMES, TrainConfig
from pyro_vamp.models import MODELS
from pyro_vamp.training import make_optimizer, train


def test_every_config_field_is_a_train_option_with_its_default_in_the_help():
    command = cli.commands["train"]
    parsed = command.make_context("train", ["--out", "run"]).params
    help_text = CliRunner().invoke(cli, ["train", "--help"], terminal_width=200).output
    for setting in dataclasses.fields(TrainConfig):
        assert setting.name in parsed, setting.name
        assert parsed[setting.name] is None  # only the options given override the --config file
        if setting.default is not None and setting.type is not bool:  # a flag's default is off
            assert f"[default: {setting.default}]" in help_text.replace("\n", " "), setting.name


def test_name_tables_match_what_builds_them():
    assert tuple(MODELS) == MODEL_NAMES
    for name in OPTIMIZER_NAMES:
        make_optimizer(name, [torch.zeros(1, requires_grad=True)], 1e-3)
    for prior in PRIOR_NAMES:
        model = MODELS["vae"](12, prior=prior, num_components=3, latent_dim=2, hidden=4, train_images=torch.rand(5, 12))
        assert model.prior().event_shape == (2,)


def test_the_config_module_imports_neither_torch_nor_the_models():
    code = (
        "import sys, pyro_vamp.config, pyro_vamp.cli.main; "
        "print('torch' in sys.modules, 'pyro_vamp.models' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]


def test_a_trained_model_still_trains_under_pyro_svi(tmp_path):
    config = TrainConfig(
        model="vae", prior="vamp", components=5, latent_dim=4, hidden=16, warmup=1, batch_size=500, epochs=1
    )
    model = train(config, tmp_path / "run").model
    assert model.register_params  # training's switch was scoped to the training loop
    pyro.clear_param_store()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    svi = pyro.infer.SVI(model.model, model.guide, pyro.optim.Adam({"lr": 1e-2}), pyro.infer.Trace_ELBO())
    svi.step(torch.bernoulli(torch.full((8, 784), 0.2)))
    changed = [name for name, p in model.named_parameters() if not torch.equal(p, before[name])]
    assert len(changed) == len(before)  # every parameter, pseudo-inputs included, was stepped
