"""Logs that work outside a terminal: with stderr in a file (``2> train.log``, nohup, a batch
scheduler) training writes one plain, flushed line per finished epoch while it runs, and evaluation
one per chunk of points; no ANSI codes."""

import os
import re
import subprocess
import sys

import pytest

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
ENV.pop("FORCE_COLOR", None)
ENV.pop("TTY_COMPATIBLE", None)
EPOCH_LINE = re.compile(
    r"^epoch (\d+)/(\d+)  beta [\d.]+  train loss [\d.]+  val ELBO -[\d.]+  best -[\d.]+  "
    r"[\d.]+ s  about \d+:\d\d left$"
)
TINY = ["--model", "vae", "--prior", "vamp", "--components", "5", "--latent-dim", "4", "--hidden", "16"]


def epoch_lines(text: str) -> list[int]:
    return [int(m.group(1)) for m in map(EPOCH_LINE.match, text.splitlines()) if m]


@pytest.mark.slow
def test_a_log_file_holds_each_finished_epoch_while_training_runs(tmp_path):
    log = tmp_path / "train.log"
    epochs = 4
    args = [*TINY, "--batch-size", "500", "--epochs", str(epochs), "--warmup", "2", "--out", str(tmp_path / "run")]
    with open(log, "w") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "pyro_vamp.cli", "train", *args], stdout=err, stderr=err, env=ENV
        )
        seen_while_running: set[int] = set()
        while True:
            try:
                process.wait(timeout=0.05)  # poll: read the log between waits on the process
                break
            except subprocess.TimeoutExpired:
                seen_while_running |= set(epoch_lines(log.read_text()))
    assert process.returncode == 0, log.read_text()
    text = log.read_text()
    assert "\x1b" not in text  # no ANSI codes
    assert epoch_lines(text) == list(range(1, epochs + 1))  # one line per epoch, in order
    assert set(range(1, epochs)) <= seen_while_running  # each written when its epoch ended, not at exit
    assert text.splitlines()[-1].startswith(f"finished after epoch {epochs}; best validation ELBO")

    eval_log = tmp_path / "eval.log"
    with open(eval_log, "w") as err:
        result = subprocess.run(
            [sys.executable, "-m", "pyro_vamp.cli", "eval", str(tmp_path / "run"), "--samples", "5", "--subset", "60"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=ENV,
            timeout=600,
        )
    assert result.returncode == 0, eval_log.read_text()
    chunks = [line for line in eval_log.read_text().splitlines() if line.startswith("eval: 5 samples per point")]
    assert [line.split(": ")[2].split(",")[0] for line in chunks] == ["20/60", "40/60", "60/60"]
    assert "\x1b" not in eval_log.read_text()


def test_an_epoch_line_says_everything_a_log_reader_needs():
    from pyro_vamp.cli.progress import LazyProgress, RichTrainingHooks

    hooks = RichTrainingHooks(LazyProgress(plain=True), epochs=10)
    record = {"epoch": 1, "beta": 0.1, "train_loss": 150.25, "val_elbo": -140.5, "best_val_elbo": -140.5, "seconds": 30}
    assert hooks.epoch_line(record) == (
        "epoch 1/10  beta 0.10  train loss 150.25  val ELBO -140.50  best -140.50  30.0 s  about 4:30 left"
    )
    second = {**record, "epoch": 2, "seconds": 90, "val_elbo": -145.0}
    assert hooks.epoch_line(second).endswith("90.0 s  about 8:00 left")  # mean of 30 s and 90 s, 8 epochs left
