"""Active units on an encoder whose active dimensions are known by construction."""

import pyro
import pyro.distributions as dist
import torch

from pyro_vamp.inference import active_units, posterior_means
from pyro_vamp.networks.dense import broadcast_cat


def test_known_active_dimensions():
    # E_q[z | x] = (x_0, 0.5 x_1, 0.05 x_0, 3, 0): var over x ~ N(0, I) is 1, 0.25, 0.0025, 0, 0
    def guide(x):
        loc = torch.stack(
            [x[:, 0], 0.5 * x[:, 1], 0.05 * x[:, 0], torch.full_like(x[:, 0], 3.0), torch.zeros_like(x[:, 0])], -1
        )
        with pyro.plate("data", x.shape[0], dim=-1):
            pyro.sample("z", dist.Normal(loc, 2.0).to_event(1))

    x = torch.randn(2000, 2)
    means = posterior_means(guide, x, ["z"], num_particles=10)["z"]
    assert means.shape == (2000, 5)
    assert active_units(means) == 2


def test_lower_layer_means_average_over_the_upper_layer():
    def guide(x):
        with pyro.plate("data", x.shape[0], dim=-1):
            z2 = pyro.sample("z2", dist.Normal(torch.zeros(x.shape[0], 1), 1.0).to_event(1))
            pyro.sample("z1", dist.Normal(broadcast_cat([z2, x]), 0.1).to_event(1))

    x = torch.randn(500, 1)
    means = posterior_means(guide, x, ["z2", "z1"], num_particles=400)
    # z1[0] follows the noise of z2 (mean 0 given x): inactive; z1[1] = x: active
    assert active_units(means["z2"]) == 0 and active_units(means["z1"]) == 1
