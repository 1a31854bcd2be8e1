"""Train the built-in model a :class:`~pyro_vamp.config.TrainConfig` describes, on a built-in
dataset or the user's own data: what ``pyro-vamp train`` runs. The data are loaded and the model
built here; the epochs run in the one training loop, :func:`pyro_vamp.training.loop.run_loop`."""

from pathlib import Path

import pyro

from ..config import TrainConfig
from ..data import load_config_data, source_record
from ..errors import InputError
from ..run_folder import RunWriter, dataset_facts, model_for, run_record
from . import distributed
from .loop import RESUMABLE_CHANGES, TrainingHooks, TrainResult, _processes, run_loop, seed_everything
from .tracking import tracked


def train(
    config: TrainConfig, run_dir: Path | str, resume: bool = False, hooks: TrainingHooks | None = None
) -> TrainResult:
    """Train the model ``config`` describes, writing the run folder ``run_dir``.

    A folder that holds any run file (or a file of one's name) is only continued with
    ``resume=True``, never overwritten; one command at a time writes it (its lock).
    Returns where training ended, the best validation ELBO and the model.
    Started by torchrun, the processes train one model data-parallel (:mod:`pyro_vamp.training.distributed`);
    only rank 0 writes the folder and calls ``hooks``.
    """
    config.validate()
    with _processes(config.device) as (workers, device):
        writer = RunWriter(Path(run_dir), config.to_dict(), workers.is_main, RESUMABLE_CHANGES)
        with writer.claim(resume):  # the folder's lock, held until the end
            record_source = source_record(config)  # own data: its content hash, before it is read
            dataset = load_config_data(config).to(device)
            check_components(config, len(dataset.train))
            distributed.check_divisible(workers, len(dataset.train), config.batch_size)
            workers.barrier()  # every process has checked the folder before rank 0 writes to it
            seed_everything(config.seed)
            pyro.clear_param_store()
            model = model_for(config, dataset_facts(dataset), dataset.train.unit_interval()).to(device)
            record = run_record(config, dataset, record_source)
            with tracked(config, run_dir, resume, hooks, workers.is_main) as hooks:  # --logger: TensorBoard, MLflow
                return run_loop(
                    model, dataset.train, dataset.val, config, writer, record, resume, hooks, workers, device
                )


def check_components(config: TrainConfig, train_size: int) -> None:
    """:class:`InputError` when the pseudo-inputs are to be ``components`` training images and the
    training set has fewer."""
    from_data = config.prior == "vamp-data" or (config.prior == "vamp" and config.pseudo_init == "data")
    if from_data and config.components > train_size:
        how = "--prior vamp-data" if config.prior == "vamp-data" else "--pseudo-init data"
        raise InputError(
            f"--components {config.components} with {how} needs that many training images, and "
            f"{config.dataset} has {train_size}: choose --components {train_size} or fewer"
        )
