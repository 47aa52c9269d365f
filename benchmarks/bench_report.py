"""Warm render time of one patient's PDF report against the 5 s target (issue 8).

Builds a store with one demo patient (``spike_01`` of :func:`toolkit.datasets.demo_cohort`,
ingested through the real ingest path), renders the PDF once to warm up (imports,
fonts, the browser's disk cache), then times the following renders. Each render is
what a user waits for: analysis, one kaleido session (one headless Chromium) for all
charts, the HTML, and WeasyPrint's PDF. Not a timed test: it prints, it does not fail.

Run::

    .venv/bin/python benchmarks/bench_report.py [--patient spike_01] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from toolkit.store import Store

TARGET_S = 5.0


def _store(tmp: Path, patient_id: str) -> Store:
    from toolkit.datasets import demo_cohort
    from toolkit.ingest import ReadOptions
    from toolkit.store import Store

    cohort = demo_cohort()
    row = cohort.patients.filter(cohort.patients["patient_id"] == patient_id)
    if row.height == 0:
        known = ", ".join(cohort.patients["patient_id"].to_list())
        raise SystemExit(f"no demo patient {patient_id!r}; choose one of {known}")
    p = row.row(0, named=True)
    store = Store(tmp / "bench.duckdb")
    store.upsert_patient(
        patient_id,
        bodyweight_kg=p["bodyweight_kg"],
        planned_sessions_per_week=p["sessions_per_week"],
        programme_start_date=p["programme_start"],
    )
    items = [(name, data) for _, name, data in cohort.file_items(patient_id)]
    store.ingest(items, patient_id=patient_id, options=ReadOptions(tz="UTC"))
    return store


def _children_cpu() -> float:
    """CPU seconds of finished child processes (the headless Chromium)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patient", default="spike_01", help="demo patient (default spike_01)")
    parser.add_argument("--repeat", type=int, default=3, help="warm renders timed (default 3)")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error(f"--repeat must be ≥ 1, got {args.repeat}")

    t0 = time.perf_counter()
    from toolkit.report.render import build_context, html_from_context, pdf_from_html, render_pdf

    with tempfile.TemporaryDirectory() as tmp:
        store = _store(Path(tmp), args.patient)
        setup = time.perf_counter() - t0

        t = time.perf_counter()
        pdf = render_pdf(store, args.patient)
        cold = time.perf_counter() - t

        warm, cpu_self, cpu_browser = [], [], []
        for _ in range(args.repeat):
            c, b = time.process_time(), _children_cpu()
            t = time.perf_counter()
            pdf = render_pdf(store, args.patient)
            warm.append(time.perf_counter() - t)
            cpu_self.append(time.process_time() - c)
            cpu_browser.append(_children_cpu() - b)

        # Where a warm render spends its time (one more render, in stages).
        t = time.perf_counter()
        context = build_context(store, args.patient)
        t_context = time.perf_counter() - t
        t = time.perf_counter()
        html = html_from_context(context)
        t_html = time.perf_counter() - t
        t = time.perf_counter()
        pdf_from_html(html)
        t_pdf = time.perf_counter() - t

    best, median = min(warm), statistics.median(warm)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print(f"patient {args.patient}: {len(pdf):,} bytes of PDF; store built in {setup:.1f} s")
    print(f"first render (cold)          {cold:6.2f} s")
    print(
        f"warm render, median of {len(warm)}    {median:6.2f} s   (best {best:.2f} s)   target ≤ {TARGET_S:.1f} s"
    )
    print(
        f"  CPU per warm render: Python {statistics.median(cpu_self):.2f} s, "
        f"Chromium {statistics.median(cpu_browser):.2f} s (on a busy machine wall time exceeds CPU time)"
    )
    print(f"  analysis + charts (kaleido) {t_context:6.2f} s")
    print(f"  HTML (Jinja2)               {t_html:6.2f} s")
    print(f"  PDF (WeasyPrint)            {t_pdf:6.2f} s")
    verdict = "meets" if median <= TARGET_S else "MISSES"
    print(f"{verdict} the {TARGET_S:.0f} s target ({median / TARGET_S:.0%} of it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
