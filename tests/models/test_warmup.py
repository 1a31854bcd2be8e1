"""KL warm-up: the SVI loss at beta is -(ln p(x|z) + beta (ln p(z) - ln q(z|x))) on the same sample."""

import math

import pyro
import pytest
import torch
from pyro import poutine
from pyro.infer import Trace_ELBO
from torch.distributions import Normal
from torch.nn import functional as F

from pyro_vamp.models import HVAE, VAE


def mixture_log_prob(z, locs, scales):
    log_n = Normal(locs.double(), scales.double()).log_prob(z.double().unsqueeze(-2)).sum(-1)
    return torch.logsumexp(log_n, -1) - math.log(locs.shape[0])


def hand_computed_hvae_loss(model, x, z2, z1, beta):
    """Every term from the networks and torch.distributions, not from Pyro's traces."""
    log_q = Normal(*model.q_z2(x)).log_prob(z2).sum(-1) + Normal(*model.q_z1(x, z2)).log_prob(z1).sum(-1)
    locs, scales = model.q_z2(model.prior.pseudo_inputs)
    log_pz = mixture_log_prob(z2, locs, scales) + Normal(*model.p_z1(z2)).log_prob(z1).sum(-1)
    logits = model.p_x_out.logits(model.p_x_join(z1, z2))
    log_px = -F.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(-1)
    return -(log_px + beta * (log_pz - log_q)).sum()


@pytest.mark.parametrize("beta", [0.01, 0.3, 1.0])  # Pyro rejects scale 0; warm-up starts at 1/warmup
def test_hvae_loss_at_beta_equals_hand_computation(beta):
    model = HVAE(30, prior="vamp", num_components=7, latent_dim=4, hidden=16)
    x = torch.bernoulli(torch.full((9, 30), 0.4))
    pyro.set_rng_seed(3)
    loss = Trace_ELBO().differentiable_loss(model.model, model.guide, x, beta)
    pyro.set_rng_seed(3)  # Trace_ELBO runs the guide first: the same draws
    guide_trace = poutine.trace(model.guide).get_trace(x, beta)
    z2, z1 = guide_trace.nodes["z2"]["value"], guide_trace.nodes["z1"]["value"]
    expected = hand_computed_hvae_loss(model, x, z2, z1, beta)
    assert torch.allclose(loss.double(), expected, rtol=1e-5)


def test_vae_loss_at_beta_scales_only_the_latent_terms():
    model = VAE(30, prior="standard", latent_dim=4, hidden=16)
    x = torch.bernoulli(torch.full((9, 30), 0.4))
    losses = []
    for beta in (0.2, 0.6, 1.0):
        pyro.set_rng_seed(5)
        losses.append(Trace_ELBO().differentiable_loss(model.model, model.guide, x, beta).item())
    # L(beta) = -ln p(x|z) + beta * KL-sample is linear in beta: L(0.6) is the midpoint
    slope = (losses[2] - losses[0]) / 0.8
    assert abs(losses[1] - 0.5 * (losses[0] + losses[2])) < 1e-5 * abs(losses[1])
    pyro.set_rng_seed(5)
    z = poutine.trace(model.guide).get_trace(x, 0.2).nodes["z"]["value"]
    logits = model.decoder[1].logits(model.decoder[0](z))
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum").item()
    assert abs(losses[0] - 0.2 * slope - reconstruction) < 1e-4 * reconstruction
