"""Tutorials a reader can run from a checkout without writing into it, and that say how long they take."""

import re

import pytest

from tests.common import REPO

yaml = pytest.importorskip("yaml")


def tutorial_pages() -> list[str]:
    nav = yaml.safe_load((REPO / "mkdocs.yml").read_text())["nav"]
    tutorials = next(entry["Tutorials"] for entry in nav if isinstance(entry, dict) and "Tutorials" in entry)
    return [next(iter(item.values())) for item in tutorials]


def pages():
    return tutorial_pages()


def test_the_tutorials_are_found():
    assert {"quickstart.md", "two-level.md", "evaluation.md", "tracking.md"} <= set(tutorial_pages())


@pytest.mark.parametrize("name", pages())
def test_each_tutorial_says_how_long_it_takes(name):
    text = (REPO / "docs" / name).read_text()
    match = re.search(r"How long this page takes: (.{0,400})", text, re.S)
    assert match, f"{name} does not say how long it takes"
    assert re.search(r"\d+(\.\d+)? ?(s|seconds|min|minutes|hours)\b", match.group(1)), match.group(1)


@pytest.mark.parametrize("name", pages())
def test_no_tutorial_writes_into_the_repository_by_default(name):
    text = (REPO / "docs" / name).read_text()
    code = "\n".join(re.findall(r"```python\n(.*?)```", text, re.S))
    # an output folder comes from the environment, else a temporary folder: never a fixed default
    defaults = re.findall(r"os\.environ\.get\(\s*\"(PYRO_VAMP_\w+)\"\s*,\s*([^)]+)\)", code)
    assert not [(key, value) for key, value in defaults if key in ("PYRO_VAMP_FIGURES", "PYRO_VAMP_RUNS")]
    assert "docs/images" not in code
    for key in ("PYRO_VAMP_FIGURES", "PYRO_VAMP_RUNS"):
        if key in code:
            assert re.search(rf"os\.environ\.get\(\"{key}\"\) or tempfile\.mkdtemp\(", code), key
