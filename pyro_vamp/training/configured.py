"""Train the built-in model a :class:`~pyro_vamp.config.TrainConfig` describes: what
``pyro-vamp train`` runs. The dataset is loaded and the model built here; the epochs run in the
one training loop, :func:`pyro_vamp.training.loop.run_loop`."""

from pathlib import Path

import pyro

from ..config import TrainConfig
from ..data import load_dataset
from ..models import build_model
from ..run_folder import RunWriter, run_record
from . import distributed
from .loop import RESUMABLE_CHANGES, TrainingHooks, TrainResult, _processes, run_loop, seed_everything
from .tracking import tracked


def train(
    config: TrainConfig, run_dir: Path | str, resume: bool = False, hooks: TrainingHooks | None = None
) -> TrainResult:
    """Train the model ``config`` describes, writing the run folder ``run_dir``.

    A folder that already holds a checkpoint is only continued with ``resume=True``
    (never overwritten). Returns where training ended, the best validation ELBO and the model.
    Started by torchrun, the processes train one model data-parallel (:mod:`pyro_vamp.training.distributed`);
    only rank 0 writes the folder and calls ``hooks``.
    """
    config.validate()
    with _processes(config.device) as (workers, device):
        writer = RunWriter(Path(run_dir), config.to_dict(), workers.is_main, RESUMABLE_CHANGES)
        writer.check_start(resume)
        dataset = load_dataset(config.dataset, config.data_dir, config.split_seed).to(device)
        distributed.check_divisible(workers, len(dataset.train), config.batch_size)
        workers.barrier()  # every process has checked the folder before rank 0 writes to it
        seed_everything(config.seed)
        pyro.clear_param_store()
        model = build_model(
            config, dataset.image_shape, dataset.likelihood, dataset.pseudo_init, dataset.train.unit_interval()
        ).to(device)
        record = run_record(config, dataset)
        with tracked(config, run_dir, resume, hooks, workers.is_main) as hooks:  # --logger: TensorBoard, MLflow
            return run_loop(model, dataset.train, dataset.val, config, writer, record, resume, hooks, workers, device)
