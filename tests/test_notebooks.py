"""Every notebook under notebooks/ executes top to bottom without a cell error (nbclient, kernel ``python3``).

Each runs in a fresh temporary working directory with ``HFT_HOME`` pointing at a temporary folder, so a notebook
can neither rely on the repository as its working directory nor touch the user's store. Committed notebooks keep
their outputs cleared (CI executes them).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts hft or the service as processes: outside the README's test command

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT_S = 600
# what a reader is told each notebook shows: (at least this many figures, strings its outputs contain)
SHOWS = {
    "01_replay.ipynb": (3, ["RunResult(", "the folder read back holds the same tables: True", "same run hash: False",
                            "first divergence:", "'run_hash':"]),
    "02_alpha_research.ipynb": (2, ["'ic_ir': ", "'t_stat': ", "passed: ", "FamilyStats(n_trials="]),
    "03_lifecycle.ipynb": (0, ["promoted: ", "depth_tilt"]),
}


def _execute(nb, cwd: Path, home: Path) -> None:
    from nbclient import NotebookClient

    env = {**os.environ, "HFT_HOME": str(home), "PYTHONHASHSEED": "0"}
    old = os.environ.copy()
    os.environ.update(env)  # the kernel process inherits this environment
    try:
        NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                       resources={"metadata": {"path": str(cwd)}}).execute(cwd=str(cwd))
    finally:
        os.environ.clear()
        os.environ.update(old)


def test_there_are_notebooks():
    assert NOTEBOOKS, "expected notebooks under notebooks/"


def test_python3_kernel_is_this_interpreter(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os, sys; print(sys.executable); print(os.environ['HFT_HOME']); "
                                          "print(os.getcwd())")]
    _execute(nb, tmp_path, tmp_path / "home")
    exe, home, cwd = nb.cells[0].outputs[0]["text"].split()
    assert Path(exe).resolve() == Path(sys.executable).resolve()  # the kernel runs this venv's interpreter
    assert home == str(tmp_path / "home") and Path(cwd).resolve() == tmp_path.resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_outputs_are_cleared(path):
    import nbformat

    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"


def _outputs(nb) -> tuple[list[str], list[str], int]:
    """A run notebook's text outputs (stdout and results), its stderr streams, and how many figures it shows."""
    text, stderr, figures = [], [], 0
    for cell in nb.cells:
        for o in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if o.get("output_type") == "stream":
                (stderr if o.get("name") == "stderr" else text).append(o.get("text", ""))
            else:
                text.append(o.get("data", {}).get("text/plain", ""))
                figures += "image/png" in o.get("data", {})
    return text, stderr, figures


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    """Runs without a cell error, prints nothing on stderr (warnings: numba, polars deprecations,
    RuntimeWarning) and shows what its text says it shows (`SHOWS`)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    work = tmp_path / "cwd"
    work.mkdir()
    _execute(nb, work, tmp_path / "hft_home")  # raises CellExecutionError naming the cell on any error
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert not errors
    text, stderr, figures = _outputs(nb)
    assert not stderr, f"{path.name}: output on stderr: {''.join(stderr)[:2000]}"
    min_figures, shown = SHOWS[path.name]
    assert figures >= min_figures, f"{path.name}: {figures} figures shown, expected at least {min_figures}"
    missing = [s for s in shown if not any(s in t for t in text)]
    assert not missing, f"{path.name}: expected its outputs to show {missing}"
