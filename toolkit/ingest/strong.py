"""Strong (iOS / Android) CSV exports, every layout seen from 2016 to October 2025.

Strong has changed its export at least seven times (FORMATS.md §1.1). The layout is
detected from the header's column *names* (never their positions); German localised
headers (FORMATS.md §1.1, from jjaju/statlift) are mapped to the English names first.
Every layout has one row per set, with the session (``Date`` = workout start, naive
local time) repeated on each row.

Layouts, with their real header lines:

``v0_2016`` — 2016–17, comma, CRLF; the unit **is** the column name (``kg``/``lbs``,
``km``/``mi``); ``Set Order`` is **0-based** (shifted to 1-based here)::

    Date,Workout Name,Exercise Name,Set Order,kg,Reps,km,Seconds,Notes

``v0b`` — ~2019, comma; no unit and no duration (weights such as ``6.80388555`` are
pounds converted to kg by the app, read with ``--weight-unit`` like V1)::

    Date,Workout Name,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,Workout Notes,RPE

``v1_classic`` — iOS ~2020 → mid-2025, comma; **no unit anywhere**::

    Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,Workout Notes,RPE

``v2a_android`` — Android 2018–2020, semicolon; per-row units::

    Date;Workout Name;Exercise Name;Set Order;Weight;Weight Unit;Reps;RPE;Distance;Distance Unit;Seconds;Notes;Workout Notes

``v2b_android`` — Android 2023–2024, as V2a plus ``Workout Duration``::

    Date;Workout Name;Exercise Name;Set Order;Weight;Weight Unit;Reps;RPE;Distance;Distance Unit;Seconds;Notes;Workout Notes;Workout Duration

``v3_workout_number`` — 2025 "Workout #", every field quoted, ``;`` or ``,``, maybe a
UTF-8 BOM and CRLF; unit in the header suffix (``Weight (kg)`` / ``Weight (lbs)``),
distance in metres, duration in seconds::

    "Workout #";"Date";"Workout Name";"Duration (sec)";"Exercise Name";"Set Order";"Weight (kg)";"Reps";"RPE";"Distance (meters)";"Seconds";"Notes";"Workout Notes"

``v4_2025_10`` — October 2025, comma; no notes columns and no unit::

    Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,RPE

Detection rules (after mapping German names): ``Date``, ``Workout Name``,
``Exercise Name``, ``Set Order`` and ``Reps`` are required, plus a weight column. Then
``Weight (kg|lbs)`` → V3; ``Weight`` + ``Weight Unit`` → V2b if ``Workout Duration``
else V2a; a ``kg``/``lbs`` column → V0; ``Weight`` + ``Duration`` → V1 if ``Notes``
else V4; ``Weight`` alone → V0b. Other columns are optional and read when present.

Decisions (each reported in the result's warnings where it applies):

* **Units.** V1, V4 and V0b carry no unit: weights are read in ``options.weight_unit``
  and flagged ``weight_unit_assumed``; distances are read in km when that unit is kg and
  in miles when it is lb (Strong writes the user's display unit). Both are recorded in
  ``ReadResult.assumptions``. In V2, a weight (or distance) with an empty unit cell
  takes the unit every other row of the file uses (flagged assumed); when the file uses
  no unit at all it takes ``options.weight_unit`` (assumed, as V1); when the file mixes
  kg and lb it cannot be known and the row is quarantined ``UNKNOWN_UNIT``, as is a
  unit text that is not a unit.
* **Zero means absent.** Weight ``0``/``0.0`` (V1 bodyweight) and blank weight (V2b/V3)
  both become a null weight = no external load, not a missing value; ``0`` reps,
  distance and seconds become null too. A set with no weight, reps, distance or
  seconds is an unfilled set (``INFO_UNFILLED_SET``).
* **Rest Timer rows** (``Set Order`` = ``Rest Timer``, only ``Seconds`` filled) are
  quarantined ``INFO_REST_TIMER``; their seconds become ``rest_after_s`` of the nearest
  preceding set row in the file when that row has the same date, workout and exercise.
  **Note rows** (``Set Order`` = ``Note``) are quarantined ``INFO_NOTE_ROW`` and their
  ``Notes`` text is appended (``"; "``) to that same preceding set's notes.
* **Set order.** Numbers are working sets (V0: +1). ``W``/``D``/``F`` are warm-up, drop
  and failure sets. In a session+exercise where any ``Set Order`` is a letter or empty,
  *every* set's ``set_index`` is its 1-based position in file order among that
  session+exercise's set rows (Rest Timer/Note rows not counted), so warm-ups and
  working sets never share an index.
* **Session duration.** ``2h 38m``, ``45m``, ``38min``, ``1h``, or seconds (V3) are
  parsed into ``session_duration_s``; the text stays in ``session_duration_raw``.
  Durations over :data:`~toolkit.ingest._parse.SUSPECT_SESSION_S` (``264h 1m``: a timer
  left running until export) keep their raw text but get a null
  ``session_duration_s``, so no analysis counts them as training time; a warning names
  how many sessions and the longest.
"""

from __future__ import annotations

import re

import polars as pl

from toolkit._polars import format_str
from toolkit.exceptions import IngestError, Reason
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
from toolkit.ingest._common import MAX_SET_INDEX, pull_empty, pull_field_count, row_units
from toolkit.ingest._parse import (
    SUSPECT_SESSION_S,
    distance_unit,
    duration_seconds,
    number_cells,
    parse_datetime,
    unparsed,
    unparsed_cell,
    weight_unit,
    zero_as_null,
)
from toolkit.ingest._text import CsvTable

__all__ = ["SPEC", "detect", "read"]

LAYOUTS = (
    "v0_2016",
    "v0b",
    "v1_classic",
    "v2a_android",
    "v2b_android",
    "v3_workout_number",
    "v4_2025_10",
)
"""Layout names :func:`detect` returns (see the module docstring)."""

_GERMAN = {
    "Datum": "Date",
    "Workout-Name": "Workout Name",
    "Name der Übung": "Exercise Name",
    "Reihenfolge festlegen": "Set Order",
    "Gewicht": "Weight",
    "Wiederh.": "Reps",
    "Entfernung": "Distance",
    "Sekunden": "Seconds",
    "Notizen": "Notes",
    "Workout-Notizen": "Workout Notes",
    "Dauer": "Duration",
    "Workout-Dauer": "Workout Duration",
}
"""German iOS/Android header → English (jjaju/statlift ``columns.json``, FORMATS.md §1.1)."""

_CORE = ("Date", "Workout Name", "Exercise Name", "Set Order", "Reps")
_V0_WEIGHT = {"kg": "kg", "kgs": "kg", "lb": "lb", "lbs": "lb"}
_V0_DISTANCE = {"km": "km", "mi": "mi", "miles": "mi"}
_SUFFIX_WEIGHT = re.compile(r"^Weight \((kgs?|lbs?)\)$", re.IGNORECASE)
_SUFFIX_DISTANCE = re.compile(r"^Distance \((m|meters|metres|km|mi|miles)\)$", re.IGNORECASE)
_DATE_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
_SET_TYPES = {"w": "warmup", "d": "drop", "f": "failure"}
_SEP = "\x1f"


# --------------------------------------------------------------------------- detection


def _english(header: list[str]) -> list[str]:
    """Header names with the German aliases mapped (names already English are kept)."""
    present = set(header)
    return [_GERMAN[h] if h in _GERMAN and _GERMAN[h] not in present else h for h in header]


def _columns(header: list[str]) -> dict[str, str]:
    """Canonical role → English column name, for the roles this header has.

    Roles: ``date workout exercise set_order reps weight weight_unit distance
    distance_unit seconds notes workout_notes rpe duration workout_no``; plus
    ``weight_unit_fixed`` / ``distance_unit_fixed`` (the unit named by the header).
    """
    names = _english(header)
    present = set(names)
    cols: dict[str, str] = {}
    simple = {
        "date": "Date",
        "workout": "Workout Name",
        "exercise": "Exercise Name",
        "set_order": "Set Order",
        "reps": "Reps",
        "weight_unit": "Weight Unit",
        "distance_unit": "Distance Unit",
        "seconds": "Seconds",
        "notes": "Notes",
        "workout_notes": "Workout Notes",
        "rpe": "RPE",
        "workout_no": "Workout #",
    }
    for role, name in simple.items():
        if name in present:
            cols[role] = name
    for name in names:
        if m := _SUFFIX_WEIGHT.match(name):
            cols.setdefault("weight", name)
            cols.setdefault("weight_unit_fixed", m.group(1).lower().rstrip("s"))
        elif m := _SUFFIX_DISTANCE.match(name):
            unit = {"meters": "m", "metres": "m", "miles": "mi"}.get(m.group(1).lower())
            cols.setdefault("distance", name)
            cols.setdefault("distance_unit_fixed", unit or m.group(1).lower())
    if "weight" not in cols:
        if "Weight" in present:
            cols["weight"] = "Weight"
        else:
            for name in names:
                if name.lower() in _V0_WEIGHT:
                    cols["weight"] = name
                    cols["weight_unit_fixed"] = _V0_WEIGHT[name.lower()]
                    break
    if "distance" not in cols:
        if "Distance" in present:
            cols["distance"] = "Distance"
        else:
            for name in names:
                if name.lower() in _V0_DISTANCE:
                    cols["distance"] = name
                    cols["distance_unit_fixed"] = _V0_DISTANCE[name.lower()]
                    break
    for name in ("Duration (sec)", "Workout Duration", "Duration"):
        if name in present:
            cols["duration"] = name
            break
    return cols


def _layout(cols: dict[str, str]) -> str | None:
    if not all(role in cols for role in ("date", "workout", "exercise", "set_order", "reps")):
        return None
    if "weight" not in cols:
        return None
    weight = cols["weight"]
    if _SUFFIX_WEIGHT.match(weight):
        return "v3_workout_number"
    if "weight_unit" in cols:
        return "v2b_android" if cols.get("duration") == "Workout Duration" else "v2a_android"
    if weight.lower() in _V0_WEIGHT:
        return "v0_2016"
    if cols.get("duration") == "Duration":
        return "v1_classic" if "notes" in cols else "v4_2025_10"
    return "v0b"


def detect(header: list[str]) -> str | None:
    """The Strong layout of a CSV header, or ``None`` when it is not a Strong export.

    Parameters
    ----------
    header
        Column names as written (stripped of quotes and whitespace).

    Returns
    -------
    str or None
        One of :data:`LAYOUTS`.

    Examples
    --------
    >>> detect("Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,"
    ...        "Distance,Seconds,RPE".split(","))
    'v4_2025_10'
    >>> detect(["Date", "Exercise", "Reps"]) is None
    True
    """
    return _layout(_columns(header))


def _missing(header: list[str]) -> list[str]:
    """Columns a Strong export needs that ``header`` lacks (for a forced --format)."""
    cols = _columns(header)
    names = dict(zip(("date", "workout", "exercise", "set_order", "reps"), _CORE, strict=True))
    missing = [name for role, name in names.items() if role not in cols]
    if "weight" not in cols:
        missing.append("Weight (or 'Weight (kg)', 'Weight (lbs)', 'kg', 'lbs')")
    return missing


# ------------------------------------------------------------------------------ reading


def _fmt_hm(seconds: float) -> str:
    """``950460`` → ``'264h 1m'`` (the way Strong writes durations)."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m" if hours else f"{minutes}m"


def _num_text(expr: pl.Expr) -> pl.Expr:
    """``120.0`` → ``'120'``, ``7.5`` → ``'7.5'`` (for messages)."""
    # Whole numbers as integers while they are exact in a float (|x| < 2**53): a cast of
    # 1e300 to Int64 would fail the whole file.
    whole = (expr == expr.round(0)) & (expr.abs() < 2**53)
    return (
        pl.when(whole).then(expr.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(expr.cast(pl.String))
    )


def _unit_note(unit: str, given: bool) -> str:
    other = "lb" if unit == "kg" else "kg"
    if given:
        return f"(as set with --weight-unit {unit}; an assumption the file cannot confirm)"
    return (
        f"(assumed — pass --weight-unit {other} if the app was set to "
        f"{'pounds' if other == 'lb' else 'kilograms'})"
    )


def read(table: CsvTable, layout: str, options: ReadOptions) -> ReadResult:
    """Read a Strong export into ``SET_INPUT`` rows, a quarantine and warnings.

    Parameters
    ----------
    table
        The parsed CSV (:func:`toolkit.ingest._text.parse_csv`).
    layout
        A name from :func:`detect`, or ``"forced"`` when the user forced
        ``--format strong`` on a header that does not match.
    options
        ``weight_unit`` / ``weight_unit_given`` are used by the layouts without a unit.

    Returns
    -------
    ReadResult
        ``rows_read`` = accepted + quarantined (every data row is accounted for).

    Raises
    ------
    IngestError
        ``MISSING_COLUMN`` when the header lacks a column Strong exports always have.
    """
    missing = _missing(table.header)
    if layout == "forced" or missing:
        shown = ", ".join(table.header[:8]) + (", …" if len(table.header) > 8 else "")
        raise IngestError(
            table.file,
            Reason.MISSING_COLUMN,
            f"not a Strong export: missing column(s) {', '.join(repr(m) for m in missing)} "
            f"(header: {shown}); re-export from Strong with the app language set to English",
            row=1,
            column=missing[0] if missing else None,
        )
    cols = _columns(table.header)
    layout = _layout(cols) or layout
    warnings: list[str] = []
    assumptions: dict[str, str] = {}
    if _english(table.header) != table.header:
        warnings.append("German column names were mapped to Strong's English ones")

    english = dict(zip(table.header, _english(table.header), strict=True))
    raw = table.rows.rename({k: v for k, v in english.items() if k != v})
    rows_read = raw.height
    roles = [r for r in cols if not r.endswith("_fixed")]
    df = raw.select(
        pl.col("_line"),
        pl.col("_fields"),
        *[pl.col(cols[r]).alias(r) for r in roles],
        *[
            pl.lit(None, dtype=pl.String).alias(r)
            for r in (
                "weight",
                "weight_unit",
                "distance",
                "distance_unit",
                "seconds",
                "notes",
                "workout_notes",
                "rpe",
                "duration",
                "workout_no",
            )
            if r not in cols
        ],
    )
    rej = Rejects()
    df = pull_field_count(rej, df, len(table.header))
    # Every number cell parsed once, here (the rest timer rows' seconds included).
    numeric = {
        "weight": ("Weight", cols.get("weight", "Weight")),
        "reps": ("Reps", "Reps"),
        "distance": ("Distance", cols.get("distance", "Distance")),
        "seconds": ("Seconds", "Seconds"),
        "rpe": ("RPE", "RPE"),
    }
    df = number_cells(df, {"_so": "set_order", **{f"_n_{role}": role for role in numeric}})

    # --- pseudo rows: Rest Timer and Note, attached to the preceding set ---------------
    df = df.with_columns(pl.col("set_order").str.to_lowercase().alias("_order"))
    order = pl.col("_order")
    kind = (
        pl.when(order == "rest timer")
        .then(pl.lit("rest"))
        .when(order == "note")
        .then(pl.lit("note"))
        .otherwise(pl.lit("set"))
    )
    session = pl.concat_str(
        [pl.col("workout_no").fill_null(""), pl.col("date").fill_null(""), pl.col("workout").fill_null("")],
        separator=_SEP,
    )
    key = pl.concat_str([session, pl.col("exercise").fill_null("")], separator=_SEP)
    if df.select(order.is_in(["rest timer", "note"]).any()).item():
        df = _attach_pseudo_rows(df, rej, kind, key)
    else:  # nothing to attach: skip the per-row keys and joins
        df = df.with_columns(
            pl.lit(None, dtype=pl.Float64).alias("rest_after_s"),
            pl.lit(None, dtype=pl.String).alias("_extra_notes"),
        )

    # --- required values --------------------------------------------------------------
    df = pull_empty(rej, df, "exercise", "Exercise Name", "no exercise name")
    df = pull_empty(rej, df, "date", "Date", "no date")
    df = df.with_columns(parse_datetime("date", _DATE_FORMATS).alias("ts_local"))
    df = rej.pull(
        df,
        pl.col("ts_local").is_null(),
        Reason.BAD_DATE,
        "Date",
        format_str("not a date (expected YYYY-MM-DD HH:MM:SS): {}", pl.col("date")),
    )

    # --- set order --------------------------------------------------------------------
    offset = 1 if layout == "v0_2016" else 0
    so_num = pl.col("_so")
    letter = pl.col("_order").is_in(list(_SET_TYPES))
    # NaN and infinity are numbers to the parser but no set's position (and NaN equals
    # itself in polars' comparisons): unknown values too.
    bad_order = (
        pl.col("set_order").is_not_null()
        & ~letter
        & (so_num.is_null() | ~so_num.is_finite() | (so_num != so_num.round(0)))
    )
    df = rej.pull(
        df,
        bad_order,
        Reason.UNKNOWN_VALUE,
        "Set Order",
        format_str("unknown set order '{}': expected a number, W, D or F", pl.col("set_order")),
    )
    df = rej.pull(
        df,
        so_num + offset < 1,
        Reason.OUT_OF_RANGE,
        "Set Order",
        format_str("set order {} is below the first set", pl.col("set_order")),
    )
    df = rej.pull(
        df,
        so_num + offset > MAX_SET_INDEX,
        Reason.OUT_OF_RANGE,
        "Set Order",
        format_str("set order {} is too large", pl.col("set_order")),
    )
    unnumbered = letter | pl.col("set_order").is_null()
    if df.select(unnumbered.any()).item():
        if "_key" not in df.columns:
            df = df.with_columns(key.alias("_key"))
        positional = unnumbered.any().over("_key")
        set_index = (
            pl.when(positional)
            .then(pl.int_range(1, pl.len() + 1).over("_key", order_by="_line"))
            .otherwise(so_num + offset)
        )
    else:  # every set is numbered: no per-exercise positions to compute
        set_index = so_num + offset
    df = df.with_columns(
        set_index.alias("set_index"),
        pl.col("_order")
        .replace_strict(_SET_TYPES, default="working", return_dtype=pl.String)
        .alias("set_type"),
    )

    # --- numbers (parsed above) -------------------------------------------------------
    for role, (_, column) in numeric.items():
        df = rej.pull(
            df,
            unparsed_cell(role, pl.col(f"_n_{role}")),
            Reason.BAD_NUMBER,
            column,
            format_str("not a number: {}", pl.col(role)),
        )
    for role, (_, column) in numeric.items():
        value = pl.col(f"_n_{role}")
        too_big = (value > 10) if role == "rpe" else pl.lit(False)
        df = rej.pull(
            df,
            (value < 0) | too_big,
            Reason.OUT_OF_RANGE,
            column,
            format_str("out of range: {}", pl.col(role)),
        )
    df = df.with_columns(
        zero_as_null("_n_weight").alias("_w"),
        zero_as_null("_n_reps").alias("reps_v"),
        zero_as_null("_n_distance").alias("_d"),
        zero_as_null("_n_seconds").alias("duration_s"),
        pl.col("_n_rpe").alias("rpe_v"),
    )
    df = rej.pull(
        df,
        pl.all_horizontal(pl.col(c).is_null() for c in ("_w", "reps_v", "_d", "duration_s")),
        Reason.INFO_UNFILLED_SET,
        None,
        "unfilled set: no weight, reps, distance or time",
    )

    # --- units ------------------------------------------------------------------------
    df, w_unit, w_assumed = _weight_units(df, cols, options, rej, warnings, assumptions)
    default_distance = "km" if options.weight_unit == "kg" else "mi"
    df, d_unit = _distance_units(df, cols, default_distance, rej, warnings, assumptions)

    # --- session duration -------------------------------------------------------------
    # A negative duration is no session's length: unreadable, like text.
    df = df.with_columns(duration_seconds("duration").alias("_dur_read"))  # parsed once
    df = df.with_columns(pl.when(pl.col("_dur_read") >= 0).then(pl.col("_dur_read")).alias("_dur_read"))
    df = df.with_columns(zero_as_null("_dur_read").alias("_dur"))
    unreadable = df.filter(unparsed("duration", pl.col("_dur_read")))
    if unreadable.height:
        sessions = unreadable.select(session.n_unique()).item()
        warnings.append(
            f"{sessions} session(s) have a duration that could not be read "
            f"(e.g. {unreadable['duration'][0]!r}): kept as text only"
        )
    suspect = df.filter(pl.col("_dur") > SUSPECT_SESSION_S)
    if suspect.height:
        n = suspect.select(session.n_unique()).item()
        longest = float(suspect["_dur"].max())  # type: ignore[arg-type]
        warnings.append(
            f"{n} session{'s have' if n > 1 else ' has an'} implausible "
            f"duration{'s' if n > 1 else ''} (up to {_fmt_hm(longest)}): kept as text, "
            "flagged, not used as training time"
        )

    notes = pl.concat_str([pl.col("notes"), pl.col("_extra_notes")], separator="; ", ignore_nulls=True)
    out = df.with_columns(
        pl.lit(True).alias("time_known"),
        pl.col("workout").alias("workout_name"),
        pl.when(pl.col("_dur") <= SUSPECT_SESSION_S).then(pl.col("_dur")).alias("session_duration_s"),
        pl.col("duration").alias("session_duration_raw"),
        pl.col("exercise").alias("exercise_raw"),
        pl.col("reps_v").alias("reps"),
        *weight_columns(pl.col("_w"), w_unit, assumed=w_assumed),
        *distance_columns(pl.col("_d"), d_unit),
        pl.col("rpe_v").alias("rpe"),
        pl.when(notes != "").then(notes).alias("notes"),
    )
    if not out["_line"].is_sorted():
        out = out.sort("_line")
    return ReadResult(
        format="strong",
        layout=layout,
        kind="workout",
        rows_read=rows_read,
        data=finish(out, SET_INPUT),
        quarantine=rej.frame(),
        warnings=warnings,
        assumptions=assumptions,
    )


def _attach_pseudo_rows(df: pl.DataFrame, rej: Rejects, kind: pl.Expr, key: pl.Expr) -> pl.DataFrame:
    """Quarantine Rest Timer and Note rows, attaching their seconds (``rest_after_s``)
    and text (``_extra_notes``) to the nearest preceding set row of the same date,
    workout and exercise."""
    df = df.with_columns(kind.alias("_kind"), key.alias("_key"))
    is_set = pl.col("_kind") == "set"
    df = df.with_columns(
        pl.when(is_set).then(pl.col("_line")).forward_fill().alias("_anchor"),
        pl.when(is_set).then(pl.col("_key")).forward_fill().alias("_anchor_key"),
    ).with_columns(
        (~is_set & (pl.col("_anchor_key") == pl.col("_key"))).fill_null(False).alias("_attached"),
        zero_as_null("_n_seconds").alias("_rest_s"),
    )
    attached = df.filter(pl.col("_attached"))
    rest = (
        attached.filter(pl.col("_kind") == "rest", pl.col("_rest_s").is_not_null())
        .group_by("_anchor")
        .agg(pl.col("_rest_s").first().alias("rest_after_s"))
    )
    extra_notes = (
        attached.filter(pl.col("_kind") == "note", pl.col("notes").is_not_null())
        .group_by("_anchor")
        .agg(pl.col("notes").str.join("; ").alias("_extra_notes"))
    )
    df = df.join(rest, left_on="_line", right_on="_anchor", how="left", maintain_order="left").join(
        extra_notes, left_on="_line", right_on="_anchor", how="left", maintain_order="left"
    )
    df = rej.pull(
        df,
        pl.col("_kind") == "rest",
        Reason.INFO_REST_TIMER,
        "Set Order",
        pl.when(pl.col("_attached") & pl.col("_rest_s").is_not_null())
        .then(
            format_str(
                "rest timer: {} s recorded as rest after the set on line {}",
                _num_text(pl.col("_rest_s")),
                pl.col("_anchor"),
            )
        )
        .when(pl.col("_rest_s").is_null())
        .then(pl.lit("rest timer row without seconds"))
        .otherwise(pl.lit("rest timer row: no preceding set of the same exercise to attach to")),
    )
    df = rej.pull(
        df,
        pl.col("_kind") == "note",
        Reason.INFO_NOTE_ROW,
        "Set Order",
        pl.when(pl.col("_attached") & pl.col("notes").is_not_null())
        .then(format_str("note row: text added to the notes of the set on line {}", pl.col("_anchor")))
        .otherwise(pl.lit("note row: no text, or no preceding set to attach it to")),
    )
    return df


def _weight_units(
    df: pl.DataFrame,
    cols: dict[str, str],
    options: ReadOptions,
    rej: Rejects,
    warnings: list[str],
    assumptions: dict[str, str],
) -> tuple[pl.DataFrame, pl.Expr, pl.Expr]:
    """The weight unit of each row (an expression on ``df``) and whether it is assumed."""
    has_w = pl.col("_w").is_not_null()
    n_weights = int(df.select(has_w.sum()).item())
    if "weight_unit_fixed" in cols:
        return df, pl.lit(cols["weight_unit_fixed"]), pl.lit(False)
    if "weight_unit" not in cols:
        unit = options.weight_unit
        if n_weights:
            warnings.append(
                f"weights read as {unit}: this Strong layout carries no unit "
                f"{_unit_note(unit, options.weight_unit_given)}"
            )
            assumptions["weight_unit"] = unit
        return df, pl.lit(unit), pl.lit(True)
    # V2: per-row unit column.
    df, n_missing, used = row_units(
        rej,
        df,
        value="_w",
        cell="weight_unit",
        parse=weight_unit,
        into="_wu",
        column="Weight Unit",
        unknown=format_str("unknown weight unit '{}'", pl.col("weight_unit")),
        mixed="weight without a unit in a file that mixes kg and lb",
    )
    if not n_missing:
        return df, pl.col("_wu"), pl.lit(False)
    if used:
        fill = used[0]
        warnings.append(
            f"{n_missing} weight(s) had no unit: read as {fill}, the unit of every other "
            "weight in this file (assumed)"
        )
    else:
        fill = options.weight_unit
        warnings.append(
            f"weights read as {fill}: this file's Weight Unit column is empty "
            f"{_unit_note(fill, options.weight_unit_given)}"
        )
    assumptions["weight_unit"] = fill
    return df, pl.col("_wu").fill_null(pl.lit(fill)), pl.col("_wu").is_null()


def _distance_units(
    df: pl.DataFrame,
    cols: dict[str, str],
    default: str,
    rej: Rejects,
    warnings: list[str],
    assumptions: dict[str, str],
) -> tuple[pl.DataFrame, pl.Expr]:
    """The distance unit of each row (an expression on ``df``)."""
    has_d = pl.col("_d").is_not_null()
    n_dist = int(df.select(has_d.sum()).item())
    if "distance_unit_fixed" in cols:
        return df, pl.lit(cols["distance_unit_fixed"])
    note = (
        f"distances read as {'km' if default == 'km' else 'miles'}: Strong writes them in the "
        "app's display unit and this file does not say which (assumed from the weight unit)"
    )
    if "distance_unit" not in cols:
        if n_dist:
            warnings.append(note)
            assumptions["distance_unit"] = default
        return df, pl.lit(default)
    df, n_missing, used = row_units(
        rej,
        df,
        value="_d",
        cell="distance_unit",
        parse=distance_unit,
        into="_du",
        column="Distance Unit",
        unknown=format_str("unknown distance unit '{}'", pl.col("distance_unit")),
        mixed="distance without a unit in a file that mixes units",
    )
    if not n_missing:
        return df, pl.col("_du")
    if used:
        fill = used[0]
        warnings.append(
            f"{n_missing} distance(s) had no unit: read as {fill}, the unit of every other "
            "distance in this file (assumed)"
        )
    else:
        fill = default
        warnings.append(note)
    assumptions["distance_unit"] = fill
    return df, pl.col("_du").fill_null(pl.lit(fill))


SPEC = ReaderSpec(
    name="strong",
    kind="workout",
    description="Strong app CSV export (iOS and Android, every layout 2016 – Oct 2025)",
    read=read,
    detect=detect,
)
