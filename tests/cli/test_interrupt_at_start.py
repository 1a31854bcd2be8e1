"""Ctrl-C in the first seconds of a command (issue 17.7b): exit 130 with one line, not a traceback.

The moment is driven by an import hook (a ``sitecustomize`` module on ``PYTHONPATH``) that sends the
process SIGINT when the command line first imports a module: click at start-up (before ``main``
runs), torch while a command loads it."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

HOOK = """
import os, signal, sys

class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == os.environ["INTERRUPT_AT_IMPORT"] and not getattr(self, "done", False):
            self.done = True
            os.kill(os.getpid(), signal.SIGINT)
        return None

sys.meta_path.insert(0, CtrlC())
"""


@pytest.mark.parametrize("module", ["click", "torch"])
@pytest.mark.parametrize("command", [["train", "--epochs", "1"], ["eval", "RUN"], ["datasets"]])
def test_ctrl_c_while_starting_exits_130_with_one_line(module, command, tmp_path):
    (tmp_path / "sitecustomize.py").write_text(HOOK)
    args = [str(tmp_path / "run") if a == "RUN" else a for a in command]
    if command[0] == "train":
        args += ["--out", str(tmp_path / "run")]
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "INTERRUPT_AT_IMPORT": module, "OMP_WAIT_POLICY": "PASSIVE"}
    result = subprocess.run(
        [sys.executable, "-m", "pyro_vamp.cli", *args], capture_output=True, text=True, env=env, timeout=600
    )
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip().splitlines() == ["interrupted (SIGINT)"], result.stderr
    assert not (tmp_path / "run").exists()
