"""Data-parallel training with torch.distributed (gloo, two CPU processes spawned by the tests):
the same computation as one process on the global batch, parameters identical across ranks,
only rank 0 writes, resume continues exactly."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pyro
import pyro.distributions as dist
import pytest
import torch
import torch.multiprocessing as mp

from pyro_vamp import training
from pyro_vamp.config import TrainConfig
from pyro_vamp.training.distributed import ShardNoise, Workers

#: Tiny HVAE with a VampPrior on mnist5k: 8 global batches of 500 per epoch, dynamic binarisation.
CONFIG = dict(
    model="hvae",
    prior="vamp",
    components=5,
    latent_dim=4,
    hidden=16,
    warmup=2,
    batch_size=500,
    lr=1e-3,
    optimizer="adam-normalized",
    device="cpu",
)
#: Float32 rounding: the two processes sum their gradients in another order than one process.
ATOL = 1e-5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker(rank, world, port, epochs, run_dirs, resume, out):
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    result = training.train(TrainConfig(epochs=epochs, **CONFIG), run_dirs[rank], resume=resume)
    torch.save(result.model.state_dict(), out / f"rank{rank}.pt")


def train_two_processes(out, epochs, run_dirs, resume=False):
    out.mkdir(parents=True, exist_ok=True)
    mp.spawn(worker, args=(2, free_port(), epochs, run_dirs, resume, out), nprocs=2)
    return [torch.load(out / f"rank{r}.pt", weights_only=True) for r in range(2)]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    straight = train_two_processes(tmp / "straight", 2, [tmp / "run", tmp / "rank1-run"])
    train_two_processes(tmp / "first", 1, [tmp / "resumed"] * 2)
    resumed = train_two_processes(tmp / "second", 2, [tmp / "resumed"] * 2, resume=True)
    single = training.train(TrainConfig(epochs=2, **CONFIG), tmp / "single").model.state_dict()
    return {"tmp": tmp, "straight": straight, "resumed": resumed, "single": single}


@pytest.mark.slow
def test_parameters_are_identical_across_ranks(runs):
    rank0, rank1 = runs["straight"]
    assert all(torch.equal(rank0[k], rank1[k]) for k in rank0)


@pytest.mark.slow
def test_two_processes_equal_one_process_on_the_global_batch(runs):
    rank0, single = runs["straight"][0], runs["single"]
    assert "prior.raw_pseudo_inputs" in single  # the pseudo-inputs are trained and compared too
    for key in single:
        assert torch.allclose(rank0[key], single[key], rtol=0, atol=ATOL), key
    # the tolerance is far below what one epoch of training changes
    after_one_epoch = torch.load(runs["tmp"] / "first" / "rank0.pt", weights_only=True)
    moved = (single["prior.raw_pseudo_inputs"] - after_one_epoch["prior.raw_pseudo_inputs"]).abs().max()
    assert moved > 100 * ATOL


@pytest.mark.slow
def test_only_rank_0_writes_the_run_folder(runs):
    tmp = runs["tmp"]
    assert {p.name for p in (tmp / "run").iterdir()} == {
        ".pyro-vamp.lock",  # rank 0's lock on the folder
        "config.json",
        "metrics.jsonl",
        "checkpoint-last.pt",
        "checkpoint-best.pt",
    }
    assert not (tmp / "rank1-run").exists()
    assert '"processes": 2' in (tmp / "run" / "config.json").read_text()


@pytest.mark.slow
def test_resumed_two_process_run_continues_exactly(runs):
    for resumed, straight in zip(runs["resumed"], runs["straight"], strict=True):
        assert all(torch.equal(resumed[k], straight[k]) for k in straight)
    metrics = (runs["tmp"] / "resumed" / "metrics.jsonl").read_text().splitlines()
    assert len(metrics) == 2


def test_shard_noise_rows_are_the_rows_of_pyros_own_whole_batch_draw():
    loc, scale = torch.randn(6, 3), torch.rand(6, 3) + 0.1

    def guide(rows):
        with pyro.plate("data", len(rows)):
            return pyro.sample("z", dist.Normal(loc[rows], scale[rows]).to_event(1))

    def draw(rows, noise=None):
        pyro.set_rng_seed(5)
        if noise is None:
            return guide(rows)
        with noise:
            return guide(rows)

    whole = draw(torch.arange(6))  # Pyro's own draw, no messenger
    assert torch.equal(draw(torch.arange(6), ShardNoise(0, 6)), whole)
    shards = [draw(torch.arange(first, first + 3), ShardNoise(first, 6)) for first in (0, 3)]
    assert torch.equal(torch.cat(shards), whole)


@pytest.mark.parametrize(
    "world, size, expected",
    [(2, 500, [(0, 250), (250, 250)]), (3, 100, [(0, 34), (34, 33), (67, 33)]), (1, 65, [(0, 65)])],
)
def test_shards_cover_the_global_batch_once(world, size, expected):
    assert [Workers(rank, world).shard(size) for rank in range(world)] == expected


def torchrun_train(tmp_path, epochs, *options):
    config = tmp_path / "tiny.toml"
    config.write_text(
        'model = "vae"\nprior = "vamp"\ncomponents = 5\nlatent-dim = 4\nhidden = 16\n'
        'batch-size = 100\nwarmup = 1\ndevice = "cpu"\n'
    )
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc-per-node",
        "2",
        "--master-port",
        str(free_port()),
        "-m",
        "pyro_vamp.cli",
        "train",
        "--config",
        str(config),
        "--epochs",
        str(epochs),
        "--out",
        str(tmp_path / "run"),
        *options,
    ]


TORCHRUN_ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}


@pytest.mark.slow
def test_torchrun_entry_point_trains_and_reports_once(tmp_path):
    done = subprocess.run(torchrun_train(tmp_path, 1), env=TORCHRUN_ENV, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stderr.count("finished after epoch 1") == 1
    assert (tmp_path / "run" / "checkpoint-best.pt").is_file()


@pytest.mark.slow
def test_ctrl_c_stops_both_processes_at_one_step_and_the_run_resumes(tmp_path):
    run = subprocess.Popen(
        torchrun_train(tmp_path, 1000),
        env=TORCHRUN_ENV,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not (tmp_path / "run" / "checkpoint-last.pt").exists():  # wait for the first epoch's checkpoint
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C does: every process of the group gets SIGINT
    _, err = run.communicate(timeout=300)
    assert err.count("interrupted: SIGINT at epoch") == 1, err[-2000:]  # rank 0 reports, once
    state = torch.load(tmp_path / "run" / "checkpoint-last.pt", weights_only=True)
    stopped_at = state["epoch"] - (state["in_epoch"] is not None)  # epochs fully done
    done = subprocess.run(
        torchrun_train(tmp_path, stopped_at + 1, "--resume"),
        env=TORCHRUN_ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    epochs = [json.loads(line)["epoch"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert epochs == list(range(1, stopped_at + 2))
