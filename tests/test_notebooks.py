"""The notebooks in notebooks/: stored without outputs, and each runs top to bottom.

Each notebook is executed with nbclient in a fresh kernel of this interpreter, at reduced
sizes set through the environment variables its ``parameters`` cell reads (a small LA,
few replications, a short run), from the project folder so scenario names resolve, with
its results written to a temporary directory.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from needs import require_module

nbformat = require_module("nbformat")
nbclient = require_module("nbclient")
require_module("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {"01_quickstart.ipynb", "02_reform_explorer.ipynb", "03_sensitivity.ipynb",
            "04_validation.ipynb"}

#: Sizes of the test runs (read by each notebook's parameters cell).
SMALL = {
    "CHILDSIM_NB_POPULATION": "20000",
    "CHILDSIM_NB_REPS": "2",
    "CHILDSIM_NB_YEARS": "0.5",
    "CHILDSIM_NB_WARMUP": "0.25",
    "CHILDSIM_NB_SAMPLES": "2",
    "CHILDSIM_NB_POINT_REPS": "1",
    "CHILDSIM_NB_WORKERS": "2",
}
#: Seconds any one cell may take.
CELL_TIMEOUT = 300
KERNEL = "python3"


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _ids(path: Path) -> str:
    return path.stem


def test_the_notebooks_are_there() -> None:
    assert {p.name for p in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_is_stored_without_outputs(path: Path) -> None:
    nb = _read(path)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code, f"{path.name} has no code cells"
    for i, cell in enumerate(code):
        assert cell.outputs == [], f"{path.name}: code cell {i} has stored outputs"
        assert cell.execution_count is None, f"{path.name}: code cell {i} has a count"
    assert "parameters" in code[0].metadata.get("tags", []), (
        f"{path.name}: the first code cell must be tagged 'parameters'")
    assert "CHILDSIM_NB_" in code[0].source


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory with a ``python3`` kernel spec running this interpreter."""
    data = tmp_path_factory.mktemp("jupyter-data")
    spec = data / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (tests)",
        "language": "python",
    }), encoding="utf-8")
    return data


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids)
def test_notebook_runs(path: Path, tmp_path: Path, kernel_dir: Path,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in SMALL.items():
        monkeypatch.setenv(key, value)
    out = tmp_path / "results"
    monkeypatch.setenv("CHILDSIM_NB_OUT", str(out))
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_dir))  # searched before the user's
    monkeypatch.chdir(ROOT)
    nb = _read(path)
    client = nbclient.NotebookClient(
        nb, timeout=CELL_TIMEOUT, kernel_name=KERNEL,
        resources={"metadata": {"path": str(ROOT)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as err:  # pragma: no cover - on failure
        pytest.fail(f"{path.name} failed:\n{err}")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    figures = [o for o in outputs if "image/png" in o.get("data", {})]
    assert figures, f"{path.name} drew no figure"
    assert out.is_dir() and any(out.rglob("manifest.json")), (
        f"{path.name} wrote no result directory under CHILDSIM_NB_OUT")
