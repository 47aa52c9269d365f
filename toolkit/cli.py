"""The ``recovery`` command line.

Exit codes: 0 success; 2 refused input or invalid option (one line on stderr naming
the file, row, column and reason); 3 store busy; 1 an internal error (one line; set
``RECOVERY_DEBUG=1`` for the traceback).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from toolkit.exceptions import IngestError, OptionError, StoreBusyError, ToolkitError
from toolkit.store._paths import DEFAULT_STORE

if TYPE_CHECKING:
    from toolkit.ingest._base import ReadOptions
    from toolkit.store import IngestReport, Store

app = typer.Typer(
    name="recovery",
    help="Relate training logs and pain diaries to recovery outcomes.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help=f"DuckDB workspace file [default: {DEFAULT_STORE}]", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output (one JSON object per line).")]


def _store(path: Path | None) -> Store:
    """The store at ``path`` (DuckDB, polars and pandera are imported here, on first use)."""
    from toolkit.store import Store

    return Store(path)


def _err(message: str) -> None:
    typer.echo(f"recovery: {' '.join(message.split())}", err=True)


def _run(fn: Callable[[], Any]) -> None:
    """Run a command body, turning every error into one line and an exit code."""
    try:
        fn()
    except (IngestError, OptionError, typer.BadParameter) as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    except StoreBusyError as exc:
        _err(str(exc))
        raise typer.Exit(3) from None
    except ToolkitError as exc:
        _err(str(exc))
        raise typer.Exit(2) from None
    except typer.Exit:
        raise
    except Exception as exc:
        _internal_error(exc)
    except BaseException as exc:
        # A panic in polars' Rust code arrives as pyo3's PanicException, which is a
        # BaseException (matched by name: importing polars here would slow every
        # command's start-up); KeyboardInterrupt and SystemExit pass on.
        if type(exc).__name__ != "PanicException":
            raise
        _internal_error(exc)


def _internal_error(exc: BaseException) -> NoReturn:
    if os.environ.get("RECOVERY_DEBUG"):
        raise exc
    _err(f"internal error: {type(exc).__name__}: {exc} (set RECOVERY_DEBUG=1 for details)")
    raise typer.Exit(1) from None


def _parse_map(items: list[str] | None) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in items or []:
        for part in item.split(","):
            if not part.strip():
                continue
            key, sep, value = part.partition("=")
            if not sep or not key.strip() or not value.strip():
                raise OptionError(f"--map expects FIELD=HEADER pairs (e.g. date=Datum), got {part!r}")
            mapping[key.strip().lower()] = value.strip()
    return mapping


def _options(
    fmt: str | None,
    weight_unit: str | None,
    tz: str | None,
    day_start_hour: int,
    encoding: str | None,
    mapping: list[str] | None,
    pain_scale: str | None,
) -> ReadOptions:
    if tz is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise OptionError(f"--tz must be an IANA zone such as Europe/London, got {tz!r}") from None
    from toolkit.ingest._base import ReadOptions

    return ReadOptions(
        format=fmt,
        weight_unit=(weight_unit or "kg").lower().rstrip("s"),  # type: ignore[arg-type]
        weight_unit_given=weight_unit is not None,
        tz=tz,
        day_start_hour=day_start_hour,
        encoding=encoding,
        column_map=_parse_map(mapping),
        pain_scale=pain_scale,
    )


FormatOpt = Annotated[str | None, typer.Option("--format", help="Force a reader (see `recovery formats`).")]
UnitOpt = Annotated[
    str | None,
    typer.Option("--weight-unit", help="Unit of weights in files that carry none: kg or lb [default: kg]."),
]
TzOpt = Annotated[
    str | None,
    typer.Option("--tz", help="IANA zone for times without offset [default: this machine's]."),
]
DayOpt = Annotated[int, typer.Option("--day-start-hour", min=0, max=23, help="Local hour a new day starts.")]
EncOpt = Annotated[
    str | None, typer.Option("--encoding", help="Text encoding when not UTF-8 (e.g. latin-1).")
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option("--map", help="Column mapping for generic CSVs: FIELD=HEADER[,FIELD=HEADER...]."),
]
ScaleOpt = Annotated[
    str | None, typer.Option("--pain-scale", help="Scale of a generic pain column: nrs or vas100.")
]


def _summary(report: IngestReport) -> str:
    verb = "would add" if report.dry_run else "added"
    lines = [
        f"{Path(report.file).name}: {report.format} ({report.layout}), patient {report.patient_id}",
        f"  rows read {report.rows_read} = {verb} {report.rows_accepted} + duplicate "
        f"{report.rows_duplicate} + quarantined {report.rows_quarantined}",
    ]
    if report.first_date:
        lines.append(f"  dates {report.first_date} → {report.last_date}")
    if report.quarantined_by_reason:
        reasons = ", ".join(f"{k} {v}" for k, v in report.quarantined_by_reason.items())
        lines.append(f"  quarantined by reason: {reasons}")
    lines.extend(f"  ! {w}" for w in report.warnings)
    lines.extend(f"  assumed {k}: {v}" for k, v in report.assumptions.items())
    return "\n".join(lines)


def _emit(reports: list[IngestReport], as_json: bool) -> None:
    for r in reports:
        typer.echo(json.dumps(r.to_dict(), ensure_ascii=False, default=str) if as_json else _summary(r))


def _ingest(
    files: list[Path],
    patient: str,
    store: Path | None,
    options: ReadOptions,
    *,
    dry_run: bool,
    as_json: bool,
) -> None:
    target = _store(store)

    def run(progress: Callable[[str], None] | None = None) -> list[IngestReport]:
        return target.ingest(files, patient_id=patient, options=options, dry_run=dry_run, progress=progress)

    if not sys.stderr.isatty() or as_json:  # no progress bar: do not pay for importing rich
        _emit(run(), as_json)
        return
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("reading", total=len(files))

        def advance(name: str) -> None:
            bar.update(task, description=f"reading {Path(name).name}")
            bar.advance(task, 0.5)

        reports = run(advance)
    _emit(reports, as_json)


@app.command()
def ingest(
    files: Annotated[list[Path], typer.Argument(help="Export files (CSV, FHIR JSON, Apple Health XML/zip).")],
    patient: Annotated[str, typer.Option("--patient", help="Patient id (created when new).")],
    store: StoreOpt = None,
    fmt: FormatOpt = None,
    weight_unit: UnitOpt = None,
    tz: TzOpt = None,
    day_start_hour: DayOpt = 4,
    encoding: EncOpt = None,
    mapping: MapOpt = None,
    pain_scale: ScaleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ingest exports into the store (one transaction: all files or nothing)."""
    _run(
        lambda: _ingest(
            files,
            patient,
            store,
            _options(fmt, weight_unit, tz, day_start_hour, encoding, mapping, pain_scale),
            dry_run=False,
            as_json=as_json,
        )
    )


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="Export files to check.")],
    patient: Annotated[
        str, typer.Option("--patient", help="Compare with this patient's stored data.")
    ] = "validate",
    store: StoreOpt = None,
    fmt: FormatOpt = None,
    weight_unit: UnitOpt = None,
    tz: TzOpt = None,
    day_start_hour: DayOpt = 4,
    encoding: EncOpt = None,
    mapping: MapOpt = None,
    pain_scale: ScaleOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Dry run: the same report as ingest, writing nothing."""
    _run(
        lambda: _ingest(
            files,
            patient,
            store,
            _options(fmt, weight_unit, tz, day_start_hour, encoding, mapping, pain_scale),
            dry_run=True,
            as_json=as_json,
        )
    )


def _existing_store(store: Path | None) -> Store:
    """The store at ``store`` (or the default), refusing one that does not exist yet."""
    target = _store(store)
    if not target.exists():
        raise OptionError(
            f"store {target.path} does not exist; ingest files first (recovery ingest / recovery demo)"
        )
    return target


def _date(value: str | None, flag: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise OptionError(f"{flag} must be a date YYYY-MM-DD, got {value!r}") from None


@app.command()
def patient(
    patient_id: Annotated[str, typer.Argument(help="Patient id.")],
    store: StoreOpt = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    condition: Annotated[str | None, typer.Option("--condition")] = None,
    surgery_date: Annotated[str | None, typer.Option("--surgery-date", help="YYYY-MM-DD")] = None,
    programme_start: Annotated[str | None, typer.Option("--programme-start", help="YYYY-MM-DD")] = None,
    planned: Annotated[float | None, typer.Option("--planned-sessions-per-week")] = None,
    bodyweight: Annotated[float | None, typer.Option("--bodyweight-kg")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create or update a patient's record."""

    def body() -> None:
        record = _store(store).upsert_patient(
            patient_id,
            name=name,
            condition=condition,
            surgery_date=_date(surgery_date, "--surgery-date"),
            programme_start_date=_date(programme_start, "--programme-start"),
            planned_sessions_per_week=planned,
            bodyweight_kg=bodyweight,
        )
        if as_json:
            typer.echo(json.dumps(record, default=str))
        else:
            typer.echo("\n".join(f"{k}: {v}" for k, v in record.items() if v is not None))

    _run(body)


@app.command()
def patients(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """List patients with their counts and date ranges."""

    def body() -> None:
        frame = _store(store).patients()
        if as_json:
            for row in frame.to_dicts():
                typer.echo(json.dumps(row, default=str))
            return
        if frame.height == 0:
            typer.echo("no patients yet (recovery ingest FILE --patient ID)")
            return
        cols = [
            "patient_id",
            "name",
            "sessions",
            "sets",
            "pain_entries",
            "outcome_measures",
            "quarantined_errors",
            "first_date",
            "last_date",
            "bodyweight_kg",
            "planned_sessions_per_week",
            "surgery_date",
            "programme_start_date",
        ]
        typer.echo(_table(frame.select(cols).to_dicts(), cols))

    _run(body)


@app.command()
def quarantine(
    patient: Annotated[str, typer.Option("--patient", help="Patient id.")],
    store: StoreOpt = None,
    include_info: Annotated[
        bool,
        typer.Option("--all", help="Also list informational rows (rest timers, unfilled sets)."),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """What was refused and why, row by row."""

    def body() -> None:
        import polars as pl

        frame = _store(store).table("quarantine", patient_id=patient)
        if not include_info:
            frame = frame.filter(pl.col("severity") == "error")
        frame = frame.unique(["file_name", "source_line", "reason"], keep="last", maintain_order=True)
        if as_json:
            for row in frame.to_dicts():
                typer.echo(json.dumps(row, default=str, ensure_ascii=False))
            return
        if frame.height == 0:
            typer.echo(
                f"nothing quarantined for {patient}"
                + ("" if include_info else " (use --all for informational rows)")
            )
            return
        cols = ["file_name", "source_line", "column_name", "reason", "message", "raw_text"]
        typer.echo(_table(frame.select(cols).to_dicts(), cols))

    _run(body)


def _analysis_text(result: dict[str, Any]) -> str:
    def f(v: Any, digits: int = 1) -> str:
        return "—" if v is None else f"{v:.{digits}f}"

    pain, load = result["pain"], result["load"]
    period = result["period"]
    lines = [f"Patient {result['patient_id']} — {period['start']} → {period['end']}"]
    if pain["baseline"] is not None:
        reached = "MCID reached" if pain["mcid_reached"] else "MCID not reached"
        lines.append(
            f"Pain: baseline {f(pain['baseline'])} → current {f(pain['current'])} "
            f"(change {f(pain['change'])}, {f(pain['percent_change'], 0)} %); {reached} "
            "(≥ 2 points or ≥ 30 %, Ostelo 2008)"
        )
        low, high = pain["trend_ci"]
        lines.append(
            f"  trend {f(pain['trend_per_week'], 2)} points/week (95 % CI {f(low, 2)} to {f(high, 2)})"
        )
        if pain["change_points"]:
            lines.append(f"  change points (candidates): {', '.join(pain['change_points'])}")
        lines.append(f"  flares: {pain['flares']}")
    if load["sessions"]:
        lines.append(
            f"Load: {f(load['sessions_per_week'])} sessions/week, {f(load['rest_days_per_week'])} rest days/week; "
            f"ACWR latest {f(load['acwr_latest'], 2)} ({load['acwr_variant']}; a descriptive spike detector, "
            "not a risk verdict)"
        )
        if load["adherence_pct"] is not None:
            lines.append(
                f"  adherence {f(load['adherence_pct'], 0)} % of {f(load['planned_sessions_per_week'])} planned sessions/week"
            )
    if result["flags"]:
        lines.append("Flags:")
        lines.extend(f"  {x['date']}  {x['kind']:<21} {x['detail']}" for x in result["flags"])
    else:
        lines.append("Flags: none")
    significant = [r for r in result["relations"] + result["reverse_relations"] if r["significant"]]
    if significant:
        lines.append("Relations (q < 0.05, Benjamini–Hochberg; associations, not causes):")
        lines.extend(f"  {r['sentence']}" for r in significant)
    elif result["relations"]:
        lines.append(
            f"Relations: none of {len(result['relations']) + len(result['reverse_relations'])} tested is significant"
        )
    for r in result["rest_and_strength"]:
        if r.get("significant"):
            lines.append(f"  {r['sentence']}")
    for prom in result["proms"]:
        lines.append(
            f"PROM {prom['instrument']}: {f(prom['baseline'])} → {f(prom['latest'])}"
            f" ({'MCID reached' if prom['mcid_reached'] else 'MCID not reached'})"
        )
    lines.extend(f"Note: {m}" for m in result["messages"])
    lines.append("Relations between training and pain are associations, not causes.")
    return "\n".join(lines)


@app.command()
def analyse(
    patient: Annotated[str, typer.Option("--patient", help="Patient id.")],
    store: StoreOpt = None,
    start: Annotated[str | None, typer.Option("--from", help="First day YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day YYYY-MM-DD.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Pain outcome, training load and flags for one patient."""

    def body() -> None:
        from toolkit.analysis.summary import analyse_patient

        target = _existing_store(store)
        result = analyse_patient(
            target, patient, start=_date(start, "--from"), end=_date(end, "--to")
        ).to_dict()
        typer.echo(json.dumps(result, ensure_ascii=False, default=str) if as_json else _analysis_text(result))

    _run(body)


def _cohort_text(result: dict[str, Any]) -> str:
    cols = [
        "patient_id",
        "baseline",
        "current",
        "mcid_reached",
        "adherence_pct",
        "flags_total",
        "last_log",
        "status",
    ]
    rows = [
        {k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items()} for r in result["patients"]
    ]
    lines = [_table(rows, cols), "", "Clinic-level model (MixedLM, person-mean centred):"]
    lines.extend(f"  {s}" for s in result["model_sentences"])
    lines.append("Flare-risk model (time-ordered cross-validation vs the no-skill baseline):")
    for v in result["flare_risk"]["validation"]:
        verdict = "shown" if v["shown"] else "hidden: does not beat the no-skill baseline"
        bss = "—" if v["brier_skill_score"] is None else f"{v['brier_skill_score']:.3f}"
        lines.append(
            f"  {v['scope']} {v['patient_id']}: Brier skill score {bss} over {v['n_days']} days, {v['n_events']} flares — {verdict}"
        )
    return "\n".join(lines)


@app.command()
def cohort(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """The clinic: one row per patient, the mixed-effects model, the flare-risk validation."""

    def body() -> None:
        from toolkit.analysis.summary import analyse_cohort

        target = _existing_store(store)
        result = analyse_cohort(target).to_dict()
        typer.echo(json.dumps(result, ensure_ascii=False, default=str) if as_json else _cohort_text(result))

    _run(body)


@app.command()
def dashboard(
    store: StoreOpt = None,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to serve on.")] = 8501,
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; anything but 127.0.0.1 requires a login.")
    ] = "127.0.0.1",
) -> None:
    """Start the Streamlit dashboard (loads the demo cohort into an empty store)."""

    def body() -> None:
        from toolkit.dashboard import serve

        code = serve(store, port=port, host=host)
        if code:
            raise typer.Exit(code)

    _run(body)


@app.command()
def report(
    patient: Annotated[str, typer.Option("--patient", help="Patient id.")],
    out: Annotated[Path, typer.Option("--out", help="FILE.pdf or FILE.html (format from the extension).")],
    store: StoreOpt = None,
    start: Annotated[str | None, typer.Option("--from", help="First day YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last day YYYY-MM-DD.")] = None,
) -> None:
    """The physiotherapist's recovery report (SOAP progress note, PDF or HTML)."""

    def body() -> None:
        from toolkit.report.render import render_report

        target = _existing_store(store)
        path = render_report(target, patient, out, start=_date(start, "--from"), end=_date(end, "--to"))
        typer.echo(f"report written: {path}")

    _run(body)


@app.command()
def reprocess(
    patient: Annotated[str, typer.Option("--patient", help="Patient id.")],
    store: StoreOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Re-read a patient's uploads from their kept raw bytes with today's readers."""
    _run(lambda: _emit(_store(store).reprocess(patient), as_json))


@app.command()
def formats() -> None:
    """List the readers and what they read."""
    from toolkit.ingest import readers

    for spec in readers():
        typer.echo(f"{spec.name:16} {spec.kind:9} {spec.description}")


DEMO_FILES = {
    "real-strong-v1": ["strong_ios_v1_2020-2021.csv", "strong_v1_patient_pain.csv"],
    "real-strong-2025": ["strong_v3_workout_number_2025-09.csv", "strong_v4_2025-10.csv"],
    "real-hevy": ["hevy_kg_2024-2025.csv"],
}
"""Genuine exports shipped in ``toolkit/data/demo`` (one real lifter with a hand-made pain diary)."""


@app.command()
def demo(store: StoreOpt = None, as_json: JsonOpt = False) -> None:
    """Build the demo store: the synthetic cohort and the shipped genuine exports, through the real ingest path."""

    def body() -> None:
        from rich.progress import Progress

        from toolkit.datasets import demo_cohort
        from toolkit.ingest._base import ReadOptions

        target = _store(store)
        folder = resources.files("toolkit") / "data" / "demo"
        cohort = demo_cohort()
        show = sys.stderr.isatty() and not as_json
        with Progress(transient=True, disable=not show) as bar:
            task = bar.add_task("building the demo cohort", total=cohort.patients.height + len(DEMO_FILES))
            reports = cohort.ingest_into(target, progress=lambda: bar.advance(task))
            for pid, names in DEMO_FILES.items():
                files = [(n, (folder / n).read_bytes()) for n in names]
                reports.extend(target.ingest(files, patient_id=pid, options=ReadOptions(tz="UTC")))
                bar.advance(task)
        if as_json:
            _emit(reports, as_json)
            return
        added = sum(r.rows_accepted for r in reports)
        typer.echo(f"demo store {target.path}: {len(reports)} files, {added} new rows")
        frame = target.patients()
        cols = ["patient_id", "sessions", "sets", "pain_entries", "first_date", "last_date"]
        typer.echo(_table(frame.select(cols).to_dicts(), cols))
        typer.echo("next: recovery analyse --patient spike_01")

    _run(body)


def _table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    def cell(v: Any) -> str:
        text = "" if v is None else str(v)
        text = " ".join(text.split())
        return text if len(text) <= 60 else text[:57] + "..."

    widths = {c: max([len(c)] + [len(cell(r[c])) for r in rows]) for c in cols}
    out = ["  ".join(c.ljust(widths[c]) for c in cols)]
    out += ["  ".join(cell(r[c]).ljust(widths[c]) for c in cols) for r in rows]
    return "\n".join(line.rstrip() for line in out)


class _Absent:
    """A meta-path finder that makes ``import`` of some optional packages fail."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        top = name.partition(".")[0]
        if top in self.names:
            raise ModuleNotFoundError(f"No module named {top!r}", name=top)


# Commands that only read files into the store: their start-up skips pandas and hypothesis.
_LEAN_COMMANDS = frozenset({"ingest", "validate", "reprocess"})


def _import_pandera_lean() -> None:
    """Import pandera's polars API without the optional packages it would also load.

    ``import pandera`` imports pandas (to offer its deprecated pandas API at the top
    level) and its polars checks import hypothesis (for data synthesis): about 0.4 s of
    start-up that validating polars frames never uses. Both are optional to pandera,
    which falls back to its polars-only set-up when they cannot be imported. Done once,
    at the start of a ``recovery`` process whose command only reads files into the store
    (:data:`_LEAN_COMMANDS`: nothing they run uses pandera's pandas API); afterwards
    pandas and hypothesis import normally. Other commands import pandera as usual.
    """
    if not set(sys.argv[1:2]) & _LEAN_COMMANDS:
        return
    if any(name in sys.modules for name in ("pandera", "pandas", "hypothesis")):
        return
    finder = _Absent(("pandas", "hypothesis"))
    sys.meta_path.insert(0, finder)
    try:
        import pandera.backends.polars.builtin_checks
        import pandera.backends.register_checks as checks
        import pandera.polars  # noqa: F401

        # Validation looks for pandas' check backends once and caches the answer.
        getattr(checks, "_load_get_backend_types_from_mro", lambda: None)()
    except ImportError:  # a pandera that needs them after all: import it normally later
        for name in [m for m in sys.modules if m == "pandera" or m.startswith("pandera.")]:
            del sys.modules[name]
    finally:
        sys.meta_path.remove(finder)


_POLARS_ALLOCATOR_ENV = "_RJEM_MALLOC_CONF"
_POLARS_ALLOCATOR_CONF = "dirty_decay_ms:300,muzzy_decay_ms:0"
_POLARS_DEFAULT_DECAY = ("dirty_decay_ms:500", "muzzy_decay_ms:1000")  # what polars itself sets


def _return_freed_memory() -> None:
    """Make polars' allocator give freed pages back to the system soon, and whole.

    polars allocates through its own jemalloc, which polars sets to keep freed pages
    for reuse for 0.5 s and then to release them lazily over another second
    (``MADV_FREE``: still counted as resident until the kernel needs them). An ingest
    frees large frames one after another (the parsed strings, then each stage's
    temporaries) while DuckDB — another allocator, which cannot reuse those pages —
    writes the rows: the kept pages were most of the process's peak resident size
    (issue 8: 1M-set ingest peak 880–967 MiB). Released at once (decay 0), the peak fell
    to ~800 MiB, but every stage then faulted fresh pages in (530k page faults, 1.3–1.8 s
    of system time). Kept for 0.3 s and then released whole (no lazy ``MADV_FREE``), the
    pages freed by one parsing stage serve the next: 410–440k faults, 1.0–1.2 s of
    system time, 3.4–3.5 s instead of 3.6–4.3 s wall, peak 820–840 MiB (issue 8's
    benchmark, quiet machine, runs alternated; 0.1 s: no faster, 0.5 s: 870–895 MiB,
    1 s: ~1,000 MiB). polars appends
    ``_RJEM_MALLOC_CONF`` to its own settings when it is first imported (later options
    win), so it is set before that, for the commands that only read files into the
    store (:data:`_LEAN_COMMANDS`), and never over a decay setting the user chose.
    """
    if not set(sys.argv[1:2]) & _LEAN_COMMANDS or "polars" in sys.modules:
        return
    current = os.environ.get(_POLARS_ALLOCATOR_ENV, "")
    # A parent Python process that imported polars passes polars' own defaults on: those
    # are not a choice of the user's. Any other decay setting is, and is kept.
    chosen = [o for o in current.split(",") if "decay_ms" in o and o not in _POLARS_DEFAULT_DECAY]
    if not chosen:
        os.environ[_POLARS_ALLOCATOR_ENV] = ",".join(filter(None, [current, _POLARS_ALLOCATOR_CONF]))


def _skip_final_collection() -> None:
    """Spare the interpreter's last garbage collection as a store command exits.

    At exit Python runs a full collection over every object still alive — the modules
    of polars, pandera, DuckDB and typer — before freeing them: 0.2–0.5 s of a
    ``recovery ingest`` (issue 8), for memory the process is about to return whole.
    Freezing the survivors first leaves them out of that collection: what only a
    reference cycle keeps alive is left to the operating system, as all of an exiting
    process's memory is. Every ``atexit`` handler still runs, and the store is closed
    (and checkpointed) before this point.
    """
    if set(sys.argv[1:2]) & _LEAN_COMMANDS:
        import gc

        gc.freeze()


def main() -> None:
    """Console-script entry point."""
    _return_freed_memory()
    _import_pandera_lean()
    try:
        app()
    except KeyboardInterrupt:
        _err("interrupted")
        sys.exit(130)
    finally:
        _skip_final_collection()


if __name__ == "__main__":
    main()
