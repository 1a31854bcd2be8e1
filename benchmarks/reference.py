"""Plain-PyTorch references of the VAE and HVAE training objective, without Pyro, to measure what
Pyro and pyro-vamp's optimisations cost or save.

Two references, both the paper's objective at warm-up weight beta (eq. 2),
-(ln p(x | z) + beta (ln p(z) - ln q(z | x))) per point, averaged over the batch:

- :class:`Straightforward`: written the way the original code is: gated layers as two separate
  linear layers, pseudo-inputs produced by a linear layer applied to an identity matrix, the
  mixture log-density by broadcasting over ``[batch, K, latent]``, pixel probabilities with a
  clamped log, and torch's default Adam.
- :func:`fast_loss`: hand-written over pyro-vamp's own networks (the same modules the Pyro
  model and guide run: fused gated layers, the matrix-form mixture of
  :class:`~pyro_vamp.priors.EqualGaussianMixture`, logits), the top encoder run once on the
  batch and the pseudo-inputs together, ln q from the noise directly, with fused Adam: the
  fastest plain step we know how to write, to compare the Pyro step with.

Only the Bernoulli likelihood (binary MNIST) is covered: that is what the benchmark measures.
"""

import math

import torch
from torch import nn
from torch.nn import functional as F

from pyro_vamp.models import HVAE, VAE
from pyro_vamp.networks.dense import LOGVAR_MAX, LOGVAR_MIN
from pyro_vamp.priors import EqualGaussianMixture, VampPrior

HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def normal_log_prob(z, loc, scale):
    """ln N(z | loc, diag scale^2), summed over the last dim."""
    return (-0.5 * ((z - loc) / scale).pow(2) - scale.log() - HALF_LOG_2PI).sum(-1)


def reparameterised(loc, scale):
    """z = loc + scale * eps and ln q(z) = ln N(z | loc, scale), using eps directly."""
    eps = torch.randn_like(loc)
    log_q = (-0.5 * eps.pow(2) - scale.log() - HALF_LOG_2PI).sum(-1)
    return loc + scale * eps, log_q


def standard_normal_log_prob(z):
    return (-0.5 * z.pow(2) - HALF_LOG_2PI).sum(-1)


# ---------------------------------------------------------------- the fastest plain step we know


def _encode_top(model, encoder, x):
    """q(z_top | x) as (loc, scale), and ln p(z_top) as a function. With a VampPrior the encoder
    runs once on the batch and the K pseudo-inputs stacked (fewer, larger matrix products)."""
    if isinstance(model.prior, VampPrior):
        loc, scale = encoder(torch.cat([x, model.prior.pseudo_inputs]))
        n = x.shape[0]
        return loc[:n], scale[:n], EqualGaussianMixture(loc[n:], scale[n:]).log_prob
    return *encoder(x), model.prior.distribution().log_prob


def _bernoulli_log_lik(head, h, x):
    return -F.binary_cross_entropy_with_logits(head.logits(h), x, reduction="none").sum(-1)


def fast_loss(model, x, beta):
    """The loss of a pyro-vamp :class:`~pyro_vamp.models.VAE` or :class:`~pyro_vamp.models.HVAE`
    (Bernoulli likelihood) computed by hand over its own modules: a scalar."""
    if isinstance(model, HVAE):
        loc, scale, log_prior = _encode_top(model, model.q_z2, x)
        z2, log_q2 = reparameterised(loc, scale)
        z1, log_q1 = reparameterised(*model.q_z1(x, z2))
        log_p = log_prior(z2) + normal_log_prob(z1, *model.p_z1(z2))
        log_lik = _bernoulli_log_lik(model.p_x_out, model.p_x_join(z1, z2), x)
        kl = log_q2 + log_q1 - log_p
    elif isinstance(model, VAE):
        loc, scale, log_prior = _encode_top(model, model.encoder, x)
        z, log_q = reparameterised(loc, scale)
        log_lik = _bernoulli_log_lik(model.decoder[-1], model.decoder[0](z), x)
        kl = log_q - log_prior(z)
    else:
        raise TypeError(f"no plain reference for {type(model).__name__}")
    return (beta * kl - log_lik).mean()


# ---------------------------------------------------------------- the straightforward reference


class TwoLinearGate(nn.Module):
    """h = (W x + b) * sigmoid(V x + c) with two separate linear layers."""

    def __init__(self, a, b):
        super().__init__()
        self.h, self.g = nn.Linear(a, b), nn.Linear(a, b)
        for layer in (self.h, self.g):
            nn.init.normal_(layer.weight, 0.0, math.sqrt(2.0 / a))
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        return self.h(x) * torch.sigmoid(self.g(x))


def two_gates(a, hidden):
    return nn.Sequential(TwoLinearGate(a, hidden), TwoLinearGate(hidden, hidden))


class Gaussian(nn.Module):
    def __init__(self, a, m):
        super().__init__()
        self.loc, self.logvar = nn.Linear(a, m), nn.Linear(a, m)

    def forward(self, h):
        return self.loc(h), torch.exp(0.5 * F.hardtanh(self.logvar(h), LOGVAR_MIN, LOGVAR_MAX))


class Straightforward(nn.Module):
    """The straightforward VAE / HVAE (``levels`` 1 or 2) with a standard or VampPrior (K = ``K``)."""

    def __init__(self, levels: int, prior: str, input_dim=784, latent=40, hidden=300, K=500):
        super().__init__()
        self.levels, self.prior, self.K = levels, prior, K
        self.q_top = nn.Sequential(two_gates(input_dim, hidden), Gaussian(hidden, latent))
        if levels == 2:
            self.q_z1_x, self.q_z1_z2 = TwoLinearGate(input_dim, hidden), TwoLinearGate(latent, hidden)
            self.q_z1 = nn.Sequential(TwoLinearGate(2 * hidden, hidden), Gaussian(hidden, latent))
            self.p_z1 = nn.Sequential(two_gates(latent, hidden), Gaussian(hidden, latent))
            self.p_x_z1, self.p_x_z2 = TwoLinearGate(latent, hidden), TwoLinearGate(latent, hidden)
            self.p_x = nn.Sequential(TwoLinearGate(2 * hidden, hidden), nn.Linear(hidden, input_dim))
        else:
            self.p_x = nn.Sequential(two_gates(latent, hidden), nn.Linear(hidden, input_dim))
        if prior == "vamp":
            self.means = nn.Linear(K, input_dim, bias=False)  # pseudo-inputs = means(I_K)
            nn.init.normal_(self.means.weight, 0.05, 0.01)
            self.register_buffer("idle_input", torch.eye(K))

    def log_prior(self, z):
        if self.prior == "standard":
            return standard_normal_log_prob(z)
        u = F.hardtanh(self.means(self.idle_input), 0.0, 1.0)  # [K, D]
        loc, scale = self.q_top(u)  # [K, M]
        log_n = normal_log_prob(z.unsqueeze(1), loc.unsqueeze(0), scale.unsqueeze(0))  # [B, K]
        return torch.logsumexp(log_n, dim=1) - math.log(self.K)

    def loss(self, x, beta):
        loc, scale = self.q_top(x)
        z_top = loc + scale * torch.randn_like(loc)
        log_q = normal_log_prob(z_top, loc, scale)
        log_p = self.log_prior(z_top)
        if self.levels == 2:
            h = torch.cat([self.q_z1_x(x), self.q_z1_z2(z_top)], -1)
            loc1, scale1 = self.q_z1(h)
            z1 = loc1 + scale1 * torch.randn_like(loc1)
            log_q = log_q + normal_log_prob(z1, loc1, scale1)
            log_p = log_p + normal_log_prob(z1, *self.p_z1(z_top))
            probs = torch.sigmoid(self.p_x(torch.cat([self.p_x_z1(z1), self.p_x_z2(z_top)], -1)))
        else:
            probs = torch.sigmoid(self.p_x(z_top))
        probs = probs.clamp(1e-5, 1 - 1e-5)
        log_lik = (x * probs.log() + (1 - x) * (1 - probs).log()).sum(-1)
        return (beta * (log_q - log_p) - log_lik).mean()
