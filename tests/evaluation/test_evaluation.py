"""Evaluation of a model: the prior is encoded once, every point gets exactly S samples, numbers agree."""

import math

import torch

from pyro_vamp.data import Split
from pyro_vamp.evaluation import evaluate_model, summarize
from pyro_vamp.models import HVAE


def test_pseudo_inputs_are_encoded_once_per_evaluation():
    model = HVAE(20, prior="vamp", num_components=6, latent_dim=3, hidden=8)
    calls = []
    model.top_encoder.register_forward_hook(lambda module, args, out: calls.append(args[0].shape[0]))
    split = Split(torch.randint(0, 2, (30, 20), dtype=torch.uint8), "binary")
    result = evaluate_model(model, split, num_samples=10, max_rows=50, points_per_batch=20)
    assert calls.count(6) == 1  # 2 batches of points x 5 chunks of samples, one encoding of the prior
    assert result["log_likelihood"].shape == (30,) and result["log_likelihood"].dtype == torch.float64
    assert torch.all(result["log_likelihood"] >= result["elbo"])


def test_summary_signs_and_bits_per_dimension():
    result = {
        "log_likelihood": torch.tensor([-100.0, -120.0], dtype=torch.float64),
        "elbo": torch.tensor([-105.0, -125.0], dtype=torch.float64),
        "reconstruction": torch.tensor([-80.0, -90.0], dtype=torch.float64),
        "means": {"z": torch.tensor([[0.0, 1.0], [0.0, -1.0]])},
    }
    summary = summarize(result, num_samples=7, input_dim=784)
    assert summary["test_ll"] == -110.0 and summary["test_elbo"] == -115.0
    assert summary["reconstruction"] == -85.0 and summary["kl"] == 30.0
    assert math.isclose(summary["bits_per_dim"], 110.0 / (784 * math.log(2)))
    assert math.isclose(summary["test_ll_se"], math.sqrt(200.0) / math.sqrt(2))
    assert summary["active_units"] == {"z": 1} and summary["samples"] == 7 and summary["n_points"] == 2


def test_rows_per_chunk_is_bounded_whatever_the_number_of_samples():
    model = HVAE(20, prior="vamp", num_components=6, latent_dim=3, hidden=8)
    rows = []
    model.p_x_out.register_forward_hook(lambda module, args, out: rows.append(args[0].shape[:-1].numel()))
    split = Split(torch.randint(0, 2, (30, 20), dtype=torch.uint8), "binary")
    peaks = []
    for num_samples in (50, 500):
        rows.clear()
        evaluate_model(model, split, num_samples=num_samples, max_rows=200, points_per_batch=10)
        peaks.append(max(rows))
    assert peaks == [200, 200]


def test_memory_budget_sets_the_rows():
    from pyro_vamp.inference.memory import CPU_ROWS, rows_per_chunk

    cpu = torch.device("cpu")
    assert rows_per_chunk(cpu, row_bytes=1000, max_memory=300_000) == 300
    assert rows_per_chunk(cpu, row_bytes=1000, max_memory=10**12) == CPU_ROWS
    assert rows_per_chunk(cpu, row_bytes=1000, max_memory=10) == 1
