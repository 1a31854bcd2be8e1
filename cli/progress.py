"""Progress displays of the command line: imported by the commands that show one.

On a terminal, rich's live progress bars. When stderr is not a terminal (``> train.log 2>&1``,
``nohup``, a batch scheduler's log file), plain lines without ANSI codes, each flushed at once: one
per finished epoch (epoch, beta, train loss, validation ELBO, best, seconds, estimated time left)
and one per evaluated chunk of points, so that a log file can be followed while the job runs.
"""

import sys
import time

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
if not stderr.is_terminal:  # a log file: long lines stay whole
    stderr.soft_wrap = True


def duration(seconds: float) -> str:
    """``1:02:03`` for hours, ``2:03`` below an hour (minutes:seconds)."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def plain_line(text: str) -> None:
    """One plain line on stderr, flushed at once."""
    print(text, file=sys.stderr, flush=True)


class LazyProgress:
    """A rich progress display on stderr that appears with its first update, so that an error
    raised before any work starts prints one line and no bar; ``plain`` (default: stderr is not a
    terminal): one plain line per update that moves a task on instead."""

    def __init__(self, plain: bool | None = None) -> None:
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}
        self.plain = not stderr.is_terminal if plain is None else plain
        self.plain_tasks: dict[str, dict] = {}

    def update(self, name: str, **fields) -> None:
        if self.plain:
            self._plain_update(name, **fields)
            return
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

    def _plain_update(self, name: str, **fields) -> None:
        """``description: done/total, seconds, about T left`` when the task advanced."""
        task = self.plain_tasks.setdefault(
            name, {"description": name, "completed": 0, "total": None, "started": time.perf_counter()}
        )
        moved = "advance" in fields or ("completed" in fields and fields["completed"] != task["completed"])
        task["completed"] = fields.get("completed", task["completed"] + fields.get("advance", 0))
        task.update({k: fields[k] for k in ("description", "total") if k in fields})
        if not moved:
            return
        elapsed, done, total = time.perf_counter() - task["started"], task["completed"], task["total"]
        line = f"{task['description']}: {done}/{total if total is not None else '?'}, {elapsed:.1f} s"
        if total and 0 < done < total:
            line += f", about {duration(elapsed / done * (total - done))} left"
        plain_line(line)

    def remove(self, name: str) -> None:
        self.plain_tasks.pop(name, None)
        if self.progress is not None and name in self.tasks:
            self.progress.remove_task(self.tasks.pop(name))

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


class RichTrainingHooks:
    """Training hooks (see :class:`pyro_vamp.training.TrainingHooks`): progress bars for epochs
    and for the steps of the current epoch, with the loss and beta; with a ``plain`` progress, one
    line per finished epoch instead (:meth:`epoch_line`)."""

    def __init__(self, progress: LazyProgress, epochs: int):
        self.progress, self.epochs = progress, epochs
        self.beta = 1.0
        self.epoch_seconds: list[float] = []

    def start_epoch(self, epoch: int, num_steps: int, beta: float) -> None:
        self.beta = beta
        if self.progress.plain:
            return
        self.progress.update("epochs", total=self.epochs, completed=epoch - 1)
        self.progress.remove("steps")
        self.progress.update(
            "steps", total=num_steps, completed=0, description=f"epoch {epoch}", info=f"beta {beta:.2f}"
        )

    def step(self, loss: float) -> None:
        if not self.progress.plain:
            self.progress.update("steps", advance=1, info=f"loss {loss:8.2f}  beta {self.beta:.2f}")

    def epoch_line(self, record: dict) -> str:
        """``epoch 3/80  beta 0.15  train loss 120.53  val ELBO -118.20  best -117.90  12.3 s  about
        10:09 left`` (the mean epoch time so far times the epochs left; early stopping may end sooner)."""
        self.epoch_seconds.append(record["seconds"])
        left = (self.epochs - record["epoch"]) * sum(self.epoch_seconds) / len(self.epoch_seconds)
        return (
            f"epoch {record['epoch']}/{self.epochs}  beta {record['beta']:.2f}  train loss {record['train_loss']:.2f}  "
            f"val ELBO {record['val_elbo']:.2f}  best {record['best_val_elbo']:.2f}  {record['seconds']:.1f} s  "
            f"about {duration(left)} left"
        )

    def end_epoch(self, record: dict) -> None:
        if self.progress.plain:
            plain_line(self.epoch_line(record))
            return
        self.progress.update(
            "epochs",
            completed=record["epoch"],
            info=f"val ELBO {record['val_elbo']:.2f} (best {record['best_val_elbo']:.2f})",
        )
