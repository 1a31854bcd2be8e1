"""importance_sample without chunk_size draws its samples in chunks within a memory budget (as
``pyro-vamp eval`` does), never all at once: 5,000 samples for 100 points go in chunks of at most
CPU_ROWS / 100 on a CPU."""

import pyro
import pyro.distributions as dist
import pytest
import torch

from pyro_vamp.inference import default_chunk_size, importance, importance_sample, memory
from pyro_vamp.models import MODELS


def gaussian_pair(dim: int):
    def model(x):
        with pyro.plate("data", x.shape[0], dim=-1):
            z = pyro.sample("z", dist.Normal(torch.zeros(2), 1.0).to_event(1))
            pyro.sample("x", dist.Normal(z.sum(-1, keepdim=True).expand(*z.shape[:-1], dim), 1.0).to_event(1), obs=x)

    def guide(x):
        with pyro.plate("data", x.shape[0], dim=-1):
            pyro.sample("z", dist.Normal(torch.zeros(x.shape[0], 2), 1.0).to_event(1))

    return model, guide


@pytest.fixture
def chunk_sizes(monkeypatch):
    sizes = []
    original = importance.log_weights_and_likelihoods

    def spy(model, guide, x, num_samples):
        sizes.append(num_samples)
        return original(model, guide, x, num_samples)

    monkeypatch.setattr(importance, "log_weights_and_likelihoods", spy)
    return sizes


def test_the_default_chunk_is_bounded_on_a_cpu(chunk_sizes):
    model, guide = gaussian_pair(3)
    x = torch.randn(100, 3)
    estimate = importance_sample(model, guide, x, num_samples=5000)
    assert sum(chunk_sizes) == estimate.num_samples == 5000  # exactly S, in several chunks
    assert max(chunk_sizes) * x.shape[0] <= memory.CPU_ROWS and len(chunk_sizes) >= 100
    assert estimate.log_likelihood.shape == (100,) and torch.isfinite(estimate.log_likelihood).all()


def test_the_default_chunk_fits_the_memory_budget(chunk_sizes):
    model, guide = gaussian_pair(50)
    x = torch.randn(10, 50)
    row = memory.bytes_per_row(None, 50)
    importance_sample(model, guide, x, num_samples=200, max_memory=30 * row)  # 30 rows: 3 draws of 10 points
    assert set(chunk_sizes[:-1]) == {3} and chunk_sizes[-1] == 200 - 3 * (len(chunk_sizes) - 1)
    chunk_sizes.clear()
    importance_sample(model, guide, x, num_samples=200, chunk_size=50, max_memory=1)  # an explicit chunk wins
    assert chunk_sizes == [50, 50, 50, 50]


def test_a_models_own_row_size_is_used_and_free_memory_bounds_it(monkeypatch):
    vae = MODELS["vae"](784, prior="vamp", num_components=20, latent_dim=4, hidden=32)
    x = torch.rand(40, 784)
    row = memory.bytes_per_row(vae, 784)
    assert row == vae.eval_bytes_per_sample + 8 * 4 * 20
    monkeypatch.setattr(memory, "available_memory", lambda device: 2 * 400 * row)  # half of it: 400 rows
    assert default_chunk_size(vae.model, x) == 400 // 40
    assert default_chunk_size(vae.model, x, max_memory=80 * row) == 2
    assert default_chunk_size(vae.model, x, max_memory=1) == 1  # never less than one draw
