"""Building blocks shared by the models and likelihood heads: gated dense layers and Gaussian heads."""

import math

import torch
from torch import nn
from torch.nn import functional as F

#: Encoder log-variances are kept in this range (the original code's hardtanh).
LOGVAR_MIN, LOGVAR_MAX = -6.0, 2.0


def he_linear(in_features: int, out_features: int) -> nn.Linear:
    """A linear layer with He-initialised weights N(0, 2 / in_features) and zero bias."""
    layer = nn.Linear(in_features, out_features)
    nn.init.normal_(layer.weight, 0.0, math.sqrt(2.0 / in_features))
    nn.init.zeros_(layer.bias)
    return layer


class GatedDense(nn.Module):
    """h = (W1 x + b1) * sigmoid(W2 x + b2) (Dauphin et al. 2017), as in the paper.

    Both halves are computed by one matrix product of width ``2 * out_features``.
    Shapes: ``[..., in_features] -> [..., out_features]``.
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.out_features = out_features
        self.linear = he_linear(in_features, 2 * out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, gate = self.linear(x).split(self.out_features, dim=-1)
        return h * torch.sigmoid(gate)


def gated_mlp(in_features: int, hidden: int, layers: int = 2) -> nn.Sequential:
    """``layers`` gated dense layers of ``hidden`` units: ``[..., in] -> [..., hidden]``."""
    widths = [in_features] + [hidden] * layers
    return nn.Sequential(*(GatedDense(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)))


class GaussianHead(nn.Module):
    """Maps features to a diagonal Gaussian: ``loc`` and ``scale = exp(logvar / 2)``.

    The log-variance is clamped to [-6, 2]. Shapes: ``[..., in] -> ([..., out], [..., out])``.
    Both are float32 also under bfloat16 autocast (mixed precision): they parameterise log-densities.
    """

    def __init__(self, in_features: int, out_features: int):
        super().__init__()
        self.loc = he_linear(in_features, out_features)
        self.logvar = he_linear(in_features, out_features)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logvar = F.hardtanh(self.logvar(h).float(), LOGVAR_MIN, LOGVAR_MAX)
        return self.loc(h).float(), torch.exp(0.5 * logvar)


class GaussianEncoder(nn.Module):
    """q(z | x) = N(z | mu(x), diag sigma^2(x)) with a gated MLP: ``[..., D] -> 2 x [..., M]``.

    This is the encoder a :class:`~pyro_vamp.priors.VampPrior` runs on its pseudo-inputs.
    """

    def __init__(self, input_dim: int, latent_dim: int, hidden: int = 300):
        super().__init__()
        self.input_dim = input_dim
        self.body = gated_mlp(input_dim, hidden)
        self.head = GaussianHead(hidden, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.body(x))


def broadcast_cat(tensors: list[torch.Tensor]) -> torch.Tensor:
    """Concatenate on the last dim after broadcasting the leading dims (e.g. with a particle dim)."""
    shape = torch.broadcast_shapes(*(t.shape[:-1] for t in tensors))
    return torch.cat([t.expand(*shape, t.shape[-1]) for t in tensors], dim=-1)


class GatedJoin(nn.Module):
    """Join two inputs by concatenating their gated features (the HVAE's q(z1|x,z2), p(x|z1,z2)).

    h = GatedDense(2H, H)([GatedDense(a)(a), GatedDense(b)(b)]).
    Shapes: ``[..., A]`` and ``[..., B]`` (leading dims broadcast) -> ``[..., H]``.
    """

    def __init__(self, a_features: int, b_features: int, hidden: int = 300):
        super().__init__()
        self.a = GatedDense(a_features, hidden)
        self.b = GatedDense(b_features, hidden)
        self.joint = GatedDense(2 * hidden, hidden)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.joint(broadcast_cat([self.a(a), self.b(b)]))


class JointGaussianEncoder(nn.Module):
    """q(z | a, b): a :class:`GatedJoin` of two inputs followed by a :class:`GaussianHead`.

    Shapes: ``[..., A]``, ``[..., B]`` -> ``([..., M], [..., M])``.
    """

    def __init__(self, a_features: int, b_features: int, latent_dim: int, hidden: int = 300):
        super().__init__()
        self.join = GatedJoin(a_features, b_features, hidden)
        self.head = GaussianHead(hidden, latent_dim)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.join(a, b))
