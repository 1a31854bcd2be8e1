"""Memory budgets for evaluation: how many (sample, data point) rows one chunk may hold.

They live in :mod:`pyro_vamp.inference.memory` (the importance sampler's default chunk uses them
too, and the inference package does not import the evaluation package); re-exported here.
"""

from ..inference.memory import (
    CPU_ROWS,
    GENERIC_FLOATS_PER_DIMENSION,
    GPU_ROWS,
    available_memory,
    bytes_per_row,
    rows_per_chunk,
)

__all__ = [
    "CPU_ROWS",
    "GENERIC_FLOATS_PER_DIMENSION",
    "GPU_ROWS",
    "available_memory",
    "bytes_per_row",
    "rows_per_chunk",
]
