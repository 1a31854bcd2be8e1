"""pyro-vamp: VampPrior VAEs (Tomczak & Welling 2017) in Pyro.

Where things are:

- :mod:`pyro_vamp.priors` - standard, mixture-of-Gaussians, VampPrior, VampPrior-data priors,
  each a module whose call returns a Pyro distribution for any ``pyro.sample`` site;
- :mod:`pyro_vamp.models` - VAE, HVAE and convHVAE as Pyro ``model`` / ``guide`` pairs;
- :mod:`pyro_vamp.likelihoods` - Bernoulli and discretised logistic p(x | z);
- :mod:`pyro_vamp.inference` - importance-sampled log-likelihood, active units;
- :mod:`pyro_vamp.data` - the paper's datasets from their published files;
- :mod:`pyro_vamp.training`, :mod:`pyro_vamp.evaluation` - what ``pyro-vamp train`` and ``eval`` run.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pyro-vamp")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"
