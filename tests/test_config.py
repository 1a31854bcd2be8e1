"""Config precedence: paper defaults < config file < command line; bad keys and values rejected."""

import pytest

from pyro_vamp.config import TrainConfig, resolve_config
from pyro_vamp.errors import InputError


def test_precedence(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('epochs = 7\nlr = 1e-3\nprior = "mog"\nearly-stopping = 9\n')
    config = resolve_config(path, {"epochs": 3, "prior": None})
    assert (config.epochs, config.lr, config.prior, config.early_stopping) == (3, 1e-3, "mog", 9)
    assert config.batch_size == TrainConfig().batch_size == 100


def test_json_config(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{"model": "vae", "components": 10}')
    assert resolve_config(path, {}).model == "vae"


@pytest.mark.parametrize(
    "text,match",
    [
        ("epoch = 3\n", "unknown key 'epoch'"),
        ('epochs = "many"\n', "epochs must be int"),
        ("epochs = -1\n", "epochs must be a positive integer"),
        ('prior = "flat"\n', "prior 'flat' is not one of"),
        ("epochs = [\n", "not valid TOML"),
    ],
)
def test_bad_files_are_rejected_in_one_line(tmp_path, text, match):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(InputError, match=match) as info:
        resolve_config(path, {})
    assert "\n" not in str(info.value)


def test_integers_are_accepted_for_floats():
    assert TrainConfig.from_dict({"lr": 1}).lr == 1.0
