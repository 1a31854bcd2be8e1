"""The convolutional two-level HVAE of the paper (convHVAE, L = 2): gated convolutional encoders,
p(z1 | z2) as in the HVAE, and a PixelCNN decoder (or, for a fast baseline, a plain one)."""

import pyro.distributions as dist
import torch
from pyro import poutine
from torch import nn

from ..errors import InputError
from ..likelihoods import PIXEL_PARAMETERS
from ..networks.conv import ConvGaussianEncoder, ConvJointEncoder
from ..networks.dense import GaussianHead, gated_mlp
from ..networks.pixelcnn import GatedConvDecoder, PixelCNNDecoder
from .hvae import HVAE


class ConvHVAEPlain(HVAE):
    """The convHVAE's encoders with a non-autoregressive gated-convolution decoder: a fast baseline
    (``--model convhvae-plain``). q(z2 | x) and q(z1 | x, z2) come from gated convolutions
    (7, 3/2, 5, 3/2, 3 and 3, 3/2, 3, 3/2, 3 to 6 channels, then linear heads; z2 joins q(z1|.)
    through a gated dense map); p(z1 | z2) is the HVAE's gated MLP."""

    pyro_name = "convhvae_plain"

    def build_networks(self):
        if self.image_shape is None:
            raise InputError(
                f"--model {self.pyro_name.replace('_', '-')} needs single-channel images (image_shape=(H, W)); "
                "for vectors or RGB images use --model vae or hvae"
            )
        if self.likelihood not in PIXEL_PARAMETERS:
            raise InputError(
                f"--model {self.pyro_name.replace('_', '-')} does not support the {self.likelihood} likelihood; "
                "use --model vae or hvae for real-valued data"
            )
        shape, latent, hidden = self.image_shape, self.latent_dim, self.hidden
        self.q_z2 = ConvGaussianEncoder(shape, latent)
        self.q_z1 = ConvJointEncoder(shape, latent, hidden)
        self.p_z1 = nn.Sequential(gated_mlp(latent, hidden), GaussianHead(hidden, latent))
        self.decoder = self.make_decoder(shape)

    def make_decoder(self, image_shape: tuple[int, int]) -> nn.Module:
        return GatedConvDecoder(image_shape, self.latent_dim, self.likelihood)

    @property
    def eval_bytes_per_sample(self) -> int:
        # float32 feature maps of the decoder's 64 channels, a few alive at once
        return 4 * 64 * self.input_dim * 4 + super().eval_bytes_per_sample

    def likelihood_of(self, x, z1, z2):
        return self.decoder(z1, z2)


class ConvHVAE(ConvHVAEPlain):
    """convHVAE (``--model convhvae``): the convolutional encoders and a PixelCNN decoder
    p(x | z1, z2) (paper section 4, last rows of Tables 1-5).

    ln p(x | z1, z2) is exact in one pass; sampling is autoregressive over pixels
    (:meth:`PixelCNNDecoder.sample`). Works for any image shape, e.g. 28 x 28 and 28 x 20.

    Example::

        model = ConvHVAE(560, likelihood="logistic", prior="vamp", num_components=500, image_shape=(28, 20))
        images = model.sample_images(4)   # [4, 560], sampled pixel by pixel
    """

    pyro_name = "convhvae"

    def make_decoder(self, image_shape: tuple[int, int]) -> nn.Module:
        return PixelCNNDecoder(image_shape, self.latent_dim, self.likelihood)

    def likelihood_of(self, x, z1, z2):
        return self.decoder(x, z1, z2)

    def model(self, x=None, beta=1.0, num=None):
        """p(x, z1, z2), latent sites scaled by ``beta``; ``x``: ``[N, D]`` (the PixelCNN needs x)."""
        if x is None:
            raise ValueError("the PixelCNN model scores given images; draw new ones with sample_images()")
        return super().model(x, beta, num)

    @torch.no_grad()
    def decode_from_top(self, z_top):
        """z1 ~ p(z1 | z2 = z_top), then x ~ p(x | z1, z2) pixel by pixel: ``[n, M] -> [n, D]``."""
        z1 = dist.Normal(*self.p_z1(z_top)).sample()
        return self.decoder.sample(z1, z_top)

    @torch.no_grad()
    def reconstruct(self, x):
        """z ~ q(z | x), then x' ~ p(x | z1, z2) pixel by pixel (as the original code)."""
        trace = poutine.trace(self.guide).get_trace(x)
        return self.decoder.sample(trace.nodes["z1"]["value"], trace.nodes["z2"]["value"])
