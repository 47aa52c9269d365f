"""End to end in a real browser: start the dashboard on 127.0.0.1, upload a genuine Strong
export and a pain diary through the file input, commit, and wait for the patient's pain chart.

Uses Debian's Chromium (``scripts/setup.sh`` installs it) driven by Playwright for Python;
``playwright install`` cannot download a browser here. Skips, saying why, only when there is
no Chromium or no Playwright. The screenshot is written under the test's ``tmp_path`` (and
copied to ``$RECOVERY_TEST_ARTIFACTS`` when set); its path is printed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, REAL

CHROMIUM = shutil.which("chromium")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium on PATH (scripts/setup.sh installs Debian's chromium)"
    ),
    pytest.mark.skipif(
        sync_playwright is None, reason="playwright for Python is not installed (pip install -e '.[dev]')"
    ),
]

START_S = 60  # server start and demo-free first page
STEP_MS = 45_000  # any single browser wait


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def _command(store: Path, port: int) -> list[str]:
    """``recovery dashboard`` on 127.0.0.1, exactly as a user starts it."""
    recovery = Path(sys.executable).with_name("recovery")
    assert recovery.exists(), "the recovery console script is not installed (pip install -e .)"
    return [str(recovery), "dashboard", "--store", str(store), "--port", str(port), "--host", "127.0.0.1"]


def _wait_healthy(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"dashboard exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"dashboard did not answer within {START_S} s:\n{log.read_text()[-3000:]}")


def test_upload_in_a_real_browser_then_see_the_pain_chart(tmp_path: Path) -> None:
    from toolkit.store import Store

    store = tmp_path / "store.duckdb"
    Store(store).upsert_patient("someone_else")  # not empty: no demo cohort to load first
    port = _free_port()
    log = tmp_path / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "RECOVERY_DASHBOARD_PASSWORD"}
    with log.open("w") as out:
        proc = subprocess.Popen(_command(store, port), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(port, proc, log)
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            try:
                page = browser.new_page(viewport={"width": 1400, "height": 1800})
                page.set_default_timeout(STEP_MS)
                page.goto(f"http://127.0.0.1:{port}/upload")
                page.get_by_label("New patient id").fill("browser_01")
                page.get_by_label("New patient id").press("Enter")
                # Every genuine export at once, plus the hand-made pain diary: each file's
                # accounting is shown before anything is written.
                files = [*REAL_FILES, FIXTURES / "pain" / "strong_v1_patient_pain.csv"]
                page.locator("input[type=file]").set_input_files(files)
                for read in (1903, 166, 250, 6, 7211, 230):
                    page.get_by_text(f"Row accounting: {read} read = ").first.wait_for()
                page.get_by_role("button", name=f"Add {len(files)} file(s) to browser_01").click()
                page.get_by_text("Added to").wait_for()
                page.get_by_role("link", name="Open browser_01's charts").click()
                page.get_by_role("heading", name="Patient browser_01").wait_for()
                page.locator(".js-plotly-plot").first.wait_for()
                traces = page.evaluate(
                    "() => document.querySelector('.js-plotly-plot').data.map(t => t.name)"
                )
                assert "Daily pain" in traces and "Training load (kg)" in traces
                assert "browser_01" in page.url
                shot = tmp_path / "patient_browser_01.png"
                page.screenshot(path=str(shot), full_page=True)
            finally:
                browser.close()
        assert shot.stat().st_size > 10_000
        if target := os.environ.get("RECOVERY_TEST_ARTIFACTS"):
            Path(target).mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, Path(target) / shot.name)
        print(f"screenshot: {shot}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
