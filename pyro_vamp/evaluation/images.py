"""Image grids written with numpy and Pillow (torchvision is not needed)."""

import io
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from ..run_folder import write_file

#: The most images one picture may hold (``pyro-vamp sample -n``).
MAX_GRID_IMAGES = 10_000


def image_grid(
    images: torch.Tensor, image_shape: tuple[int, ...], ncols: int | None = None, pad: int = 2
) -> np.ndarray:
    """Tile ``images`` (``[N, D]`` in [0, 1]) into one uint8 array.

    ``image_shape`` is (H, W) for grey images (D = H * W), or (H, W, C) for colour images stored
    channels-last (D = H * W * C). The grid has ``ncols`` columns (default ceil(sqrt(N))) and ``pad``
    white pixels between and around tiles: shape ``[rows * (H + pad) + pad, ncols * (W + pad) + pad]``,
    with a last dim of C for colour images.
    """
    h, w = image_shape[:2]
    channels = tuple(image_shape[2:])  # () for grey, (C,) for colour
    n = images.shape[0]
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    tiles = images.detach().float().clamp(0, 1).reshape(n, h, w, *channels).cpu().numpy()
    grid = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad, *channels), dtype=np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = tile
    return np.round(grid * 255).astype(np.uint8)


def save_image_grid(
    images: torch.Tensor, image_shape: tuple[int, ...], path: Path | str, ncols: int | None = None
) -> Path:
    """Write :func:`image_grid` of ``images`` as a greyscale (or, for (H, W, 3), RGB) PNG at ``path``
    (rendered in memory, then written atomically, never through a symbolic link; missing folders
    above it are created)."""
    buffer = io.BytesIO()
    Image.fromarray(image_grid(images, image_shape, ncols)).save(buffer, format="PNG")
    return write_file(path, buffer.getvalue(), make_parents=True)
