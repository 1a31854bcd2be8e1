"""The documentation: the site builds strictly, and every tutorial's code runs as written.

Python blocks of a page run in order in one namespace; `pyro-vamp ...` lines of bash blocks run
as commands. Both run in a scratch folder with the smoke switch PYRO_VAMP_SMOKE=1, which the
tutorials read to choose tiny settings, and the CLI commands get smoke options appended
(click takes the last value of an option), so a tutorial that breaks fails the tests.
"""

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from tests.common import REPO

#: Every test here runs pages as subprocesses or builds the site.
pytestmark = pytest.mark.slow

PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
SMOKE_OPTIONS = {
    "train": ["--epochs", "2", "--warmup", "1", "--components", "10"],
    "eval": ["--samples", "20", "--subset", "50"],
    "sample": ["-n", "4"],
    "sweep": ["--epochs", "1", "--samples", "10", "--subset", "20", "--no-figures"],
}
BLOCK = re.compile(r"```(python|bash)\n(.*?)```", re.S)


def run_cli_line(line: str, cwd: Path, env: dict) -> None:
    args = shlex.split(line)[1:]
    args += SMOKE_OPTIONS.get(args[0], [])
    result = subprocess.run(
        [sys.executable, "-m", "pyro_vamp.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{line}\n{result.stderr}"


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_runs(page, tmp_path, monkeypatch):
    env = {
        **os.environ,
        "PYRO_VAMP_SMOKE": "1",
        "PYRO_VAMP_FIGURES": str(tmp_path / "figures"),
        "PYRO_VAMP_RUNS": str(tmp_path / "runs"),
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    for key in ("PYRO_VAMP_SMOKE", "PYRO_VAMP_FIGURES", "PYRO_VAMP_RUNS"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.chdir(tmp_path)
    (tmp_path / "configs").symlink_to(REPO / "configs")  # pages' commands run from the repository root
    namespace = {"__name__": "__tutorial__"}
    for language, code in BLOCK.findall(page.read_text()):
        if language == "python":
            exec(compile(code, str(page), "exec"), namespace)
        else:
            for line in code.splitlines():
                if line.startswith("pyro-vamp "):
                    run_cli_line(line, tmp_path, env)


def test_site_builds_strictly(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "api" / "index.html").read_text().count("VampPrior") > 3
