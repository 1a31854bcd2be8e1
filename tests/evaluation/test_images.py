"""Image grids have the expected pixel size and values."""

import numpy as np
import torch
from PIL import Image

from pyro_vamp.evaluation.images import image_grid, save_image_grid


def test_grid_size_for_28x28_and_28x20(tmp_path):
    for shape, n, ncols, expected in [
        ((28, 28), 100, None, (10 * 30 + 2, 10 * 30 + 2)),
        ((28, 20), 7, 4, (2 * 30 + 2, 4 * 22 + 2)),
    ]:
        path = save_image_grid(torch.rand(n, shape[0] * shape[1]), shape, tmp_path / "g.png", ncols)
        with Image.open(path) as im:
            assert im.mode == "L" and im.size == (expected[1], expected[0])


def test_tiles_land_where_expected():
    images = torch.stack([torch.zeros(6), torch.ones(6)])
    grid = image_grid(images, (2, 3), ncols=2, pad=1)
    assert grid.shape == (4, 9)
    assert np.all(grid[1:3, 1:4] == 0) and np.all(grid[1:3, 5:8] == 255) and np.all(grid[0] == 255)
