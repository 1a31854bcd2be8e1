"""notebooks/quickstart.ipynb runs top to bottom in a real Jupyter kernel (the smoke settings), and
shows its three figures inline."""

import json

import pytest

from tests.common import REPO

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = REPO / "notebooks" / "quickstart.ipynb"


@pytest.mark.slow
def test_the_quickstart_notebook_runs_in_a_kernel(tmp_path, monkeypatch):
    for key, value in {
        "PYRO_VAMP_SMOKE": "1",
        "PYRO_VAMP_RUNS": str(tmp_path / "runs"),
        "OMP_WAIT_POLICY": "PASSIVE",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }.items():
        monkeypatch.setenv(key, value)  # the kernel inherits this environment
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")  # stored clean
    client = nbclient.NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, if a cell fails
    outputs = [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if o.output_type == "display_data" and "image/png" in o.get("data", {})]
    assert len(images) == 3  # samples, pseudo-inputs, the log-likelihood histogram
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "test ln p(x) = -" in text and "best validation ELBO" in text
    summary = json.loads((tmp_path / "runs" / "notebook-hvae-vamp" / "eval.json").read_text())
    assert summary["n_points"] == 100 and summary["samples"] == 20
    assert not any(tmp_path.glob("*.png"))  # nothing written next to the notebook
