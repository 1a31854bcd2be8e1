"""The VampPrior's pseudo-inputs are trained through the guide's encoder, which runs once per call."""

import pyro
import pytest
import torch
from pyro.infer import SVI, Trace_ELBO

from pyro_vamp.models import HVAE, VAE


def small(model_cls, prior="vamp", **kwargs):
    return model_cls(20, prior=prior, num_components=6, latent_dim=3, hidden=8, **kwargs)


@pytest.mark.parametrize("model_cls", [VAE, HVAE])
def test_prior_term_alone_reaches_pseudo_inputs_and_every_encoder_tensor(model_cls):
    model = small(model_cls)
    model.prior().log_prob(torch.randn(5, 3)).sum().backward()
    assert model.prior.raw_pseudo_inputs.grad.abs().sum() > 0
    for name, param in model.top_encoder.named_parameters():
        assert param.grad is not None and param.grad.abs().sum() > 0, name


@pytest.mark.parametrize("model_cls", [VAE, HVAE])
def test_one_svi_step_changes_the_pseudo_inputs(model_cls):
    model = small(model_cls)
    before = model.prior.raw_pseudo_inputs.detach().clone()
    svi = SVI(model.model, model.guide, pyro.optim.Adam({"lr": 1e-2}), Trace_ELBO())
    svi.step(torch.bernoulli(torch.full((10, 20), 0.3)))
    assert not torch.equal(before, model.prior.raw_pseudo_inputs.detach())
    assert (
        "hvae$$$prior.raw_pseudo_inputs" in pyro.get_param_store()
        or "vae$$$prior.raw_pseudo_inputs" in pyro.get_param_store()
    )


def test_encoder_runs_once_on_all_pseudo_inputs_per_call():
    model = small(HVAE)
    batch_sizes = []
    model.top_encoder.register_forward_hook(lambda module, args, out: batch_sizes.append(args[0].shape[:-1]))
    Trace_ELBO().loss(model.model, model.guide, torch.bernoulli(torch.full((10, 20), 0.5)))
    assert sorted(batch_sizes) == sorted([torch.Size([6]), torch.Size([10])])


def test_pseudo_inputs_stay_in_the_data_range():
    model = small(VAE)
    with torch.no_grad():
        model.prior.raw_pseudo_inputs.uniform_(-3, 3)
    u = model.prior.pseudo_inputs
    assert u.min() >= 0 and u.max() <= 1


def test_vamp_data_uses_fixed_training_images():
    images = torch.rand(30, 20)
    model = small(VAE, prior="vamp-data", train_images=images)
    u = model.prior.pseudo_inputs
    assert not any(p is model.prior.raw_pseudo_inputs for p in model.parameters())
    assert all(any(torch.equal(row, image) for image in images) for row in u)
    assert len({tuple(row.tolist()) for row in u}) == 6


def test_two_priors_never_share_pseudo_inputs():
    a, b = small(VAE), small(VAE)
    assert a.prior.raw_pseudo_inputs is not b.prior.raw_pseudo_inputs
