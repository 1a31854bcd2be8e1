"""The convHVAE's decoders p(x | z1, z2): a PixelCNN (masked convolutions, van den Oord et al. 2016)
and a plain gated-convolution decoder, with exact, incremental autoregressive sampling."""

import torch
from torch import nn
from torch.nn import functional as F

from ..likelihoods import PIXEL_PARAMETERS, image_distribution
from .conv import GatedConv2d
from .dense import GatedDense, broadcast_cat


class MaskedConv2d(nn.Conv2d):
    """A k x k convolution that sees only pixels before the centre in raster order (type ``A``),
    or before and at the centre (type ``B``). Shapes: ``[B, in, H, W] -> [B, out, H, W]``."""

    mask: torch.Tensor

    def __init__(self, mask_type: str, in_channels: int, out_channels: int, kernel: int = 3):
        super().__init__(in_channels, out_channels, kernel, padding=kernel // 2)
        if mask_type not in ("A", "B"):
            raise ValueError("mask_type is 'A' or 'B'")
        mask = torch.ones_like(self.weight)
        centre = kernel // 2
        mask[:, :, centre, centre + (mask_type == "B") :] = 0
        mask[:, :, centre + 1 :] = 0
        self.register_buffer("mask", mask)

    def masked_weight(self) -> torch.Tensor:
        return self.weight * self.mask

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.masked_weight(), self.bias, padding=self.padding)


def _bias(conv: nn.Conv2d) -> torch.Tensor:
    """A convolution's bias (every convolution here has one)."""
    if conv.bias is None:
        raise ValueError("the PixelCNN's convolutions have biases")
    return conv.bias


def _condition_maps(z1_map: nn.Module, z2_map: nn.Module, z1, z2, image_shape):
    """z1, z2 ``[..., M]`` -> two image-shaped maps ``[..., 2, H, W]``."""
    return broadcast_cat([z1_map(z1), z2_map(z2)]).unflatten(-1, (2, *image_shape))


class PixelCNNDecoder(nn.Module):
    """p(x | z1, z2) = prod_i p(x_i | x_<i, z1, z2) (the paper's convHVAE decoder).

    z1 and z2 are mapped by gated dense layers to one image-shaped map each, joined with x
    (3 channels), then a masked convolution of type A and ``layers - 1`` of type B (64
    channels, 3 x 3, ReLU), and a 1 x 1 convolution to the likelihood's parameters per pixel.
    The original code's batch normalisation is left out: it would make a point's likelihood
    depend on the rest of its batch.

    Shapes: ``forward(x [..., D], z1 [..., M], z2 [..., M])`` -> a distribution over ``[..., D]``;
    ``sample(z1 [n, M], z2 [n, M]) -> [n, D]``.
    """

    def __init__(
        self, image_shape: tuple[int, int], latent_dim: int, likelihood: str, channels: int = 64, layers: int = 8
    ):
        super().__init__()
        self.image_shape, self.likelihood = image_shape, likelihood
        pixels = image_shape[0] * image_shape[1]
        self.z1_map = GatedDense(latent_dim, pixels)
        self.z2_map = GatedDense(latent_dim, pixels)
        self.convs = nn.ModuleList(
            [MaskedConv2d("A", 3, channels)] + [MaskedConv2d("B", channels, channels) for _ in range(layers - 1)]
        )
        self.out = nn.Conv2d(channels, PIXEL_PARAMETERS[likelihood], 1)

    def forward(self, x: torch.Tensor, z1: torch.Tensor, z2: torch.Tensor):
        maps = _condition_maps(self.z1_map, self.z2_map, z1, z2, self.image_shape)
        leading = maps.shape[:-3]
        images = x.expand(*leading, x.shape[-1]).reshape(-1, 1, *self.image_shape)
        h = torch.cat([images, maps.reshape(-1, 2, *self.image_shape)], dim=1)
        for conv in self.convs:
            h = torch.relu(conv(h))
        params = self.out(h).flatten(-2)  # [B, P, D]
        return image_distribution(self.likelihood, params.reshape(*leading, *params.shape[1:]))

    @torch.no_grad()
    def sample(self, z1: torch.Tensor, z2: torch.Tensor, record: list | None = None) -> torch.Tensor:
        """Draw x ~ p(x | z1, z2) pixel by pixel in raster order, for n images at once.

        Each layer's output at pixel (i, j) depends only on outputs that are already final, so a
        step computes one position per layer (a k x k patch times the masked weights), never the
        whole image again: H x W steps of O(layers) small matrix products. ``record`` (a list)
        receives each step's per-pixel parameters ``[n, P]``, for tests.
        """
        n = z1.shape[0]
        height, width = self.image_shape
        convs = [conv for conv in self.convs if isinstance(conv, MaskedConv2d)]
        k = convs[0].kernel_size[0]
        pad = k // 2
        maps = _condition_maps(self.z1_map, self.z2_map, z1, z2, self.image_shape)
        inputs = F.pad(torch.cat([maps.new_zeros(n, 1, height, width), maps], dim=1), (pad,) * 4)
        acts = [inputs] + [inputs.new_zeros(n, conv.out_channels, height + 2 * pad, width + 2 * pad) for conv in convs]
        weights = [(conv.masked_weight().reshape(conv.out_channels, -1).T, _bias(conv)) for conv in convs]
        out_weight, out_bias = self.out.weight.reshape(self.out.out_channels, -1).T, _bias(self.out)
        x = maps.new_zeros(n, height * width)
        for i in range(height):
            for j in range(width):
                for layer, (weight, bias) in enumerate(weights, 1):
                    patch = acts[layer - 1][:, :, i : i + k, j : j + k].reshape(n, -1)
                    acts[layer][:, :, i + pad, j + pad] = torch.relu(torch.addmm(bias, patch, weight))
                params = torch.addmm(out_bias, acts[-1][:, :, i + pad, j + pad], out_weight)
                if record is not None:
                    record.append(params)
                value = image_distribution(self.likelihood, params.unsqueeze(-1)).sample()[:, 0]
                acts[0][:, 0, i + pad, j + pad] = value
                x[:, i * width + j] = value
        return x


class GatedConvDecoder(nn.Module):
    """p(x | z1, z2) without autoregression (the fast ``convhvae-plain`` baseline): the z maps of
    :class:`PixelCNNDecoder`, three gated 3 x 3 convolutions of 64 channels, a 1 x 1 output."""

    def __init__(self, image_shape: tuple[int, int], latent_dim: int, likelihood: str, channels: int = 64):
        super().__init__()
        self.image_shape, self.likelihood = image_shape, likelihood
        pixels = image_shape[0] * image_shape[1]
        self.z1_map = GatedDense(latent_dim, pixels)
        self.z2_map = GatedDense(latent_dim, pixels)
        self.convs = nn.Sequential(
            GatedConv2d(2, channels, 3, 1, 1),
            GatedConv2d(channels, channels, 3, 1, 1),
            GatedConv2d(channels, channels, 3, 1, 1),
        )
        self.out = nn.Conv2d(channels, PIXEL_PARAMETERS[likelihood], 1)

    def forward(self, z1: torch.Tensor, z2: torch.Tensor):
        maps = _condition_maps(self.z1_map, self.z2_map, z1, z2, self.image_shape)
        leading = maps.shape[:-3]
        params = self.out(self.convs(maps.reshape(-1, 2, *self.image_shape))).flatten(-2)
        return image_distribution(self.likelihood, params.reshape(*leading, *params.shape[1:]))
