"""What several test modules share (as Pyro's tests/common.py): import it as ``from tests.common import ...``.

``tests`` is a package (every test folder has an ``__init__.py``), so pytest's default import mode puts
the repository root on ``sys.path`` and test modules need no ``sys.path`` edits of their own.
"""

import importlib.util
import os
import signal
from pathlib import Path
from types import ModuleType

#: The checkout's root folder.
REPO = Path(__file__).resolve().parents[1]
#: The real Frey Faces file, beside the checkout in this project's work area.
FREY_DIR = Path(os.environ.get("PYRO_VAMP_FREY_DIR", REPO.parent / "shared" / "data"))


def load_benchmark(name: str) -> ModuleType:
    """Load ``benchmarks/<name>.py`` as a module without putting ``benchmarks/`` on ``sys.path``.

    Only for benchmark modules that import nothing from ``benchmarks/`` themselves (``reference``).
    """
    path = REPO / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"benchmarks_{name}", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class InterruptAt:
    """Training hooks that send this process ``signum`` after ``step`` steps of ``epoch``."""

    def __init__(self, epoch, step, signum=signal.SIGINT):
        self.target, self.epoch, self.steps, self.signum = (epoch, step), 0, 0, signum

    def start_epoch(self, epoch, num_steps, beta):
        self.epoch, self.steps = epoch, 0

    def step(self, loss):
        self.steps += 1
        if (self.epoch, self.steps) == self.target:
            os.kill(os.getpid(), self.signum)

    def end_epoch(self, record):
        pass
