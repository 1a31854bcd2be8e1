"""The run folder: the names of its files, its checkpoints, and what ``train`` writes and
``eval`` / ``sample`` read. Every file name of a run folder is defined here and nowhere else.

::

    RUN_DIR/config.json          resolved config, dataset facts, library versions, device
    RUN_DIR/checkpoint-last.pt   after every epoch
    RUN_DIR/checkpoint-best.pt   best validation ELBO so far
    RUN_DIR/metrics.jsonl        one JSON object per epoch
    RUN_DIR/eval.json            after `pyro-vamp eval`, with report.md, {split}_ll.npy and the figures
    RUN_DIR/.pyro-vamp.lock      the lock of the command writing the folder (its pid, host, command)

Every file is written by :func:`write_file`: a temporary file in the same folder, fsync, rename, so
that a crash or a full disk leaves the old file or the new one, never a partial or empty one, and
never through a symbolic link. Checkpoints are readable with ``torch.load(weights_only=True)``.

A run folder is crash-consistent: at the end of an epoch the best checkpoint is written (when the
epoch improved), then the last one, then ``metrics.jsonl`` (rewritten whole from the history the
checkpoint holds), so ``metrics.jsonl`` never holds an epoch that no checkpoint has, and
``--resume`` continues from the newest complete checkpoint (:meth:`RunWriter.load_last`).
One command at a time writes a run folder (:class:`RunLock`).
"""

import contextlib
import errno
import fcntl
import functools
import io
import json
import logging
import os
import platform
import re
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import ParamSpec, TypeVar, cast

import pyro
import torch

from .config import TrainConfig
from .data import ImageDataset, check_source, load_config_data
from .errors import InputError
from .models import LatentVariableModel, build_model
from .runtime import MALLOC_APPLIED, openmp_settings

CONFIG_FILE = "config.json"
LAST_CHECKPOINT = "checkpoint-last.pt"
BEST_CHECKPOINT = "checkpoint-best.pt"
METRICS_FILE = "metrics.jsonl"
EVAL_FILE = "eval.json"
REPORT_FILE = "report.md"
SWEEP_FILE = "sweep.json"
#: The figures of an evaluated run, by name.
FIGURE_FILES = {
    "samples": "samples.png",
    "reconstructions": "reconstructions.png",
    "pseudo_inputs": "pseudo_inputs.png",
    "pseudo_input_samples": "pseudo_input_samples.png",
    "ll_histogram": "ll_histogram.png",
    "training_curves": "training_curves.png",
    "aggregate_posterior": "aggregate_posterior.png",
}

LOCK_FILE = ".pyro-vamp.lock"

CHECKPOINT_FORMAT = "pyro-vamp-checkpoint-1"
#: Testing hook (fault injection): ``PYRO_VAMP_FAULT=write:N`` makes this process kill itself with
#: SIGKILL at the N-th point it passes in :func:`write_file`. Each write passes three: its temporary
#: file half written, the temporary file complete but not renamed, the file renamed into place.
FAULT_ENV = "PYRO_VAMP_FAULT"
#: What training, evaluation and ``sample`` say (the CLI shows warnings on stderr, one line each).
logger = logging.getLogger("pyro_vamp")

_P = ParamSpec("_P")
_R = TypeVar("_R")
_TEMPORARY = re.compile(r"^\.(.+\.(pt|json|jsonl|md|png|npy))\.[a-z0-9_]{8}\.tmp$")  # write_file's names
_fault_points = 0


def log_likelihood_file(split: str) -> str:
    """The file of per-point log-likelihoods of an evaluated ``split``: ``{split}_ll.npy``."""
    return f"{split}_ll.npy"


def run_artefacts() -> tuple[str, ...]:
    """The names of the files pyro-vamp writes into a run folder: a folder holding any of them is
    never trained into afresh (only continued with ``--resume``), whoever wrote it."""
    figures = tuple(FIGURE_FILES.values())
    splits = (log_likelihood_file("test"), log_likelihood_file("val"))
    return (CONFIG_FILE, LAST_CHECKPOINT, BEST_CHECKPOINT, METRICS_FILE, EVAL_FILE, REPORT_FILE, *figures, *splits)


def _fault_point() -> None:
    """The testing hook :data:`FAULT_ENV` (nothing happens without it)."""
    global _fault_points
    hook = os.environ.get(FAULT_ENV, "")
    if hook.startswith("write:"):
        _fault_points += 1
        if _fault_points == int(hook[len("write:") :]):
            os.kill(os.getpid(), signal.SIGKILL)


def _write_error(path: Path, err: OSError) -> InputError:
    if err.errno in (errno.ENOSPC, errno.EDQUOT):
        return InputError(
            f"no space left on device writing {path}; the files written before are intact: "
            "free some space and run the command again"
        )
    return InputError(f"cannot write {path} ({err.strerror or err}); check that its folder is writable")


def make_folder(folder: Path | str) -> Path:
    """Create ``folder`` and its parents; :class:`InputError` saying why when that is impossible."""
    folder = Path(folder)
    for above in (folder, *folder.parents):
        if above.exists() or above.is_symlink():
            if not above.is_dir():
                raise InputError(
                    f"cannot create the folder {folder}: {above} is a file, not a folder; choose another path"
                )
            break
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the folder {folder} ({err.strerror or err}); choose another path") from None
    return folder


def write_file(path: Path | str, data: bytes, make_parents: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, fsync, rename.

    Every file of a run folder is written so. A crash, a full disk or any failed write leaves the
    old file or the new one, never a partial or empty one (and no temporary file but after a
    ``kill -9``: the next command in the folder removes it). ``path`` must not be a symbolic link
    (nothing is ever written through one). ``make_parents``: create the missing folders above it.
    Raises :class:`InputError`: ``no space left on device writing PATH``, or why it cannot write.
    """
    path = Path(path)
    if path.is_symlink():
        raise InputError(
            f"{path} is a symbolic link; pyro-vamp never writes through a link: remove it (or copy the "
            "folder without links) and run the command again"
        )
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a folder; move it away or choose another path")
    if make_parents:
        make_folder(path.parent)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        raise _write_error(path, err) from None
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask())  # the permissions a plain open() would give
            view = memoryview(data)
            _write_all(fd, view[: len(view) // 2])
            _fault_point()
            _write_all(fd, view[len(view) // 2 :])
            os.fsync(fd)
        finally:
            os.close(fd)
        _fault_point()
        os.replace(tmp, path)  # replaces a link made meanwhile, never its target
    except BaseException as err:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(err, OSError):
            raise _write_error(path, err) from None
        raise
    _fault_point()
    with contextlib.suppress(OSError):  # the rename is durable once the folder is synced
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    return path


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def save_checkpoint(state: dict, path: Path) -> None:
    """Write ``state`` to ``path`` with :func:`write_file` (atomically, never through a link)."""
    buffer = io.BytesIO()
    torch.save({"format": CHECKPOINT_FORMAT, **state}, buffer)
    write_file(path, buffer.getvalue())


def write_npy(path: Path | str, array) -> Path:
    """Save a numpy array as ``.npy`` with :func:`write_file`."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, array)
    return write_file(path, buffer.getvalue())


def evaluation_to_keep(run_dir: Path | str, split: str, n_points: int, samples: int) -> dict | None:
    """The evaluation in ``eval.json`` when a new one of ``n_points`` points x ``samples`` samples
    on ``split`` must not replace it: it is of another split, or of more points or more samples
    (a quick ``--subset 50 --samples 500`` never replaces a full evaluation). None otherwise."""
    path = Path(run_dir) / EVAL_FILE
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
        fuller = saved["split"] != split or int(saved["n_points"]) > n_points or int(saved["samples"]) > samples
    except (OSError, ValueError, TypeError, KeyError):
        return None  # none, or not an evaluation pyro-vamp wrote: nothing to keep
    return saved if fuller else None


def remove_stale_temporaries(folder: Path) -> list[str]:
    """Delete the temporary files :func:`write_file` left in ``folder`` when a process was killed
    (call it with the folder's :class:`RunLock` held); returns their names."""
    removed = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            if _TEMPORARY.match(entry.name) and (entry.is_symlink() or entry.is_file(follow_symlinks=False)):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed.append(entry.name)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint (tensors and plain data only); :class:`InputError` if missing or corrupt."""
    path = Path(path)
    if not path.is_file():
        if (path.parent / CONFIG_FILE).is_file():  # a run that has not finished an epoch yet
            raise InputError(
                f"{path.parent} has no {path.name} yet (its training stopped before an epoch ended): continue "
                "it with the same pyro-vamp train options plus --resume"
            )
        raise InputError(f"no checkpoint at {path}; train first (pyro-vamp train --out {path.parent})")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except PermissionError as err:
        raise InputError(f"checkpoint {path} cannot be read ({err.strerror}); fix its permissions") from None
    except Exception as err:  # noqa: BLE001 - torch raises many types for a damaged file
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"checkpoint {path} is corrupt or unreadable ({reason}); retrain or restore it") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise InputError(f"{path} is not a pyro-vamp checkpoint; retrain or restore it")
    for key, kind in (("epoch", int), ("model", dict)):
        if not isinstance(state.get(key), kind):
            raise InputError(f"checkpoint {path} has no {key!r} entry, so it is incomplete; restore it or retrain")
    return state


def is_run_folder(run_dir: Path | str) -> bool:
    """Whether ``run_dir`` holds a ``config.json`` that pyro-vamp wrote (``train`` or ``fit``)."""
    path = Path(run_dir) / CONFIG_FILE
    if path.is_symlink() or not path.is_file():
        return False
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and isinstance(record.get("data"), dict) and ("config" in record or "fit" in record)


def can_resume(run_dir: Path | str) -> bool:
    """Whether ``train(..., resume=True)`` may continue ``run_dir``: a run folder pyro-vamp wrote, or
    one where a pyro-vamp command started and was stopped before it wrote anything (its lock file)."""
    run_dir = Path(run_dir)
    return is_run_folder(run_dir) or (
        (run_dir / LOCK_FILE).is_file() and not any(os.path.lexists(run_dir / n) for n in run_artefacts())
    )


def _holder() -> dict:
    return {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv), "since": time.ctime()}


class RunLock:
    """An exclusive lock on a run folder while a command writes it: ``fcntl.flock`` on
    ``RUN_DIR/.pyro-vamp.lock``, which records the holder (pid, host, command). A second command
    raises :class:`InputError` naming the holder. The kernel releases the lock when its process
    ends, even by ``kill -9``, so a lock is never stale. Entering it also refuses a run folder whose
    files are symbolic links and removes the temporary files a killed process left.

    ``existed``: whether the lock file was there before (a pyro-vamp command ran in the folder).
    A folder that does not exist is not created and not locked.
    """

    def __init__(self, run_dir: Path | str):
        self.run_dir, self.fd, self.existed = Path(run_dir), -1, False

    def __enter__(self) -> "RunLock":
        if not self.run_dir.is_dir():
            return self
        path = self.run_dir / LOCK_FILE
        self.existed = os.path.lexists(path)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise InputError(f"{path} is a symbolic link; remove it and run the command again") from None
            raise _write_error(path, err) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe_holder(os.pread(fd, 4096, 0))
            os.close(fd)
            raise InputError(
                f"{self.run_dir} is in use by another pyro-vamp command ({holder}); wait for it to end, "
                "or stop it, or choose another folder"
            ) from None
        except OSError as err:  # a file system without locks: go on, unprotected, and say so
            logger.warning(f"cannot lock {path} ({err.strerror}): do not run two commands in {self.run_dir} at once")
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(_holder()) + "\n").encode(), 0)
        self.fd = fd
        links = [n for n in run_artefacts() if (self.run_dir / n).is_symlink()]
        if links:
            self.__exit__()
            raise InputError(
                f"{self.run_dir / links[0]} is a symbolic link; pyro-vamp never writes through a link: "
                "remove it (or copy the folder without links) and run the command again"
            )
        remove_stale_temporaries(self.run_dir)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = -1


def _describe_holder(content: bytes) -> str:
    try:
        holder = json.loads(content.decode())
        return f"pid {holder['pid']} on {holder['host']} since {holder['since']}: {holder['command']}"
    except (ValueError, KeyError, TypeError):
        return "a process that is starting"


def holding_run_lock(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate a function whose first argument is a run folder: it runs holding :class:`RunLock`."""

    @functools.wraps(function)
    def locked(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        run_dir = cast("str | Path", args[0] if args else kwargs["run_dir"])
        with RunLock(Path(run_dir)):
            return function(*args, **kwargs)

    return locked


def environment_facts(device: torch.device) -> dict:
    """Library versions and the device, recorded in the run folder."""
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "pyro": pyro.__version__,
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "threads": torch.get_num_threads(),
        "allocator": dict(MALLOC_APPLIED),
        "openmp": openmp_settings(),
    }


def dataset_facts(dataset: ImageDataset) -> dict:
    """What a model needs to know of its data, as plain values (``config.json``'s ``data``): the
    image shape (None for vectors), channels, D, the likelihood, the pseudo-inputs' start and range,
    the label names, and the standardisation of real-valued data (per-dimension mean and std)."""
    return {
        "image_shape": None if dataset.image_shape is None else list(dataset.image_shape),
        "channels": dataset.channels,
        "input_dim": dataset.input_dim,
        "likelihood": dataset.likelihood,
        "pseudo_init": list(dataset.pseudo_init),
        "data_range": list(dataset.data_range),
        "train_size": len(dataset.train),
        "label_names": None if dataset.label_names is None else list(dataset.label_names),
        "standardize": None if dataset.standardize is None else [t.tolist() for t in dataset.standardize],
    }


def model_for(config: TrainConfig, facts: dict, train_images: torch.Tensor | None = None) -> LatentVariableModel:
    """The model ``config`` describes for data with ``facts`` (:func:`dataset_facts`; run folders
    written before a fact existed get its old default)."""
    shape = facts["image_shape"]
    return build_model(
        config,
        None if shape is None else (int(shape[0]), int(shape[1])),
        facts["likelihood"],
        (float(facts["pseudo_init"][0]), float(facts["pseudo_init"][1])),
        train_images,
        input_dim=facts.get("input_dim"),
        channels=int(facts.get("channels", 1)),
        data_range=tuple(facts.get("data_range", (0.0, 1.0))),
    )


def run_record(config: TrainConfig, dataset: ImageDataset, source: dict) -> dict:
    """What ``config.json`` says of a run that ``pyro-vamp train`` made: the resolved config, the
    dataset facts that :func:`load_run` needs to rebuild the model, and where the data came from
    (``source``: :func:`pyro_vamp.data.source_record`); the environment is added by
    :meth:`RunWriter.start`."""
    return {"config": config.to_dict(), "data": dataset_facts(dataset), "source": source}


def _settings_of(checkpoint: dict) -> dict:
    """The settings a checkpoint was written with; a setting that did not exist yet when it was
    written (e.g. ``precision``) has its default, the value that run had in effect."""
    settings = checkpoint.get("config")
    return {**TrainConfig().to_dict(), **settings} if isinstance(settings, dict) else {}


class RunWriter:
    """Everything training writes into a run folder, on the main process only (``is_main``): the
    record ``config.json``, the ``metrics.jsonl`` lines and the two checkpoints.

    ``settings`` (a dict of plain values) is stored in every checkpoint, and a run is only resumed
    with the same settings, but for those in ``may_change`` (each change is recorded in
    ``config.json`` under ``changes``). Use it inside :meth:`claim`.
    """

    def __init__(self, run_dir: Path, settings: dict, is_main: bool = True, may_change: tuple[str, ...] = ()):
        self.run_dir, self.settings, self.is_main, self.may_change = Path(run_dir), settings, is_main, may_change
        self.changes: list[dict] = []

    @property
    def last(self) -> Path:
        return self.run_dir / LAST_CHECKPOINT

    @property
    def best(self) -> Path:
        return self.run_dir / BEST_CHECKPOINT

    @contextlib.contextmanager
    def claim(self, resume: bool) -> Iterator["RunWriter"]:
        """Create the folder (a new run), hold its :class:`RunLock` (main process) and check that it
        may be started (no run artefact, nobody's file, in it) or resumed (a folder pyro-vamp wrote)."""
        if not self.is_main:
            yield self
            return
        if resume and not self.run_dir.is_dir():
            raise InputError(f"--resume: {self.run_dir} does not exist; start the run without --resume")
        created = not self.run_dir.exists()
        if not resume:
            make_folder(self.run_dir)
        with RunLock(self.run_dir) as lock:
            self.check_start(resume, lock.existed)
            try:
                yield self
            except BaseException:
                if created and not any(os.path.lexists(self.run_dir / n) for n in run_artefacts()):
                    with contextlib.suppress(OSError):  # failed before writing anything: leave no folder
                        (self.run_dir / LOCK_FILE).unlink()
                        self.run_dir.rmdir()
                raise

    def check_start(self, resume: bool, locked_before: bool = False) -> None:
        """A folder that holds any run artefact, or a file of one's name, is never trained into afresh;
        ``resume`` only continues a folder pyro-vamp wrote (``locked_before``: its lock file was there)."""
        found = [name for name in run_artefacts() if os.path.lexists(self.run_dir / name)]
        ours = is_run_folder(self.run_dir)
        if resume:
            if not ours and (found or not locked_before):
                if not found:
                    raise InputError(f"--resume: {self.run_dir} holds no run to resume; start it without --resume")
                raise InputError(
                    f"--resume: {self.run_dir} holds {', '.join(found)} but no config.json of a pyro-vamp run, "
                    "so there is nothing to resume; choose another --out"
                )
        elif found:
            if ours:
                raise InputError(
                    f"{self.run_dir} already holds a run ({', '.join(found)}); pass --resume to continue it "
                    "or choose another --out"
                )
            raise InputError(
                f"{self.run_dir} holds {', '.join(found)}, which training would overwrite, and is not a "
                "pyro-vamp run folder; choose another --out"
            )

    def _read(self, path: Path, device: torch.device) -> tuple[dict | None, InputError | None]:
        if not path.is_file():
            return None, None
        try:
            saved = load_checkpoint(path, map_location=device)
        except InputError as err:
            return None, err
        keep = [k for k in self.settings if k not in self.may_change]
        config = _settings_of(saved)
        diff = sorted(k for k in keep if config.get(k) != self.settings[k])
        if diff:
            raise InputError(
                f"--resume: {path} was trained with other settings ({', '.join(diff)}); "
                "use the same options or a new --out folder"
            )
        return saved, None

    def load_last(self, device: torch.device) -> dict | None:
        """The checkpoint a resumed run continues from, refused when written with other settings:
        the last one; the best one when it is newer (a crash between their writes) or the last one
        is missing or unreadable (the last one is then made its copy); None when the run stopped
        before its first epoch ended (it starts from the beginning). Says which, but for the last."""
        last, last_error = self._read(self.last, device)
        best, best_error = self._read(self.best, device)
        if last is not None and (best is None or last["epoch"] - 0.5 * bool(last.get("in_epoch")) >= best["epoch"]):
            chosen = last
        elif best is not None:
            why = (
                f"{LAST_CHECKPOINT} is unreadable ({last_error})"
                if last_error
                else f"{LAST_CHECKPOINT} is missing (the process died between the two writes)"
                if last is None
                else f"{LAST_CHECKPOINT} holds the older epoch {last['epoch']} (the process died between two writes)"
            )
            if self.is_main:
                logger.warning(f"resuming from {self.best} (epoch {best['epoch']}): {why}")
                save_checkpoint(best, self.last)
            chosen = best
        elif (error := last_error or best_error) is not None:
            raise error
        else:
            if self.is_main:
                logger.warning(
                    f"{self.run_dir} holds no checkpoint: its run stopped before its first epoch ended; "
                    "training it from the beginning"
                )
            return None
        config = _settings_of(chosen)
        self.changes = [
            {"after_epoch": chosen["epoch"], "setting": k, "was": config.get(k), "now": self.settings[k]}
            for k in self.may_change
            if k in self.settings and config.get(k) != self.settings[k]
        ]
        return chosen

    def start(
        self, record: dict, history: list[dict], device: torch.device, processes: int, config: bool = True
    ) -> None:
        """Write ``config.json`` (``record``, the environment and the setting changes of every resume;
        unless ``config`` is False) and ``metrics.jsonl`` (``history``, the checkpoint's)."""
        if not self.is_main:
            return
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if config:
            before = read_run_record(self.run_dir).get("changes", []) if is_run_folder(self.run_dir) else []
            changes = {"changes": before + self.changes} if before or self.changes else {}
            full = {**record, **changes, "environment": {**environment_facts(device), "processes": processes}}
            write_file(self.run_dir / CONFIG_FILE, (json.dumps(full, indent=2) + "\n").encode())
        self._write_metrics(history)

    def _write_metrics(self, history: list[dict]) -> None:
        write_file(self.run_dir / METRICS_FILE, "".join(json.dumps(r) + "\n" for r in history).encode())

    def save_interrupted(self, state: dict) -> None:
        """The checkpoint of an epoch an interrupt cut short (``state`` holds the position in it)."""
        if self.is_main:
            save_checkpoint({**state, "config": self.settings}, self.last)

    def save_epoch(self, state: dict, record: dict, improved: bool) -> None:
        """The end of an epoch: the best checkpoint if it ``improved``, then the last, then
        ``metrics.jsonl`` rewritten from the history (``state["metrics"]``, ending with ``record``), so
        that after a crash at any moment the newest checkpoint holds every epoch the metrics show."""
        if not self.is_main:
            return
        checkpoint = {**state, "config": self.settings}
        if improved:
            save_checkpoint(checkpoint, self.best)
        save_checkpoint(checkpoint, self.last)
        self._write_metrics(state["metrics"])


@dataclass
class LoadedRun:
    """A trained run: its config, the facts of its data (:func:`dataset_facts`), and the model with
    the chosen checkpoint's weights; :meth:`data` gives its dataset."""

    run_dir: Path
    config: TrainConfig
    facts: dict
    model: LatentVariableModel
    epoch: int
    data_dir: str | None = None
    _dataset: ImageDataset | None = field(default=None, repr=False)

    def data(self) -> ImageDataset:
        """The run's dataset (from ``data_dir`` if given to :func:`load_run`), read once: the one
        :func:`load_run` read already for an Exemplar prior's training images, else read now."""
        if self._dataset is None:
            self._dataset = load_config_data(self.config, self.data_dir)
        return self._dataset

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """(H, W) of the images, None for plain vectors."""
        shape = self.facts["image_shape"]
        return None if shape is None else (int(shape[0]), int(shape[1]))

    @property
    def likelihood(self) -> str:
        return self.facts["likelihood"]

    @property
    def channels(self) -> int:
        return int(self.facts.get("channels", 1))


def read_run_record(run_dir: Path) -> dict:
    """The parsed ``config.json`` of a run folder; :class:`InputError` if it is not a run folder."""
    path = Path(run_dir) / CONFIG_FILE
    if not Path(run_dir).is_dir():
        raise InputError(f"run folder {run_dir} does not exist; train one with pyro-vamp train --out {run_dir}")
    try:
        return json.loads(path.read_text())
    except PermissionError as err:
        raise InputError(f"{path} cannot be read ({err.strerror}); fix its permissions") from None
    except OSError:
        raise InputError(f"{path} is missing: {run_dir} is not a pyro-vamp run folder") from None
    except ValueError as err:
        raise InputError(f"{path} is not valid JSON ({err}); restore it or retrain") from None


def load_run(
    run_dir: Path | str,
    which: str = "best",
    device: torch.device | str = "cpu",
    *,
    data_dir: str | None = None,
    dataset: ImageDataset | None = None,
) -> LoadedRun:
    """Load a run folder's model from its ``best`` or ``last`` checkpoint onto ``device``.

    Own data (``--data``) whose content changed since training is refused, unless the caller gives
    the ``dataset`` it already holds (the trackers during training, which read the data at the start;
    hashing the files again every few epochs would re-read them). A model whose prior is made of the
    training images themselves (the Exemplar prior, whose checkpoint does not hold them) gets them
    back from ``dataset``, else from the data the run names (``data_dir`` overrides the run's data
    folder); the returned run keeps the dataset so read for :meth:`LoadedRun.data`.
    """
    run_dir = Path(run_dir)
    record = read_run_record(run_dir)
    config = TrainConfig.from_dict(record["config"], str(run_dir / CONFIG_FILE))
    if dataset is None:
        check_source(record.get("source", {}), str(run_dir))
    model = model_for(config, record["data"])
    name = BEST_CHECKPOINT if which == "best" else LAST_CHECKPOINT
    state = load_checkpoint(run_dir / name)
    try:
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError) as err:
        first = str(err).strip().splitlines()[0]
        raise InputError(f"{run_dir / name} does not match the run's model ({first}); retrain or restore it") from None
    run = LoadedRun(run_dir, config, record["data"], model, int(state["epoch"]), data_dir, dataset)
    attach = getattr(model.prior, "attach_exemplars", None)
    if callable(attach):
        try:
            attach(run.data().train.unit_interval())
        except ValueError as err:
            raise InputError(f"{run_dir}: {err}") from None
    model.to(device)
    return run


def read_metrics(run_dir: Path) -> list[dict]:
    """The per-epoch records of ``metrics.jsonl`` (empty if there are none)."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        return []
    try:
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    except ValueError as err:
        raise InputError(f"{path} is not valid JSON lines ({err}); restore it or retrain") from None
