"""Convolutional building blocks of the convHVAE: gated convolutions and the encoders made of them."""

import torch
from torch import nn

from .dense import GatedDense, GaussianHead, broadcast_cat


class GatedConv2d(nn.Module):
    """h = conv1(x) * sigmoid(conv2(x)), both halves from one convolution of 2 x ``out`` channels.

    Shapes: ``[B, in, H, W] -> [B, out, H', W']``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int = 0):
        super().__init__()
        self.out_channels = out_channels
        self.conv = nn.Conv2d(in_channels, 2 * out_channels, kernel, stride, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, gate = self.conv(x).split(self.out_channels, dim=1)
        return h * torch.sigmoid(gate)


def encoder_convs(first_kernel: int, middle_kernel: int) -> nn.Sequential:
    """The original code's plan: kernel ``first_kernel`` (32 ch), 3 x 3 stride 2 (32), ``middle_kernel``
    (64), 3 x 3 stride 2 (64), 3 x 3 to 6 channels: ``[B, 1, H, W] -> [B, 6, ceil(H/4), ceil(W/4)]``."""
    return nn.Sequential(
        GatedConv2d(1, 32, first_kernel, 1, first_kernel // 2),
        GatedConv2d(32, 32, 3, 2, 1),
        GatedConv2d(32, 64, middle_kernel, 1, middle_kernel // 2),
        GatedConv2d(64, 64, 3, 2, 1),
        GatedConv2d(64, 6, 3, 1, 1),
    )


def conv_features(image_shape: tuple[int, int]) -> int:
    """Flattened size of :func:`encoder_convs`' output: 6 x 7 x 7 = 294 (28 x 28), 210 (28 x 20)."""
    h, w = image_shape
    return 6 * ((h + 3) // 4) * ((w + 3) // 4)


def as_images(x: torch.Tensor, image_shape: tuple[int, int]) -> tuple[torch.Tensor, torch.Size]:
    """``[..., H * W] -> ([B, 1, H, W], leading dims)`` for convolutions."""
    leading = x.shape[:-1]
    return x.reshape(-1, 1, *image_shape), leading


class ConvGaussianEncoder(nn.Module):
    """q(z2 | x) of the convHVAE: gated convolutions (7, 3/2, 5, 3/2, 3) then a Gaussian head.

    Shapes: ``[..., D] -> ([..., M], [..., M])``; the VampPrior runs it on its pseudo-inputs.
    """

    def __init__(self, image_shape: tuple[int, int], latent_dim: int):
        super().__init__()
        self.image_shape = image_shape
        self.convs = encoder_convs(7, 5)
        self.head = GaussianHead(conv_features(image_shape), latent_dim)

    def forward(self, x: torch.Tensor):
        images, leading = as_images(x, self.image_shape)
        return self.head(self.convs(images).reshape(*leading, -1))


class ConvJointEncoder(nn.Module):
    """q(z1 | x, z2): gated convolutions (3, 3/2, 3, 3/2, 3) on x and a gated dense map of z2,
    concatenated, then a gated dense layer of 300 units and a Gaussian head.

    Shapes: ``[..., D]`` and ``[..., M]`` (leading dims broadcast) -> ``([..., M], [..., M])``.
    """

    def __init__(self, image_shape: tuple[int, int], latent_dim: int, hidden: int = 300):
        super().__init__()
        self.image_shape = image_shape
        features = conv_features(image_shape)
        self.x_convs = encoder_convs(3, 3)
        self.z2_dense = GatedDense(latent_dim, features)
        self.joint = GatedDense(2 * features, hidden)
        self.head = GaussianHead(hidden, latent_dim)

    def forward(self, x: torch.Tensor, z2: torch.Tensor):
        images, leading = as_images(x, self.image_shape)
        hx = self.x_convs(images).reshape(*leading, -1)
        return self.head(self.joint(broadcast_cat([hx, self.z2_dense(z2)])))
