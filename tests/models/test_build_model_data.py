"""``build_model`` for a user's data: the data range reaches the VampPrior, vectors and RGB images
build the MLP models, and the convolutional models refuse what they cannot model."""

import dataclasses

import pytest
import torch

from pyro_vamp.config import resolve_config
from pyro_vamp.errors import InputError
from pyro_vamp.models import build_model


def settings(**changes):
    return dataclasses.replace(resolve_config(None, {}), components=5, latent_dim=2, hidden=8, **changes)


@pytest.mark.parametrize("pseudo_init", ["normal", "data"])
def test_the_data_range_clips_the_pseudo_inputs(pseudo_init):
    images = 4 * torch.randn(30, 6)
    model = build_model(
        settings(model="vae", prior="vamp", pseudo_init=pseudo_init),
        None,
        "gaussian",
        (0.0, 3.0),
        images,
        input_dim=6,
        data_range=(-2.0, 2.5),
    )
    assert model.prior.data_range == (-2.0, 2.5)
    assert model.prior.pseudo_inputs.min() >= -2.0 and model.prior.pseudo_inputs.max() <= 2.5
    assert model.prior.raw_pseudo_inputs.min() < -2.0  # the start was wider: clipping did something
    default = build_model(settings(model="hvae", prior="vamp-data"), (2, 3), "bernoulli", (0.05, 0.01), images)
    assert default.prior.data_range == (0.0, 1.0)  # the built-in datasets' range, as before


def test_vectors_and_rgb_images_build_the_mlp_models():
    vectors = build_model(settings(model="hvae"), None, "gaussian", (0.0, 0.1), input_dim=11)
    assert vectors.input_dim == 11 and vectors.image_shape is None
    rgb = build_model(settings(model="vae"), (4, 5), "logistic", (0.5, 0.02), channels=3)
    assert rgb.input_dim == 60 and rgb.sample_images(2).shape == (2, 60)
    grey = build_model(settings(model="vae"), (4, 5), "logistic", (0.5, 0.02))
    assert grey.input_dim == 20 and grey.image_shape == (4, 5)


@pytest.mark.parametrize("model_name", ["convhvae", "convhvae-plain"])
def test_convolutional_models_need_single_channel_images(model_name):
    with pytest.raises(InputError, match="plain vectors"):
        build_model(settings(model=model_name), None, "bernoulli", (0.05, 0.01), input_dim=16)
    with pytest.raises(InputError, match="3 channels"):
        build_model(settings(model=model_name), (4, 4), "bernoulli", (0.05, 0.01), channels=3)
    with pytest.raises(InputError, match="gaussian likelihood"):
        build_model(settings(model=model_name), (4, 4), "gaussian", (0.0, 0.1))
    assert build_model(settings(model=model_name), (4, 4), "bernoulli", (0.05, 0.01)).image_shape == (4, 4)
