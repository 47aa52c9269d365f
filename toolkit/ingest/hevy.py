"""Hevy workout export (``workouts.csv``), one row per set.

Layouts
-------
The header is the same in every real export (all names quoted); the weight and
distance columns follow the account's unit setting (FORMATS.md §1.2).

``metric``::

    "title","start_time","end_time","description","exercise_title","superset_id","exercise_notes","set_index","set_type","weight_kg","reps","distance_km","duration_seconds","rpe"

``imperial``::

    "title","start_time","end_time","description","exercise_title","superset_id","exercise_notes","set_index","set_type","weight_lbs","reps","distance_miles","duration_seconds","rpe"

Detection needs ``exercise_title`` and ``set_index`` (case-insensitive); the layout is
``imperial`` when the weight column is ``weight_lbs``. Distances are read from
``distance_km`` or ``distance_miles`` independently of the weight column.

How the cells are read
----------------------
* **Times** ``15 Sep 2025, 07:48`` (unpadded day, no seconds, no offset) with month
  names in any language Hevy localises to (``25 Juli 2026, 14:21``,
  ``3 déc. 2025, 07:01``), and the ISO-like ``2025-09-15 07:48:00`` /
  ``2025-09-15T07:48``. They are local wall-clock times (``ts_local``). A session is
  ``start_time`` + ``title``; ``session_duration_s`` is ``end_time − start_time``
  (left empty, with a warning, when the end is before the start).
* **Set numbers** are 0-based in Hevy and become 1-based ``set_index``.
* **Set types** ``normal`` → working, ``warmup``, ``failure``, ``dropset`` → drop; an
  empty cell is read as working (Hevy's default); any other text is quarantined
  (``unknown_value``).
* **Weights** blank = bodyweight (weight null, not missing); ``0`` is also read as no
  external load. For assisted exercises (``Pull Up (Assisted)``) the weight is the
  machine's *assistance*, not load: it is kept as recorded and reported in a warning.
* **Durations.** Some exports write ``duration_seconds`` = ``0`` on every untimed set
  (6,099 of 7,211 rows in a real file) where others leave it blank; a 0-second set
  duration carries no information, so ``0`` is read as *no duration* (null) — on a
  set with reps as well as on any other. Distances of ``0`` likewise. ``reps`` = 0
  on a timed or distance set (Hevy's ``Warm Up``: 0 reps, 300 s) is read as no reps.
* **Notes** ``exercise_notes`` (→ ``notes``) and ``description`` (→ ``workout_notes``)
  come with literal ``\\n`` escapes in some exports and real newlines inside quotes
  in others; both end as real newlines.
* ``superset_id`` is kept as text (``0`` is a valid group id); ``rpe`` must be 0–10.

Rows not used are quarantined with a reason: wrong field count, missing exercise
name or start time, unreadable date or number, negative values, unknown set type,
and sets with nothing recorded (``unfilled_set``). The order of rows does not matter
(Hevy writes newest first).
"""

from __future__ import annotations

import polars as pl

from toolkit._polars import format_str
from toolkit.exceptions import Reason
from toolkit.ingest._base import (
    SET_INPUT,
    ReaderSpec,
    ReadOptions,
    ReadResult,
    Rejects,
    distance_columns,
    finish,
    weight_columns,
)
from toolkit.ingest._common import (
    MAX_SET_INDEX,
    app_columns,
    canonical_frame,
    missing_column,
    pounds_warning,
    pull_empty,
    pull_field_count,
    pull_unfilled_sets,
    pull_unparsed,
)
from toolkit.ingest._parse import (
    describe_lines,
    english_months,
    find_column,
    number,
    parse_datetime,
    unparsed,
)
from toolkit.ingest._text import CsvTable

__all__ = ["SPEC", "detect", "read"]

_SIGNATURE = ("exercise_title", "set_index")
_REQUIRED = ("title", "start_time", "exercise_title", "set_index", "set_type", "reps")
_OPTIONAL = (
    "end_time",
    "description",
    "superset_id",
    "exercise_notes",
    "duration_seconds",
    "rpe",
)
_WEIGHT_COLUMNS = {"weight_kg": "kg", "weight_lbs": "lb"}
_DISTANCE_COLUMNS = {"distance_km": "km", "distance_miles": "mi"}
_SET_TYPES = {"normal": "working", "warmup": "warmup", "failure": "failure", "dropset": "drop"}
_TIME_FORMATS = [
    "%d %b %Y, %H:%M",
    "%d %b %Y %H:%M",
    "%d %b %Y, %H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M",
]
_TIME_EXAMPLE = "15 Sep 2025, 07:48"


def detect(header: list[str]) -> str | None:
    """``"metric"`` or ``"imperial"`` for a Hevy header, else None.

    Parameters
    ----------
    header
        Column names of the file's first line.

    Returns
    -------
    str or None
        ``"imperial"`` when the weight column is ``weight_lbs``, ``"metric"`` otherwise
        (the reader names a missing weight column), None when ``exercise_title`` and
        ``set_index`` are not both present.
    """
    if not all(find_column(header, name) for name in _SIGNATURE):
        return None
    if find_column(header, "weight_lbs") and not find_column(header, "weight_kg"):
        return "imperial"
    return "metric"


def _columns(table: CsvTable) -> dict[str, str | None]:
    """Canonical name → header name; raises ``MISSING_COLUMN`` naming what is absent."""
    cols = app_columns(table, "Hevy", {name: name for name in (*_REQUIRED, *_OPTIONAL)}, _REQUIRED)
    cols["weight"] = find_column(table.header, *_WEIGHT_COLUMNS)
    if cols["weight"] is None:
        raise missing_column(table, "Hevy", "weight_kg", "'weight_kg' (or 'weight_lbs')")
    cols["distance"] = find_column(table.header, *_DISTANCE_COLUMNS)
    return cols


def _unit_of(header_name: str | None, units: dict[str, str]) -> str | None:
    if header_name is None:
        return None
    return units["".join(header_name.split()).lower()]


def _time(col: str) -> pl.Expr:
    """Hevy time text → naive datetime (localised month names, ``25. Juli`` too)."""
    return parse_datetime(pl.col(col), _TIME_FORMATS, prepare=_english_text)


def _english_text(text: pl.Expr) -> pl.Expr:
    """``25. Juli 2026, 07:48`` → ``25 Jul 2026, 07:48`` (run on distinct cells only)."""
    return english_months(text.str.strip_chars().str.replace(r"^(\d{1,2})\.\s", "${1} "))


def _unescape(col: str) -> pl.Expr:
    """Literal ``\\n`` escapes → real newlines."""
    return (
        pl.col(col).str.replace_all("\\r\\n", "\n", literal=True).str.replace_all("\\n", "\n", literal=True)
    )


def read(table: CsvTable, layout: str, options: ReadOptions) -> ReadResult:
    """Read a Hevy export into ``SET_INPUT`` rows.

    Parameters
    ----------
    table
        The parsed file.
    layout
        ``"metric"``, ``"imperial"`` or ``"forced"`` (``--format hevy`` on a header
        that did not match: the missing column is named).
    options
        Unused: Hevy files name their units and times are always local.

    Returns
    -------
    ReadResult
        ``data`` in ``SET_INPUT``: ``ts_local`` (start of the workout, local
        wall-clock), ``time_known`` True, ``workout_name`` (title),
        ``session_duration_s`` (s), ``workout_notes``, ``exercise_raw``, ``set_index``
        (1-based), ``set_type``, ``reps``, ``weight_kg`` (kg, 1 g) with
        ``weight_original``/``weight_unit_original`` (``kg``/``lb``), ``distance_m``
        (m) with ``distance_original``/``distance_unit_original`` (``km``/``mi``),
        ``duration_s`` (s), ``rpe`` (0–10), ``superset_id`` (text), ``notes``.
        ``quarantine`` holds every other row with its reason; ``warnings`` explain
        conversions and interpretations.

    Raises
    ------
    IngestError
        ``MISSING_COLUMN`` when a required column is absent.
    """
    cols = _columns(table)
    if layout == "forced":
        layout = detect(table.header) or "metric"
    weight_unit = _unit_of(cols["weight"], _WEIGHT_COLUMNS)
    distance_unit = _unit_of(cols["distance"], _DISTANCE_COLUMNS)
    rej = Rejects()
    warnings: list[str] = []
    df = canonical_frame(table.rows, cols, (*_REQUIRED, *_OPTIONAL, "weight", "distance"))
    df = pull_field_count(rej, df, len(table.header))
    df = df.with_columns(
        _time("start_time").alias("_start"),
        _time("end_time").alias("_end"),
        number("set_index").alias("_idx"),
        number("weight").alias("_weight"),
        number("reps").alias("_reps"),
        number("distance").alias("_distance"),
        number("duration_seconds").alias("_duration"),
        number("rpe").alias("_rpe"),
        pl.col("set_type")
        .str.to_lowercase()
        .replace_strict(_SET_TYPES, default=None, return_dtype=pl.String)
        .alias("_set_type"),
    )

    df = pull_empty(rej, df, "exercise_title", cols["exercise_title"], "the exercise name is empty")
    df = pull_empty(rej, df, "start_time", cols["start_time"], "the workout start time is empty")
    for name, parsed in (("start_time", "_start"), ("end_time", "_end")):
        df = rej.pull(
            df,
            unparsed(name, pl.col(parsed)),
            Reason.BAD_DATE,
            cols[name],
            format_str(
                "'{}' is not a date and time (expected e.g. '{}')",
                pl.col(name),
                pl.lit(_TIME_EXAMPLE),
            ),
        )
    numeric = (
        ("set_index", "_idx"),
        ("weight", "_weight"),
        ("reps", "_reps"),
        ("distance", "_distance"),
        ("duration_seconds", "_duration"),
        ("rpe", "_rpe"),
    )
    df = pull_unparsed(rej, df, [(name, parsed, cols[name]) for name, parsed in numeric])
    df = rej.pull(
        df,
        pl.col("_idx") != pl.col("_idx").floor(),
        Reason.BAD_NUMBER,
        cols["set_index"],
        format_str("set number '{}' is not a whole number", pl.col("set_index")),
    )
    df = rej.pull(
        df,
        pl.col("set_type").is_not_null() & pl.col("_set_type").is_null(),
        Reason.UNKNOWN_VALUE,
        cols["set_type"],
        format_str(
            "unknown set type '{}' (expected normal, warmup, failure or dropset)",
            pl.col("set_type"),
        ),
    )
    for name, parsed, what in (
        ("set_index", "_idx", "set number"),
        ("weight", "_weight", "weight"),
        ("reps", "_reps", "reps"),
        ("distance", "_distance", "distance"),
        ("duration_seconds", "_duration", "duration"),
    ):
        df = rej.pull(
            df,
            pl.col(parsed) < 0,
            Reason.OUT_OF_RANGE,
            cols[name],
            format_str("negative {} '{}'", pl.lit(what), pl.col(name)),
        )
    df = rej.pull(
        df,
        (pl.col("_rpe") < 0) | (pl.col("_rpe") > 10),
        Reason.OUT_OF_RANGE,
        cols["rpe"],
        format_str("RPE '{}' is outside 0–10", pl.col("rpe")),
    )
    df = rej.pull(
        df,
        pl.col("_idx") + 1 > MAX_SET_INDEX,  # Hevy counts sets from 0
        Reason.OUT_OF_RANGE,
        cols["set_index"],
        format_str("set number '{}' is too large", pl.col("set_index")),
    )

    zero_duration = int((df["_duration"] == 0).sum())
    df = pull_unfilled_sets(rej, df, "no reps, weight, distance or duration recorded (an unfilled set)")

    session_s = (pl.col("_end") - pl.col("_start")).dt.total_seconds(fractional=True)
    backwards = df.filter(session_s < 0)
    if backwards.height:
        warnings.append(
            f"{backwards.select(pl.struct('title', '_start').n_unique()).item()} workout(s) "
            f"end before they start ({describe_lines(backwards['_line'])}); their duration "
            "was left empty"
        )

    data = df.with_columns(
        pl.col("_start").alias("ts_local"),
        pl.lit(True).alias("time_known"),
        pl.col("title").alias("workout_name"),
        pl.when(session_s >= 0).then(session_s).alias("session_duration_s"),
        _unescape("description").alias("workout_notes"),
        pl.col("exercise_title").alias("exercise_raw"),
        (pl.col("_idx") + 1).cast(pl.Int32).alias("set_index"),
        pl.col("_set_type").fill_null("working").alias("set_type"),
        pl.col("_reps").alias("reps"),
        *weight_columns(pl.col("_weight"), pl.lit(weight_unit, dtype=pl.String)),
        *distance_columns(pl.col("_distance"), pl.lit(distance_unit, dtype=pl.String), rounded=False),
        pl.col("_duration").alias("duration_s"),
        pl.col("_rpe").alias("rpe"),
        _unescape("exercise_notes").alias("notes"),
    )
    warnings += _warnings(df, cols, weight_unit, distance_unit, zero_duration)
    return ReadResult(
        format="hevy",
        layout=layout,
        kind="workout",
        rows_read=table.rows.height,
        data=finish(data, SET_INPUT),
        quarantine=rej.frame(),
        warnings=warnings,
        assumptions={"time_zone": "local (Hevy times have no offset)"},
    )


def _warnings(
    df: pl.DataFrame,
    cols: dict[str, str | None],
    weight_unit: str | None,
    distance_unit: str | None,
    zero_duration: int,
) -> list[str]:
    """Readable notes on conversions and interpretations of the accepted rows."""
    out: list[str] = []
    n_lb = int(df["_weight"].is_not_null().sum())
    if weight_unit == "lb" and n_lb:
        out.append(pounds_warning(n_lb, str(cols["weight"])))
    n_mi = int(df["_distance"].is_not_null().sum())
    if distance_unit == "mi" and n_mi:
        out.append(
            f"{n_mi} distances in {cols['distance']} are miles, converted to metres "
            "(1 mi = 1609.344 m); the mile values are kept as distance_original"
        )
    assisted = df.filter(
        pl.col("exercise_title").str.to_lowercase().str.contains("(assisted)", literal=True)
        & pl.col("_weight").is_not_null()
    )
    if assisted.height:
        names = ", ".join(sorted(assisted["exercise_title"].unique().to_list())[:5])
        out.append(
            f"{assisted.height} sets of assisted exercises ({names}) record the machine's "
            "assistance, not the load lifted; the weight is kept as recorded"
        )
    if zero_duration:
        out.append(
            f"{zero_duration} sets have duration_seconds = 0 (Hevy's default for untimed "
            "sets in some exports); read as no duration"
        )
    no_type = df.filter(pl.col("set_type").is_null())
    if no_type.height:
        out.append(
            f"{no_type.height} sets have no set type ({describe_lines(no_type['_line'])}); "
            "read as working sets, Hevy's default"
        )
    escaped = int(
        df.select(
            pl.col("exercise_notes").str.contains("\\n", literal=True).fill_null(False)
            | pl.col("description").str.contains("\\n", literal=True).fill_null(False)
        )
        .to_series()
        .sum()
    )
    if escaped:
        out.append(f"{escaped} rows had literal '\\n' escapes in their notes; shown as line breaks")
    late_start = (
        df.group_by("title", "_start", "exercise_title")
        .agg(pl.col("_idx").min().alias("first"), pl.col("_line").min())
        .filter(pl.col("first") > 0)
    )
    if late_start.height:
        out.append(
            f"{late_start.height} exercise(s) in a workout start at Hevy set number 1 or "
            f"later instead of 0 ({describe_lines(late_start['_line'])}); the numbers are "
            "kept as written (+1), so a set may be missing before them"
        )
    return out


SPEC = ReaderSpec(
    name="hevy",
    kind="workout",
    description="Hevy workouts.csv (weight_kg or weight_lbs; localised dates)",
    read=read,
    detect=detect,
)
