"""The dashboard's shared state: settings, session-state keys, cached loaders, the login gate,
and the sidebar that picks the patient and period.

Everything the pages share lives here, so a page is: read widgets → call ``toolkit`` →
render. Data is cached with ``st.cache_data`` (the patient view with ``st.cache_resource``,
which does not copy it) keyed by the store's *fingerprint* (the DuckDB file's and its WAL's
mtime and size), so any write — an upload here, an ingest from the CLI — invalidates it,
and nothing else does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import polars as pl
import streamlit as st

from toolkit import dashboard as tkd
from toolkit.exceptions import ToolkitError
from toolkit.store import Store, default_store_path


class Keys:
    """Every ``st.session_state`` key the dashboard uses, named once."""

    PASSWORD_OK = "auth.password_ok"
    PASSWORD_INPUT = "auth.password_input"
    UPLOAD_NONCE = "upload.nonce"  # bumped to empty the file uploader after a commit
    UPLOAD_PREVIEW = "upload.preview"  # (signature, previews) of the last dry run
    UPLOAD_RESULT = "upload.result"  # (patient, lines) of the last Add, shown on the patient page
    UPLOAD_PATIENT = "upload.patient"
    UPLOAD_NEW_PATIENT = "upload.new_patient"
    UPLOAD_WEIGHT_UNIT = "upload.weight_unit"
    UPLOAD_TZ = "upload.tz"
    QUALITY_MAPPED = "quality.mapped"  # message after an exercise was mapped


class QueryParams:
    """Keys of the shareable URL: ``?patient=…&from=YYYY-MM-DD&to=YYYY-MM-DD``."""

    PATIENT = "patient"
    FROM = "from"
    TO = "to"


NEW_PATIENT = "New patient…"


@dataclass(frozen=True)
class Settings:
    """What the whole app runs with, read once per run from the environment.

    Attributes
    ----------
    store_path
        The DuckDB store (``$RECOVERY_STORE`` or the default).
    max_upload_mb
        Upload size cap in MB (``$RECOVERY_MAX_UPLOAD_MB``, default 200).
    password
        Whether a password gate is configured (``$RECOVERY_DASHBOARD_PASSWORD``).
    oidc
        Whether Streamlit's OIDC login is configured (``[auth]`` in secrets).
    """

    store_path: Path
    max_upload_mb: int
    password: bool
    oidc: bool

    @property
    def store(self) -> Store:
        return Store(self.store_path)


def _oidc_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: Streamlit raises FileNotFoundError or similar
        return False


def settings() -> Settings:
    """The settings of this run."""
    try:
        cap = int(os.environ.get(tkd.MAX_UPLOAD_ENV, tkd.DEFAULT_MAX_UPLOAD_MB))
    except ValueError:
        cap = tkd.DEFAULT_MAX_UPLOAD_MB
    return Settings(
        store_path=default_store_path(),
        max_upload_mb=max(1, cap),
        password=bool(os.environ.get(tkd.PASSWORD_ENV)),
        oidc=_oidc_configured(),
    )


# --------------------------------------------------------------------------------------
# Login gate and store set-up (called by the entrypoint before any page)
# --------------------------------------------------------------------------------------


def login_gate(cfg: Settings) -> bool:
    """Ask for the password or the OIDC login when one is configured; True when the user
    may see the pages."""
    if cfg.password:
        if st.session_state.get(Keys.PASSWORD_OK):
            return True
        st.title("Recovery dashboard")
        st.caption("Patient data: enter the dashboard password.")
        entered = st.text_input("Password", type="password", key=Keys.PASSWORD_INPUT)
        if entered:
            expected = os.environ.get(tkd.PASSWORD_ENV, "")
            if hmac.compare_digest(entered.encode("utf-8"), expected.encode("utf-8")):
                st.session_state[Keys.PASSWORD_OK] = True
                del st.session_state[Keys.PASSWORD_INPUT]
                st.rerun()
            st.error("Wrong password.")
        return False
    if cfg.oidc:
        if st.user.is_logged_in:
            return True
        st.title("Recovery dashboard")
        st.caption("Patient data: log in to continue.")
        st.button("Log in", on_click=st.login)
        return False
    return True


@st.cache_resource(show_spinner="The store is empty: loading the synthetic demo cohort…")
def _ensure_store(path: str) -> bool:
    return tkd.load_demo_if_empty(Store(path))


def ensure_store(cfg: Settings) -> None:
    """Load the demo cohort into an empty store (once per process and store); stop with a
    message when the store cannot be opened."""
    try:
        _ensure_store(str(cfg.store_path))
    except ToolkitError as exc:
        st.error(f"The store {cfg.store_path} cannot be used: {exc}")
        st.stop()


# --------------------------------------------------------------------------------------
# Cached loaders, keyed by the store's fingerprint
# --------------------------------------------------------------------------------------


def fingerprint(path: Path) -> str:
    """Changes whenever the store is written: mtime and size of the file and its WAL."""
    parts = []
    for p in (path, path.with_name(path.name + ".wal")):
        try:
            s = p.stat()
            parts.append(f"{s.st_mtime_ns}:{s.st_size}")
        except OSError:
            parts.append("-")
    return "/".join(parts)


@st.cache_data(show_spinner=False, max_entries=16)
def _patients(path: str, fp: str) -> pl.DataFrame:
    return Store(path).patients()


# Resources, not data: shared as they are, never pickled. A patient view holds every frame
# the patient page draws (the per-set e1RM alone is ~48k rows at 50k sets); st.cache_data
# would pickle it on a miss and unpickle a copy on every hit (0.2 s + 0.3 s at 50k sets).
# The frames are never modified in place (polars frames are immutable; the views are
# frozen). The first look (headline and pain chart) is cached on its own: the page draws
# them from it while the rest of the view is computed from the same rows.
@st.cache_resource(show_spinner=False, max_entries=32)
def _first_look(
    path: str, fp: str, pid: str, start: dt.date | None, end: dt.date | None
) -> tkd.PatientFirstLook:
    return tkd.patient_first_look(Store(path), pid, start=start, end=end)


@st.cache_resource(show_spinner="Analysing…", max_entries=32)
def _patient_view(
    path: str, fp: str, pid: str, start: dt.date | None, end: dt.date | None
) -> tkd.PatientView:
    first = _first_look(path, fp, pid, start, end)
    return tkd.patient_view(Store(path), pid, start=start, end=end, first=first)


# The patient page's charts, each built once per view (a resource for the same reason: a
# figure is not copied in and out; st.plotly_chart copies what it sends and never modifies
# it). One entry per chart, so the page shows each as soon as it is built; the first (pain)
# needs only the first look.
@st.cache_resource(show_spinner=False, max_entries=32 * len(tkd.PATIENT_FIGURES))
def _patient_figure(
    path: str, fp: str, pid: str, start: dt.date | None, end: dt.date | None, name: str
) -> Any:
    if name == tkd.PATIENT_FIGURES[0]:
        return tkd.first_look_figure(_first_look(path, fp, pid, start, end))
    return tkd.patient_figure(_patient_view(path, fp, pid, start, end), name)


@st.cache_data(show_spinner="Summarising every patient…", max_entries=8)
def _cohort(path: str, fp: str) -> pl.DataFrame:
    return tkd.cohort_overview(Store(path))


@st.cache_data(show_spinner=False, max_entries=64)
def _table(path: str, fp: str, name: str, pid: str | None) -> pl.DataFrame:
    return Store(path).table(name, patient_id=pid)


@st.cache_data(show_spinner=False, max_entries=16)
def _unmapped(path: str, fp: str, pid: str | None) -> pl.DataFrame:
    return tkd.unmapped_exercises(Store(path), pid)


def patients(cfg: Settings) -> pl.DataFrame:
    """``Store.patients()`` (cached)."""
    return _patients(str(cfg.store_path), fingerprint(cfg.store_path))


@st.cache_data(show_spinner="Fitting the clinic-level model…", max_entries=4)
def _clinic_model(path: str, fp: str) -> tkd.ClinicModel | None:
    return tkd.clinic_model(Store(path))


def clinic_model(cfg: Settings) -> tkd.ClinicModel | None:
    """:func:`toolkit.dashboard.clinic_model` (cached); may raise OptionError."""
    return _clinic_model(str(cfg.store_path), fingerprint(cfg.store_path))


def first_look(cfg: Settings, pid: str, start: dt.date | None, end: dt.date | None) -> tkd.PatientFirstLook:
    """:func:`toolkit.dashboard.patient_first_look` (cached)."""
    return _first_look(str(cfg.store_path), fingerprint(cfg.store_path), pid, start, end)


def patient_view(cfg: Settings, pid: str, start: dt.date | None, end: dt.date | None) -> tkd.PatientView:
    """:func:`toolkit.dashboard.patient_view` (cached; built on the cached :func:`first_look`)."""
    return _patient_view(str(cfg.store_path), fingerprint(cfg.store_path), pid, start, end)


def patient_figure(cfg: Settings, pid: str, start: dt.date | None, end: dt.date | None, name: str) -> Any:
    """:func:`toolkit.dashboard.patient_figure` of :func:`patient_view` (cached): a plotly
    figure, or None (``prom`` without questionnaire scores). The first (``pain``) is built
    from :func:`first_look` alone."""
    return _patient_figure(str(cfg.store_path), fingerprint(cfg.store_path), pid, start, end, name)


def warm_first_look_soon(cfg: Settings, pid: str) -> None:
    """Start computing the whole-log first look of ``pid`` and its pain chart (what the
    patient page draws first) in a background thread, and return at once.

    Called as Add opens the patient page: the page's own script run starts with the
    sidebar and the title, then asks the cache for the same first look and finds it
    computed, or waits for this thread (Streamlit computes a cached value once; other
    callers wait for it) instead of starting again. An error is left for the page to show.
    """
    path, fp = str(cfg.store_path), fingerprint(cfg.store_path)

    def warm() -> None:
        with contextlib.suppress(Exception):
            _patient_figure(path, fp, pid, None, None, tkd.PATIENT_FIGURES[0])

    threading.Thread(target=warm, name=f"recovery-warm-{pid}", daemon=True).start()


def added_banner(pid: str) -> None:
    """What the upload page's Add just stored for ``pid`` (it opens the patient page after
    adding), with a link back to upload more; nothing on any other visit."""
    done = st.session_state.pop(Keys.UPLOAD_RESULT, None)
    if done is None or done[0] != pid:
        return
    st.success(f"Added to **{pid}**:\n\n" + "\n".join(f"- {line}" for line in done[1]))
    st.page_link(
        "views/upload.py",
        label=f"Upload more files for {pid}",
        icon=":material/upload:",
        query_params=patient_link_params(pid),
    )


def load_chart_library() -> None:
    """Have the browser load the charts' JavaScript (Plotly, ~4.7 MB) now, with a hidden empty
    chart, rather than when the first real chart arrives.

    Streamlit fetches and evaluates Plotly the first time a page of the session shows a
    chart: 0.7 s of the browser's main thread on an idle machine, 2.5 s on a busy one. Done
    on the upload page while files are chosen and checked, the patient's charts after an
    upload are drawn as soon as they arrive.
    """
    import plotly.graph_objects as go

    with st.container(key="chart_library"):
        st.plotly_chart(go.Figure(), config={"staticPlot": True}, key="chart_library_preload")
    st.html("<style>.st-key-chart_library {display: none}</style>")


def cohort(cfg: Settings) -> pl.DataFrame:
    """:func:`toolkit.dashboard.cohort_overview` (cached)."""
    return _cohort(str(cfg.store_path), fingerprint(cfg.store_path))


def table(cfg: Settings, name: str, pid: str | None = None) -> pl.DataFrame:
    """``Store.table(name, patient_id=pid)`` (cached)."""
    return _table(str(cfg.store_path), fingerprint(cfg.store_path), name, pid)


def unmapped(cfg: Settings, pid: str | None = None) -> pl.DataFrame:
    """:func:`toolkit.dashboard.unmapped_exercises` (cached)."""
    return _unmapped(str(cfg.store_path), fingerprint(cfg.store_path), pid)


# --------------------------------------------------------------------------------------
# The sidebar: which patient and which period (kept in the URL)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class View:
    """The patient and period the sidebar chose (``start``/``end`` None = everything)."""

    patient_id: str
    start: dt.date | None
    end: dt.date | None
    first_date: dt.date | None
    last_date: dt.date | None
    demo: bool


def _date_param(name: str) -> dt.date | None:
    value = st.query_params.get(name)
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def demo_banner(cfg: Settings, ids: list[str] | None = None) -> None:
    """Say so when (some of) what is shown is the synthetic demo cohort."""
    demo = tkd.demo_patients(cfg.store_path)
    if not demo:
        return
    if ids is None or any(i in demo for i in ids):
        st.info(
            f"**Demo data.** The store was empty, so the synthetic demo cohort ({len(demo)} invented "
            "patients with planted effects) was loaded. Upload your own exports on the **Upload** page.",
            icon=":material/science:",
        )


def patient_page(cfg: Settings, title: str, *, with_period: bool = True) -> View:
    """The preamble of a one-patient page: the sidebar pickers, the title and the demo banner.

    Parameters
    ----------
    cfg
        :func:`settings`.
    title
        Page title; ``{pid}`` stands for the chosen patient.
    with_period
        Whether the sidebar offers the period pickers.

    Returns
    -------
    View
        The chosen patient and period; the page stops (after saying why) when the store
        has no patient.
    """
    view = sidebar_view(cfg, with_period=with_period)
    if view is None:
        st.stop()
    st.title(title.format(pid=view.patient_id))
    if view.demo:
        demo_banner(cfg, [view.patient_id])
    return view


def chosen_first_look(cfg: Settings, view: View) -> tkd.PatientFirstLook:
    """:func:`first_look` of the sidebar's patient and period; on a toolkit error the page
    shows it and stops."""
    return _or_stop(first_look, cfg, view)


def chosen_patient_view(cfg: Settings, view: View) -> tkd.PatientView:
    """:func:`patient_view` of the sidebar's patient and period; on a toolkit error the page
    shows it and stops."""
    return _or_stop(patient_view, cfg, view)


T = TypeVar("T")


def _or_stop(
    compute: Callable[[Settings, str, dt.date | None, dt.date | None], T], cfg: Settings, view: View
) -> T:
    """``compute`` for the sidebar's patient and period; a toolkit error is shown and stops the page."""
    try:
        return compute(cfg, view.patient_id, view.start, view.end)
    except ToolkitError as exc:
        st.error(str(exc))
        st.stop()


def chosen_patient_figure(cfg: Settings, view: View, name: str) -> Any:
    """:func:`patient_figure` ``name`` of the sidebar's patient and period (call after
    :func:`chosen_patient_view`, which shows a toolkit error and stops)."""
    return patient_figure(cfg, view.patient_id, view.start, view.end, name)


def quarantine_columns() -> list[pl.Expr]:
    """The columns of a quarantine table shown to the user: line, column, reason, severity,
    message and the raw text."""
    return [
        pl.col("source_line").alias("line"),
        pl.col("column_name").alias("column"),
        "reason",
        "severity",
        "message",
        pl.col("raw_text").alias("raw"),
    ]


def sidebar_view(cfg: Settings, *, with_period: bool = True) -> View | None:
    """Patient and period pickers in the sidebar, synced with ``st.query_params``.

    Returns None (after saying why) when the store has no patient.
    """
    try:
        pts = patients(cfg)
    except ToolkitError as exc:
        st.error(str(exc))
        return None
    if pts.height == 0:
        st.warning("No patients yet: add exports on the **Upload** page.")
        st.page_link("views/upload.py", label="Upload exports", icon=":material/upload:")
        return None
    ids = pts["patient_id"].to_list()
    wanted = st.query_params.get(QueryParams.PATIENT)
    index = ids.index(wanted) if wanted in ids else 0
    pid = st.sidebar.selectbox("Patient", ids, index=index)
    record = pts.filter(pl.col("patient_id") == pid).row(0, named=True)
    first, last = record.get("first_date"), record.get("last_date")
    start = end = None
    if with_period and first is not None and last is not None:
        same = wanted == pid
        q_from = _date_param(QueryParams.FROM) if same else None
        q_to = _date_param(QueryParams.TO) if same else None
        lo = max(first, min(q_from or first, last))
        hi = min(last, max(q_to or last, lo))
        picked = st.sidebar.date_input(
            "Period", value=(lo, hi), min_value=first, max_value=last, format="YYYY-MM-DD"
        )
        if isinstance(picked, tuple | list) and len(picked) == 2:
            lo, hi = picked[0], picked[1]
        start, end = (None if lo == first else lo), (None if hi == last else hi)
        if st.sidebar.button("Whole log", disabled=start is None and end is None):
            st.query_params.from_dict({QueryParams.PATIENT: pid})
            st.rerun()
        params: dict[str, Any] = {QueryParams.PATIENT: pid}
        if start is not None or end is not None:
            params[QueryParams.FROM] = lo.isoformat()
            params[QueryParams.TO] = hi.isoformat()
        st.query_params.from_dict(params)
    else:
        st.query_params.from_dict({QueryParams.PATIENT: pid})
    return View(
        patient_id=pid,
        start=start,
        end=end,
        first_date=first,
        last_date=last,
        demo=pid in tkd.demo_patients(cfg.store_path),
    )


def fmt(value: Any, digits: int = 1) -> str:
    """A number for a metric tile, ``–`` when missing."""
    return "–" if value is None else f"{value:.{digits}f}"


def patient_link_params(pid: str) -> dict[str, str]:
    """Query parameters that open ``pid`` on the patient page."""
    return {QueryParams.PATIENT: pid}


def check_size(name: str, size: int, cfg: Settings) -> str | None:
    """A message when an upload is over the cap, else None."""
    limit = cfg.max_upload_mb * 1024 * 1024
    if size > limit:
        return (
            f"{name} is {size / 1024 / 1024:.1f} MB; the limit is {cfg.max_upload_mb} MB. "
            "Export a shorter period, or start the dashboard with a higher limit."
        )
    return None


__all__ = [
    "NEW_PATIENT",
    "Keys",
    "QueryParams",
    "Settings",
    "View",
    "added_banner",
    "check_size",
    "chosen_first_look",
    "chosen_patient_figure",
    "chosen_patient_view",
    "clinic_model",
    "cohort",
    "demo_banner",
    "ensure_store",
    "fingerprint",
    "first_look",
    "fmt",
    "load_chart_library",
    "login_gate",
    "patient_figure",
    "patient_link_params",
    "patient_view",
    "patients",
    "settings",
    "sidebar_view",
    "table",
    "unmapped",
    "warm_first_look_soon",
]
