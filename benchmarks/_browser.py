"""A real browser against a real ``recovery dashboard``: the harness shared by the end-to-end
test (``tests/dashboard/test_browser.py``) and the dashboard benchmark
(``benchmarks/run.py::bench_dashboard``).

The dashboard is started exactly as a user starts it (the ``recovery dashboard`` console
script, on 127.0.0.1 and a free port) and driven through Debian's Chromium by Playwright
for Python; ``playwright install`` cannot download a browser here. :func:`unavailable`
says why no browser can be driven, so callers skip or report "not measured" instead of
failing; every other problem (the server exits or does not answer) raises
:class:`HarnessError` with the tail of the server's log.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking")
START_S = 60  # server start until /_stcore/health answers


class HarnessError(RuntimeError):
    """The dashboard did not start or died; the message ends with its log."""


def unavailable() -> str | None:
    """Why a real browser cannot be driven on this machine, or None when it can."""
    if CHROMIUM is None:
        return "no Chromium on PATH (scripts/setup.sh installs Debian's chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright for Python is not installed (pip install -e '.[dev]')"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dashboard_command(store: Path, port: int) -> list[str]:
    """``recovery dashboard`` on 127.0.0.1, exactly as a user starts it."""
    recovery = Path(sys.executable).with_name("recovery")
    if not recovery.exists():
        raise HarnessError("the recovery console script is not installed (pip install -e .)")
    return [str(recovery), "dashboard", "--store", str(store), "--port", str(port), "--host", "127.0.0.1"]


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace")[-3000:]
    except OSError:
        return ""


def _wait_healthy(port: int, proc: subprocess.Popen[bytes], log: Path, start_s: float) -> None:
    deadline = time.monotonic() + start_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"dashboard exited with {proc.returncode}:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise HarnessError(f"dashboard did not answer within {start_s:g} s:\n{_tail(log)}")


@contextmanager
def dashboard(store: Path, log: Path, *, start_s: float = START_S) -> Iterator[str]:
    """Run ``recovery dashboard`` on ``store`` until the block ends; yields its base URL.

    Output goes to ``log``. No password is passed on (the local address needs none).
    Give it a store with at least one patient, or the first page loads the demo cohort.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "RECOVERY_DASHBOARD_PASSWORD"}
    with log.open("w") as out:
        proc = subprocess.Popen(dashboard_command(store, port), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(port, proc, log, start_s)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's headless Chromium under Playwright; yields the ``Browser``.

    Call :func:`unavailable` first: this raises when there is no Chromium or Playwright.
    """
    from playwright.sync_api import sync_playwright

    if CHROMIUM is None:
        raise HarnessError("no Chromium on PATH")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield browser
        finally:
            browser.close()


# --------------------------------------------------------------------------------------
# The upload flow, as a user goes through it
# --------------------------------------------------------------------------------------

# True once a Plotly chart of the page is drawn with data and visible: its div holds traces
# with points, at least one of them is drawn (an SVG mark), and the div has a height. (Charts
# without data, such as the upload page's hidden one that loads the chart library, never count.)
FIRST_CHART_DRAWN = """() => Array.from(document.querySelectorAll('.js-plotly-plot')).some(div => {
  if (!div.data || !div.offsetHeight) return false;
  const n = div.data.reduce((k, t) => k + ((t.x && t.x.length) || 0), 0);
  return n > 0 && div.querySelector('.main-svg .point, .main-svg .js-line') !== null;
})"""


# Notes the wall-clock time (ms since the epoch, the clock of time.time()) of the first
# animation frame in which FIRST_CHART_DRAWN holds: the frame that puts the chart on the
# screen. The page keeps it across Streamlit's page changes (one document). Playwright's own
# wait learns of that frame later: its answer goes through the driver, which competes for
# the two cores with the server and Chromium still drawing the other charts (up to 0.5 s).
# Also noted, on the same clock: the first frame that shows an enabled "Add … file(s) to …"
# button (the app offers the click) and the first mouse press that reaches the page (the
# click): the time between the two is the user's — here the harness's reaction through its
# driver — not the app's (CLICK_WAIT).
WATCH_FIRST_CHART = (
    """() => {
  window.__firstChartAt = null;
  window.__addOfferedAt = null;
  window.__pressedAt = null;
  const drawn = """
    + FIRST_CHART_DRAWN
    + """;
  const offered = () => Array.from(document.querySelectorAll('button')).some(b =>
    !b.disabled && b.offsetHeight > 0 && /^Add \\d+ file\\(s\\) to /.test(b.innerText.trim()));
  const tick = () => {
    if (window.__addOfferedAt === null && offered()) window.__addOfferedAt = Date.now();
    if (drawn()) { window.__firstChartAt = Date.now(); return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  document.addEventListener('mousedown', () => {
    if (window.__pressedAt === null) window.__pressedAt = Date.now();
  }, true);
}"""
)

# Seconds from the first frame that offered the Add button to the press that reached the
# page (after upload_and_open_charts); null when either was not seen.
CLICK_WAIT = """() => (window.__addOfferedAt === null || window.__pressedAt === null)
  ? null : (window.__pressedAt - window.__addOfferedAt) / 1000"""


# True when the app has no script run in flight and shows no element left over from an
# earlier run (Streamlit marks those stale until the run that replaces them ends).
PAGE_SETTLED = """() => {
  const app = document.querySelector('[data-testid=stApp]');
  return app !== null && app.dataset.testScriptState === 'notRunning'
    && document.querySelector('[data-stale=true]') === null;
}"""


def open_upload_page(page: Any, base_url: str, patient_id: str) -> None:
    """Open the upload page, type a new patient's id (the page reruns on Enter) and wait
    until the page has settled: the rerun of the id is over (the page names the patient, no
    script run is in flight, nothing stale is shown) and the chart library the page loads
    in the background (its hidden empty chart) is in — as it is by the time a user has
    picked a file. Files set while that rerun was still in flight were once lost in CI: the
    rerun redrew the file input."""
    page.goto(f"{base_url}/upload")
    box = page.get_by_label("New patient id")
    box.fill(patient_id)
    box.press("Enter")
    page.get_by_text(f"Files are checked for patient {patient_id}.").wait_for()
    page.wait_for_function(PAGE_SETTLED)
    page.locator("input[type=file]").wait_for(state="attached")
    page.locator(".st-key-chart_library .js-plotly-plot").wait_for(state="attached")


# True once a visible element matching the selector holds the text. Checked on every
# animation frame (wait_for_function(polling="raf")): a locator's wait_for polls with
# Playwright's backoff (20, 50, 100, 100 ms, then every 500 ms), so a wait of a second or
# more saw a change up to half a second late, and that lateness was timed as the app's.
TEXT_SHOWN = """([selector, text]) => Array.from(document.querySelectorAll(selector))
  .some(e => e.textContent.includes(text) && e.checkVisibility())"""


def _wait_shown(page: Any, selector: str, text: str, *, timeout: float | None = None) -> None:
    """Return within an animation frame of ``text`` being shown in a ``selector`` element."""
    page.wait_for_function(TEXT_SHOWN, arg=[selector, text], polling="raf", timeout=timeout)


def upload_and_open_charts(
    page: Any,
    files: list[Path],
    patient_id: str,
    rows_read: list[int],
    lap: Callable[[str], None] | None = None,
) -> float:
    """From the upload page with the patient chosen: set ``files`` on the file input, wait
    for each file's dry-run accounting (``rows_read``), press Add (which opens the patient's
    charts) and wait until the first chart is drawn with data.

    Each wait returns within an animation frame of what it waits for (a user at machine
    speed); the clicks are Playwright's (it checks that the target is visible, stable and
    enabled first). ``lap(stage)`` is called as each stage ends: ``"checked"`` (every
    accounting shown), ``"added"`` (the patient page's title shown), ``"chart"`` (the first
    chart drawn), each as the harness sees it.

    Returns the seconds from setting the files to the frame that drew the first chart, as
    the page itself timed it (:data:`WATCH_FIRST_CHART`; what a user sees, without the
    driver's delay in reporting it).
    """
    from playwright.sync_api import TimeoutError as BrowserTimeout

    mark = lap or (lambda stage: None)
    page.evaluate(WATCH_FIRST_CHART)
    started = time.time()
    page.locator("input[type=file]").set_input_files(files)
    for i, read in enumerate(rows_read):
        accounting = f"Row accounting: {read} read = "
        try:
            _wait_shown(page, "[data-testid=stCaptionContainer]", accounting, timeout=30_000)
        except BrowserTimeout:
            # Seen once in CI, before open_upload_page waited for the page to settle: a rerun
            # still in flight replaced the file input just after the files were set, and the
            # upload was lost. Set them once more (the lost time stays in the lap: the figure
            # is not flattered).
            if i:
                raise
            page.locator("input[type=file]").set_input_files(files)
            _wait_shown(page, "[data-testid=stCaptionContainer]", accounting)
    mark("checked")
    page.get_by_role("button", name=f"Add {len(files)} file(s) to {patient_id}").click()
    _wait_shown(page, "h1", f"Patient {patient_id}")  # Add opens the patient's charts
    mark("added")
    try:
        page.wait_for_function(FIRST_CHART_DRAWN, polling="raf")
    except Exception as exc:  # say what the page shows instead of a bare timeout
        raise HarnessError(f"no chart drawn for {patient_id}: {exc}\n{_page_state(page)}") from exc
    mark("chart")
    drawn_at = page.evaluate("window.__firstChartAt")
    if drawn_at is None:
        raise HarnessError(f"the page did not time its first chart for {patient_id}\n{_page_state(page)}")
    return drawn_at / 1000 - started


def click_wait(page: Any) -> float:
    """After :func:`upload_and_open_charts`: the seconds the page waited for the Add click,
    from the first frame that offered the enabled button to the mouse press reaching the
    page (the harness's reaction through its driver; a user's would be longer)."""
    wait = page.evaluate(CLICK_WAIT)
    if wait is None:
        raise HarnessError(f"the page did not see the Add button offered and pressed\n{_page_state(page)}")
    return float(wait)


def _page_state(page: Any) -> str:
    """What the page shows (errors, charts) when a wait failed."""
    try:
        return str(
            page.evaluate(
                """() => ({
              url: location.href,
              errors: Array.from(document.querySelectorAll('[data-testid=stException], [data-testid=stAlert]'))
                .map(e => e.textContent.slice(0, 300)),
              charts: Array.from(document.querySelectorAll('.js-plotly-plot')).map(d => ({
                height: d.offsetHeight, traces: (d.data || []).length,
                marks: d.querySelectorAll('.main-svg .point, .main-svg .js-line').length})),
              running: document.querySelector('[data-testid=stStatusWidget]')?.textContent || null,
            })"""
            )
        )
    except Exception as exc:  # the page itself is gone
        return f"(page state unavailable: {exc})"
