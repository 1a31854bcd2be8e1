"""The API page renders the reStructuredText docstrings: no literal roles or ``Example::`` in the built
HTML, examples as code blocks, class prose outside the parameter tables (docs/griffe_sphinx.py)."""

import html
import importlib.util
import re
import subprocess
import sys

import pytest

from tests.common import REPO

pytest.importorskip("mkdocstrings")


def load_extension():
    spec = importlib.util.spec_from_file_location("griffe_sphinx", REPO / "docs" / "griffe_sphinx.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_roles_literal_blocks_and_trailing_prose_become_markdown():
    to_markdown = load_extension().to_markdown
    text = (
        "Uses :class:`~pyro_vamp.priors.Prior` and :meth:`frozen`, see :mod:`pyro_vamp.runtime`.\n"
        "\n"
        ":param x: data :func:`f` reads,\n"
        "    over two lines.\n"
        ":returns: a tensor.\n"
        "\n"
        "Example::\n"
        "\n"
        "    y = f(x)\n"
        "    y.sum()\n"
    )
    assert to_markdown(text) == (
        "Uses `Prior` and `frozen`, see `pyro_vamp.runtime`.\n"
        "\n"
        "Example:\n"
        "\n"
        "```python\n"
        "y = f(x)\n"
        "y.sum()\n"
        "```\n"
        "\n"
        ":param x: data `f` reads,\n"
        "    over two lines.\n"
        ":returns: a tensor."
    )
    assert to_markdown("A :class:`title <pyro_vamp.X>`.") == "A `title`."
    assert to_markdown("No reST here.") == "No reST here."


@pytest.fixture(scope="module")
def api_html(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert not (site / "griffe_sphinx.py").exists()  # the extension is not published as a page file
    return (site / "api" / "index.html").read_text()


@pytest.mark.slow
def test_the_built_api_page_shows_no_raw_restructured_text(api_html):
    text = html.unescape(re.sub(r"<[^>]+>", "", api_html))  # what a reader sees
    for raw in (":meth:", ":class:", ":func:", ":mod:", ":data:", ":attr:", ":exc:", "Example::", "::\n"):
        assert raw not in text, raw
    assert text.count("VampPrior") > 3
    assert api_html.count("Example:</p>") >= 5  # the examples, each followed by a highlighted code block
    assert re.search(r"Example:</p>\s*<div class=\"(language-python )?highlight\">", api_html)


@pytest.mark.slow
def test_class_prose_is_not_inside_the_last_parameter_cell(api_html):
    for phrase in ("The encoder runs once on all K pseudo-inputs", "Values are the bin centres"):
        before = api_html[: api_html.index(phrase)]
        assert before.rfind("<table") < before.rfind("</table>") or "<table" not in before, phrase
