"""Experiment grids on Ray: naming and config resolution, and a real sweep on a local Ray instance
that survives the loss of a worker."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from pyro_vamp.errors import InputError
from pyro_vamp.sweep import SWEEP_FILE, experiments, parse_grid

TINY = 'model = "vae"\ncomponents = 5\nlatent-dim = 4\nhidden = 16\nbatch-size = 500\nwarmup = 1\ndevice = "cpu"\n'


def write_configs(folder, epochs):
    folder.mkdir()
    for name, prior in (("a-standard", "standard"), ("b-vamp", "vamp"), ("c-long", "vamp")):
        (folder / f"{name}.toml").write_text(TINY + f'prior = "{prior}"\nepochs = {epochs[name]}\n')
    return folder


def test_grid_crosses_every_config_with_every_value_and_overrides_win(tmp_path):
    folder = write_configs(tmp_path / "configs", {"a-standard": 2, "b-vamp": 2, "c-long": 3})
    runs = experiments([folder], parse_grid(["components=3,7", "lr=0.001"]), {"epochs": 9, "device": None})
    assert [r.name for r in runs] == [
        f"{stem}-components-{k}-lr-0.001" for stem in ("a-standard", "b-vamp", "c-long") for k in (3, 7)
    ]
    assert {r.config.components for r in runs} == {3, 7} and {r.config.lr for r in runs} == {0.001}
    assert {r.config.epochs for r in runs} == {9}  # the command line overrides the files
    assert {r.config.device for r in runs} == {"cpu"}  # an option not given leaves the file's value
    assert [r.config.prior for r in runs[:2]] == ["standard", "standard"]


@pytest.mark.parametrize(
    "items, message",
    [
        (["components"], "is not KEY=VALUE"),
        (["colour=red"], "unknown key 'colour'"),
        (["components=many"], "components must be int"),
    ],
)
def test_bad_grid_is_one_clear_error(items, message):
    with pytest.raises(InputError, match=message):
        experiments([], parse_grid(items), {})


def test_missing_config_is_one_clear_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        experiments([tmp_path / "nope.toml"], {}, {})


def kill_once_training(run_dir, deadline):
    """SIGKILL the Ray worker training ``run_dir`` once it has saved an epoch; return its pid."""
    while True:
        assert time.monotonic() < deadline, "the long run never finished an epoch"
        metrics = run_dir / "metrics.jsonl"
        if (run_dir / SWEEP_FILE).is_file() and metrics.is_file() and metrics.read_text().count("\n") >= 1:
            pid = json.loads((run_dir / SWEEP_FILE).read_text())["pid"]
            os.kill(pid, signal.SIGKILL)
            return pid
        time.sleep(0.1)


@pytest.mark.slow
def test_sweep_on_local_ray_evaluates_every_run_and_retries_a_killed_worker(tmp_path):
    configs = write_configs(tmp_path / "configs", {"a-standard": 2, "b-vamp": 2, "c-long": 25})
    out = tmp_path / "runs"
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "RAY_USAGE_STATS_ENABLED": "0"}
    sweep = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pyro_vamp.cli",
            "sweep",
            str(configs),
            "--out",
            str(out),
            "--samples",
            "10",
            "--subset",
            "20",
            "--no-figures",
            "--format",
            "markdown",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    killed = kill_once_training(out / "c-long", time.monotonic() + 300)
    stdout, stderr = sweep.communicate(timeout=600)
    assert sweep.returncode == 0, stderr[-3000:]
    for name in ("a-standard", "b-vamp", "c-long"):
        assert json.loads((out / name / "eval.json").read_text())["test_ll"] < 0
    # stdout is the comparison table alone: one row per setting, the two VampPrior runs as one row of 2
    assert stdout.startswith("| dataset | model | prior |") and len(stdout.splitlines()) == 4
    assert "| mnist5k | vae | standard |  | ln p(x) |" in stdout
    vamp_row = next(line for line in stdout.splitlines() if line.startswith("| mnist5k | vae | vamp |"))
    assert "±" in vamp_row
    record = json.loads((out / "c-long" / SWEEP_FILE).read_text())
    assert record["attempt"] == 2 and record["pid"] != killed and record["stage"] == "evaluated"
    epochs = [json.loads(line)["epoch"] for line in (out / "c-long" / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, 26))  # resumed from the checkpoint: every epoch once
