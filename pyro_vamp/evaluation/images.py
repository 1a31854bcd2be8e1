"""Image grids written with numpy and Pillow (torchvision is not needed)."""

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image


def image_grid(
    images: torch.Tensor, image_shape: tuple[int, int], ncols: int | None = None, pad: int = 2
) -> np.ndarray:
    """Tile ``images`` (``[N, D]`` in [0, 1], D = H * W) into one uint8 array.

    The grid has ``ncols`` columns (default ceil(sqrt(N))) and ``pad`` white pixels
    between and around tiles: shape ``[rows * (H + pad) + pad, ncols * (W + pad) + pad]``.
    """
    h, w = image_shape
    n = images.shape[0]
    ncols = ncols or math.ceil(math.sqrt(n))
    nrows = math.ceil(n / ncols)
    tiles = images.detach().float().clamp(0, 1).reshape(n, h, w).cpu().numpy()
    grid = np.ones((nrows * (h + pad) + pad, ncols * (w + pad) + pad), dtype=np.float32)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, ncols)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = tile
    return np.round(grid * 255).astype(np.uint8)


def save_image_grid(
    images: torch.Tensor, image_shape: tuple[int, int], path: Path | str, ncols: int | None = None
) -> Path:
    """Write :func:`image_grid` of ``images`` as a greyscale PNG at ``path``."""
    path = Path(path)
    Image.fromarray(image_grid(images, image_shape, ncols), mode="L").save(path, format="PNG")
    return path
