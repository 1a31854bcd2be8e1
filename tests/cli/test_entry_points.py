"""The ways in: ``python -m pyro_vamp``, the ``pyro-vamp`` script, ``--version``; answers at once
(no torch for ``--help`` and ``--version``); ``pyro-vamp datasets`` readable at 80 columns."""

import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from click.testing import CliRunner

from pyro_vamp.cli.main import cli
from pyro_vamp.data import DATASETS

ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
VERSION_LINE = f"pyro-vamp {version('pyro-vamp')} (torch {version('torch')}, pyro-ppl {version('pyro-ppl')}, Python "


def run(*args):
    return subprocess.run(args, capture_output=True, text=True, env=ENV, timeout=120)


@pytest.mark.slow
def test_python_dash_m_pyro_vamp_runs_the_command_line():
    result = run(sys.executable, "-m", "pyro_vamp", "--help")
    assert result.returncode == 0, result.stderr
    assert "Usage: pyro-vamp" in result.stdout and "train" in result.stdout and "--version" in result.stdout
    result = run(sys.executable, "-m", "pyro_vamp", "--version")
    assert result.returncode == 0 and result.stdout.startswith(VERSION_LINE), result.stdout
    bad = run(sys.executable, "-m", "pyro_vamp", "no-such-command")
    assert bad.returncode == 2 and "No such command" in bad.stderr


@pytest.mark.slow
def test_the_installed_script_prints_the_versions():
    script = Path(sys.executable).parent / "pyro-vamp"
    if not script.is_file():
        pytest.skip("the pyro-vamp script is not installed beside this Python")
    result = run(str(script), "--version")
    assert result.returncode == 0 and result.stdout.strip().startswith(VERSION_LINE)
    assert re.fullmatch(r".*Python \d+\.\d+\.\d+\)", result.stdout.strip())


@pytest.mark.slow
@pytest.mark.parametrize("args", [["--help"], ["train", "--help"], ["eval", "--help"], ["--version"]])
def test_help_and_version_load_neither_torch_nor_pyro(args):
    code = (
        "import sys; from pyro_vamp.cli.main import main; code = main(sys.argv[1:]); "
        "heavy = [m for m in ('torch', 'pyro', 'rich', 'numpy') if m in sys.modules]; "
        "print('LOADED', code, *heavy)"
    )
    result = run(sys.executable, "-c", code, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "LOADED 0"


def test_datasets_lists_one_block_per_dataset_with_whole_download_commands(tmp_path):
    result = CliRunner().invoke(cli, ["datasets", "--data-dir", str(tmp_path)], terminal_width=80)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    headers = [line for line in lines if re.match(r"^[a-z0-9-]+: (present|missing)", line)]
    assert [h.split(":")[0] for h in headers] == list(DATASETS)
    assert headers[0] == "mnist5k: present, 1.1 MiB"  # the embedded default
    for name in list(DATASETS)[1:]:  # nothing in an empty folder
        assert f"{name}: missing" in headers
        assert f"        pyro-vamp datasets download {name} --data-dir {tmp_path}" in lines
    paths = {line for line in lines if line.startswith("        /")}
    assert all(len(line) <= 80 for line in lines if line not in paths and "--data-dir" not in line)
