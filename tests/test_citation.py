"""CITATION.cff is valid Citation File Format 1.2.0 (checked against the schema, offline), names the
paper as its preferred citation, and agrees with the package version and the README's BibTeX."""

import json
import re
import sys

import pytest

from tests.common import REPO

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

jsonschema = pytest.importorskip("jsonschema")
yaml = pytest.importorskip("yaml")

SCHEMA = REPO / "tests" / "schemas" / "citation-file-format-1.2.0.json"


def citation() -> dict:
    return yaml.safe_load((REPO / "CITATION.cff").read_text())


def test_citation_file_is_valid_against_the_cff_schema():
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(citation()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_the_schema_check_catches_a_broken_file():
    broken = {**citation(), "cff-version": "1.2.0", "authors": [{"nickname": 3}], "colour": "blue"}
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert len(list(validator.iter_errors(broken))) >= 2


def test_the_paper_is_the_preferred_citation_and_the_version_is_the_package_version():
    data = citation()
    paper = data["preferred-citation"]
    assert paper["title"] == "VAE with a VampPrior" and paper["year"] == 2018
    assert [a["family-names"] for a in paper["authors"]] == ["Tomczak", "Welling"]
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert data["version"] == project["version"] and data["license"] == project["license"]["text"]


def test_the_readme_ends_with_a_citing_section_whose_bibtex_matches():
    readme = (REPO / "README.md").read_text()
    sections = re.findall(r"^## (.+)$", readme, re.M)
    assert sections[-1] == "Citing"
    citing = readme.split("\n## Citing\n", 1)[1]
    entry = re.search(r"```bibtex\n(@inproceedings\{.*?\n\})\n```", citing, re.S)
    assert entry, "no @inproceedings BibTeX block in the Citing section"
    fields = dict(re.findall(r"^\s+(\w+)\s*=\s*\{(.*)\},?$", entry.group(1), re.M))
    paper = citation()["preferred-citation"]
    assert fields["year"] == str(paper["year"]) and fields["volume"] == str(paper["volume"])
    assert fields["pages"] == f"{paper['start']}--{paper['end']}" and fields["url"] == paper["url"]
    assert "CITATION.cff" in citing
