"""The latent space from the API: posterior means of every layer (encode) and decoded images along a
line between two data points' top latents (interpolate)."""

import pytest
import torch

from pyro_vamp.data import Split
from pyro_vamp.evaluation import encode, interpolate, interpolation_path
from pyro_vamp.models import HVAE, VAE


@pytest.fixture
def hvae():
    torch.manual_seed(0)
    return HVAE(16, likelihood="bernoulli", prior="vamp", num_components=4, latent_dim=3, hidden=12).eval()


def test_encode_gives_each_layers_posterior_means(hvae):
    split = Split(torch.randint(0, 2, (23, 16), dtype=torch.uint8), "binary")
    state = torch.get_rng_state()
    means = encode(hvae, split, batch_size=10)
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG is left as it was
    assert list(means) == ["z2", "z1"] and all(m.shape == (23, 3) for m in means.values())
    assert torch.allclose(means["z2"], hvae.q_z2(split.as_float())[0])  # the top layer's mean is exact
    again = encode(hvae, split.as_float(), batch_size=7)  # tensors too; batches do not matter for the top
    assert torch.allclose(again["z2"], means["z2"])
    assert torch.equal(encode(hvae, split, batch_size=10)["z1"], means["z1"])  # repeatable
    x, z2 = split.as_float()[:1], means["z2"][:1]
    z1_given_mean = hvae.q_z1(x, z2)[0]
    assert not torch.allclose(means["z1"][:1], z1_given_mean, atol=1e-6)  # averaged over z2 ~ q, not at its mean
    assert torch.allclose(means["z1"][:1], z1_given_mean, atol=0.5)


def test_a_dynamic_split_is_encoded_repeatably():
    model = VAE(16, prior="standard", latent_dim=3, hidden=12).eval()
    split = Split(torch.randint(0, 256, (9, 16), dtype=torch.uint8), "dynamic")
    first, second = encode(model, split)["z"], encode(model, split)["z"]
    assert first.shape == (9, 3) and torch.equal(first, second)


def test_interpolation_is_a_straight_line_between_the_top_latent_means(hvae):
    x_i, x_j = torch.bernoulli(torch.full((16,), 0.3)), torch.bernoulli(torch.full((16,), 0.7))
    path = interpolation_path(hvae, x_i, x_j, 6)
    start, stop = hvae.q_z2(torch.stack([x_i, x_j]))[0]
    assert path.shape == (6, 3) and torch.allclose(path[0], start) and torch.allclose(path[-1], stop)
    steps = path[1:] - path[:-1]
    assert torch.allclose(steps, steps[:1].expand_as(steps), atol=1e-6)  # equal steps along one direction
    torch.manual_seed(1)
    images = interpolate(hvae, x_i, x_j, 6)
    torch.manual_seed(1)
    assert images.shape == (6, 16) and torch.equal(images, hvae.decode_from_top(path))
    with pytest.raises(ValueError, match="steps"):
        interpolate(hvae, x_i, x_j, 1)


def test_interpolation_ends_decode_the_ends_means():
    torch.manual_seed(0)
    model = VAE(16, likelihood="logistic", prior="vamp", num_components=4, latent_dim=3, hidden=12).eval()
    x_i, x_j = torch.rand(1, 16), torch.rand(1, 16)
    images = interpolate(model, x_i, x_j, steps=5)
    ends = model.decode_from_top(torch.cat([model.encoder(x_i)[0], model.encoder(x_j)[0]]))
    assert torch.allclose(images[0], ends[0]) and torch.allclose(images[-1], ends[1])
    assert not torch.allclose(images[0], images[-1])
