"""The run folder keeps every finished epoch and writes nothing outside itself (issue 17):
crash-consistent checkpoints, no overwriting, no writing through links, one writer at a time,
disk full, nothing rewritten when nothing is left to do, and SIGKILL at ten moments of the writes."""

import errno
import json
import logging
import os
import signal
import socket
import subprocess
import sys

import pytest
import torch

from pyro_vamp import run_folder, training
from pyro_vamp.cli.main import main
from pyro_vamp.config import TrainConfig
from pyro_vamp.errors import InputError
from pyro_vamp.evaluation import evaluate_run
from pyro_vamp.evaluation import figures as figures_module
from pyro_vamp.evaluation.images import save_image_grid
from pyro_vamp.evaluation.report import write_report
from pyro_vamp.run_folder import BEST_CHECKPOINT, LAST_CHECKPOINT, RunLock, load_checkpoint
from tests.common import InterruptAt

SMALL = dict(model="vae", prior="vamp", components=5, latent_dim=4, hidden=16, warmup=2, batch_size=500, lr=1e-3)
CLI_SMALL = ["--model", "vae", "--prior", "vamp", "--components", "5", "--latent-dim", "4", "--hidden", "16"]
CLI_SMALL += ["--warmup", "2", "--batch-size", "500", "--lr", "1e-3"]
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}


def train(run_dir, epochs, resume=False, **changes):
    return training.train(TrainConfig(epochs=epochs, **{**SMALL, **changes}), run_dir, resume=resume)


def files(run_dir):
    """Every file of the folder (but the lock) by name, with its bytes."""
    return {p.name: p.read_bytes() for p in sorted(run_dir.iterdir()) if p.is_file() and p.name != ".pyro-vamp.lock"}


def temporaries(run_dir):
    return [p.name for p in run_dir.iterdir() if p.name.endswith(".tmp")]


def metric_epochs(run_dir):
    return [json.loads(line)["epoch"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def without_times(run_dir):
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in open(run_dir / "metrics.jsonl")]


def assert_same_parameters(a, b):
    a, b = load_checkpoint(a / LAST_CHECKPOINT)["model"], load_checkpoint(b / LAST_CHECKPOINT)["model"]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """An uninterrupted run of 3 epochs."""
    run_dir = tmp_path_factory.mktemp("straight") / "run"
    train(run_dir, 3)
    return run_dir


class Killed(BaseException):
    """Stands for the process dying (nothing after it runs, as after kill -9)."""


def dying_at(calls):
    """A save_checkpoint that dies at its ``calls``-th call, before writing anything."""
    real, count = run_folder.save_checkpoint, [0]

    def save(state, path):
        count[0] += 1
        if count[0] == calls:
            raise Killed
        real(state, path)

    return save


# 1 ---------------------------------------------------------------------------------------------


def test_a_crash_between_the_two_checkpoints_resumes_from_the_best_one(straight, tmp_path, monkeypatch, caplog):
    """Issue 17.1: killed after checkpoint-best.pt of epoch 2 and before checkpoint-last.pt, with a
    stray temporary file: a plain train is refused, --resume continues from the best checkpoint
    (saying so), removes the temporary file, and ends exactly as the uninterrupted run."""
    run_dir = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(run_folder, "save_checkpoint", dying_at(4))  # best 1, last 1, best 2, [last 2]
        with pytest.raises(Killed):
            train(run_dir, 3)
    (run_dir / ".checkpoint-last.pt.x1y2z3w4.tmp").write_bytes(os.urandom(5000))  # as a kill leaves it
    assert load_checkpoint(run_dir / BEST_CHECKPOINT)["epoch"] == 2
    assert load_checkpoint(run_dir / LAST_CHECKPOINT)["epoch"] == 1
    assert metric_epochs(run_dir) == [1]  # never an epoch that no checkpoint has
    best = (run_dir / BEST_CHECKPOINT).read_bytes()
    with pytest.raises(InputError, match="already holds a run.*--resume"):
        train(run_dir, 3)
    assert (run_dir / BEST_CHECKPOINT).read_bytes() == best
    with caplog.at_level(logging.WARNING, "pyro_vamp"):
        train(run_dir, 3, resume=True)
    assert f"resuming from {run_dir / BEST_CHECKPOINT} (epoch 2)" in caplog.text
    assert temporaries(run_dir) == []
    assert_same_parameters(straight, run_dir)
    assert without_times(run_dir) == without_times(straight)


def test_a_run_that_died_in_its_first_epoch_resumes_from_the_start(straight, tmp_path, monkeypatch, caplog):
    """Issue 17.1: no checkpoint yet (config.json only): --resume starts from the beginning, saying so."""
    run_dir = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(run_folder, "save_checkpoint", dying_at(1))
        with pytest.raises(Killed):
            train(run_dir, 3)
    assert sorted(files(run_dir)) == ["config.json", "metrics.jsonl"] and metric_epochs(run_dir) == []
    with caplog.at_level(logging.WARNING, "pyro_vamp"):
        train(run_dir, 3, resume=True)
    assert "stopped before its first epoch ended; training it from the beginning" in caplog.text
    assert_same_parameters(straight, run_dir)


# 2 ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    train(run_dir, 1)
    return run_dir


@pytest.mark.parametrize(
    "name,content",
    [
        ("checkpoint-best.pt", None),  # a trained model alone (None: the real checkpoint)
        ("eval.json", b'{"test_ll": -90.1}\n'),
        ("config.json", b'{"my": "own settings"}\n'),  # a user's own files, in a folder that is not a run
        ("metrics.jsonl", b'{"loss": 1}\n'),
    ],
)
def test_an_artefact_or_a_users_file_is_never_overwritten(trained, tmp_path, name, content):
    """Issue 17.2: any run artefact (or a file of its name) in --out refuses a new run, and --resume
    refuses a folder pyro-vamp did not write (exit 2, one line); nothing is written."""
    run_dir = tmp_path / "out"
    run_dir.mkdir()
    (run_dir / name).write_bytes(content or (trained / BEST_CHECKPOINT).read_bytes())
    before = files(run_dir)
    with pytest.raises(InputError, match=name):
        train(run_dir, 1)
    with pytest.raises(InputError, match="--resume: .* no config.json of a pyro-vamp run"):
        train(run_dir, 1, resume=True)
    assert files(run_dir) == before


def test_cli_refuses_to_train_over_a_best_checkpoint(trained, tmp_path, capsys):
    run_dir = tmp_path / "out"
    run_dir.mkdir()
    (run_dir / BEST_CHECKPOINT).write_bytes((trained / BEST_CHECKPOINT).read_bytes())
    assert main(["train", *CLI_SMALL, "--epochs", "1", "--out", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "checkpoint-best.pt" in err[0] and "choose another --out" in err[0]
    assert sorted(files(run_dir)) == [BEST_CHECKPOINT]


# 2b --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, trained):
    run_dir = tmp_path_factory.mktemp("evaluated") / "run"
    run_dir.mkdir()
    for name, data in files(trained).items():
        (run_dir / name).write_bytes(data)
    evaluate_run(run_dir, num_samples=5, subset=20, device="cpu")
    return run_dir


def copy_run(source, target):
    target.mkdir()
    for name, data in files(source).items():
        (target / name).write_bytes(data)
    return target


@pytest.mark.parametrize("name", ["eval.json", "report.md", "metrics.jsonl"])
def test_no_command_writes_through_a_symbolic_link(evaluated, tmp_path, name):
    """Issue 17.2b: an artefact replaced by a link to another file: eval and train --resume refuse
    (exit 2) and the link's target is untouched."""
    run_dir = copy_run(evaluated, tmp_path / "run")
    victim = tmp_path / "precious.txt"
    victim.write_text("a user's file\n")
    (run_dir / name).unlink()
    (run_dir / name).symlink_to(victim)
    with pytest.raises(InputError, match=f"{name} is a symbolic link"):
        evaluate_run(run_dir, num_samples=5, subset=20, device="cpu", replace=True)
    with pytest.raises(InputError, match=f"{name} is a symbolic link"):
        train(run_dir, 2, resume=True)
    assert victim.read_text() == "a user's file\n" and (run_dir / name).is_symlink()


def test_every_writer_refuses_a_link_and_leaves_no_partial_file(evaluated, tmp_path, monkeypatch):
    """Issue 17.2b: the figure, report, array and checkpoint writers all go through write_file: a link
    is refused, and a write that fails half-way (the disk fills up) leaves the old file, or none,
    and no temporary file; never a 0-byte or partial artefact."""
    victim = tmp_path / "precious.txt"
    victim.write_text("keep\n")
    link = tmp_path / "out.png"
    link.symlink_to(victim)
    summary = json.loads((evaluated / "eval.json").read_text())
    run = run_folder.load_run(evaluated)
    writers = [
        lambda path: save_image_grid(torch.rand(4, 784), (28, 28), path),
        lambda path: figures_module.save_log_likelihood_histogram(torch.randn(10), path),
        lambda path: figures_module.save_training_curves(run_folder.read_metrics(evaluated), path),
        lambda path: figures_module.save_reconstructions(run.model, torch.rand(3, 784), (28, 28), path),
        lambda path: run_folder.write_npy(path, torch.randn(5).numpy()),
        lambda path: run_folder.save_checkpoint({"epoch": 1, "model": {}}, path),
    ]
    for write in writers:
        with pytest.raises(InputError, match="symbolic link"):
            write(link)
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "report.md").symlink_to(victim)
    with pytest.raises(InputError, match="report.md is a symbolic link"):
        write_report(tmp_path / "linked", summary, run.config, {})
    assert victim.read_text() == "keep\n"

    real_write = os.write

    def half_then_full(fd, data):
        real_write(fd, bytes(data)[: len(data) // 2])  # half of it lands, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    run_dir = copy_run(evaluated, tmp_path / "full")
    before = files(run_dir)
    (run_dir / "samples.png").unlink()
    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(InputError, match=f"no space left on device writing {run_dir / 'test_ll.npy'}"):
        evaluate_run(run_dir, num_samples=5, subset=20, device="cpu", replace=True)
    with pytest.raises(InputError, match=f"no space left on device writing {run_dir / 'samples.png'}"):
        save_image_grid(torch.rand(4, 784), (28, 28), run_dir / "samples.png")
    with pytest.raises(InputError, match="no space left on device writing .*report.md"):
        write_report(run_dir, summary, run.config, {})
    monkeypatch.undo()
    assert files(run_dir) == {k: v for k, v in before.items() if k != "samples.png"}  # no samples.png, no tmp


# 3 ---------------------------------------------------------------------------------------------


def test_a_second_writer_is_refused_naming_the_holder(trained, tmp_path, capsys):
    """Issue 17.3: while a command holds a run folder, train, train --resume and eval exit 2 naming
    it (pid, host, command), and write nothing; once it ends they run."""
    run_dir = copy_run(trained, tmp_path / "run")
    before = files(run_dir)
    holder = f"pid {os.getpid()} on {socket.gethostname()}"
    with RunLock(run_dir):
        with pytest.raises(InputError, match=f"in use by another pyro-vamp command \\({holder}"):
            train(run_dir, 2, resume=True)
        with pytest.raises(InputError, match=holder):
            evaluate_run(run_dir, num_samples=5, subset=10, device="cpu")
        assert main(["train", *CLI_SMALL, "--epochs", "2", "--out", str(run_dir), "--resume"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and holder in err[0]
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        with RunLock(fresh), pytest.raises(InputError, match=holder):
            train(fresh, 1)  # two new runs into one --out: the second is refused
        assert sorted(files(fresh)) == []
    assert files(run_dir) == before
    train(run_dir, 2, resume=True)
    assert metric_epochs(run_dir) == [1, 2]


@pytest.mark.slow
def test_a_lock_left_by_a_killed_process_does_not_block(trained, tmp_path):
    """Issue 17.3: the holder is another process; once it is killed (kill -9) the folder is free."""
    run_dir = copy_run(trained, tmp_path / "run")
    code = (
        "import sys; from pyro_vamp.run_folder import RunLock; "
        "RunLock(sys.argv[1]).__enter__(); print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code, str(run_dir)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV
    )
    try:
        assert holder.stdout.readline() == "held\n"
        with pytest.raises(InputError, match=f"pid {holder.pid} on .*: -c {run_dir}"):
            train(run_dir, 2, resume=True)
    finally:
        holder.kill()
        holder.wait()
    assert holder.returncode == -signal.SIGKILL
    train(run_dir, 2, resume=True)
    assert metric_epochs(run_dir) == [1, 2]


# 6 ---------------------------------------------------------------------------------------------


def test_disk_full_during_a_checkpoint_write(trained, tmp_path, monkeypatch, capsys):
    """Issue 17.6: ENOSPC while checkpoint-best.pt is written: exit 2 with "no space left on device
    writing FILE", the previous checkpoints intact, no temporary file; --resume then continues."""
    run_dir = copy_run(trained, tmp_path / "run")
    before = files(run_dir)
    real_write = os.write

    def full_disk(fd, data):
        if ".checkpoint-" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    code = main(["train", *CLI_SMALL, "--epochs", "2", "--out", str(run_dir), "--resume"])
    monkeypatch.undo()
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1, err
    assert f"no space left on device writing {run_dir / BEST_CHECKPOINT}" in err[0] or (
        f"no space left on device writing {run_dir / LAST_CHECKPOINT}" in err[0]
    )
    after = files(run_dir)
    assert {k: after[k] for k in (BEST_CHECKPOINT, LAST_CHECKPOINT)} == {
        k: before[k] for k in (BEST_CHECKPOINT, LAST_CHECKPOINT)
    }
    assert temporaries(run_dir) == [] and metric_epochs(run_dir) == [1]
    train(run_dir, 2, resume=True)
    assert metric_epochs(run_dir) == [1, 2]


# 7b --------------------------------------------------------------------------------------------


def test_the_advice_after_an_interrupt_in_the_first_epoch_can_be_followed(straight, tmp_path, capsys):
    """Issue 17.7b: eval of a run interrupted in its first epoch advised `train --out R`, which is
    refused; it now advises --resume, which finishes the run exactly."""
    run_dir = tmp_path / "run"
    with pytest.raises(training.TrainingInterrupted):
        training.train(TrainConfig(epochs=3, **SMALL), run_dir, hooks=InterruptAt(1, 3))
    assert main(["eval", str(run_dir), "--samples", "5", "--subset", "5", "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "its training stopped before an epoch ended" in err[0], err
    assert "the same pyro-vamp train options plus --resume" in err[0] and "train --out" not in err[0]
    assert main(["train", *CLI_SMALL, "--epochs", "3", "--out", str(run_dir), "--resume"]) == 0
    assert_same_parameters(straight, run_dir)
    assert main(["eval", str(run_dir), "--samples", "5", "--subset", "5", "--device", "cpu"]) == 0


# 9 ---------------------------------------------------------------------------------------------


def test_resume_with_nothing_left_to_do_leaves_the_record_true(trained, tmp_path):
    """Issue 17.9: --resume of a finished run (same or fewer epochs) changes no file: config.json
    still says the epochs it was trained for; with more epochs it records the change."""
    run_dir = copy_run(trained, tmp_path / "run")
    before = files(run_dir)
    for epochs in (1, 1):
        train(run_dir, epochs, resume=True)
        assert files(run_dir) == before
    train(run_dir, 2, resume=True, lr=5e-4)
    record = json.loads((run_dir / "config.json").read_text())
    assert record["config"]["epochs"] == 2 and record["config"]["lr"] == 5e-4
    assert record["changes"] == [
        {"after_epoch": 1, "setting": "epochs", "was": 1, "now": 2},
        {"after_epoch": 1, "setting": "lr", "was": 1e-3, "now": 5e-4},
    ]
    now = files(run_dir)
    train(run_dir, 2, resume=True, lr=5e-4)
    assert files(run_dir) == now


# fault injection -------------------------------------------------------------------------------

#: Points of write_file (PYRO_VAMP_FAULT=write:N) at which the training process is killed: three
#: per written file (temporary file half written, complete but not renamed, renamed), in the order
#: config.json, metrics.jsonl, then per epoch checkpoint-best.pt (when improved), checkpoint-last.pt,
#: metrics.jsonl. They fall in config.json, in both checkpoints of epoch 1 (half, complete, and
#: between the best and the last), after the last before the metrics, and in epochs 2 and 3.
KILL_POINTS = (2, 7, 8, 9, 11, 12, 14, 18, 21, 28)


@pytest.mark.slow
def test_sigkill_at_ten_moments_of_the_writes_then_resume_is_exact(straight, tmp_path):
    """Issue 17: a training process killed with SIGKILL at 10 moments spread over its writes; after
    each, metrics.jsonl holds no epoch without a checkpoint, --resume runs to the end, leaves no
    temporary file, and ends with the parameters (bit for bit) and metrics of an uninterrupted run."""
    for point in KILL_POINTS:
        run_dir = tmp_path / f"killed-at-{point}"
        result = subprocess.run(
            [sys.executable, "-m", "pyro_vamp.cli", "train", *CLI_SMALL, "--epochs", "3", "--out", str(run_dir)],
            capture_output=True,
            text=True,
            env={**ENV, run_folder.FAULT_ENV: f"write:{point}"},
            timeout=600,
        )
        assert result.returncode == -signal.SIGKILL, (point, result.stderr)
        saved = [
            load_checkpoint(run_dir / n)["epoch"] for n in (BEST_CHECKPOINT, LAST_CHECKPOINT) if (run_dir / n).is_file()
        ]
        if (run_dir / "metrics.jsonl").is_file():
            assert all(epoch <= max(saved, default=0) for epoch in metric_epochs(run_dir)), point
        train(run_dir, 3, resume=True)
        assert temporaries(run_dir) == [], point
        assert_same_parameters(straight, run_dir)
        assert without_times(run_dir) == without_times(straight), point


def test_a_run_saved_before_newer_settings_existed_still_resumes(tmp_path):
    """Checkpoints written before ``precision``, ``flow_depth``, ``data``, ... existed hold no such keys:
    the settings they ran with were the defaults, so resuming them is not a change of settings."""
    settings = dict(model="vae", prior="vamp", components=5, latent_dim=4, hidden=16, warmup=1, batch_size=500)
    run_dir = tmp_path / "run"
    training.train(TrainConfig(epochs=1, **settings), run_dir)
    for name in (LAST_CHECKPOINT, BEST_CHECKPOINT):
        state = load_checkpoint(run_dir / name)
        for newer in ("precision", "flow_depth", "flow_hidden", "data", "likelihood", "binarize", "logger"):
            del state["config"][newer]
        run_folder.save_checkpoint({k: v for k, v in state.items() if k != "format"}, run_dir / name)
    assert training.train(TrainConfig(epochs=2, **settings), run_dir, resume=True).epochs == 2
