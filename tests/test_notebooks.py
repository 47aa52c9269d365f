"""Every notebook executes headless, top to bottom, with no error (nbclient)."""

from __future__ import annotations

import time

import jupytext
import pytest
from nbclient import NotebookClient

from tests.conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
BUDGET_S = 120.0  # all notebooks together


def test_there_are_notebooks() -> None:
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03"]


@pytest.mark.slow
def test_notebooks_execute_within_budget(tmp_path) -> None:
    start = time.perf_counter()
    for path in NOTEBOOKS:
        nb = jupytext.read(path)
        client = NotebookClient(
            nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
        )
        client.execute(env={"RECOVERY_NOTEBOOK_TMP": str(tmp_path)})
        errors = [
            out
            for cell in nb.cells
            if cell.cell_type == "code"
            for out in cell.get("outputs", [])
            if out.get("output_type") == "error"
        ]
        assert not errors, f"{path.name}: {errors[0].get('ename')}: {errors[0].get('evalue')}"
    elapsed = time.perf_counter() - start
    assert elapsed < BUDGET_S, f"notebooks took {elapsed:.0f} s (budget {BUDGET_S:.0f} s)"
