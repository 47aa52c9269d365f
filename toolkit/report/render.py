"""The physiotherapist's recovery report: one patient's progress note as PDF or HTML.

:func:`build_context` gathers everything the report says into one :class:`ReportContext`
— the analysis (:func:`toolkit.analysis.analyse_patient`), the store's accounting of the
uploaded files (row counts, quarantined rows, unmapped exercises, assumptions) and the
charts — and the Jinja2 template ``templates/report.html.j2`` lays it out like a clinical
progress note (SOAP):

* **Header** — patient, period, date generated, data sources with row counts;
* **S — Subjective** — pain trajectory with its trend, baseline → current against the
  MCID (Ostelo et al. 2008), flares and time to settle, PROMs against their MCIDs;
* **O — Objective** — adherence, load progression per main exercise (kg/week, e1RM
  range), ACWR with its reference band and variant, monotony and strain;
* **A — Assessment** — significant training–pain relations with CIs, flags with dates,
  caveats;
* **P — Plan** — the highest recent doses not followed by a flare, and space for the
  clinician;
* **Appendix** — quarantined rows, unmapped exercises, assumptions made.

Charts are the dashboard's plotly figures (:mod:`toolkit.report.figures`), drawn by
kaleido in **one** headless Chromium, not one per chart: by default the one kept alive
across the reports of a process (the dashboard's; started by the first report, shut
down when idle and at exit), or with ``keep_browser=False`` (``render_report``, the CLI)
one of this report only. They are SVG, vector in the HTML and the PDF alike (PNG at
twice their size on request; PNG also replaces a failed SVG). The HTML is self-contained
(images inline as data URIs, CSS inline); the PDF is WeasyPrint's rendering of that
HTML, fetching nothing but ``data:`` URLs. Every piece of user text is escaped by
Jinja2's autoescaping.

Examples
--------
>>> from toolkit.report.render import render_report  # doctest: +SKIP
>>> render_report(store, "p001", Path("p001.pdf"))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import atexit
import base64
import concurrent.futures
import contextlib
import datetime as dt
import inspect
import json
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from toolkit.analysis import PatientAnalysis, analyse_tables
from toolkit.analysis import load as ld
from toolkit.analysis._frames import between, first_row
from toolkit.analysis.summary import patient_tables
from toolkit.exceptions import OptionError, Reason
from toolkit.report import figures
from toolkit.units import display_weight_kg

__all__ = [
    "Chart",
    "ReportContext",
    "build_context",
    "close_chart_browser",
    "html_from_context",
    "pdf_from_html",
    "render_html",
    "render_pdf",
    "render_report",
]

TEMPLATES = Path(__file__).resolve().parent / "templates"
_FORMATS = (".pdf", ".html")
_IMAGE_FORMATS = ("svg", "png")

_KIND_LABELS = {
    "pain_flare": "Pain flare",
    "load_spike": "Load spike",
    "too_fast_progression": "Too-fast progression",
    "no_rest": "No rest day",
}
_ASSUMPTION_LABELS = {
    "weight_unit": "weight unit",
    "distance_unit": "distance unit",
    "tz": "time zone (calendar days)",
    "time_zone": "times without an offset",
    "pain_scale": "pain scale",
    "date_order": "date order",
}
_SCALE_LABELS = {
    "nrs_0_10": "a 0–10 numeric rating scale",
    "vas_0_100": "a 0–100 visual analogue scale (divided by 10)",
}
_INFO_LABELS = {
    Reason.INFO_REST_TIMER.value: "rest-timer rows (not sets)",
    Reason.INFO_NOTE_ROW.value: "note rows (not sets)",
    Reason.INFO_UNFILLED_SET.value: "planned sets never filled in",
    Reason.INFO_NOT_PAIN.value: "diary rows that are not pain ratings",
    Reason.INFO_NO_SEVERITY.value: "symptom rows without a severity",
}


# --------------------------------------------------------------------------------------
# The context
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """One figure as a static image ready to inline.

    ``data_uri`` is ``data:image/svg+xml;base64,...`` or ``data:image/png;base64,...``;
    None when the chart could not be drawn, ``note`` then says why.
    """

    key: str
    alt: str
    data_uri: str | None
    width_px: int
    height_px: int
    note: str | None = None


@dataclass
class ReportContext:
    """Everything the report says, formatted for print (strings where the wording matters).

    Built by :func:`build_context`; the template reads nothing else. Raw user text
    (names, file names, exercise names, notes) is kept as plain ``str`` and escaped by
    the template.

    Attributes
    ----------
    patient_id, patient_name, condition
        Who (name and condition may be None).
    period, period_start, period_end, weeks
        The period reported, as text and dates, and its length in weeks.
    generated
        When the report was generated (local time, text).
    anchors
        ``(label, date text)`` of the surgery / programme start, when recorded.
    planned
        Planned sessions per week as text, or None.
    sources, source_totals, in_period
        One dict per uploaded file (app, kind, rows read/accepted/duplicate/
        quarantined), their totals, and what of it falls in the period.
    highlights
        The key points in one sentence each (the summary box).
    missing
        What is missing or withheld, in plain words (analysis messages included).
    pain, change_points, flares, flares_more, proms
        Subjective: pain outcome (dict of formatted values; None without pain data),
        change points, flare rows (capped, ``flares_more`` left off) and PROM rows.
    adherence, progression, acwr, monotony
        Objective: formatted adherence, one row per main lift, ACWR and
        monotony/strain summaries.
    relations, relations_note, flags, flags_more, flag_counts, caveats
        Assessment.
    safe_doses
        Plan: per exercise the highest recent dose not followed by a flare.
    quarantine, quarantine_more, quarantine_total, quarantine_info, unmapped,
    assumptions, file_notes
        Data-quality appendix.
    charts
        :class:`Chart` by key (``pain``, ``prom``, ``load``, ``progression``, ``acwr``,
        ``flags``); only those with data.
    chart_problem
        Why charts are missing (e.g. no Chromium), else None.
    """

    patient_id: str
    patient_name: str | None
    condition: str | None
    period: str
    period_start: dt.date | None
    period_end: dt.date | None
    weeks: float | None
    generated: str
    anchors: list[tuple[str, str]]
    planned: str | None
    sources: list[dict[str, Any]]
    source_totals: dict[str, int]
    in_period: str
    highlights: list[str]
    missing: list[str]
    pain: dict[str, Any] | None
    change_points: list[dict[str, str]]
    flares: list[dict[str, str]]
    flares_more: int
    proms: list[dict[str, str]]
    adherence: dict[str, Any] | None
    progression: list[dict[str, str]]
    acwr: dict[str, Any] | None
    monotony: dict[str, Any] | None
    relations: list[dict[str, str]]
    relations_note: str
    flags: list[dict[str, str]]
    flags_more: int
    flag_counts: list[tuple[str, int]]
    caveats: list[str]
    safe_doses: list[dict[str, str]]
    quarantine: list[dict[str, str]]
    quarantine_more: int
    quarantine_total: int
    quarantine_info: list[tuple[str, int]]
    unmapped: list[dict[str, str]]
    assumptions: list[dict[str, str]]
    file_notes: list[dict[str, Any]]
    charts: dict[str, Chart] = field(default_factory=dict)
    chart_problem: str | None = None


# --------------------------------------------------------------------------------------
# Formatting
# --------------------------------------------------------------------------------------


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _num(value: Any, digits: int = 1) -> str:
    v = _finite(value)
    return "–" if v is None else f"{v:,.{digits}f}"


def _signed(value: Any, digits: int = 1) -> str:
    v = _finite(value)
    if v is None:
        return "–"
    if round(v, digits) == 0:
        v = 0.0
    return f"{v:+,.{digits}f}".replace("-", "−")


def _kg(value: Any) -> str:
    v = _finite(value)
    if v is None:
        return "–"
    text = f"{v:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def _date(value: Any) -> str:
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        return "–"
    return f"{value.day} {value:%b %Y}"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _short(text: Any, limit: int) -> str:
    s = "" if text is None else " ".join(str(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def _to_date(value: Any, name: str) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise OptionError(f"{name} must be a date or YYYY-MM-DD, got {value!r}")


def _runs(dates: Iterable[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """Consecutive-day runs of sorted dates as (first, last)."""
    out: list[tuple[dt.date, dt.date]] = []
    for d in sorted(dates):
        if out and (d - out[-1][1]).days == 1:
            out[-1] = (out[-1][0], d)
        else:
            out.append((d, d))
    return out


# --------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------


def _reader_names() -> dict[str, str]:
    from toolkit.ingest import readers

    return {s.name: s.description.split(" (")[0] for s in readers()}


def _sources(uploads: pl.DataFrame) -> tuple[list[dict[str, Any]], dict[str, int]]:
    names = _reader_names()
    rows = []
    totals = {"read": 0, "accepted": 0, "duplicate": 0, "quarantined": 0}
    for r in uploads.sort("ingested_at_utc", "upload_id").iter_rows(named=True):
        rows.append(
            {
                "file": r["file_name"],
                "app": names.get(r["format"], r["format"]),
                "kind": {"workout": "training", "pain": "pain", "measures": "questionnaires"}.get(
                    r["kind"], r["kind"]
                ),
                "ingested": _date(r["ingested_at_utc"]),
                "read": f"{r['rows_read']:,}",
                "accepted": f"{r['rows_accepted']:,}",
                "duplicate": f"{r['rows_duplicate']:,}",
                "quarantined": f"{r['rows_quarantined']:,}",
            }
        )
        totals["read"] += r["rows_read"]
        totals["accepted"] += r["rows_accepted"]
        totals["duplicate"] += r["rows_duplicate"]
        totals["quarantined"] += r["rows_quarantined"]
    return rows, totals


def _pain_section(a: PatientAnalysis, *, mcid_points: float, mcid_percent: float) -> dict[str, Any] | None:
    out = first_row(a.pain_outcome)
    if not a.daily_pain.height or _finite(out.get("baseline")) is None:
        return None
    slope = first_row(a.pain_slope)
    baseline, current = _finite(out.get("baseline")), _finite(out.get("current"))
    change, pct = _finite(out.get("change")), _finite(out.get("percent_change"))
    reached = out.get("mcid_reached")
    if current is None:
        verdict = "not assessable yet: " + str(out.get("status") or "too few days")
    elif reached:
        verdict = "reached"
    else:
        verdict = "not reached"
    rci = _finite(out.get("rci"))
    if rci is None:
        rci_text = "undefined (baseline without day-to-day variation or < 2 days)"
    else:
        kind = (
            "reliable improvement"
            if out.get("reliable_improvement")
            else ("reliable worsening" if rci > 1.96 else "within measurement error")
        )
        rci_text = f"{_signed(rci, 1)} ({kind}; |RC| > 1.96 is beyond measurement error)"
    s = _finite(slope.get("slope_per_week"))
    lo, hi = _finite(slope.get("ci_low")), _finite(slope.get("ci_high"))
    trend = "–"
    if s is not None:
        trend = f"{_signed(s, 2)} points/week"
        if lo is not None and hi is not None:
            trend += f" (95 % CI {_signed(lo, 2)} to {_signed(hi, 2)})"
    return {
        "baseline": _num(baseline),
        "current": _num(current),
        "baseline_window": f"{_date(out.get('baseline_start'))} – {_date(out.get('baseline_end'))}",
        "current_window": f"{_date(out.get('current_start'))} – {_date(out.get('current_end'))}"
        if current is not None
        else "–",
        "change": "–" if change is None else f"{_signed(change)} points",
        "percent": "–" if pct is None else f"{_signed(pct, 0)} %",
        "mcid_rule": f"improvement ≥ {mcid_points:g} points or ≥ {mcid_percent:g} % of baseline",
        "mcid": verdict,
        "mcid_reached": bool(reached) if current is not None else None,
        "rci": rci_text,
        "trend": trend,
        "trend_method": slope.get("method") or "",
        "days": f"{a.daily_pain.height:,}",
        "weeks": _num(out.get("weeks_observed")),
        "anchor": _date(out.get("anchor_date")) if out.get("anchor_date") else None,
    }


def _day_notes(pain_entries: pl.DataFrame) -> dict[dt.date, str]:
    """The patient's diary notes of each day (distinct, in order), for the flare table."""
    if pain_entries.height == 0:
        return {}
    notes = (
        pain_entries.filter(pl.col("notes").str.strip_chars().str.len_chars() > 0)
        .sort("recorded_at_utc")
        .group_by("local_date", maintain_order=True)
        .agg(pl.col("notes").str.strip_chars().unique(maintain_order=True))
    )
    return {d: _short("; ".join(n), 90) for d, n in notes.iter_rows()}


def _locations(pain_entries: pl.DataFrame) -> str | None:
    if pain_entries.height == 0 or pain_entries["location"].null_count() == pain_entries.height:
        return None
    counts = (
        pain_entries.filter(pl.col("location").is_not_null())
        .group_by("location")
        .len()
        .sort(["len", "location"], descending=[True, False])
    )
    parts = [f"{_short(loc, 40)} ({n:,})" for loc, n in counts.head(4).iter_rows()]
    if counts.height > 4:
        parts.append(f"{counts.height - 4} more")
    return ", ".join(parts)


def _flares(a: PatientAnalysis, pain_entries: pl.DataFrame, cap: int) -> tuple[list[dict[str, str]], int]:
    notes = _day_notes(pain_entries)
    rows = []
    for r in a.flares.sort("date").iter_rows(named=True):
        settle = r.get("days_to_settle")
        rows.append(
            {
                "note": notes.get(r["date"], ""),
                "date": _date(r["date"]),
                "pain": _num(r.get("pain")),
                "above": f"+{_num(r.get('excess'))} (median {_num(r.get('trailing_median'))})",
                "settled": "not settled by the end of the log"
                if settle is None or not r.get("settled")
                else _plural(int(settle), "day"),
            }
        )
    return rows[:cap], max(0, len(rows) - cap)


def _proms(a: PatientAnalysis) -> list[dict[str, str]]:
    rows = []
    for r in a.prom_outcomes.sort("instrument").iter_rows(named=True):
        reached = r.get("mcid_reached")
        rows.append(
            {
                "instrument": r["instrument"],
                "baseline": f"{_num(r.get('baseline'), 0)} ({_date(r.get('baseline_date'))})",
                "latest": f"{_num(r.get('latest'), 0)} ({_date(r.get('latest_date'))})",
                "change": _signed(r.get("change"), 0),
                "mcid": "–" if r.get("mcid") is None else f"{_num(r.get('mcid'), 0)} points",
                "verdict": "one score so far"
                if reached is None and (r.get("n") or 0) < 2
                else ("no MCID on file" if reached is None else ("reached" if reached else "not reached")),
                "n": str(r.get("n") or 0),
            }
        )
    return rows


def _adherence(a: PatientAnalysis) -> dict[str, Any] | None:
    daily = a.daily_load
    if daily.height == 0:
        return None
    adh = first_row(a.adherence)
    logged = daily.filter(pl.col("logged"))
    days = logged.height
    rest = int(logged["rest_day"].sum()) if days else 0
    training = int(logged["training_day"].sum()) if days else 0
    planned = _finite(adh.get("planned_sessions_per_week"))
    spw = _finite(adh.get("sessions_per_week"))
    gaps = _runs(daily.filter(~pl.col("logged"))["date"].to_list())
    longest = daily["streak_days"].max()
    return {
        "sessions_per_week": _num(spw),
        "planned": None if planned is None else _num(planned),
        "adherence_pct": None if adh.get("adherence_pct") is None else _num(adh.get("adherence_pct"), 0),
        "rest_per_week": _num(rest / days * 7) if days else "–",
        "planned_rest": None if planned is None else _num(max(0.0, 7 - planned)),
        "training_per_week": _num(training / days * 7) if days else "–",
        "sessions": f"{a.session_load.height:,}",
        "logged_weeks": _num(days / 7),
        "longest_streak": "–" if longest is None else _plural(int(longest), "day"),
        "gaps": [f"{_date(g0)} – {_date(g1)} ({_plural((g1 - g0).days + 1, 'day')})" for g0, g1 in gaps],
    }


def _e1rm(sets: pl.DataFrame) -> pl.DataFrame | None:
    """e1RM range of every loaded working set of ≤ 10 reps (:func:`toolkit.analysis.load.e1rm`)."""
    if sets.height == 0:
        return None
    try:
        return ld.e1rm(sets)
    except OptionError:
        return None


def _progression(a: PatientAnalysis, e1rm: pl.DataFrame | None, cap: int) -> list[dict[str, str]]:
    prog = a.progression
    if prog.height == 0:
        return []
    weeks = a.weekly_top_load.with_columns(display_weight_kg("top_kg", pl.lit("kg")).alias("top_kg"))
    e1 = e1rm if e1rm is not None else pl.DataFrame()
    if e1.height:
        e1 = e1.with_columns(
            pl.coalesce("exercise", "exercise_raw").alias("__lift"),
            (pl.col("local_date") - pl.duration(days=pl.col("local_date").dt.weekday() - 1)).alias("__week"),
        )
    rows = []
    for r in prog.sort(["weeks", "exercise"], descending=[True, False]).head(cap).iter_rows(named=True):
        w = weeks.filter(pl.col("exercise") == r["exercise"]).sort("week_start")
        top = "–"
        if w.height:
            top = f"{_kg(w['top_kg'][0])} → {_kg(w['top_kg'][-1])} kg"
        rate = _finite(r.get("kg_per_week"))
        lo, hi = _finite(r.get("kg_per_week_ci_low")), _finite(r.get("kg_per_week_ci_high"))
        if rate is None:
            rate_text = f"needs ≥ 3 weeks ({r['weeks']} here)"
        else:
            rate_text = f"{_signed(rate, 2)}"
            if lo is not None and hi is not None:
                rate_text += f" ({_signed(lo, 2)} to {_signed(hi, 2)})"
        e1_text = "–"
        if e1.height:
            mine = e1.filter(pl.col("__lift") == r["exercise"])
            if mine.height:
                by_week = (
                    mine.group_by("__week")
                    .agg(pl.col("e1rm_low_kg").max(), pl.col("e1rm_high_kg").max())
                    .sort("__week")
                )
                f, last = by_week.row(0, named=True), by_week.row(-1, named=True)
                first_text = f"{_kg(f['e1rm_low_kg'])}–{_kg(f['e1rm_high_kg'])}"
                last_text = f"{_kg(last['e1rm_low_kg'])}–{_kg(last['e1rm_high_kg'])}"
                e1_text = first_text if by_week.height == 1 else f"{first_text} → {last_text}"
                e1_text += " kg"
        rows.append(
            {
                "exercise": r["exercise"],
                "weeks": str(r["weeks"]),
                "period": f"{_date(r.get('first_week'))} – {_date(r.get('last_week'))}",
                "top": top,
                "rate": rate_text,
                "pct": "–" if r.get("pct_per_week") is None else f"{_signed(r.get('pct_per_week'), 1)} %",
                "e1rm": e1_text,
            }
        )
    return rows


def _acwr(a: PatientAnalysis, band: tuple[float, float], high: float) -> dict[str, Any] | None:
    frame = a.acwr
    if frame.height == 0:
        return None
    variant = frame["variant"][0]
    valid = frame.filter(pl.col("acwr").is_not_null())
    if valid.height == 0:
        return {
            "variant": variant,
            "shown": False,
            "text": f"withheld: the first 28 days of a training log are its warm-up ({frame.height} day(s) here)",
        }
    last = valid.row(-1, named=True)
    peak = valid.sort("acwr", descending=True).row(0, named=True)
    above = valid.filter(pl.col("acwr") >= high)
    inside = valid.filter(pl.col("acwr").is_between(band[0], band[1]))
    return {
        "variant": variant,
        "shown": True,
        "band": f"{band[0]:g}–{band[1]:g}",
        "high": f"{high:g}",
        "latest": f"{_num(last['acwr'], 2)} ({_date(last['date'])})",
        "peak": f"{_num(peak['acwr'], 2)} ({_date(peak['date'])})",
        "above": f"{_plural(above.height, 'day')} ≥ {high:g}",
        "inside": f"{inside.height / valid.height * 100:.0f} % of {_plural(valid.height, 'day')} "
        f"inside {band[0]:g}–{band[1]:g}",
    }


def _monotony(a: PatientAnalysis, threshold: float) -> dict[str, Any] | None:
    weeks = a.weekly_load.filter(pl.col("monotony").is_not_null())
    if weeks.height == 0:
        return None
    peak_m = weeks.sort("monotony", descending=True).row(0, named=True)
    peak_s = weeks.sort("strain", descending=True).row(0, named=True)
    return {
        "weeks": _plural(weeks.height, "complete week"),
        "median": _num(weeks["monotony"].median(), 2),
        "peak": f"{_num(peak_m['monotony'], 2)} (week of {_date(peak_m['week_start'])})",
        "over": _plural(weeks.filter(pl.col("monotony") > threshold).height, "week"),
        "threshold": f"{threshold:g}",
        "strain_peak": f"{_num(peak_s['strain'], 0)} kg (week of {_date(peak_s['week_start'])})",
        "strain_median": f"{_num(weeks['strain'].median(), 0)} kg",
    }


def _q(value: Any) -> str:
    q = _finite(value)
    if q is None:
        return ""
    return "q < 0.001" if q < 0.001 else f"q = {q:.3f}"


def _rows(value: Any) -> list[dict[str, Any]]:
    """Rows of a relations result: a polars frame or a list of dicts (None: none)."""
    if value is None:
        return []
    if isinstance(value, pl.DataFrame):
        return value.to_dicts()
    return [dict(r) for r in value]


def _relations(relations: list[dict[str, Any]], cap: int = 6) -> tuple[list[dict[str, str]], str]:
    """Significant relations (q < 0.05, as the analysis decided), strongest evidence first,
    as sentences with their CI, q and n; and a note saying how many were tested."""
    relations = sorted(
        relations, key=lambda r: (_finite(r.get("q_value")) is None, _finite(r.get("q_value")) or 0.0)
    )
    if not relations:
        return [], (
            "Not computed for this report: the training–pain relations analysis has no result for "
            "this patient and period."
        )
    tested = [
        r for r in relations if _finite(r.get("q_value")) is not None or _finite(r.get("p_value")) is not None
    ] or relations
    rows = []
    for r in relations:
        if not r.get("significant"):
            continue
        sentence = str(
            r.get("sentence")
            or f"{r.get('driver', 'driver')} (lag {r.get('lag_days')} day(s)): "
            f"effect {_signed(r.get('effect'), 2)} {r.get('unit') or ''}".strip()
        )
        ci = ""
        if (
            "CI" not in sentence
            and _finite(r.get("ci_low")) is not None
            and _finite(r.get("ci_high")) is not None
        ):
            ci = f"95 % CI {_signed(r.get('ci_low'), 2)} to {_signed(r.get('ci_high'), 2)}"
        stats = ", ".join(
            s
            for s in (
                ci,
                _q(r.get("q_value")),
                f"n = {r.get('n')} days" if r.get("n") is not None else "",
            )
            if s
        )
        direction = str(r.get("direction") or "")
        reverse = "reverse" in direction or direction.startswith("pain")
        rows.append(
            {
                "sentence": sentence,
                "stats": stats,
                "direction": "reverse direction: pain → next-day training" if reverse else "",
            }
        )
    if rows:
        note = (
            f"{len(rows)} of {len(tested)} tested relations are significant after "
            "Benjamini–Hochberg correction (q < 0.05)"
            + (f"; the {cap} with the strongest evidence are listed." if len(rows) > cap else ".")
        )
        rows = rows[:cap]
    else:
        note = (
            f"None of the {len(tested)} tested relations is significant after Benjamini–Hochberg "
            "correction (q < 0.05)."
        )
    return rows, note


def _flags(a: PatientAnalysis, cap: int) -> tuple[list[dict[str, str]], int, list[tuple[str, int]]]:
    frame = a.flags.sort("date")
    rows = [
        {
            "date": _date(r["date"]),
            "kind": _KIND_LABELS.get(r["kind"], str(r["kind"]).replace("_", " ").capitalize()),
            "exercise": r.get("exercise") or "",
            "detail": str(r.get("detail") or ""),
        }
        for r in frame.iter_rows(named=True)
    ]
    counts = []
    if frame.height:
        for kind, n in frame.group_by("kind").len().sort("len", "kind", descending=[True, False]).iter_rows():
            counts.append((_KIND_LABELS.get(kind, kind.replace("_", " ")), int(n)))
    return rows[:cap], max(0, len(rows) - cap), counts


def _safe_doses(a: PatientAnalysis, cap: int) -> list[dict[str, str]]:
    frame = a.safe_doses
    if frame.height == 0:
        return []
    # Holds and stretches logged without reps or load say nothing about a dose.
    frame = frame.filter(pl.col("top_kg").is_not_null() | (pl.col("reps").fill_null(0) > 0))
    frame = frame.sort(["top_kg", "exercise"], descending=[True, False], nulls_last=True).head(cap)
    rows = []
    for r in frame.iter_rows(named=True):
        dose = f"top set {_kg(r['top_kg'])} kg, " if _finite(r.get("top_kg")) else ""
        dose += f"{_num(r.get('reps'), 0)} reps"
        if _finite(r.get("volume_kg")):
            dose += f", {_num(r.get('volume_kg'), 0)} kg volume"
        rows.append(
            {
                "exercise": r["exercise"] or "",
                "date": _date(r["date"]),
                "dose": dose,
                "record": f"{r['sessions_followed_by_flare']} of {r['sessions_considered']} sessions",
            }
        )
    return rows


def _gaps_caveat(a: PatientAnalysis) -> list[str]:
    out = []
    if a.daily_load.height:
        gaps = _runs(a.daily_load.filter(~pl.col("logged"))["date"].to_list())
        if gaps:
            spans = "; ".join(f"{_date(g0)} – {_date(g1)}" for g0, g1 in gaps[:4])
            more = f" and {len(gaps) - 4} more" if len(gaps) > 4 else ""
            out.append(
                f"Gaps in the training log: {_plural(len(gaps), 'run')} of more than 14 days without a "
                f"session ({spans}{more}) are treated as missing, not as rest."
            )
    if a.daily_pain.height:
        dates = a.daily_pain["date"]
        span = (dates.max() - dates.min()).days + 1  # type: ignore[operator]
        rated = set(dates.to_list())
        missing = [dates.min() + dt.timedelta(days=i) for i in range(span)]  # type: ignore[operator]
        runs = _runs(d for d in missing if d not in rated)
        longest = max(((g1 - g0).days + 1 for g0, g1 in runs), default=0)
        if runs:
            out.append(
                f"Gaps in the pain diary: pain rated on {len(rated):,} of {span:,} days "
                f"(longest gap {_plural(longest, 'day')}); unrated days are missing, not pain-free."
            )
    return out


def _units_caveat(uploads: pl.DataFrame, sets: pl.DataFrame) -> list[str]:
    out = []
    assumed = int(sets["weight_unit_assumed"].sum()) if sets.height else 0
    if assumed:
        units = sorted({u for u in sets.filter(pl.col("weight_unit_assumed"))["weight_unit_original"] if u})
        out.append(
            f"Assumed units: the weights of {_plural(assumed, 'set')} were read as {' / '.join(units) or 'kg'} "
            "because the export carries no unit — check with the patient if loads look wrong."
        )
    for r in uploads.iter_rows(named=True):
        try:
            assumptions = json.loads(r["assumptions_json"] or "{}")
        except json.JSONDecodeError:
            continue
        if r["kind"] == "pain" and "pain_scale" in assumptions:
            scale = _SCALE_LABELS.get(str(assumptions["pain_scale"]), str(assumptions["pain_scale"]))
            out.append(f"Assumed scale: the pain ratings of {r['file_name']} were read as {scale}.")
    return out


def _quarantine(q: pl.DataFrame, cap: int) -> tuple[list[dict[str, str]], int, int, list[tuple[str, int]]]:
    errors = q.filter(pl.col("severity") == "error").sort("file_name", "source_line")
    rows = [
        {
            "file": r["file_name"],
            "line": str(r["source_line"]),
            "column": r["column_name"] or "",
            "reason": str(r["reason"]).replace("_", " "),
            "message": _short(r["message"], 120),
            "raw": _short(r["raw_text"], 70),
        }
        for r in errors.head(cap).iter_rows(named=True)
    ]
    info = q.filter(pl.col("severity") == "info")
    counts = []
    if info.height:
        for reason, n in info.group_by("reason").len().sort("len", descending=True).iter_rows():
            counts.append((_INFO_LABELS.get(reason, str(reason).replace("_", " ")), int(n)))
    return rows, max(0, errors.height - cap), errors.height, counts


def _unmapped(sets: pl.DataFrame, cap: int) -> list[dict[str, str]]:
    if sets.height == 0:
        return []
    frame = (
        sets.filter(~pl.col("exercise_mapped"))
        .group_by("exercise_raw")
        .agg(
            pl.len().alias("sets"),
            pl.col("local_date").min().alias("first"),
            pl.col("local_date").max().alias("last"),
        )
        .sort(["sets", "exercise_raw"], descending=[True, False])
    )
    rows = [
        {
            "name": r["exercise_raw"],
            "sets": f"{r['sets']:,}",
            "dates": f"{_date(r['first'])} – {_date(r['last'])}",
        }
        for r in frame.head(cap).iter_rows(named=True)
    ]
    if frame.height > cap:
        rows.append({"name": f"… and {frame.height - cap} more", "sets": "", "dates": ""})
    return rows


def _assumptions(uploads: pl.DataFrame) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Per file: the assumptions made when reading it, and the reader's notes."""
    rows, notes = [], []
    for r in uploads.sort("ingested_at_utc", "upload_id").iter_rows(named=True):
        try:
            assumptions = json.loads(r["assumptions_json"] or "{}")
            warnings = json.loads(r["warnings_json"] or "[]")
        except json.JSONDecodeError:
            assumptions, warnings = {}, []
        items = [
            f"{_ASSUMPTION_LABELS.get(key, key.replace('_', ' '))}: "
            f"{_SCALE_LABELS.get(str(value), str(value)) if key == 'pain_scale' else value}"
            for key, value in assumptions.items()
        ]
        if items:
            rows.append({"file": r["file_name"], "items": "; ".join(items)})
        if warnings:
            notes.append(
                {
                    "file": r["file_name"],
                    "items": [_short(w, 220) for w in warnings[:6]],
                    "more": max(0, len(warnings) - 6),
                }
            )
    return rows, notes


def _highlights(ctx: dict[str, Any], a: PatientAnalysis) -> list[str]:
    out = []
    pain = ctx["pain"]
    if pain is None:
        out.append("Pain: no pain diary in this period, so pain outcomes cannot be assessed.")
    elif pain["mcid_reached"] is None:
        out.append(f"Pain: baseline {pain['baseline']}/10; current level {pain['mcid']}.")
    else:
        out.append(
            f"Pain {pain['baseline']} → {pain['current']}/10 ({pain['change']}, {pain['percent']}): "
            f"MCID {pain['mcid']}."
        )
    adh = ctx["adherence"]
    if adh is None:
        out.append("Training: no workout log in this period.")
    else:
        text = f"Training {adh['sessions_per_week']} sessions/week"
        if adh["planned"] is not None:
            text += f" against {adh['planned']} planned ({adh['adherence_pct']} %)"
        text += f"; {adh['rest_per_week']} rest days/week."
        out.append(text)
    if ctx["progression"]:
        lifts = [r for r in ctx["progression"] if not r["rate"].startswith("needs")][:2]
        if lifts:
            out.append(
                "Load progression: "
                + "; ".join(f"{r['exercise']} {r['top']} ({r['rate'].split(' (')[0]} kg/week)" for r in lifts)
                + "."
            )
    counts = ctx["flag_counts"]
    if counts:
        out.append(
            f"{_plural(sum(n for _, n in counts), 'flag')}: "
            + ", ".join(f"{n} × {label.lower()}" for label, n in counts)
            + " (see Assessment)."
        )
    elif a.daily_load.height or a.daily_pain.height:
        out.append("No flags (load spikes, too-fast progression, no rest, pain flares) in this period.")
    relations = ctx["relations"]
    if relations:
        first = relations[0]["sentence"].rstrip(".")
        out.append(f"Best-supported training–pain association: {first} (an association; see Assessment).")
    return out


# --------------------------------------------------------------------------------------
# Charts: the dashboard's figures, one kaleido session per report
# --------------------------------------------------------------------------------------


def _call_builder(name: str, *args: Any, **kwargs: Any) -> go.Figure | None:
    """Call a :mod:`toolkit.report.figures` builder, passing only the keywords it takes."""
    builder = getattr(figures, name, None)
    if builder is None:
        return None
    params = inspect.signature(builder).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return builder(*args, **kwargs)


def _merge(into: dict[str, Any], changes: dict[str, Any]) -> None:
    """Merge ``changes`` into the nested dict ``into`` (as plotly's ``update_layout``)."""
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _for_print(fig: go.Figure, *, height: int, legend_below: bool = True, top: int = 34) -> dict[str, Any]:
    """``fig`` as a plain figure dict laid out for a printed page: fixed size, no hover,
    legend below and no title (the report's heading and caption say what the chart is).

    A dict, not a copied :class:`plotly.graph_objects.Figure`: kaleido takes either, and
    the copy and ``update_layout`` validate every property again (about a third of a
    second per report).
    """
    out = fig.to_dict()
    layout = out.setdefault("layout", {})
    _merge(
        layout,
        {
            "height": height,
            "hovermode": False,
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "title": {"text": ""},
            "margin": {"l": 58, "r": 58, "t": top, "b": 84 if legend_below else 30},
        },
    )
    if legend_below:
        _merge(
            layout,
            {
                "legend": {
                    "orientation": "h",
                    "yanchor": "top",
                    "y": -0.17,
                    "xanchor": "left",
                    "x": 0.0,
                    "font": {"size": 11},
                }
            },
        )
    return out


_CHART_WIDTH = 820


def _build_figures(
    a: PatientAnalysis, e1rm: pl.DataFrame | None, measures: pl.DataFrame
) -> dict[str, tuple[dict[str, Any], str]]:
    """The report's figures (only those with data, as figure dicts) with their alt text."""
    out: dict[str, tuple[dict[str, Any], str]] = {}
    if a.daily_pain.height:
        fig = _call_builder(
            "pain_figure",
            a.daily_pain,
            outcome=a.pain_outcome,
            change_points=a.change_points,
            flares=a.flares,
            daily_load=a.daily_load,
        )
        if fig is not None:
            out["pain"] = (
                _for_print(fig, height=360),
                "Daily pain with its 7-day trend, baseline and MCID band, flares and training load",
            )
    # Only instruments scored on two days or more make a line; single scores are in the table.
    repeated = (
        measures.group_by("instrument")
        .agg(pl.col("local_date").n_unique().alias("days"))
        .filter(pl.col("days") >= 2)
        if measures.height
        else measures
    )
    if repeated.height:
        fig = _call_builder(
            "prom_figure",
            measures.filter(pl.col("instrument").is_in(repeated["instrument"])),
            a.prom_outcomes,
        )
        if fig is not None:
            out["prom"] = (
                _for_print(fig, height=min(420, 70 + 130 * repeated.height), legend_below=False),
                "PROM scores over time",
            )
    # Only lifts with a fitted rate (≥ 3 weeks) make a useful panel.
    fitted = (
        a.progression.filter(pl.col("kg_per_week").is_not_null()) if a.progression.height else a.progression
    )
    if fitted.height:
        fig = _call_builder("progression_figure", a.weekly_top_load, fitted, e1rm=e1rm, max_lifts=2)
        if fig is not None:
            lifts = min(2, fitted.height)
            out["progression"] = (
                _for_print(fig, height=110 + 135 * lifts),
                "Weekly top load of the main lifts with trend and e1RM range",
            )
    if a.acwr.height and a.acwr["acwr"].is_not_null().any():
        fig = _call_builder("acwr_figure", a.acwr)
        if fig is not None:
            out["acwr"] = (
                _for_print(fig, height=230, legend_below=False),
                "Acute:chronic workload ratio with reference band",
            )
    if a.flags.height:
        fig = _call_builder("flags_timeline", a.flags)
        if fig is not None:
            kinds = a.flags["kind"].n_unique()
            out["flags"] = (
                _for_print(fig, height=96 + 30 * kinds, legend_below=False),
                "Flags by date and kind",
            )
    return out


# Errors of a browser that died or could not start (choreographer's, raised through kaleido).
def _browser_gone(exc: BaseException) -> bool:
    from choreographer.browsers import BrowserClosedError, BrowserFailedError
    from choreographer.channels import ChannelClosedError

    return isinstance(exc, BrowserClosedError | BrowserFailedError | ChannelClosedError)


_RELOAD_EVERY = 50  # figures drawn on one page load before kaleido's tab is reloaded


class _ShutdownReadNoise(logging.Filter):
    """Drops choreographer's "JSONError decoding message. Ignoring" while a chart browser
    is being shut down.

    choreographer closes its pipe while its reader thread may still be reading; what
    that last read returns (a cut message) is logged at ERROR with a traceback and then
    ignored. At shutdown the images are already in hand, so that record is noise on the
    user's terminal; while charts are drawn, the same record is kept (a garbled message
    then is news).
    """

    def __init__(self) -> None:
        super().__init__()
        self._closing = 0
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def closing(self) -> Iterator[None]:
        """While a browser shuts down. Call after choreographer is imported: it makes
        its loggers of its own class, which an earlier ``logging.getLogger`` would stop."""
        logging.getLogger("choreographer.channels.pipe").addFilter(self)  # added once, however often called
        with self._lock:
            self._closing += 1
        try:
            yield
        finally:
            with self._lock:
                self._closing -= 1

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self._closing and str(record.msg).startswith("JSONError decoding message"))


_PIPE_NOISE = _ShutdownReadNoise()


@lru_cache(maxsize=1)
def _kaleido_class() -> type:
    """``kaleido.Kaleido`` reloading its tab every :data:`_RELOAD_EVERY` figures, not after
    every figure.

    kaleido reloads the page (and with it plotly.js, 4.7 MB of script) after each image:
    ~0.3 s of Chromium CPU per chart, three quarters of what drawing a report's charts
    cost. Plotly.toImage draws each figure in a fresh element and purges it, so nothing
    carries over between images; the reload is kept, as a periodic clean slate. Should
    kaleido rename the hook overridden here, it reloads after every figure again
    (slower, not wrong); ``tests/report`` notices. Its close is quiet about the cut read
    of choreographer's reader (:class:`_ShutdownReadNoise`).
    """
    import kaleido

    class _PrintKaleido(kaleido.Kaleido):  # type: ignore[misc]
        _drawn = 0

        async def _return_kaleido_tab(self, tab: Any) -> None:
            self._drawn += 1
            if self._drawn % _RELOAD_EVERY == 0:
                await super()._return_kaleido_tab(tab)
            else:
                await self.tabs_ready.put(tab)

        async def close(self) -> None:
            with _PIPE_NOISE.closing():
                await super().close()

    return _PrintKaleido


_PAGE_READY_JS = "function() { return typeof kaleido_scopes === 'object' && typeof Plotly === 'object'; }"


async def _until_page_ready(k: Any, *, poll_s: float = 0.05, polls: int = 200) -> None:
    """Wait until the page of kaleido's tab has run its scripts (kaleido_scopes.js, plotly.js).

    kaleido 1.5 can hand out a new tab before that: its wait for the page's load event can
    be answered by the blank page the tab opened with. On a busy machine the first figure
    then failed with "ReferenceError: kaleido_scopes is not defined" (seen about once in 20
    reports in a fresh browser while the test suite ran). Checked in the tab's own
    JavaScript context every ``poll_s``; a page still not ready after ``polls`` checks (10 s)
    is reloaded once (kaleido's reload waits for the new page), and after as many again
    the figures are left to fail visibly, chart by chart.
    """
    from kaleido._kaleido_tab import _devtools_utils as devtools

    tab = await k._get_kaleido_tab()
    try:
        for attempt in range(2):
            for _ in range(polls):
                answer = await devtools.exec_js_fn(tab.tab, tab._current_js_id, _PAGE_READY_JS)
                if (answer.get("result") or {}).get("result", {}).get("value") is True:
                    return
                await asyncio.sleep(poll_s)
            if attempt == 0:
                await tab.reload()
    finally:
        await k.tabs_ready.put(tab)


class _ChartSession:
    """One kaleido session (one headless Chromium) on its own event loop in a worker thread.

    Created, it starts the browser without waiting (so the browser boots while the
    analysis runs); :meth:`render` draws figures, as often as asked, one report's
    figures at a time; :meth:`close` shuts the browser down. Its own loop lets callers
    that already run one (Jupyter, Streamlit) use it.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="recovery-report-kaleido", daemon=True)
        self._thread.start()
        self._opened = asyncio.run_coroutine_threadsafe(self._open(), self._loop)
        self._closing: concurrent.futures.Future[None] | None = None

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    @staticmethod
    async def _open() -> Any:
        # MathJax off (kaleido would fetch it from a CDN); plotly.js comes from the
        # installed plotly package; choreographer starts Chromium with --no-sandbox
        # unless asked otherwise, which running as root needs.
        k = _kaleido_class()(n=1, mathjax=False, timeout=60)
        try:
            await k.open()
            await _until_page_ready(k)
        except BaseException:
            with contextlib.suppress(Exception):
                await k.close()
            raise
        return k

    def alive(self) -> bool:
        """True while the browser is starting or running and :meth:`close` was not called."""
        if self._closing is not None:
            return False
        if not self._opened.done():
            return True
        if self._opened.exception() is not None:
            return False
        process = getattr(self._opened.result(), "subprocess", None)
        return process is not None and process.poll() is None

    def render(self, items: list[tuple[Any, dict[str, Any]]]) -> list[bytes | BaseException]:
        """Every figure's image bytes (or its error), in order; raises when the browser
        could not start."""
        if self._closing is not None:
            raise RuntimeError("the chart session is closed")
        k = self._opened.result()

        async def draw() -> list[bytes | BaseException]:
            return await asyncio.gather(*(k.calc_fig(f, opts=o) for f, o in items), return_exceptions=True)

        return asyncio.run_coroutine_threadsafe(draw(), self._loop).result()

    def close_soon(self) -> None:
        """Start shutting the browser down; :meth:`close` waits for it. Idempotent."""
        if self._closing is None:
            self._closing = asyncio.run_coroutine_threadsafe(self._close(), self._loop)

    async def _close(self) -> None:
        try:
            k = await asyncio.wrap_future(self._opened)
        except BaseException:  # never started: nothing to shut down
            k = None
        try:
            if k is not None:
                await k.close()
        finally:
            # What choreographer leaves running (its pipe reader) ends with the loop.
            current = asyncio.current_task()
            rest = [t for t in asyncio.all_tasks() if t is not current]
            for task in rest:
                task.cancel()
            await asyncio.gather(*rest, return_exceptions=True)
            asyncio.get_running_loop().call_soon(self._loop.stop)

    def close(self, *, wait_s: float = 30.0) -> None:
        """Shut the browser down and wait for it, at most ``wait_s``. Idempotent.

        kaleido's shutdown has been seen to wait forever after Chromium had exited (the
        images were already in hand). The session's thread is a daemon, so a stalled
        shutdown is left behind rather than hanging the report.
        """
        self.close_soon()
        assert self._closing is not None
        with contextlib.suppress(TimeoutError, Exception):
            self._closing.result(timeout=wait_s)
        self._thread.join(timeout=0.5)


class _KeptChartSession:
    """A chart session kept alive across reports, for long-lived processes (the dashboard).

    The first report starts it; later reports find the browser running and only wait
    for their charts. Reports take turns under a lock (Streamlit runs each script run in
    its own thread); a session whose browser died (crashed, killed) is replaced
    transparently, and a report whose charts failed because the browser died while
    drawing them is drawn once more in a new one. The browser is shut down after
    ``idle_s`` seconds without a report and at interpreter exit (atexit), each time
    waiting at most ``wait_s`` (:meth:`_ChartSession.close`).
    """

    def __init__(self, *, idle_s: float | None = 900.0, wait_s: float = 30.0) -> None:
        self.idle_s = idle_s
        self.wait_s = wait_s
        self._lock = threading.Lock()
        self._session: _ChartSession | None = None
        self._timer: threading.Timer | None = None
        self._last_used = 0.0
        self._registered = False

    def warm(self) -> None:
        """Start the browser unless it runs (without waiting for it to boot). Returns at
        once while another report holds the session: it is running, or being restarted."""
        if self._lock.acquire(blocking=False):
            try:
                self._current()
            finally:
                self._lock.release()

    def _current(self) -> _ChartSession:
        """The running session, replacing a dead (or never started) one. Under the lock."""
        if self._session is None or not self._session.alive():
            if self._session is not None:
                self._session.close_soon()  # a dead browser's leftovers; nothing waits for them
            self._session = _ChartSession()
            if not self._registered:
                # atexit runs the last registered first. weakref.finalize's exit hook
                # removes temporary directories, the browser's profile and kaleido's page
                # among them: registered first (if it is not yet), it runs after ours.
                weakref.finalize(self, _nothing)
                atexit.register(self.close)
                self._registered = True
        self._last_used = time.monotonic()
        return self._session

    def render(self, items: list[tuple[Any, dict[str, Any]]]) -> list[bytes | BaseException]:
        """As :meth:`_ChartSession.render`, in the kept session."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            try:
                session = self._current()
                try:
                    results = session.render(items)
                except Exception as exc:
                    if not _browser_gone(exc):
                        raise
                    results = [exc] * len(items)
                if any(isinstance(r, BaseException) for r in results) and not session.alive():
                    # The browser died while drawing: once more, in a new one.
                    session.close_soon()
                    results = self._current().render(items)
            finally:
                self._last_used = time.monotonic()
                self._arm_idle_timer()
        return results

    def _arm_idle_timer(self) -> None:
        if self.idle_s is None or self._session is None:
            return
        self._timer = threading.Timer(self.idle_s, self._close_if_idle)
        self._timer.daemon = True
        self._timer.start()

    def _close_if_idle(self) -> None:
        with self._lock:
            if self._session is not None and time.monotonic() - self._last_used >= self.idle_s * 0.99:  # type: ignore[operator]
                self._session.close(wait_s=self.wait_s)
                self._session = None

    def close(self) -> None:
        """Shut the browser down (at most ``wait_s``); a later report starts a new one."""
        if not self._lock.acquire(timeout=self.wait_s):  # a report stuck drawing: leave it
            return
        try:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            session, self._session = self._session, None
            if session is not None:
                session.close(wait_s=self.wait_s)
        finally:
            self._lock.release()


_KEPT = _KeptChartSession()


def close_chart_browser() -> None:
    """Shut down the headless Chromium kept alive across reports (see ``keep_browser``).

    Not needed at exit (it is shut down then, and after 15 idle minutes); a later
    report starts a new one.
    """
    _KEPT.close()


def _export_charts(
    figs: dict[str, tuple[dict[str, Any], str]],
    draw: Callable[[list[tuple[Any, dict[str, Any]]]], list[bytes | BaseException]],
    *,
    image_format: str,
) -> tuple[dict[str, Chart], str | None]:
    """Export every figure through ``draw`` (one kaleido session): SVG or PNG (at scale 2,
    sharp in print); a chart whose SVG export fails is retried as PNG."""
    if not figs:
        return {}, None
    keys = list(figs)
    sizes = {k: (_CHART_WIDTH, int(figs[k][0].get("layout", {}).get("height") or 400)) for k in keys}

    def opts(key: str, fmt: str) -> dict[str, Any]:
        w, h = sizes[key]
        return {"format": fmt, "width": w, "height": h, **({"scale": 2} if fmt == "png" else {})}

    try:
        results = draw([(figs[k][0], opts(k, image_format)) for k in keys])
        failed = [k for k, r in zip(keys, results, strict=True) if isinstance(r, BaseException)]
        if failed and image_format != "png":
            retry = draw([(figs[k][0], opts(k, "png")) for k in failed])
            fixed = dict(zip(failed, retry, strict=True))
            results = [fixed.get(k, r) for k, r in zip(keys, results, strict=True)]
    except Exception as exc:
        # No Chromium, a browser crash or a timeout: the report still carries every
        # number and says, visibly, that its charts are missing.
        problem = (
            f"Charts could not be drawn ({type(exc).__name__}: {_short(exc, 160)}). The tables are "
            "complete; install Chromium (Debian: apt-get install chromium) to include the charts."
        )
        note = "Chart not drawn: see the note under Summary."
        return {k: Chart(k, figs[k][1], None, *sizes[k], note=note) for k in keys}, problem
    charts = {}
    for key, result in zip(keys, results, strict=True):
        if isinstance(result, BaseException):
            charts[key] = Chart(
                key, figs[key][1], None, *sizes[key], note=f"chart could not be drawn: {result}"
            )
            continue
        mime = "image/svg+xml" if result.lstrip()[:1] == b"<" else "image/png"
        uri = f"data:{mime};base64,{base64.b64encode(result).decode('ascii')}"
        charts[key] = Chart(key, figs[key][1], uri, *sizes[key])
    return charts, None


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def build_context(
    store: Any,
    patient_id: str,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    charts: bool = True,
    image_format: str = "svg",
    keep_browser: bool = True,
    mcid_points: float = 2.0,
    mcid_percent: float = 30.0,
    acwr_band: tuple[float, float] = (0.8, 1.3),
    acwr_high: float = 1.5,
    monotony_threshold: float = 2.0,
    max_rows: int = 10,
) -> ReportContext:
    """Gather one patient's report: analysis, data accounting and charts.

    Parameters
    ----------
    store
        A :class:`toolkit.store.Store`.
    patient_id
        The patient.
    start, end
        First and last day reported (inclusive; dates or ``YYYY-MM-DD``); default: the
        patient's first and last logged day.
    charts
        Export the charts (default True); False gives a context without images
        (tables and text only, no browser started).
    image_format
        ``"svg"`` (default: vector, sharp at any zoom) or ``"png"`` (at twice the
        size, ~230 dpi on the page).
    keep_browser
        Draw the charts in the headless Chromium kept alive across reports (default
        True: started by the first report, shut down after 15 idle minutes and at
        exit; see :func:`close_chart_browser`); False: a browser of this report
        only, shut down before returning.
    mcid_points, mcid_percent
        The pain MCID quoted (default 2 points or 30 %; Ostelo et al. 2008). The
        verdict itself is the analysis's (:func:`toolkit.analysis.pain.pain_outcome`).
    acwr_band, acwr_high
        The ACWR reference band and line summarised (default 0.8–1.3 and 1.5,
        Gabbett 2016 — descriptive only).
    monotony_threshold
        Monotony level counted (default 2.0, Foster's heuristic).
    max_rows
        Longest list of flags, flares, quarantined rows, unmapped names shown; the
        rest is counted (default 10).

    Raises
    ------
    StoreError
        The patient is not in the store.
    OptionError
        Invalid dates or options.
    """
    context, finish = _start_context(
        store,
        patient_id,
        start=start,
        end=end,
        charts=charts,
        image_format=image_format,
        keep_browser=keep_browser,
        mcid_points=mcid_points,
        mcid_percent=mcid_percent,
        acwr_band=acwr_band,
        acwr_high=acwr_high,
        monotony_threshold=monotony_threshold,
        max_rows=max_rows,
    )
    finish()
    return context


def _in_background(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
    """``fn(*args, **kwargs)`` in a daemon thread; its result (or error) in the future."""
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        if future.set_running_or_notify_cancel():
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to the caller by future.result()
                future.set_exception(exc)

    threading.Thread(target=run, name="recovery-report-charts", daemon=True).start()
    return future


def _start_context(
    store: Any,
    patient_id: str,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    charts: bool = True,
    image_format: str = "svg",
    keep_browser: bool = True,
    mcid_points: float = 2.0,
    mcid_percent: float = 30.0,
    acwr_band: tuple[float, float] = (0.8, 1.3),
    acwr_high: float = 1.5,
    monotony_threshold: float = 2.0,
    max_rows: int = 10,
) -> tuple[ReportContext, Callable[[], None]]:
    """:func:`build_context`, returning as soon as the charts exist together with a
    ``finish`` callable that waits for a report-only browser to shut down (so the PDF
    can be rendered meanwhile). ``finish`` must be called.

    The browser is asked to start first (it boots while the analysis runs, unless it is
    the kept one and already up); the figures are handed to it as soon as they are
    built, and the rest of the context is written while it draws them.
    """
    start_d, end_d = _to_date(start, "start"), _to_date(end, "end")
    if image_format not in _IMAGE_FORMATS:
        raise OptionError(f"image_format must be one of {', '.join(_IMAGE_FORMATS)}, got {image_format!r}")
    if not isinstance(max_rows, int) or max_rows < 1:
        raise OptionError(f"max_rows must be an int ≥ 1, got {max_rows!r}")
    session: _ChartSession | None = None
    draw: Callable[[list[tuple[Any, dict[str, Any]]]], list[bytes | BaseException]] | None = None
    if charts and keep_browser:
        _KEPT.warm()
        draw = _KEPT.render
    elif charts:
        session = _ChartSession()
        draw = session.render
    exported: concurrent.futures.Future[tuple[dict[str, Chart], str | None]] | None = None

    def on_figures(figs: dict[str, tuple[dict[str, Any], str]]) -> None:
        nonlocal exported
        if draw is not None:
            exported = _in_background(_export_charts, figs, draw, image_format=image_format)

    try:
        context = _context(
            store,
            patient_id,
            start=start_d,
            end=end_d,
            on_figures=on_figures if charts else None,
            mcid_points=mcid_points,
            mcid_percent=mcid_percent,
            acwr_band=acwr_band,
            acwr_high=acwr_high,
            monotony_threshold=monotony_threshold,
            max_rows=max_rows,
        )
        if exported is not None:
            context.charts, context.chart_problem = exported.result()
    except BaseException:
        if session is not None:
            if exported is not None:  # let the drawing end before the browser goes
                with contextlib.suppress(BaseException):
                    exported.result(timeout=60)
            session.close()
        raise
    if session is None:
        return context, _nothing
    session.close_soon()
    return context, session.close


def _nothing() -> None:
    return None


def _analyse(
    store: Any, patient_id: str, *, start: dt.date | None, end: dt.date | None
) -> tuple[PatientAnalysis, dict[str, pl.DataFrame]]:
    """:func:`toolkit.analysis.analyse_patient`, keeping the patient's tables it read (each
    table is read once per report)."""
    patients, tables = patient_tables(
        store, patient_id, ("sets", "sessions", "pain_entries", "outcome_measures", "uploads", "quarantine")
    )
    a = analyse_tables(
        patient_id,
        sets=tables["sets"],
        sessions=tables["sessions"],
        pain_entries=tables["pain_entries"],
        outcome_measures=tables["outcome_measures"],
        patients=patients,
        start=start,
        end=end,
    )
    return a, tables


def _context(
    store: Any,
    patient_id: str,
    *,
    start: dt.date | None,
    end: dt.date | None,
    on_figures: Callable[[dict[str, tuple[dict[str, Any], str]]], None] | None,
    mcid_points: float,
    mcid_percent: float,
    acwr_band: tuple[float, float],
    acwr_high: float,
    monotony_threshold: float,
    max_rows: int,
) -> ReportContext:
    """The report's context; ``on_figures`` (when given) receives the figures as soon as
    they are built, before the rest is written."""
    a, tables = _analyse(store, patient_id, start=start, end=end)
    uploads, quarantine = tables["uploads"], tables["quarantine"]
    sets = between(tables["sets"], "local_date", a.start, a.end)
    measures = between(tables["outcome_measures"], "local_date", a.start, a.end)
    pain_entries = between(tables["pain_entries"], "local_date", a.start, a.end)
    e1rm = _e1rm(sets)
    if on_figures is not None:
        on_figures(_build_figures(a, e1rm, measures))

    record = a.patient or {}
    weeks = None
    if a.start is not None and a.end is not None:
        weeks = ((a.end - a.start).days + 1) / 7
        period = f"{_date(a.start)} – {_date(a.end)} ({_num(weeks)} weeks)"
    else:
        period = "no data logged"
    anchors = [
        (label, _date(record.get(key)))
        for key, label in (("surgery_date", "Surgery"), ("programme_start_date", "Programme start"))
        if record.get(key)
    ]
    planned = _finite(record.get("planned_sessions_per_week"))
    sources, totals = _sources(uploads)
    in_period = (
        f"{_plural(a.session_load.height, 'session')} ({_plural(sets.height, 'set')}), "
        f"{_plural(pain_entries.height, 'pain rating')}, {_plural(measures.height, 'questionnaire score')}"
    )

    pain = _pain_section(a, mcid_points=mcid_points, mcid_percent=mcid_percent)
    flares, flares_more = _flares(a, pain_entries, max_rows)
    if pain is not None:
        pain["locations"] = _locations(pain_entries)
    flags, flags_more, flag_counts = _flags(a, max_rows)
    relations, relations_note = _relations(_rows(a.relations) + _rows(getattr(a, "rest_strength", None)))
    quarantine_rows, q_more, q_total, q_info = _quarantine(quarantine, max_rows)
    assumptions, notes = _assumptions(uploads)

    missing = list(dict.fromkeys(a.messages))
    if measures.height == 0:
        missing.append("no questionnaires (ODI, RMDQ, PSFS) in this period: PROM outcomes need a PROMs CSV")
    if not uploads.height:
        missing.append("no files uploaded for this patient")

    caveats = [
        "Associations, not causes: the log cannot separate training effects from natural recovery, "
        "regression to the mean (patients often start at a pain peak) or pain-contingent activity "
        "(less training on painful days).",
        *_gaps_caveat(a),
        *_units_caveat(uploads, sets),
        f"ACWR is a descriptive spike detector, not a risk verdict: the {acwr_band[0]:g}–{acwr_band[1]:g} band "
        f"and the {acwr_high:g} line do not hold up once load is treated as continuous (Impellizzeri et al. "
        "2020), and coupled ratios correlate spuriously (Lolli et al. 2019). Variants differ; the one used "
        "is named.",
        "Flags are prompts to look, not verdicts; monotony and strain thresholds are heuristics and "
        "depend on the load unit (Foster 1998).",
    ]

    ctx: dict[str, Any] = {
        "pain": pain,
        "adherence": _adherence(a),
        "progression": _progression(a, e1rm, cap=6),
        "flag_counts": flag_counts,
        "relations": relations,
    }
    context = ReportContext(
        patient_id=patient_id,
        patient_name=record.get("name"),
        condition=record.get("condition"),
        period=period,
        period_start=a.start,
        period_end=a.end,
        weeks=weeks,
        generated=dt.datetime.now().astimezone().strftime("%-d %b %Y %H:%M %Z").strip(),
        anchors=anchors,
        planned=None if planned is None else _num(planned),
        sources=sources,
        source_totals=totals,
        in_period=in_period,
        highlights=_highlights(ctx, a),
        missing=missing,
        pain=pain,
        change_points=[
            {
                "date": _date(r["date"]),
                "before": _num(r.get("mean_before")),
                "after": _num(r.get("mean_after")),
            }
            for r in a.change_points.sort("date").iter_rows(named=True)
        ],
        flares=flares,
        flares_more=flares_more,
        proms=_proms(a),
        adherence=ctx["adherence"],
        progression=ctx["progression"],
        acwr=_acwr(a, acwr_band, acwr_high),
        monotony=_monotony(a, monotony_threshold),
        relations=relations,
        relations_note=relations_note,
        flags=flags,
        flags_more=flags_more,
        flag_counts=flag_counts,
        caveats=caveats,
        safe_doses=_safe_doses(a, cap=6),
        quarantine=quarantine_rows,
        quarantine_more=q_more,
        quarantine_total=q_total,
        quarantine_info=q_info,
        unmapped=_unmapped(sets, max_rows),
        assumptions=assumptions,
        file_notes=notes,
    )
    return context


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # autoescape=True for every template: user text (names, notes, exercise and file
    # names) is always escaped, whatever the template's file name.
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def html_from_context(context: ReportContext) -> str:
    """The report's self-contained HTML for a built :class:`ReportContext`."""
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            r=context,
            css=Markup(css),
            acwr_caveat=getattr(figures, "ACWR_CAVEAT", "descriptive spike detector, not a risk verdict"),
        )
    )


def render_html(
    store: Any,
    patient_id: str,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    image_format: str = "svg",
    keep_browser: bool = True,
) -> str:
    """One patient's recovery report as a self-contained HTML page.

    One file: CSS inline, charts inline as ``data:`` URIs (SVG by default); nothing is
    loaded from elsewhere. See :func:`build_context` for the parameters.
    """
    return _render(  # type: ignore[return-value]
        store,
        patient_id,
        start=start,
        end=end,
        image_format=image_format,
        keep_browser=keep_browser,
        pdf=False,
    )


def pdf_from_html(html: str) -> bytes:
    """WeasyPrint's PDF of the report HTML; only ``data:`` URLs are fetched."""
    from weasyprint import HTML, URLFetcher

    return HTML(string=html, url_fetcher=URLFetcher(allowed_protocols=("data",))).write_pdf()


def render_pdf(
    store: Any,
    patient_id: str,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    image_format: str = "svg",
    keep_browser: bool = True,
) -> bytes:
    """One patient's recovery report as PDF bytes (A4), rendered by WeasyPrint from the
    same HTML as :func:`render_html`.

    Charts are vector (SVG) by default: sharp when printed or zoomed, their labels text
    that can be searched and copied, the PDF ~120 KB. ``image_format="png"`` embeds them
    as pictures drawn at twice their size (~230 dpi on the page, the PDF ~350 KB); with
    the browser kept alive both take about the same time (1.1–1.3 s for a demo patient,
    issue 8). See :func:`build_context` for the parameters.
    """
    return _render(  # type: ignore[return-value]
        store,
        patient_id,
        start=start,
        end=end,
        image_format=image_format,
        keep_browser=keep_browser,
        pdf=True,
    )


def _render(
    store: Any,
    patient_id: str,
    *,
    start: dt.date | str | None,
    end: dt.date | str | None,
    image_format: str,
    keep_browser: bool,
    pdf: bool,
) -> str | bytes:
    context, finish = _start_context(
        store, patient_id, start=start, end=end, image_format=image_format, keep_browser=keep_browser
    )
    try:
        html = html_from_context(context)
        return pdf_from_html(html) if pdf else html  # while a report-only browser shuts down
    finally:
        finish()


def render_report(
    store: Any,
    patient_id: str,
    out: str | Path,
    *,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    image_format: str | None = "svg",
    keep_browser: bool = False,
) -> Path:
    """Write one patient's report to ``out``; the format follows the extension.

    The one-shot entry point (``recovery report``): by default its browser is its own,
    shut down before it returns.

    Parameters
    ----------
    store, patient_id, start, end, keep_browser
        As :func:`build_context` (``keep_browser`` default False here).
    out
        ``*.pdf`` or ``*.html`` (case-insensitive); parent folders are created.
    image_format
        ``"svg"`` (default, also for None: vector charts) or ``"png"``.

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    OptionError
        ``out`` ends in anything else (checked before any work), or invalid dates.
    StoreError
        The patient is not in the store.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in _FORMATS:
        raise OptionError(f"report file must end in .pdf or .html, got {path.name!r}")
    pdf = suffix == ".pdf"
    data = _render(
        store,
        patient_id,
        start=start,
        end=end,
        image_format=image_format or "svg",
        keep_browser=keep_browser,
        pdf=pdf,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path
