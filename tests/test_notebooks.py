"""The notebooks run top to bottom on the public API, with a small run count set through one
parameter (ETOWN_NOTEBOOK_RUNS), show their charts inline, write under results/, and show no
warnings or errors. They are stored without outputs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import ROOT

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = {
    "01_baseline_projection": 3,  # inline images at least: fan chart, firm sizes, uncertainty sources
    "02_policy_comparison": 2,
    "03_calibration_and_sensitivity": 3,
}
RUNS = "8"


def test_the_three_notebooks_are_there_and_stored_without_outputs() -> None:
    found = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert found == sorted(NOTEBOOKS)
    for name in NOTEBOOKS:
        nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        assert all(not c.outputs and c.execution_count is None for c in code), f"{name} is stored with outputs"
        first = nb.cells[0]
        assert first.cell_type == "markdown" and "**What this shows.**" in first.source
        assert "**How to change it.**" in first.source and "ETOWN_NOTEBOOK_RUNS" in first.source
        # one parameter sets the run count, in the first code cell
        assert 'RUNS = int(os.environ.get("ETOWN_NOTEBOOK_RUNS"' in code[0].source


@pytest.mark.slow
@pytest.mark.parametrize("name", list(NOTEBOOKS))
def test_notebook_runs_top_to_bottom(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = ROOT / "notebooks" / f"{name}.ipynb"
    out = ROOT / "results" / "notebooks" / name
    started = time.time()
    monkeypatch.setenv("ETOWN_NOTEBOOK_RUNS", RUNS)
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    stderr = [o.get("text", "") for o in outputs if o.get("output_type") == "stream" and o.get("name") == "stderr"]
    assert not stderr, f"{name} printed to stderr (warnings?):\n" + "\n".join(stderr)
    texts = "\n".join(o.get("text", "") for o in outputs) + "\n".join(
        str(o.get("data", {}).get("text/plain", "")) for o in outputs
    )
    assert "Warning" not in texts
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= NOTEBOOKS[name], f"{name}: {len(images)} inline images"
    # results under results/notebooks/<name>/, written by this run
    written = [p for p in out.rglob("*") if p.is_file() and p.stat().st_mtime >= started - 1]
    assert written, f"{name} wrote nothing under {out}"
    if name == "01_baseline_projection":
        summaries = list(out.rglob("summary.json"))
        assert summaries and all(f'"runs": {RUNS}' in p.read_text() for p in summaries)
    if name == "02_policy_comparison":  # the cap RUNS stopped it
        assert f'"runs": {RUNS}' in (out / "compare.json").read_text()
    # the notebook on disk is untouched (still without outputs)
    on_disk = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in on_disk.cells if c.cell_type == "code")
    assert Path(path).read_text().count('"outputs": []') == sum(1 for c in on_disk.cells if c.cell_type == "code")
