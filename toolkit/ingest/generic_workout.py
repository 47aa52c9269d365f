"""Generic workout CSV: one row per set, columns found by name and aliases.

For logs kept in a spreadsheet or exported by an app without its own reader. Header
names are matched case-, space-, ``_``- and ``-``-insensitively
(:func:`~toolkit.ingest._parse.header_key`); ``options.column_map``
(``{"exercise": "Übung", "weight": "Gewicht (kg)"}``) names any column the aliases do
not cover, and always wins.

====================  ============================================================
canonical             accepted header names
====================  ============================================================
``date``              date, day, datetime, date/time, timestamp, workout date,
                      session date, start, start time, recorded_at, ...
``exercise``          exercise, exercise name, movement, lift, exercises
``reps``              reps, repetitions, rep, rep count
``weight``            weight, load, kg, lbs, and with the unit in the name:
                      weight_kg, weight (kg), weight_lbs, weight (lb), load (kg), ...
``unit``              unit, units, weight unit, load unit (per row: kg, lb, lbs, ...)
``duration``          duration, seconds, secs, duration_s, duration (sec), time, and in
                      minutes: minutes, duration (min), duration_min (× 60)
``distance``          distance, and with the unit: distance_km, distance (m), ...
``distance_unit``     distance unit (per row: m, km, mi, ft, yd)
``rpe``               rpe
``notes``             notes, note, comment, comments, remarks
``set``               set, set number, set no, set #, set index
``set_type``          set type (working/normal, warmup, drop, failure, W/D/F)
``workout``           workout, workout name, session, session name, routine
``session_duration``  workout duration, session duration
``sets``              sets (a *count* of sets in one row; see below)
====================  ============================================================

Layouts returned by :func:`detect`:

``unit_column``
    A per-row unit column.
``unit_in_header``
    The unit is in the weight column's name (``weight_kg``, ``Weight (lbs)``).
``no_unit``
    No unit anywhere: weights are read in ``options.weight_unit`` and flagged
    ``weight_unit_assumed`` (a warning says so).

Detection needs a date, an exercise and at least one of reps, weight, duration or
distance, and refuses headers that belong to an app reader — ``Set Order`` (Strong),
``exercise_title`` (Hevy), ``Category`` (FitNotes), ``multiplier`` / ``isWarmup``
(Fitbod), ``instrument`` (PROMs). It is registered after the app readers.

Decisions:

* **Units**, in order: the row's unit cell; the unit in the column name; when the
  file has a unit column but this row's cell is empty, the one unit every other row
  uses (assumed; a file mixing kg and lb quarantines such rows ``unknown_unit``);
  else ``options.weight_unit`` (assumed). Distances: the row's distance-unit cell,
  else the unit in the column name (``distance_km``), else km when the weight unit
  is kg and miles when it is lb (assumed, as Strong). Weights are converted with
  :func:`~toolkit.ingest._base.weight_columns` (original value and unit kept).
* **Checks.** Non-numeric reps, weight, duration, distance, RPE or set number →
  ``bad_number`` (``nan``/``inf`` included); negative reps, duration or distance and
  an RPE outside 0–10 → ``out_of_range``; a set type other than working/normal,
  warm-up, drop or failure (or W/D/F) → ``unknown_value``. A negative weight is kept
  (assisted exercises).
* **Zero means absent** (as Strong, FORMATS.md §5.7): weight ``0`` is bodyweight (no
  external load), not a missing value; ``0`` reps, seconds or distance are null. A row
  with no reps, weight, duration or distance is an unfilled set (``unfilled_set``).
* **Set number.** The ``set`` column when every row of a date + workout + exercise
  group has one; otherwise each row's 1-based position in the file within that group.
* **A ``sets`` count** greater than 1 means the row stands for several sets. The
  input contract is one row per set and rows are never invented, so such a row is
  quarantined ``unknown_value`` asking for one row per set; ``sets`` = 1 or empty is
  read normally.
* **A ``time`` column** is read as the set's duration (``1:30`` = 90 s), not as a
  time of day, and a warning says so; map it away with ``--map`` if it is a clock time.
"""

from __future__ import annotations

import re

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
    DATE_KEYS,
    IN,
    MAX_SET_INDEX,
    date_only_warning,
    missing_columns,
    plural,
    pull_bad_dates,
    pull_empty,
    pull_field_count,
    resolve_columns,
    row_units,
    select_inputs,
    unused_columns_warning,
    with_timestamps,
)
from toolkit.ingest._parse import (
    SUSPECT_SESSION_S,
    distance_unit,
    duration_seconds,
    header_key,
    headers_matching,
    number,
    unparsed,
    weight_unit,
    zero_as_null,
)
from toolkit.ingest._text import CsvTable

__all__ = ["EXCLUDE_KEYS", "SPEC", "detect", "read"]

_W = ("weight", "load")
_KG = ("kg", "kgs", "kilo", "kilos", "kilogram", "kilograms")
_LB = ("lb", "lbs", "pound", "pounds")
_WEIGHT_KEYS = (
    *_W,
    *(f"{w}{u}" for w in _W for u in _KG + _LB),
    *(f"{w}({u})" for w in _W for u in _KG + _LB),
    *(f"{w}[{u}]" for w in _W for u in _KG + _LB),
    "kg", "kgs", "lb", "lbs",
)  # fmt: skip
_DIST_UNITS = ("m", "meters", "metres", "km", "kms", "mi", "miles", "ft", "feet", "yd", "yards")
_DISTANCE_KEYS = (
    "distance",
    *(f"distance{u}" for u in _DIST_UNITS),
    *(f"distance({u})" for u in _DIST_UNITS),
)
_SECONDS = ("s", "sec", "secs", "second", "seconds")
_MINUTES = ("min", "mins", "minute", "minutes")
_DURATION_KEYS = (
    "duration", "durations", "seconds", "secs", "sec", "timesec", "time(s)", "time(sec)",
    *(f"duration{u}" for u in _SECONDS), *(f"duration({u})" for u in _SECONDS),
    "minutes", "mins", "timemin", "time(min)",
    *(f"duration{u}" for u in _MINUTES), *(f"duration({u})" for u in _MINUTES),
    "time",
)  # fmt: skip

KEYS: dict[str, tuple[str, ...]] = {
    "date": (*DATE_KEYS, "workoutdate", "sessiondate", "startdate", "performedat", "performed"),
    "exercise": ("exercise", "exercisename", "movement", "lift", "exercises", "movementname"),
    "reps": ("reps", "repetitions", "rep", "repcount", "noofreps", "numberofreps"),
    "weight": _WEIGHT_KEYS,
    "unit": ("unit", "units", "weightunit", "weightunits", "loadunit", "unitofmeasure"),
    "duration": _DURATION_KEYS,
    "distance": _DISTANCE_KEYS,
    "distance_unit": ("distanceunit", "distanceunits"),
    "rpe": ("rpe", "rpe(110)", "rpe(010)"),
    "notes": ("notes", "note", "comment", "comments", "remarks", "setnotes"),
    "set": ("set", "setnumber", "setno", "set#", "setindex", "setnum", "setno."),
    "set_type": ("settype", "setkind"),
    "workout": ("workout", "workoutname", "session", "sessionname", "routine", "routinename", "workouttitle"),
    "session_duration": ("workoutduration", "sessionduration"),
    "sets": ("sets", "numberofsets", "setcount", "noofsets"),
}
"""Header keys of each canonical column, most specific first."""
_CANONICAL = tuple(KEYS)

EXCLUDE_KEYS = frozenset({"setorder", "exercisetitle", "category", "multiplier", "iswarmup", "instrument"})
"""Header keys that belong to an app reader (Strong, Hevy, FitNotes, Fitbod, PROMs)."""

_MEASURES = ("reps", "weight", "duration", "distance")
_MIXED_UNITS = "the unit is empty and this file mixes kg and lb: the weight's unit cannot be known"
_SET_TYPES = {
    "working": "working", "work": "working", "normal": "working", "regular": "working",
    "main": "working", "n": "working",
    "warmup": "warmup", "warm up": "warmup", "warm-up": "warmup", "w": "warmup", "warming up": "warmup",
    "drop": "drop", "dropset": "drop", "drop set": "drop", "d": "drop",
    "failure": "failure", "fail": "failure", "f": "failure", "to failure": "failure",
}  # fmt: skip


def _unit_in_name(header: str) -> str | None:
    key = header_key(header)
    m = re.search(r"(kgs?|kilos?|kilograms?|lbs?|pounds?)\W?$", key)
    if m is None:
        return None
    return "kg" if m.group(1).startswith("k") else "lb"


def _distance_unit_in_name(header: str) -> str | None:
    m = re.search(r"^distance\W?(" + "|".join(_DIST_UNITS) + r")\W?$", header_key(header))
    if m is None:
        return None
    return {"meters": "m", "metres": "m", "kms": "km", "miles": "mi", "feet": "ft", "yards": "yd"}.get(
        m.group(1), m.group(1)
    )


def _in_minutes(header: str) -> bool:
    return re.search(r"min(ute)?s?\W?$", header_key(header)) is not None


def detect(header: list[str]) -> str | None:
    """Layout name for a generic workout header (see the module docstring), else ``None``."""
    keys = {header_key(h) for h in header}
    if keys & EXCLUDE_KEYS:
        return None
    found = {name: headers_matching(header, frozenset(KEYS[name])) for name in KEYS}
    if not found["date"] or not found["exercise"]:
        return None
    if not any(found[m] for m in _MEASURES):
        return None
    if found["unit"]:
        return "unit_column"
    if found["weight"] and _unit_in_name(found["weight"][0]):
        return "unit_in_header"
    return "no_unit"


def _unit_note(unit: str, given: bool) -> str:
    other = "lb" if unit == "kg" else "kg"
    if given:
        return f"(as set with --weight-unit {unit}; an assumption the file cannot confirm)"
    return (
        f"(assumed; pass --weight-unit {other} if they are in {'pounds' if other == 'lb' else 'kilograms'})"
    )


def read(table: CsvTable, layout: str, options: ReadOptions) -> ReadResult:
    """Read a generic workout CSV into ``SET_INPUT`` rows.

    Parameters
    ----------
    table
        The parsed CSV.
    layout
        From :func:`detect`, or ``"forced"`` (``--format generic`` on a header it did
        not recognise: columns come from ``options.column_map`` and the aliases).
    options
        ``weight_unit`` for files without a unit; ``column_map`` for column names.

    Returns
    -------
    ReadResult
        ``data`` in ``SET_INPUT`` (one row per set): times (``ts_local`` or ``ts_utc``,
        ``time_known``), ``workout_name``, ``session_duration_s`` and ``_raw``,
        ``exercise_raw``, ``set_index`` (1-based), ``set_type``, ``reps``,
        ``weight_kg``/``weight_original``/``weight_unit_original``/
        ``weight_unit_assumed``, ``distance_m``/``distance_original``/
        ``distance_unit_original``, ``duration_s`` (seconds), ``rpe`` (0–10),
        ``notes``. Quarantine reasons: ``wrong_field_count``, ``missing_value``,
        ``bad_date``, ``bad_number``, ``out_of_range``, ``unknown_unit``,
        ``unknown_value`` and ``unfilled_set`` (info).

    Raises
    ------
    IngestError
        ``MISSING_COLUMN`` when there is no date or exercise column or no reps, weight,
        duration or distance column (names what is missing and what was found).
    """
    label = resolve_columns(table, options.column_map, KEYS, canonical=_CANONICAL)
    missing = [n for n in ("date", "exercise") if label[n] is None]
    if not any(label[m] for m in _MEASURES):
        missing.append("reps/weight/duration/distance")
    if missing:
        raise missing_columns(
            table,
            "a workout CSV needs date, exercise and reps/weight/duration/distance columns",
            missing,
            "; name them with --map, e.g. --map exercise=<column>",
        )
    # c: the input column of each canonical name (None when absent); label: its header.
    c = {name: (IN + name if header else None) for name, header in label.items()}
    rej = Rejects()
    warnings: list[str] = []
    assumptions: dict[str, str] = {}
    df = select_inputs(table, label)
    rows_read = df.height

    def col(name: str, dtype: pl.DataType = pl.String) -> pl.Expr:
        return pl.col(c[name]) if c[name] else pl.lit(None, dtype=dtype)

    df = pull_field_count(rej, df, len(table.header), surplus_only=True)

    # --- parse every cell once
    dur_col, dur_label = c["duration"], label["duration"]
    if dur_col and dur_label and _in_minutes(dur_label):
        duration = (
            pl.when(number(dur_col).is_not_null())
            .then(number(dur_col) * 60)
            .otherwise(duration_seconds(dur_col))
        )
    else:
        duration = duration_seconds(dur_col) if dur_col else pl.lit(None, dtype=pl.Float64)
    date_col, ex_col = IN + "date", IN + "exercise"
    df = with_timestamps(df, date_col).with_columns(
        number(col("reps")).alias("_reps"),
        number(col("weight")).alias("_w"),
        duration.alias("_dur"),
        number(col("distance")).alias("_d"),
        number(col("rpe")).alias("_rpe"),
        number(col("set")).alias("_set"),
        number(col("sets")).alias("_sets"),
    )

    df = pull_empty(rej, df, date_col, label["date"], "the date is empty")
    df = pull_bad_dates(
        rej,
        df,
        label["date"],
        format_str(
            "'{}' is not an unambiguous date: use ISO dates (2025-09-15 or 2025-09-15 07:48) "
            "or '15 Sep 2025'",
            pl.col(date_col),
        ),
    )
    df = pull_empty(rej, df, ex_col, label["exercise"], "the exercise is empty")
    for name, parsed in (
        ("reps", "_reps"), ("weight", "_w"), ("duration", "_dur"), ("distance", "_d"),
        ("rpe", "_rpe"), ("set", "_set"), ("sets", "_sets"),
    ):  # fmt: skip
        if c[name]:
            df = rej.pull(
                df,
                unparsed(c[name], pl.col(parsed)),
                Reason.BAD_NUMBER,
                label[name],
                format_str("{} '{}' is not a number", pl.lit(name), pl.col(c[name])),
            )
    for name, parsed in (("reps", "_reps"), ("duration", "_dur"), ("distance", "_d")):
        if c[name]:
            df = rej.pull(
                df,
                pl.col(parsed) < 0,
                Reason.OUT_OF_RANGE,
                label[name],
                format_str("{} {} is negative", pl.lit(name), pl.col(c[name])),
            )
    if c["set"]:
        df = rej.pull(
            df,
            (pl.col("_set").round(0) < 1) | (pl.col("_set").round(0) > MAX_SET_INDEX),
            Reason.OUT_OF_RANGE,
            label["set"],
            format_str("set number {} is not between 1 and {}", pl.col(c["set"]), pl.lit(MAX_SET_INDEX)),
        )
    if c["rpe"]:
        df = rej.pull(
            df,
            (pl.col("_rpe") < 0) | (pl.col("_rpe") > 10),
            Reason.OUT_OF_RANGE,
            label["rpe"],
            format_str("RPE {} is outside 0–10", pl.col(c["rpe"])),
        )
    if c["sets"]:
        df = rej.pull(
            df,
            pl.col("_sets") > 1,
            Reason.UNKNOWN_VALUE,
            label["sets"],
            format_str(
                "this row stands for {} sets; the generic reader needs one row per set (split "
                "the row, or give the set number in a 'set' column)",
                pl.col(c["sets"]),
            ),
        )
    if c["set_type"]:
        st_key = pl.col(c["set_type"]).str.strip_chars().str.to_lowercase()
        df = df.with_columns(
            st_key.replace_strict(_SET_TYPES, default=None, return_dtype=pl.String).alias("set_type")
        )
        df = rej.pull(
            df,
            pl.col(c["set_type"]).is_not_null() & pl.col("set_type").is_null(),
            Reason.UNKNOWN_VALUE,
            label["set_type"],
            format_str(
                "unknown set type '{}' (expected working, warmup, drop or failure)", pl.col(c["set_type"])
            ),
        )
        df = df.with_columns(pl.col("set_type").fill_null("working"))
    else:
        df = df.with_columns(pl.lit("working").alias("set_type"))

    # Zero means absent (bodyweight / not applicable), as in Strong's exports.
    df = df.with_columns(zero_as_null(x).alias(x) for x in ("_reps", "_w", "_dur", "_d"))
    df = rej.pull(
        df,
        pl.all_horizontal(pl.col(x).is_null() for x in ("_reps", "_w", "_dur", "_d")),
        Reason.INFO_UNFILLED_SET,
        None,
        "no reps, weight, duration or distance: an unfilled set",
    )

    df, unit, assumed = _weight_unit(df, label, options, rej, warnings, assumptions)
    df, d_unit = _distance_unit(df, label, unit_default="km" if options.weight_unit == "kg" else "mi",
                                rej=rej, warnings=warnings, assumptions=assumptions)  # fmt: skip

    # --- set index: the file's number where a whole group has one, else file position
    group = [pl.col(date_col), col("workout").fill_null(""), pl.col(ex_col)]
    position = pl.int_range(1, pl.len() + 1).over(group)
    has_all = pl.col("_set").is_not_null().all().over(group)
    set_index = pl.when(has_all).then(pl.col("_set").round(0)).otherwise(position)

    session_raw = col("session_duration")
    session_s = (
        duration_seconds(IN + "session_duration") if c["session_duration"] else pl.lit(None, dtype=pl.Float64)
    )
    df = df.with_columns(
        col("workout").alias("workout_name"),
        pl.when(session_s <= SUSPECT_SESSION_S).then(session_s).alias("session_duration_s"),
        session_raw.alias("session_duration_raw"),
        pl.col(ex_col).alias("exercise_raw"),
        set_index.cast(pl.Int32).alias("set_index"),
        pl.col("_reps").alias("reps"),
        *weight_columns(pl.col("_w"), unit, assumed=assumed),
        *distance_columns(pl.col("_d"), d_unit),
        pl.col("_dur").alias("duration_s"),
        pl.col("_rpe").alias("rpe"),
        col("notes").alias("notes"),
    )
    if c["session_duration"]:
        long = df.filter(session_s > SUSPECT_SESSION_S)
        if long.height:
            warnings.append(
                f"Session durations over {SUSPECT_SESSION_S // 3600} h kept as text only, not "
                f"used as training time: {plural(long.height, 'row')}."
            )
    if dur_label and header_key(dur_label) == "time":
        warnings.append(
            f"Column {dur_label!r} was read as each set's duration (1:30 = 90 s), not as a time "
            "of day; use --map duration=<column> to choose another column."
        )
    if dur_label and _in_minutes(dur_label):
        warnings.append(f"Durations in {dur_label!r} were read as minutes and converted to seconds.")
    if c["set"] and df.height and not bool(df.select(has_all.all()).item()):
        warnings.append(
            "Some exercises have rows without a set number: their sets were numbered by "
            "their order in the file."
        )
    date_only_warning(df, warnings, "set", "sets")
    unused_columns_warning(table.header, label, warnings, "generic workout")
    return ReadResult(
        format="generic",
        layout=layout,
        kind="workout",
        rows_read=rows_read,
        data=finish(df, SET_INPUT),
        quarantine=rej.frame(),
        warnings=warnings,
        assumptions=assumptions,
    )


def _weight_unit(
    df: pl.DataFrame,
    label: dict[str, str | None],
    options: ReadOptions,
    rej: Rejects,
    warnings: list[str],
    assumptions: dict[str, str],
) -> tuple[pl.DataFrame, pl.Expr, pl.Expr]:
    """Per-row weight unit and whether it was assumed (expressions on the returned frame)."""
    fixed = _unit_in_name(label["weight"]) if label["weight"] else None
    has_w = pl.col("_w").is_not_null()
    n_w = int(df.select(has_w.sum()).item())
    if label["unit"] is None:
        if fixed is not None:
            return df, pl.lit(fixed), pl.lit(False)
        unit = options.weight_unit
        if n_w:
            warnings.append(
                f"weights read as {unit}: the file carries no unit "
                f"{_unit_note(unit, options.weight_unit_given)}"
            )
            assumptions["weight_unit"] = unit
        return df, pl.lit(unit), pl.lit(True)
    ucol = IN + "unit"
    # With a unit in the column's name an empty cell takes that unit: nothing is guessed.
    df, n_empty, seen = row_units(
        rej,
        df,
        value="_w",
        cell=ucol,
        parse=weight_unit,
        into="_wu",
        column=label["unit"],
        unknown=format_str("'{}' is not a weight unit (expected kg or lb)", pl.col(ucol)),
        mixed=None if fixed is not None else _MIXED_UNITS,
        every_row=True,
    )
    if fixed is not None:
        return df, pl.col("_wu").fill_null(pl.lit(fixed)), pl.lit(False)
    if not n_empty:
        return df, pl.col("_wu"), pl.lit(False)
    if seen:
        fill = seen[0]
        warnings.append(
            f"Weights without a unit read as {fill}, the unit of every other weight in this "
            f"file (assumed): {plural(n_empty, 'row')}."
        )
    else:
        fill = options.weight_unit
        warnings.append(
            f"weights read as {fill}: the file carries no unit {_unit_note(fill, options.weight_unit_given)}"
        )
    assumptions["weight_unit"] = fill
    return df, pl.col("_wu").fill_null(pl.lit(fill)), pl.col("_wu").is_null()


def _distance_unit(
    df: pl.DataFrame,
    label: dict[str, str | None],
    *,
    unit_default: str,
    rej: Rejects,
    warnings: list[str],
    assumptions: dict[str, str],
) -> tuple[pl.DataFrame, pl.Expr]:
    """Per-row distance unit (an expression on the returned frame)."""
    if not label["distance"]:
        return df, pl.lit(None, dtype=pl.String)
    fixed = _distance_unit_in_name(label["distance"])
    n_d = int(df.select(pl.col("_d").is_not_null().sum()).item())
    note = (
        f"distances read as {'km' if unit_default == 'km' else 'miles'}: the file does not say "
        "which unit (assumed from the weight unit; name the column distance_m, distance_km or "
        "distance_mi to say it)"
    )
    if label["distance_unit"] is None:
        if fixed is not None:
            return df, pl.lit(fixed)
        if n_d:
            warnings.append(note)
            assumptions["distance_unit"] = unit_default
        return df, pl.lit(unit_default)
    ucol = IN + "distance_unit"
    df, n_empty, _ = row_units(
        rej,
        df,
        value="_d",
        cell=ucol,
        parse=distance_unit,
        into="_du",
        column=label["distance_unit"],
        unknown=format_str("'{}' is not a distance unit (expected m, km, mi, ft or yd)", pl.col(ucol)),
        mixed=None,
        every_row=True,
    )
    fill = fixed or unit_default
    if fixed is None and n_empty:
        warnings.append(note)
        assumptions["distance_unit"] = fill
    return df, pl.col("_du").fill_null(pl.lit(fill))


SPEC = ReaderSpec(
    name="generic",
    kind="workout",
    description="Generic workout CSV (date, exercise, reps, weight, unit, duration, rpe, notes)",
    read=read,
    detect=detect,
)
