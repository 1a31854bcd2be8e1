"""Evaluation of a trained model: the importance-sampled log-likelihood and the ELBO's terms
(:mod:`.evaluate`, in memory-bounded chunks: :mod:`pyro_vamp.inference.memory`), the latent space
(:mod:`.latent`), the paper's figures (:mod:`.figures`, :mod:`.images`), and the run's report and the comparison of runs
(:mod:`.report`)."""

from .evaluate import evaluate, evaluate_model, evaluate_run, summarize, write_figures
from .latent import encode, interpolate, interpolation_path

__all__ = [
    "encode",
    "evaluate",
    "evaluate_model",
    "evaluate_run",
    "interpolate",
    "interpolation_path",
    "summarize",
    "write_figures",
]
