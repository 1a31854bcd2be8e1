"""Evaluation of a trained model: the importance-sampled log-likelihood and the ELBO's terms
(:mod:`.evaluate`), memory budgets for the sampler (:mod:`.memory`), the paper's figures
(:mod:`.figures`, :mod:`.images`), and the run's report and the comparison of runs (:mod:`.report`)."""

from .evaluate import evaluate, evaluate_model, evaluate_run, summarize, write_figures

__all__ = ["evaluate", "evaluate_model", "evaluate_run", "summarize", "write_figures"]
