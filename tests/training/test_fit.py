"""The engine for any Pyro model: ``fit`` trains a model written here (not imported from the package)
with the project's loop, and ``evaluate`` scores it; a linear-Gaussian model has a closed-form ln p(x)."""

import math

import pyro
import pyro.distributions as dist
import pytest
import torch
from pyro import poutine
from torch import nn

from pyro_vamp.errors import InputError, TrainingInterrupted
from pyro_vamp.evaluation import evaluate
from pyro_vamp.networks.dense import GaussianEncoder
from pyro_vamp.priors import VampPrior
from pyro_vamp.run_folder import LAST_CHECKPOINT, METRICS_FILE, load_checkpoint
from pyro_vamp.training import PyroFunctions, fit
from tests.common import InterruptAt


class LinearGaussian(nn.Module):
    """z ~ N(0, I_M), x ~ N(W z + b, sigma^2 I_D); guide q(z | x) = N(A x + c, diag s^2)."""

    def __init__(self, data_dim: int, latent_dim: int):
        super().__init__()
        self.weight = nn.Parameter(0.5 * torch.randn(data_dim, latent_dim))
        self.bias = nn.Parameter(torch.zeros(data_dim))
        self.log_sigma = nn.Parameter(torch.zeros(()))
        self.encoder = nn.Linear(data_dim, latent_dim)
        self.log_s = nn.Parameter(torch.zeros(latent_dim))
        self.latent_dim = latent_dim

    def model(self, x, beta=1.0):
        with pyro.plate("data", x.shape[0], dim=-1):
            with poutine.scale(scale=beta):
                z = pyro.sample("z", dist.Normal(torch.zeros(self.latent_dim), 1.0).to_event(1))
            loc = z @ self.weight.T + self.bias
            pyro.sample("x", dist.Normal(loc, self.log_sigma.exp()).to_event(1), obs=x)

    def guide(self, x, beta=1.0):
        with pyro.plate("data", x.shape[0], dim=-1), poutine.scale(scale=beta):
            pyro.sample("z", dist.Normal(self.encoder(x), self.log_s.exp()).to_event(1))

    def exact_log_likelihood(self, x):
        """ln N(x | b, W W^T + sigma^2 I), the marginal of the generative model."""
        with torch.no_grad():
            cov = self.weight @ self.weight.T + self.log_sigma.exp() ** 2 * torch.eye(x.shape[-1])
            return torch.distributions.MultivariateNormal(self.bias, cov.double()).log_prob(x.double())


def linear_gaussian_data(n, data_dim=6, latent_dim=2, seed=1):
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(data_dim, latent_dim, generator=generator)
    z = torch.randn(n, latent_dim, generator=generator)
    return z @ weight.T + 0.3 * torch.randn(n, data_dim, generator=generator) + 1.0


def test_fit_then_evaluate_recovers_the_analytic_log_likelihood(tmp_path):
    torch.manual_seed(0)
    model = LinearGaussian(6, 2)
    data = linear_gaussian_data(1100)
    data, test = data[:1000], data[1000:]
    result = fit(model, data, run_dir=tmp_path / "run", epochs=60, warmup=0, batch_size=100, lr=2e-2)
    assert result.epochs == 60 and (tmp_path / "run" / METRICS_FILE).read_text().count("\n") == 60
    scores = evaluate(model, test, num_samples=2000)
    exact = model.exact_log_likelihood(test)
    # ln p(x) of the fitted model, estimated by importance sampling, against its closed form. With a
    # 2-d latent and a guide close to the exact posterior the per-point Monte Carlo error at S = 2000
    # is about 0.007 nats (measured: max 0.021 over these 100 points); it averages out over points.
    error = scores["log_likelihood"] - exact
    assert error.abs().max() < 0.05 and abs(error.mean()) < 0.005
    assert (scores["elbo"] <= scores["log_likelihood"] + 1e-9).all()
    assert torch.allclose(scores["kl"], scores["reconstruction"] - scores["elbo"])
    assert scores["active_units"] == {"z": 2}
    assert scores["summary"]["test_ll"] == pytest.approx(exact.mean().item(), abs=0.005)


class UserVamp(nn.Module):
    """A user's own one-layer VAE with pyro-vamp's VampPrior at its latent site."""

    def __init__(self):
        super().__init__()
        self.encoder = GaussianEncoder(12, 3, hidden=8)
        self.decoder = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 12))
        self.prior = VampPrior.from_normal(self.encoder, num_components=4, input_dim=12, mean=0.5, std=0.1)

    def model(self, x, beta=1.0):
        p_z = self.prior()
        with pyro.plate("data", x.shape[0]):
            with poutine.scale(scale=beta):
                z = pyro.sample("z", p_z)
            pyro.sample("x", dist.Bernoulli(logits=self.decoder(z)).to_event(1), obs=x)

    def guide(self, x, beta=1.0):
        with pyro.plate("data", x.shape[0]), poutine.scale(scale=beta):
            pyro.sample("z", dist.Normal(*self.encoder(x)).to_event(1))


def binary_data(n=200):
    return torch.bernoulli(torch.full((n, 12), 0.3), generator=torch.Generator().manual_seed(3))


SETTINGS = dict(epochs=4, warmup=2, batch_size=40, lr=1e-2)


def trained_user_model(run_dir, resume=False, hooks=None, **settings):
    torch.manual_seed(0)
    return fit(UserVamp(), binary_data(), run_dir=run_dir, resume=resume, hooks=hooks, **{**SETTINGS, **settings})


def assert_same_parameters(a, b):
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_fit_resumes_a_user_model_bit_for_bit(tmp_path):
    straight = trained_user_model(tmp_path / "straight").model.state_dict()
    trained_user_model(tmp_path / "resumed", epochs=2)
    resumed = trained_user_model(tmp_path / "resumed", resume=True).model.state_dict()
    assert_same_parameters(straight, resumed)
    assert load_checkpoint(tmp_path / "resumed" / LAST_CHECKPOINT)["epoch"] == 4


def test_sigint_in_fit_saves_a_checkpoint_exits_130_and_resumes_exactly(tmp_path):
    straight = trained_user_model(tmp_path / "straight").model.state_dict()
    with pytest.raises(TrainingInterrupted, match="SIGINT at epoch 3, step 2") as stop:
        trained_user_model(tmp_path / "cut", hooks=InterruptAt(3, 2))
    assert stop.value.exit_code == 130
    assert load_checkpoint(tmp_path / "cut" / LAST_CHECKPOINT)["in_epoch"]["next_step"] == 2
    assert_same_parameters(straight, trained_user_model(tmp_path / "cut", resume=True).model.state_dict())


def test_pyro_functions_wrap_a_model_and_guide_function():
    torch.manual_seed(0)
    net = UserVamp()
    wrapped = PyroFunctions(net.model, net.guide, net)
    scores = evaluate(wrapped, binary_data(10), num_samples=50)
    assert scores["log_likelihood"].shape == (10,) and math.isfinite(scores["summary"]["test_ll"])


def test_a_parameter_outside_the_module_is_refused(tmp_path):
    class Outside(UserVamp):
        def guide(self, x, beta=1.0):
            shift = pyro.param("shift", torch.zeros(3))
            with pyro.plate("data", x.shape[0]), poutine.scale(scale=beta):
                loc, scale = self.encoder(x)
                pyro.sample("z", dist.Normal(loc + shift, scale).to_event(1))

    with pytest.raises(InputError, match="pyro.param 'shift' is not one of them"):
        fit(Outside(), binary_data(), run_dir=tmp_path / "run", **SETTINGS)


@pytest.mark.parametrize(
    "data, message",
    [
        (torch.tensor([[0.0, float("nan")]] * 20), "NaN or Inf"),
        (torch.zeros(0, 12), "non-empty tensor"),
    ],
)
def test_bad_data_is_refused_in_one_line(tmp_path, data, message):
    with pytest.raises(InputError, match=message):
        fit(UserVamp(), data, run_dir=tmp_path / "run", **SETTINGS)


def test_an_unknown_setting_is_refused(tmp_path):
    with pytest.raises(InputError, match="unknown setting 'prior'"):
        fit(UserVamp(), binary_data(), run_dir=tmp_path / "run", prior="vamp")
