"""pyro-vamp: VampPrior VAEs (Tomczak & Welling 2017) in Pyro.

Where things are, in the order data flows:

- :mod:`pyro_vamp.data` - the paper's datasets from their published files;
- :mod:`pyro_vamp.networks` - gated dense and convolutional layers, the PixelCNN;
- :mod:`pyro_vamp.likelihoods` - Bernoulli and discretised logistic p(x | z);
- :mod:`pyro_vamp.priors` - standard, mixture-of-Gaussians, VampPrior, VampPrior-data priors,
  each a module whose call returns a Pyro distribution for any ``pyro.sample`` site;
- :mod:`pyro_vamp.models` - VAE, HVAE and convHVAE as Pyro ``model`` / ``guide`` pairs;
- :mod:`pyro_vamp.inference` - importance-sampled log-likelihood, active units;
- :mod:`pyro_vamp.training` - the training loop, its state, optimisers, early stopping, data-parallel;
- :mod:`pyro_vamp.evaluation` - evaluation of a run, memory budgets, figures, report;
- :mod:`pyro_vamp.run_folder` - the run folder's files and checkpoints;
- :mod:`pyro_vamp.config`, :mod:`pyro_vamp.errors`, :mod:`pyro_vamp.runtime`, :mod:`pyro_vamp.sweep`.
"""

# This module must not import torch (nor anything that does): the command line imports the
# package to set OpenMP's wait policy (pyro_vamp.runtime.tune_openmp), which libgomp reads only
# once, when torch is first loaded, and `pyro-vamp --help` should answer without loading torch.

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pyro-vamp")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

#: What ``pyro_vamp.NAME`` gives without importing torch until it is used.
_LAZY = {"fit": "pyro_vamp.training", "evaluate": "pyro_vamp.evaluation", "train": "pyro_vamp.training"}


def __getattr__(name: str):
    """``pyro_vamp.fit``, ``pyro_vamp.evaluate`` and ``pyro_vamp.train``, imported on first use."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pyro_vamp' has no attribute {name!r}")
