"""A plain (non-editable) install holds every subpackage and the type marker."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.common import REPO


def packages_under(root: Path) -> set[str]:
    return {str(init.parent.relative_to(root)) for init in root.rglob("__init__.py")}


@pytest.mark.slow
def test_a_plain_install_holds_every_subpackage(tmp_path):
    source, site = tmp_path / "source", tmp_path / "site"  # a copy: the build leaves build/ beside the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in ("pyro_vamp", "cli"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    expected = packages_under(REPO / "pyro_vamp") | {"cli"}  # the command line installs as pyro_vamp.cli
    assert packages_under(site / "pyro_vamp") == expected
    assert (site / "pyro_vamp" / "py.typed").is_file()
