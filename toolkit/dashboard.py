"""Start the Streamlit dashboard, and the store-side helpers its pages call.

:func:`serve` runs ``streamlit run dashboards/app.py`` for a store; the CLI's
``recovery dashboard [--store PATH] [--port N] [--host ADDR]`` calls it. Patient data is
health data, so the dashboard binds to 127.0.0.1 by default and, on any other address,
refuses to start unless a login is configured: Streamlit's OIDC login (an ``[auth]``
section in ``.streamlit/secrets.toml``) or a password in ``$RECOVERY_DASHBOARD_PASSWORD``.

The other functions are what the pages call beyond :mod:`toolkit.analysis` and
:mod:`toolkit.report`; none imports streamlit:

* :func:`load_demo_if_empty` / :func:`demo_patients` — the synthetic demo cohort on an
  empty store, and which patients of a store came from it;
* :func:`patient_view` — one patient's analysis plus the frames its figures need;
  :func:`patient_figure` — one of the patient page's charts of such a view;
* :func:`cohort_overview` — one row per patient (baseline → current, MCID, adherence,
  flags, last log);
* :func:`unmapped_exercises`, :func:`user_catalogue`, :func:`add_exercise_alias` — the
  user's exercise catalogue beside the store, for mapping unknown exercise names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from toolkit.exceptions import OptionError, StoreError, ToolkitError
from toolkit.store import IngestReport, PreparedUpload, Store

# The analysis (statsmodels, scipy, ruptures) and the demo cohort are imported where they
# are used: `recovery dashboard` and the upload page start without waiting for them.
if TYPE_CHECKING:
    import plotly.graph_objects as go

    from toolkit.analysis import PatientAnalysis
    from toolkit.analysis.summary import PatientBasics
    from toolkit.ingest import ReadOptions

__all__ = [
    "LOCAL_HOSTS",
    "MAX_UPLOAD_ENV",
    "PASSWORD_ENV",
    "PATIENT_FIGURES",
    "ClinicModel",
    "PatientFirstLook",
    "PatientView",
    "UploadPreview",
    "add_exercise_alias",
    "app_path",
    "clinic_model",
    "cohort_overview",
    "dashboard_command_help",
    "demo_patients",
    "first_look_figure",
    "load_demo_if_empty",
    "login_mode",
    "patient_figure",
    "patient_first_look",
    "patient_view",
    "preview_uploads",
    "serve",
    "streamlit_command",
    "unmapped_exercises",
    "upload_signature",
    "user_catalogue",
    "user_catalogue_path",
]

PASSWORD_ENV = "RECOVERY_DASHBOARD_PASSWORD"
"""Environment variable holding the dashboard password (a login for non-local hosts)."""
MAX_UPLOAD_ENV = "RECOVERY_MAX_UPLOAD_MB"
"""Environment variable with the upload size cap in MB that the pages enforce."""
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
"""Addresses served without a login."""
DEFAULT_MAX_UPLOAD_MB = 200


def dashboard_command_help() -> str:
    """The help of ``recovery dashboard`` (for the CLI to reuse)."""
    return (
        "Start the dashboard (Streamlit) on the store: upload exports, explore a patient's "
        "pain and training, download the report. Binds to 127.0.0.1; any other --host needs "
        f"a login (Streamlit OIDC in .streamlit/secrets.toml, or ${PASSWORD_ENV}). "
        "An empty store gets the synthetic demo cohort."
    )


# --------------------------------------------------------------------------------------
# Serving
# --------------------------------------------------------------------------------------


def app_path() -> Path:
    """The dashboard's entrypoint, ``dashboards/app.py`` beside the package."""
    path = Path(__file__).resolve().parents[1] / "dashboards" / "app.py"
    if not path.is_file():
        raise StoreError(
            f"dashboard app not found at {path}; run from a checkout of recovery-toolkit (pip install -e .)"
        )
    return path


def _secrets_files() -> list[Path]:
    """Where Streamlit reads secrets by default: the working directory's
    ``.streamlit/secrets.toml``, then the user's."""
    return [Path.cwd() / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"]


def _oidc_configured(files: list[Path] | None = None) -> bool:
    for path in files if files is not None else _secrets_files():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        if isinstance(data.get("auth"), dict) and data["auth"]:
            return True
    return False


def login_mode(host: str, *, secrets_files: list[Path] | None = None) -> str:
    """How the dashboard on ``host`` asks for a login: ``"password"``, ``"oidc"`` or ``"none"``.

    Raises
    ------
    OptionError
        ``host`` is not a loopback address and no login is configured.
    """
    if os.environ.get(PASSWORD_ENV):
        return "password"
    if _oidc_configured(secrets_files):
        return "oidc"
    if host in LOCAL_HOSTS:
        return "none"
    raise OptionError(
        f"refusing to serve patient data on {host!r} without a login: set {PASSWORD_ENV} "
        "or configure Streamlit's OIDC login ([auth] in .streamlit/secrets.toml), "
        "or keep the default --host 127.0.0.1"
    )


def streamlit_command(
    *, port: int, host: str, headless: bool = True, max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
) -> list[str]:
    """The ``python -m streamlit run ...`` command line :func:`serve` runs."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_path()),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true" if headless else "false",
        "--server.maxUploadSize",
        str(max_upload_mb),
        "--server.fileWatcherType",
        "none",
        # Streamlit runs a full gc.collect(2) after every script run by default; with the
        # analysis stack imported that is 0.1-0.5 s of the script thread per rerun, in the
        # way of the next rerun (upload → check → Add → charts is four of them). Python's
        # own generational collector still runs.
        "--runner.postScriptGC",
        "false",
        "--browser.gatherUsageStats",
        "false",
        "--theme.base",
        "light",
        "--client.toolbarMode",
        "minimal",
    ]


def serve(
    store: Path | str | None = None,
    *,
    port: int = 8501,
    host: str = "127.0.0.1",
    headless: bool = True,
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB,
) -> int:
    """Run the dashboard on ``store`` until it is stopped; returns Streamlit's exit code.

    Parameters
    ----------
    store
        The DuckDB store (default :func:`toolkit.store.default_store_path`). An empty or
        missing store gets the synthetic demo cohort first, and the pages say so.
    port
        TCP port (1–65535), default 8501.
    host
        Address to bind, default ``127.0.0.1``. Any address other than 127.0.0.1,
        localhost or ::1 needs a login (see :func:`login_mode`).
    headless
        Do not open a browser (default True).
    max_upload_mb
        Largest upload in MB (1–2000), default 200: Streamlit refuses larger files and
        the upload page says so.

    Raises
    ------
    OptionError
        Bad port or size, or a non-local ``host`` without a login.
    """
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise OptionError(f"port must be an int in 1..65535, got {port!r}")
    if (
        isinstance(max_upload_mb, bool)
        or not isinstance(max_upload_mb, int)
        or not 1 <= max_upload_mb <= 2000
    ):
        raise OptionError(f"max_upload_mb must be an int in 1..2000, got {max_upload_mb!r}")
    if not host or not isinstance(host, str):
        raise OptionError(f"host must be an address such as 127.0.0.1, got {host!r}")
    mode = login_mode(host)
    target = Store(store)
    if load_demo_if_empty(target):
        print(
            f"recovery dashboard: {target.path} was empty; loaded the synthetic demo cohort",
            file=sys.stderr,
        )
    env = dict(os.environ)
    env["RECOVERY_STORE"] = str(target.path)
    env[MAX_UPLOAD_ENV] = str(max_upload_mb)
    env["RECOVERY_DASHBOARD_LOGIN"] = mode
    shown = f"[{host}]" if ":" in host else host
    print(f"recovery dashboard: http://{shown}:{port}  (store {target.path}; Ctrl+C stops)", file=sys.stderr)
    proc = subprocess.Popen(
        streamlit_command(port=port, host=host, headless=headless, max_upload_mb=max_upload_mb), env=env
    )
    # Stopping this process (Ctrl+C, or SIGTERM from a service manager or a test) stops
    # Streamlit too: it must not outlive us, holding the port and the store.
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        return 0
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _raise_interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


# --------------------------------------------------------------------------------------
# The demo cohort
# --------------------------------------------------------------------------------------


def _demo_marker(store_path: Path) -> Path:
    return store_path.with_name(store_path.name + ".demo.json")


def load_demo_if_empty(store: Store) -> bool:
    """Ingest the synthetic demo cohort when ``store`` has no patient; True when it did.

    The demo's patient ids are written to ``<store>.demo.json`` so the pages can say
    which patients are invented (:func:`demo_patients`).
    """
    if store.exists() and store.patients().height:
        return False
    from toolkit.datasets import demo_cohort

    cohort = demo_cohort()
    cohort.ingest_into(store)
    ids = sorted(cohort.patients["patient_id"].to_list())
    _demo_marker(store.path).write_text(json.dumps({"patients": ids}, indent=1), encoding="utf-8")
    return True


def demo_patients(store_path: Path | str) -> frozenset[str]:
    """Ids of the synthetic demo patients loaded into this store (empty when none)."""
    try:
        data = json.loads(_demo_marker(Path(store_path)).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return frozenset()
    return frozenset(str(p) for p in data.get("patients", []))


# --------------------------------------------------------------------------------------
# What the pages show
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientFirstLook:
    """What the patient page shows first: the headline and the pain chart.

    Attributes
    ----------
    basics
        :func:`toolkit.analysis.summary.patient_basics` over the period (its rows, load,
        pain outcome, trend, flares, messages).
    trend
        :func:`toolkit.analysis.pain.pain_trend` of ``basics.daily_pain``.
    first_date, last_date
        The patient's whole date range (for the period picker); None without data.
    """

    basics: PatientBasics
    trend: pl.DataFrame
    first_date: dt.date | None
    last_date: dt.date | None


@dataclass(frozen=True)
class PatientView:
    """One patient's analysis and the extra frames its figures need.

    Attributes
    ----------
    analysis
        :func:`toolkit.analysis.analyse_patient` over the period.
    trend
        :func:`toolkit.analysis.pain.pain_trend` of ``analysis.daily_pain``.
    e1rm
        :func:`toolkit.analysis.load.e1rm` of the period's sets (the e1RM range), with only
        the columns the figures and the report read (dates, exercise, set, reps and weight).
    outcome_measures
        The period's questionnaire scores.
    first_date, last_date
        The patient's whole date range (for the period picker); None without data.
    """

    analysis: PatientAnalysis
    trend: pl.DataFrame
    e1rm: pl.DataFrame
    outcome_measures: pl.DataFrame
    first_date: dt.date | None
    last_date: dt.date | None


_E1RM_COLUMNS = (
    "session_id",
    "local_date",
    "exercise_raw",
    "exercise",
    "set_index",
    "set_type",
    "reps",
    "weight_kg",
)
"""Columns of the sets kept beside the ``e1rm_*`` estimates in :attr:`PatientView.e1rm`.

The e1RM frame has one row per loaded working set; with all 30 columns of the sets it was
24 MB of a 50k-set patient's view, held in the dashboard's cache for every period viewed.
"""


def _between(frame: pl.DataFrame, start: dt.date | None, end: dt.date | None) -> pl.DataFrame:
    if start is not None:
        frame = frame.filter(pl.col("local_date") >= start)
    if end is not None:
        frame = frame.filter(pl.col("local_date") <= end)
    return frame


def _slim_e1rm(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        [c for c in _E1RM_COLUMNS if c in frame.columns] + [c for c in frame.columns if c.startswith("e1rm_")]
    )


def patient_first_look(
    store: Store, patient_id: str, *, start: dt.date | None = None, end: dt.date | None = None
) -> PatientFirstLook:
    """The fast part of :func:`patient_view` (about half its time at 50k sets): the page
    draws its headline and pain chart (:func:`first_look_figure`) from it while the rest
    is computed.

    Raises
    ------
    StoreError
        No such patient.
    OptionError
        ``start`` after ``end``.
    """
    from toolkit.analysis import pain as pn
    from toolkit.analysis.summary import patient_basics, patient_tables

    if not store.exists():
        raise StoreError(f"no patient {patient_id!r} in this store")
    every_patient, tables = patient_tables(store, patient_id)
    # The whole log's period, as Store.patients() gives it: sessions and pain entries.
    dates = pl.concat([tables["sessions"].select("local_date"), tables["pain_entries"].select("local_date")])
    basics = patient_basics(patient_id, **tables, patients=every_patient, start=start, end=end)  # type: ignore[arg-type]
    return PatientFirstLook(
        basics=basics,
        trend=pn.pain_trend(basics.daily_pain),
        first_date=dates["local_date"].min(),  # type: ignore[arg-type]
        last_date=dates["local_date"].max(),  # type: ignore[arg-type]
    )


def patient_view(
    store: Store,
    patient_id: str,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    first: PatientFirstLook | None = None,
) -> PatientView:
    """Analyse one patient over ``[start, end]`` for the patient page.

    ``first``: :func:`patient_first_look` of the same patient and period, already
    computed (the page's first part): only the rest is computed, the store is not read.

    Raises
    ------
    StoreError
        No such patient.
    OptionError
        ``start`` after ``end``.
    """
    from toolkit.analysis import load as ld
    from toolkit.analysis.summary import complete_analysis

    if first is None:
        first = patient_first_look(store, patient_id, start=start, end=end)
    b = first.basics
    if b.patient_id != patient_id:
        raise OptionError(f"patient_view: the first look is of {b.patient_id!r}, not {patient_id!r}")
    return PatientView(
        analysis=complete_analysis(b),
        trend=first.trend,
        e1rm=_slim_e1rm(ld.e1rm(b.sets)),
        outcome_measures=b.outcome_measures,
        first_date=first.first_date,
        last_date=first.last_date,
    )


PATIENT_FIGURES = ("pain", "load", "progression", "acwr", "flags", "prom")
"""The patient page's charts, in the order the page shows them (:func:`patient_figure`)."""


def patient_figure(view: PatientView, name: str) -> go.Figure | None:
    """One of the patient page's charts of ``view`` (:mod:`toolkit.report` builders).

    ``name`` is one of :data:`PATIENT_FIGURES`: ``pain`` (:func:`toolkit.report.pain_figure`),
    ``load``, ``progression``, ``acwr``, ``flags`` (``flags_timeline``) or ``prom`` (None
    without questionnaire scores). One at a time, so a page can show the first chart while
    the others are still being built (building all of them is 0.2-0.5 s of plotly
    validation at 50k sets).

    Raises
    ------
    OptionError
        Unknown ``name``.
    """
    from toolkit import report

    a = view.analysis
    if name == "pain":
        return _pain_figure(a, view.trend)
    if name == "load":
        return report.load_figure(a.daily_load, a.weekly_load)
    if name == "progression":
        return report.progression_figure(a.weekly_top_load, a.progression, e1rm=view.e1rm)
    if name == "acwr":
        return report.acwr_figure(a.acwr)
    if name == "flags":
        return report.flags_timeline(a.flags)
    if name == "prom":
        if view.outcome_measures.height == 0:
            return None
        return report.prom_figure(view.outcome_measures, a.prom_outcomes)
    raise OptionError(f"no patient figure {name!r}; one of {', '.join(PATIENT_FIGURES)}")


def first_look_figure(first: PatientFirstLook) -> go.Figure:
    """The patient page's first chart (``patient_figure(view, "pain")``) from the first look."""
    return _pain_figure(first.basics, first.trend)


def _pain_figure(a: PatientAnalysis | PatientBasics, trend: pl.DataFrame) -> go.Figure:
    from toolkit import report

    return report.pain_figure(
        a.daily_pain,
        trend=trend,
        outcome=a.pain_outcome,
        change_points=a.change_points,
        flares=a.flares,
        daily_load=a.daily_load,
    )


_COHORT_SCHEMA: dict[str, Any] = {
    "patient_id": pl.String,
    "demo": pl.Boolean,
    "baseline": pl.Float64,
    "current": pl.Float64,
    "change": pl.Float64,
    "percent_change": pl.Float64,
    "mcid_reached": pl.Boolean,
    "trend_per_week": pl.Float64,
    "sessions_per_week": pl.Float64,
    "adherence_pct": pl.Float64,
    "flags": pl.Int64,
    "flares": pl.Int64,
    "last_log": pl.Date,
    "uploads": pl.Int64,
    "status": pl.String,
}


def cohort_overview(store: Store) -> pl.DataFrame:
    """One row per patient of the store, for the cohort page.

    The numbers are :func:`toolkit.analysis.cohort.cohort_table`'s (the same as
    :func:`toolkit.analysis.analyse_patient` over each patient's whole log), with the
    pain trend, the upload count and whether the patient is a demo patient added.

    Returns
    -------
    polars.DataFrame
        Sorted by ``patient_id``:

        - ``patient_id`` (str); ``demo`` (bool): a synthetic demo patient.
        - ``baseline``, ``current``, ``change`` (float, NRS points) and
          ``percent_change`` (float, %): first vs last 7 logged days.
        - ``mcid_reached`` (bool): ≥ 2 points or ≥ 30 % better; null without enough days.
        - ``trend_per_week`` (float, NRS points/week): pain slope
          (:func:`toolkit.analysis.pain.pain_slope`).
        - ``sessions_per_week`` (float), ``adherence_pct`` (float, % of the prescribed
          sessions; null when none is prescribed).
        - ``flags`` (int): flags over the whole log; ``flares`` (int): pain flares.
        - ``last_log`` (Date): last day with anything logged.
        - ``uploads`` (int): files ingested.
        - ``status`` (str): ``"ok"``, or what is missing, in words.
    """
    patients = store.patients()
    if patients.height == 0:
        return pl.DataFrame(schema=_COHORT_SCHEMA)
    tables = {name: store.table(name) for name in ("sets", "sessions", "pain_entries", "outcome_measures")}
    try:
        from toolkit.analysis.cohort import cohort_table
    except ImportError:  # the analysis engine's part 2 not installed: one patient at a time
        return _cohort_overview_per_patient(store, patients, tables)
    from toolkit.analysis import pain as pn

    table = cohort_table(
        tables["sets"],
        tables["sessions"],
        tables["pain_entries"],
        patients,
        outcome_measures=tables["outcome_measures"],
    )
    slopes = pn.pain_slope(pn.daily_pain(tables["pain_entries"])).select(
        "patient_id", pl.col("slope_per_week").alias("trend_per_week")
    )
    demo = sorted(demo_patients(store.path))
    return (
        table.join(slopes, on="patient_id", how="left")
        .join(patients.select("patient_id", "uploads"), on="patient_id", how="left")
        .with_columns(
            pl.col("patient_id").is_in(demo).alias("demo"),
            pl.col("flags_total").alias("flags"),
            pl.col("flags_pain_flare").alias("flares"),
        )
        .select(list(_COHORT_SCHEMA))
        .cast(_COHORT_SCHEMA)
        .sort("patient_id")
    )


def _cohort_overview_per_patient(
    store: Store, patients: pl.DataFrame, tables: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    from toolkit.analysis import analyse_tables

    demo = demo_patients(store.path)
    every = store.table("patients")
    rows = []
    for record in patients.iter_rows(named=True):
        pid = record["patient_id"]
        summary = analyse_tables(pid, patients=every, **tables).to_dict()  # type: ignore[arg-type]
        pain, load = summary["pain"], summary["load"]
        rows.append(
            {
                "patient_id": pid,
                "demo": pid in demo,
                "baseline": pain.get("baseline"),
                "current": pain.get("current"),
                "change": pain.get("change"),
                "percent_change": pain.get("percent_change"),
                "mcid_reached": pain.get("mcid_reached"),
                "trend_per_week": pain.get("trend_per_week"),
                "sessions_per_week": load.get("sessions_per_week"),
                "adherence_pct": load.get("adherence_pct"),
                "flags": len(summary["flags"]),
                "flares": pain.get("flares"),
                "last_log": record.get("last_date"),
                "uploads": record.get("uploads"),
                "status": pain.get("status") or "no pain entries",
            }
        )
    return pl.DataFrame(rows, schema=_COHORT_SCHEMA).sort("patient_id")


@dataclass(frozen=True)
class ClinicModel:
    """The clinic-level mixed model for the cohort page.

    Attributes
    ----------
    fixed_effects
        ``toolkit.analysis.cohort.CohortModel.fixed_effects`` (term, estimate, CI, p).
    patient_slopes
        Each patient's own slope beside the partially pooled one.
    sentences
        :func:`toolkit.analysis.cohort.describe`: the associations in words, the notes
        and the caveats.
    """

    fixed_effects: pl.DataFrame
    patient_slopes: pl.DataFrame
    sentences: tuple[str, ...]


def clinic_model(store: Store) -> ClinicModel | None:
    """Fit the clinic-level model (weekly pain change on within- and between-patient
    sessions and load change; :func:`toolkit.analysis.cohort.mixed_model`).

    Returns None when the analysis engine's cohort module is not installed.

    Raises
    ------
    OptionError
        Too few patients or weeks to fit (the message says which).
    """
    try:
        from toolkit.analysis import cohort as ch
    except ImportError:
        return None
    panel = ch.weekly_panel(
        store.table("sets"), store.table("sessions"), store.table("pain_entries"), patients=store.patients()
    )
    model = ch.mixed_model(panel)
    return ClinicModel(model.fixed_effects, model.patient_slopes, tuple(ch.describe(model)))


# --------------------------------------------------------------------------------------
# Uploads: each file read once, checked (a dry run), then written on Add
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UploadPreview:
    """What one uploaded file would add: its dry-run report, or why it is refused.

    ``prepared`` is the file read and normalised (:meth:`toolkit.store.Store.prepare`),
    to be written with ``store.ingest([...prepared], patient_id=...)`` without reading it
    again; None when refused.
    """

    name: str
    size: int
    report: IngestReport | None
    error: str | None
    prepared: PreparedUpload | None = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.report is not None


def upload_signature(
    items: Sequence[tuple[str, bytes]],
    *,
    patient_id: str,
    options: ReadOptions | None,
    catalogue: pl.DataFrame | None,
) -> tuple[Any, ...]:
    """What a check of ``items`` depends on: the patient, the reading options, each file's
    name and SHA-256, and the catalogue. Reuse :func:`preview_uploads`' prepared files for
    the write only while this is unchanged; otherwise check again."""
    files = tuple((name, hashlib.sha256(data).hexdigest()) for name, data in items)
    cat = None if catalogue is None else hashlib.sha256(catalogue.write_csv().encode()).hexdigest()
    return (patient_id, repr(options), files, cat)


def preview_uploads(
    store: Store,
    items: Sequence[tuple[str, bytes]],
    *,
    patient_id: str,
    options: ReadOptions | None = None,
    catalogue: pl.DataFrame | None = None,
    on_file: Callable[[int, str], None] | None = None,
) -> list[UploadPreview]:
    """Read every file on its own, so one refused file does not hide the others'
    accounting, and dry-run them against the store; nothing is written.

    Each accepted file's :attr:`UploadPreview.prepared` can then be written as it is
    (the write counts duplicates against the store again, at that time).
    ``on_file(i, name)`` is called before file ``i`` (0-based) is read (progress bars).
    Duplicates *between* the files of one batch are only counted when they are committed.
    """
    if catalogue is None:
        catalogue = store.catalogue()
    prepared: list[PreparedUpload | str] = []
    for i, (name, data) in enumerate(items):
        if on_file is not None:
            on_file(i, name)
        try:
            prepared.append(
                store.prepare([(name, data)], patient_id=patient_id, options=options, catalogue=catalogue)
            )
        except ToolkitError as exc:
            prepared.append(str(exc))
    good = [p for p in prepared if isinstance(p, PreparedUpload)]
    try:  # one read-only look at the store for all of them
        reports = iter(store.ingest(good, patient_id=patient_id, dry_run=True) if good else [])
    except ToolkitError as exc:
        failed = str(exc)
        prepared = [failed if isinstance(p, PreparedUpload) else p for p in prepared]
        reports = iter([])
    out = []
    for (name, data), p in zip(items, prepared, strict=True):
        if isinstance(p, PreparedUpload):
            out.append(UploadPreview(name, len(data), next(reports), None, p))
        else:
            out.append(UploadPreview(name, len(data), None, p))
    return out


# --------------------------------------------------------------------------------------
# Exercise names the catalogue does not know
# --------------------------------------------------------------------------------------


def unmapped_exercises(store: Store, patient_id: str | None = None) -> pl.DataFrame:
    """Exercise names that matched no catalogue entry: ``exercise_raw, patients, sets,
    first_date, last_date`` (``patients`` is a list of ids), most sets first."""
    sets = store.table("sets", patient_id=patient_id)
    schema = {
        "exercise_raw": pl.String,
        "patients": pl.List(pl.String),
        "sets": pl.UInt32,
        "first_date": pl.Date,
        "last_date": pl.Date,
    }
    if sets.height == 0:
        return pl.DataFrame(schema=schema)
    return (
        sets.filter(~pl.col("exercise_mapped"))
        .group_by("exercise_raw")
        .agg(
            pl.col("patient_id").unique().sort().alias("patients"),
            pl.len().alias("sets"),
            pl.col("local_date").min().alias("first_date"),
            pl.col("local_date").max().alias("last_date"),
        )
        .sort(["sets", "exercise_raw"], descending=[True, False])
        .cast(schema)  # type: ignore[arg-type]
    )


def user_catalogue_path(store_path: Path | str) -> Path:
    """The user's exercise catalogue beside the store (:attr:`toolkit.store.Store.catalogue_path`)."""
    from toolkit.store import Store

    return Store(store_path).catalogue_path


def user_catalogue(store_path: Path | str) -> pl.DataFrame | None:
    """The user's catalogue when one exists beside the store (checked), else None."""
    from toolkit.ingest.catalogue import load_catalogue

    path = user_catalogue_path(store_path)
    return load_catalogue(path) if path.is_file() else None


def add_exercise_alias(store_path: Path | str, raw_name: str, canonical_name: str) -> Path:
    """Map ``raw_name`` to ``canonical_name`` in the user's catalogue beside the store.

    The catalogue starts as a copy of the packaged one. The file is checked (no name may
    belong to two exercises) before it replaces the old one; then re-process the
    patients with :meth:`toolkit.store.Store.reprocess` passing
    ``catalogue=user_catalogue(store_path)``.

    Returns
    -------
    Path
        The catalogue file written.

    Raises
    ------
    OptionError
        Unknown canonical name, empty raw name, or a name the catalogue gives to another
        exercise.
    """
    from toolkit.ingest.catalogue import CATALOGUE_COLUMNS, load_catalogue

    raw = " ".join(str(raw_name).split())
    if not raw:
        raise OptionError("the exercise name to map is empty")
    if "|" in raw:
        raise OptionError(f"an exercise name may not contain '|', got {raw!r}")
    cat = user_catalogue(store_path)
    if cat is None:
        cat = load_catalogue()
    names = cat["canonical_name"].to_list()
    if canonical_name not in names:
        raise OptionError(f"{canonical_name!r} is not an exercise of the catalogue")
    cat = cat.with_columns(
        pl.when(pl.col("canonical_name") == canonical_name)
        .then(
            pl.when(pl.col("aliases").is_null())
            .then(pl.lit(raw))
            .otherwise(pl.col("aliases") + pl.lit("|" + raw))
        )
        .otherwise(pl.col("aliases"))
        .alias("aliases")
    ).select(CATALOGUE_COLUMNS)
    path = user_catalogue_path(store_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    cat.write_csv(tmp)
    try:
        load_catalogue(tmp)
    except OptionError as exc:
        tmp.unlink(missing_ok=True)
        raise OptionError(str(exc).replace(str(tmp), str(path))) from None
    tmp.replace(path)
    return path
