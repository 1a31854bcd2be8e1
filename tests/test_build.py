"""A release is one upload away: ``python -m build`` makes the sdist and the wheel, and the wheel,
installed into a fresh virtual environment, gives a working ``pyro-vamp`` command."""

import subprocess
import sys
import sysconfig
import tarfile
import venv
import zipfile

import pytest

from tests.common import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

pytest.importorskip("build")


def run(*args, **kwargs):
    result = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert result.returncode == 0, f"{' '.join(map(str, args))}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.slow
def test_the_sdist_and_wheel_build_and_the_wheel_installs_and_runs(tmp_path):
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    dist = tmp_path / "dist"
    # --no-isolation: the build backend (setuptools) of this environment; no network needed
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(REPO))
    wheel = dist / f"pyro_vamp-{version}-py3-none-any.whl"
    sdist = dist / f"pyro_vamp-{version}.tar.gz"
    assert wheel.is_file() and sdist.is_file(), sorted(p.name for p in dist.iterdir())
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"pyro_vamp/__init__.py", "pyro_vamp/cli/main.py", "pyro_vamp/training/tracking.py"} <= names
    assert "pyro_vamp/py.typed" in names and not any(n.startswith("tests/") for n in names)
    with tarfile.open(sdist) as archive:
        members = {m.name.split("/", 1)[1] for m in archive.getmembers() if "/" in m.name}
    assert {"pyproject.toml", "README.md", "pyro_vamp/__init__.py", "cli/main.py"} <= members

    # a fresh environment that sees this one's packages (torch, Pyro, click...) but not its pyro-vamp
    env_dir = tmp_path / "fresh"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = run(str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    with open(f"{site}/parent-environment.pth", "w") as f:
        f.write(sysconfig.get_paths()["purelib"] + "\n")  # a plain path: the editable install's hook stays off
    run(sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", str(wheel))
    code = "import pyro_vamp; print(pyro_vamp.__file__, pyro_vamp.__version__)"
    located = run(str(python), "-c", code, cwd=tmp_path).stdout  # not from the checkout in the working folder
    assert located.startswith(str(env_dir)) and located.split()[1] == version  # the wheel's copy
    help_text = run(str(env_dir / "bin" / "pyro-vamp"), "--help", cwd=tmp_path).stdout
    assert "Usage: pyro-vamp" in help_text and "train" in help_text and "sweep" in help_text
    version_line = run(str(env_dir / "bin" / "pyro-vamp"), "--version", cwd=tmp_path).stdout
    assert version_line.startswith(f"pyro-vamp {version} (torch ")
