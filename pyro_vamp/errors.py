"""Every exception type of pyro-vamp, in one place.

Anything the user can fix (a wrong dataset name, a missing file, a corrupt checkpoint, a bad
config value) raises :class:`InputError` with a one-line message saying what is wrong and how
to fix it; the CLI turns it into that line on stderr and exit code 2. Training raises
:class:`TrainingError` when it cannot go on and :class:`TrainingInterrupted` after a signal.
"""

import signal
from pathlib import Path


class InputError(ValueError):
    """Bad input from the user: the message is one line and says how to fix it."""


class DownloadError(InputError):
    """A download could not be completed or verified (one line, says what to do)."""


class TrainingError(RuntimeError):
    """Training cannot go on (a NaN or Inf loss, gradient, parameter or validation ELBO); the
    checkpoints are left as they were."""


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM arrived; the current step finished and a checkpoint was saved.

    ``exit_code`` is 128 + the signal number (130 for SIGINT, 143 for SIGTERM); ``is_main`` is
    False on the processes of a data-parallel run other than rank 0 (which saved the checkpoint).
    """

    def __init__(self, signum: int, epoch: int, step: int, path: Path, is_main: bool = True):
        self.exit_code, self.is_main = 128 + signum, is_main
        super().__init__(
            f"{signal.Signals(signum).name} at epoch {epoch}, step {step}: saved {path}; continue with --resume"
        )
