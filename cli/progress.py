"""Progress displays of the command line (rich): imported by the commands that show one."""

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

stderr = Console(stderr=True)


class LazyProgress:
    """A rich progress display on stderr that appears with its first update, so that an error
    raised before any work starts prints one line and no bar."""

    def __init__(self) -> None:
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def update(self, name: str, **fields) -> None:
        if self.progress is None:
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=stderr,
            )
            self.progress.start()
        if name not in self.tasks:
            self.tasks[name] = self.progress.add_task(name, total=fields.pop("total", None), info="")
        self.progress.update(self.tasks[name], **fields)

    def remove(self, name: str) -> None:
        if self.progress is not None and name in self.tasks:
            self.progress.remove_task(self.tasks.pop(name))

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


class RichTrainingHooks:
    """Training hooks (see :class:`pyro_vamp.training.TrainingHooks`): progress bars for epochs
    and for the steps of the current epoch, with the loss and beta."""

    def __init__(self, progress: LazyProgress, epochs: int):
        self.progress, self.epochs = progress, epochs
        self.beta = 1.0

    def start_epoch(self, epoch: int, num_steps: int, beta: float) -> None:
        self.beta = beta
        self.progress.update("epochs", total=self.epochs, completed=epoch - 1)
        self.progress.remove("steps")
        self.progress.update(
            "steps", total=num_steps, completed=0, description=f"epoch {epoch}", info=f"beta {beta:.2f}"
        )

    def step(self, loss: float) -> None:
        self.progress.update("steps", advance=1, info=f"loss {loss:8.2f}  beta {self.beta:.2f}")

    def end_epoch(self, record: dict) -> None:
        self.progress.update(
            "epochs",
            completed=record["epoch"],
            info=f"val ELBO {record['val_elbo']:.2f} (best {record['best_val_elbo']:.2f})",
        )
