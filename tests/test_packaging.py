"""A plain (non-editable) install holds every subpackage and the type marker."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def packages_under(root: Path) -> set[str]:
    return {str(init.parent.relative_to(root)) for init in root.rglob("__init__.py")}


@pytest.mark.slow
def test_a_plain_install_holds_every_subpackage(tmp_path):
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    expected = packages_under(REPO / "pyro_vamp") | {"cli"}  # the command line installs as pyro_vamp.cli
    assert packages_under(site / "pyro_vamp") == expected
    assert (site / "pyro_vamp" / "py.typed").is_file()
