"""Memory budgets for the importance sampler: how many (sample, data point) rows one chunk may hold.

:func:`pyro_vamp.inference.importance_sample` chooses its default chunk with them, and
``pyro-vamp eval`` its chunks, so that peak
memory stays within a budget whatever the number of samples.
"""

import torch

#: Rows (samples x points) per chunk on a CPU: larger chunks run slower there (cache).
CPU_ROWS = 5000
#: Upper limit of rows per chunk on a GPU.
GPU_ROWS = 500_000


def available_memory(device: torch.device) -> int:
    """Bytes free on ``device``: the GPU's free memory, or the system's MemAvailable."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 1024**3


#: Float32 numbers per data dimension per row assumed for a model that does not say
#: (``eval_bytes_per_sample``): activations of a few layers as wide as the data.
GENERIC_FLOATS_PER_DIMENSION = 16


def bytes_per_row(model, input_dim: int) -> int:
    """A generous estimate of the evaluation memory per (sample, data point) row: the model's
    activations (``model.eval_bytes_per_sample``, else :data:`GENERIC_FLOATS_PER_DIMENSION` floats per
    data dimension) and the float64 [rows, K] mixture terms of a mixture prior."""
    activations = getattr(model, "eval_bytes_per_sample", 4 * GENERIC_FLOATS_PER_DIMENSION * input_dim)
    return activations + 8 * 4 * getattr(getattr(model, "prior", None), "num_components", 1)


def rows_per_chunk(device: torch.device, row_bytes: int, max_memory: int | None = None) -> int:
    """Rows per evaluation chunk: within ``max_memory`` bytes (default: half the free memory),
    and at most :data:`CPU_ROWS` on a CPU or :data:`GPU_ROWS` on a GPU."""
    budget = max_memory if max_memory is not None else available_memory(device) // 2
    cap = GPU_ROWS if device.type == "cuda" else CPU_ROWS
    return max(1, min(cap, budget // row_bytes))
