"""End to end in a real browser: start the dashboard on 127.0.0.1, upload a genuine Strong
export and a pain diary through the file input, commit, and wait for the patient's pain chart.

Uses Debian's Chromium (``scripts/setup.sh`` installs it) driven by Playwright for Python;
``playwright install`` cannot download a browser here. The server, browser and upload flow
are ``benchmarks/_browser.py``, shared with the dashboard benchmark. Skips, saying why, only
when there is no Chromium or no Playwright. The screenshot is written under the test's ``tmp_path`` (and
copied to ``$RECOVERY_TEST_ARTIFACTS`` when set); its path is printed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from benchmarks import _browser
from tests.conftest import FIXTURES, REAL

_WHY_NOT = _browser.unavailable()
pytestmark = pytest.mark.skipif(_WHY_NOT is not None, reason=str(_WHY_NOT))

STEP_MS = 45_000  # any single browser wait


REAL_FILES = [
    REAL / name
    for name in (
        "strong_ios_v1_2020-2021.csv",
        "strong_v3_workout_number_2025-09.csv",
        "strong_v4_2025-10.csv",
        "strong_v4_small.csv",
        "hevy_kg_2024-2025.csv",
    )
]


def test_upload_in_a_real_browser_then_see_the_pain_chart(tmp_path: Path) -> None:
    from toolkit.store import Store

    store = tmp_path / "store.duckdb"
    Store(store).upsert_patient("someone_else")  # not empty: no demo cohort to load first
    shot = tmp_path / "patient_browser_01.png"
    with _browser.dashboard(store, tmp_path / "server.log") as url, _browser.chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.set_default_timeout(STEP_MS)
        _browser.open_upload_page(page, url, "browser_01")
        # Every genuine export at once, plus the hand-made pain diary: each file's
        # accounting is shown before anything is written.
        files = [*REAL_FILES, FIXTURES / "pain" / "strong_v1_patient_pain.csv"]
        _browser.upload_and_open_charts(page, files, "browser_01", [1903, 166, 250, 6, 7211, 230])
        traces = page.evaluate("() => document.querySelector('.js-plotly-plot').data.map(t => t.name)")
        assert "Daily pain" in traces and "Training load (kg)" in traces
        assert "browser_01" in page.url
        # Add opened the charts; what it stored is said at the top of the page.
        added = page.locator("[data-testid=stAlert]").first.inner_text()
        assert "Added to browser_01" in added and "strong_v1_patient_pain.csv: 230 new" in added
        page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if target := os.environ.get("RECOVERY_TEST_ARTIFACTS"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(target) / shot.name)
    print(f"screenshot: {shot}")
