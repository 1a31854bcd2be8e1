"""``build_model`` from configs: the paper's Table 2 configs build the HVAE, and the Exemplar and the
flow prior work in every model (a training loss with gradients into the prior, and samples)."""

import dataclasses

import pyro
import pytest
import torch

from pyro_vamp.config import MODEL_NAMES, resolve_config
from pyro_vamp.models import HVAE, build_model
from pyro_vamp.priors import ExemplarPrior, FlowPrior, VampPrior
from tests.common import REPO


def test_a_table2_config_builds_an_hvae_with_its_prior():
    config = resolve_config(REPO / "configs" / "table2" / "static-mnist-hvae-vamp.toml", {})
    model = build_model(config, (28, 28), "bernoulli", (0.05, 0.01))
    assert type(model) is HVAE and model.latent_sites == ("z2", "z1")
    assert isinstance(model.prior, VampPrior) and model.prior.num_components == 500
    assert model.prior.encoder is model.q_z2  # the VampPrior on z2 uses q(z2 | .)


@pytest.mark.parametrize("model_name", MODEL_NAMES)
@pytest.mark.parametrize("prior", ["exemplar", "flow"])
def test_new_priors_in_every_model(model_name, prior):
    config = dataclasses.replace(
        resolve_config(None, {}),
        model=model_name,
        prior=prior,
        components=4,
        latent_dim=3,
        hidden=8,
        flow_depth=2,
        flow_hidden=8,
    )
    images = torch.rand(20, 64)
    model = build_model(config, (8, 8), "bernoulli", (0.05, 0.01), images)
    assert isinstance(model.prior, ExemplarPrior if prior == "exemplar" else FlowPrior)
    if prior == "exemplar":
        assert model.prior.encoder is model.top_encoder and model.prior.num_components == 20
        model.before_step(torch.arange(5))
    model.train()
    x = torch.bernoulli(images[:5])
    pyro.infer.Trace_ELBO().differentiable_loss(model.model, model.guide, x).backward()
    own = [p for name, p in model.prior.named_parameters() if not name.startswith("encoder.")]
    assert own and all(p.grad is not None for p in own)
    model.eval()
    assert model.sample_images(2).shape == (2, 64)


def test_a_loaded_exemplar_model_is_built_without_images():
    config = dataclasses.replace(resolve_config(None, {}), prior="exemplar", latent_dim=3, hidden=8)
    model = build_model(config, (8, 8), "bernoulli", (0.05, 0.01))  # as load_run does
    assert isinstance(model.prior, ExemplarPrior) and not model.prior.has_exemplars
