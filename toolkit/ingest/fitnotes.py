"""FitNotes (Android) ``FitNotes_Export.csv``, one row per set.

Layouts
-------
Unit in the weight column's name (FORMATS.md §1.3), ``lbs_header`` or ``kgs_header``,
with or without a trailing ``Comment`` column::

    Date,Exercise,Category,Weight (lbs),Reps,Distance,Distance Unit,Time
    Date,Exercise,Category,Weight (kgs),Reps,Distance,Distance Unit,Time,Comment

Unit on every row, ``unit_column`` (``kgs`` / ``lbs``), again with an optional
``Comment``::

    Date,Exercise,Category,Weight,Weight Unit,Reps,Distance,Distance Unit,Time

Detection needs ``Date``, ``Exercise``, ``Category`` and a weight column
(``Weight (lbs|kgs|lb|kg)`` or ``Weight`` + ``Weight Unit``), case-insensitive.

How the cells are read
----------------------
* **Dates** ``2018-08-16``: FitNotes has no time of day and no workout id, so a
  session is a calendar day (``ts_local`` at midnight, ``time_known`` False). Sets
  are not numbered (``set_index`` null) and have no type (all ``working``).
* **Weights** ``0.0`` or blank = bodyweight (weight null). ``kgs``/``lbs`` become
  ``kg``/``lb``; pounds are converted to kg with the original kept.
* **Time** ``H:MM:SS`` (``0:09:21``) → ``duration_s``; ``0:00:00`` and a distance of
  ``0.0`` mean nothing was recorded (null). ``Reps`` = 0 on a timed/distance set is
  read as no reps.
* **Distance with a weight unit.** Weight-and-time exercises come out with the
  Distance columns holding a *weight*: ``Side Plank,Abs,,,0.0,kg,0:00:00`` (15 rows
  in a real export). When ``Distance Unit`` is a weight unit (``kg``, ``kgs``,
  ``lb``, ``lbs``) the Distance value is read as the load in that unit (when the
  Weight cell is empty or 0) and the distance as empty. This interpretation is
  unverified and is reported in the warnings.
* **Unquoted commas.** In a real 2025 export 99 rows have one field too many because
  the exercise name contains an unquoted comma
  (``Overhead Press (Each Side, Dumbbells)``). Every column after ``Exercise`` is
  fixed, so such a row is repaired by anchoring them from the right and joining the
  surplus fields back into ``Exercise`` with ``,``. When the file has a trailing
  ``Comment`` column, the surplus may instead belong to the comment; of the two
  readings the one whose numbers, units and time all parse is used (the exercise
  name first). A row that neither reading explains is quarantined
  (``wrong_field_count``). Every repair is listed in the warnings.
* ``Comment`` → ``notes``; ``Category`` is not part of the set contract and is not
  kept.

Rows not used are quarantined with a reason: wrong field count, missing exercise
name or date, unreadable date, number or time, unknown unit, negative values, and
sets with nothing recorded (``unfilled_set``).
"""

from __future__ import annotations

import csv

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
    app_columns,
    assisted_warning,
    canonical_frame,
    missing_column,
    pull_empty,
    pull_field_count,
    pull_negative,
    pull_unfilled_sets,
    pull_unparsed,
)
from toolkit.ingest._parse import (
    describe_lines,
    distance_unit,
    duration_seconds,
    find_column,
    number,
    parse_datetime,
    unparsed,
    weight_unit,
)
from toolkit.ingest._text import CsvTable, rows_from_strings

__all__ = ["SPEC", "detect", "read"]

_HEADER_WEIGHTS = {
    "weight(lbs)": "lb",
    "weight(lb)": "lb",
    "weight(kgs)": "kg",
    "weight(kg)": "kg",
}
_CANONICAL = (
    "date",
    "exercise",
    "category",
    "weight",
    "weight_unit",
    "reps",
    "distance",
    "distance_unit",
    "time",
    "comment",
)
_HEADER_NAMES = {
    "date": "Date",
    "exercise": "Exercise",
    "category": "Category",
    "reps": "Reps",
    "distance": "Distance",
    "distance_unit": "Distance Unit",
    "time": "Time",
    "comment": "Comment",
}
_REQUIRED = ("date", "exercise", "category", "reps")
_DATE_FORMATS = ["%Y-%m-%d"]


def _weight_column(header: list[str]) -> tuple[str | None, str | None, str | None]:
    """(weight column, header unit, per-row unit column)."""
    unit_col = find_column(header, "Weight Unit")
    if unit_col is not None:
        return find_column(header, "Weight"), None, unit_col
    found = find_column(header, *_HEADER_WEIGHTS)
    if found is None:
        return None, None, None
    return found, _HEADER_WEIGHTS["".join(found.split()).lower()], None


def detect(header: list[str]) -> str | None:
    """``"lbs_header"``, ``"kgs_header"`` or ``"unit_column"`` for a FitNotes header.

    Parameters
    ----------
    header
        Column names of the file's first line.

    Returns
    -------
    str or None
        The layout, or None unless ``Date``, ``Exercise``, ``Category`` and a weight
        column are all present.
    """
    if not all(find_column(header, n) for n in ("Date", "Exercise", "Category")):
        return None
    weight, unit, unit_col = _weight_column(header)
    if weight is None:
        return None
    if unit_col is not None:
        return "unit_column"
    return "lbs_header" if unit == "lb" else "kgs_header"


def _columns(table: CsvTable) -> tuple[dict[str, str | None], str | None]:
    """Canonical name → header name, and the unit named in the header (if any)."""
    cols = app_columns(table, "FitNotes", _HEADER_NAMES, _REQUIRED)
    weight, unit, unit_col = _weight_column(table.header)
    if weight is None:
        raise missing_column(
            table,
            "FitNotes",
            "Weight (kgs)",
            "'Weight (kgs)' / 'Weight (lbs)' (or 'Weight' with 'Weight Unit')",
        )
    cols["weight"] = weight
    cols["weight_unit"] = unit_col
    return cols, unit


def _parsed(df: pl.DataFrame, header_unit: str | None) -> pl.DataFrame:
    """Add the parsed (``_``-prefixed) value of every cell."""
    wunit = pl.lit(header_unit, dtype=pl.String) if header_unit else weight_unit("weight_unit")
    return df.with_columns(
        parse_datetime("date", _DATE_FORMATS).alias("_date"),
        number("weight").alias("_weight"),
        wunit.alias("_wunit"),
        number("reps").alias("_reps"),
        number("distance").alias("_distance"),
        distance_unit("distance_unit").alias("_dunit"),
        weight_unit("distance_unit").alias("_dunit_weight"),
        duration_seconds("time").alias("_time"),
    )


def _cells_ok() -> pl.Expr:
    """True where every number, unit and time of a row reads (for choosing a repair)."""
    return (
        ~unparsed("weight", pl.col("_weight"))
        & ~unparsed("reps", pl.col("_reps"))
        & ~unparsed("distance", pl.col("_distance"))
        & ~unparsed("time", pl.col("_time"))
        & (pl.col("weight_unit").is_null() | pl.col("_wunit").is_not_null())
        & (
            pl.col("distance_unit").is_null()
            | pl.col("_dunit").is_not_null()
            | pl.col("_dunit_weight").is_not_null()
        )
    )


def _repair(
    table: CsvTable,
    over: pl.DataFrame,
    cols: dict[str, str | None],
    header_unit: str | None,
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """Repair rows with surplus fields (unquoted commas in Exercise or Comment).

    Returns the repaired rows (canonical string columns), the rows that could not be
    repaired (``_line``, ``_fields``) and warnings. Loops over the malformed rows only.
    """
    n = len(table.header)
    names = table.rows.columns[:n]
    canon_at = {names.index(h): c for c, h in cols.items() if h is not None}
    ex_pos = table.header.index(cols["exercise"])  # type: ignore[arg-type]
    comment_last = cols["comment"] is not None and table.header.index(cols["comment"]) == n - 1
    try:
        records = rows_from_strings(table.raw_text(over["_line"]), table.delimiter)
    except csv.Error:  # e.g. a field beyond the csv module's size limit: not repairable
        records = []
    if len(records) != over.height:
        return pl.DataFrame(), over.select("_line", "_fields"), []
    sep = table.delimiter
    candidates: list[dict[str, object]] = []
    for line, fields in zip(over["_line"].to_list(), records, strict=True):
        k = len(fields) - n
        if k <= 0:
            continue
        joined_exercise = [
            *fields[:ex_pos],
            sep.join(fields[ex_pos : ex_pos + k + 1]),
            *fields[ex_pos + k + 1 :],
        ]
        options = [("exercise", joined_exercise)]
        if comment_last:
            options.append(("comment", [*fields[: n - 1], sep.join(fields[n - 1 :])]))
        for rank, (where, cells) in enumerate(options):
            row: dict[str, object] = {"_line": line, "_fields": n, "_rank": rank, "_where": where}
            row.update({canon_at[i]: cells[i] for i in canon_at})
            candidates.append(row)
    if not candidates:
        return pl.DataFrame(), over.select("_line", "_fields"), []
    schema = {"_line": pl.Int64, "_fields": pl.Int32, "_rank": pl.Int32, "_where": pl.String}
    schema |= {c: pl.String for c in _CANONICAL}
    cand = pl.DataFrame(candidates, schema=schema, orient="row").with_columns(
        pl.col(c).str.strip_chars().replace("", None) for c in _CANONICAL
    )
    chosen = (
        _parsed(cand, header_unit)
        .filter(_cells_ok())
        .sort("_line", "_rank")
        .unique("_line", keep="first", maintain_order=True)
    )
    warnings = []
    for where, what in (("exercise", "exercise name"), ("comment", "comment")):
        lines = chosen.filter(pl.col("_where") == where)["_line"]
        if lines.len():
            warnings.append(
                f"repaired {lines.len()} row(s) whose {what} contained unquoted commas, "
                f"joining the surplus fields back into {cols[where]!r} ({describe_lines(lines)})"
            )
    failed = over.join(chosen.select("_line"), on="_line", how="anti").select("_line", "_fields")
    repaired = chosen.select("_line", "_fields", *_CANONICAL)
    return repaired, failed, warnings


def read(table: CsvTable, layout: str, options: ReadOptions) -> ReadResult:
    """Read a FitNotes export into ``SET_INPUT`` rows.

    Parameters
    ----------
    table
        The parsed file.
    layout
        ``"lbs_header"``, ``"kgs_header"``, ``"unit_column"`` or ``"forced"``
        (``--format fitnotes`` on a header that did not match: the missing column is
        named).
    options
        Unused: FitNotes names its units.

    Returns
    -------
    ReadResult
        ``data`` in ``SET_INPUT``: ``ts_local`` (the date at midnight),
        ``time_known`` False, ``exercise_raw``, ``set_type`` (working),
        ``reps``, ``weight_kg`` (kg, 1 g) with ``weight_original`` and
        ``weight_unit_original`` (``kg``/``lb``), ``distance_m`` (m) with
        ``distance_original``/``distance_unit_original``, ``duration_s`` (s) and
        ``notes`` (Comment). ``set_index`` is null (FitNotes does not number sets).

    Raises
    ------
    IngestError
        ``MISSING_COLUMN`` when a required column is absent.
    """
    cols, header_unit = _columns(table)
    if layout == "forced":
        layout = detect(table.header) or "unit_column"
    n = len(table.header)
    rej = Rejects()
    warnings: list[str] = []

    rows = canonical_frame(table.rows, cols, _CANONICAL)
    over = table.rows.filter(pl.col("_fields") > n)
    if over.height:
        repaired, failed, repair_warnings = _repair(table, over, cols, header_unit)
        warnings += repair_warnings
        if repaired.height:
            rows = rows.join(repaired.select("_line"), on="_line", how="anti")
            rows = pl.concat([rows, repaired.select(rows.columns)]).sort("_line")
        rows = rej.pull(
            rows,
            pl.col("_line").is_in(failed["_line"].implode()),
            Reason.FIELD_COUNT,
            None,
            format_str(
                "the row has {} fields, the header has {}; the surplus could not be joined "
                "back into the exercise name or comment",
                pl.col("_fields"),
                pl.lit(n),
            ),
        )
    rows = pull_field_count(rej, rows, n)

    df = _parsed(rows, header_unit)
    df = pull_empty(rej, df, "exercise", cols["exercise"], "the exercise name is empty")
    df = pull_empty(rej, df, "date", cols["date"], "the date is empty")
    df = rej.pull(
        df,
        unparsed("date", pl.col("_date")),
        Reason.BAD_DATE,
        cols["date"],
        format_str("'{}' is not a date (expected YYYY-MM-DD)", pl.col("date")),
    )
    numbers = [(name, f"_{name}", cols[name]) for name in ("weight", "reps", "distance")]
    df = pull_unparsed(rej, df, numbers)
    df = pull_unparsed(rej, df, [("time", "_time", cols["time"])], "'{}' is not a duration (H:MM:SS)")
    df = rej.pull(
        df,
        pl.col("weight_unit").is_not_null() & pl.col("_wunit").is_null(),
        Reason.UNKNOWN_UNIT,
        cols["weight_unit"],
        format_str("unknown weight unit '{}' (expected kgs or lbs)", pl.col("weight_unit")),
    )
    df = rej.pull(
        df,
        pl.col("_wunit").is_null() & pl.col("_weight").fill_null(0).ne(0),
        Reason.UNKNOWN_UNIT,
        cols["weight_unit"],
        format_str("the weight '{}' has no unit", pl.col("weight")),
    )
    df = rej.pull(
        df,
        pl.col("distance_unit").is_not_null()
        & pl.col("_dunit").is_null()
        & pl.col("_dunit_weight").is_null(),
        Reason.UNKNOWN_UNIT,
        cols["distance_unit"],
        format_str("unknown distance unit '{}'", pl.col("distance_unit")),
    )
    df = rej.pull(
        df,
        pl.col("distance_unit").is_null() & pl.col("_distance").fill_null(0).ne(0),
        Reason.UNKNOWN_UNIT,
        cols["distance_unit"],
        format_str("the distance '{}' has no unit", pl.col("distance")),
    )
    df = pull_negative(rej, df, [*numbers, ("time", "_time", cols["time"])])

    # Weight-and-time rows: a weight unit in "Distance Unit" → the Distance is a load.
    load_in_distance = pl.col("_dunit_weight").is_not_null() & pl.col("_dunit").is_null()
    weight_free = pl.col("_weight").fill_null(0) == 0
    kg_rows = df.filter(load_in_distance)
    conflicting = df.filter(load_in_distance & ~weight_free & pl.col("_distance").fill_null(0).ne(0))
    df = df.with_columns(
        pl.when(load_in_distance & weight_free)
        .then(pl.col("_distance"))
        .otherwise(pl.col("_weight"))
        .alias("_weight"),
        pl.when(load_in_distance & weight_free)
        .then(pl.col("_dunit_weight"))
        .otherwise(pl.col("_wunit"))
        .alias("_wunit"),
        pl.when(load_in_distance & ~weight_free & pl.col("_distance").fill_null(0).ne(0))
        .then(format_str("Distance column held {} {}", pl.col("distance"), pl.col("distance_unit")))
        .alias("_load_note"),
        pl.when(load_in_distance).then(None).otherwise(pl.col("_distance")).alias("_distance"),
        pl.when(load_in_distance).then(None).otherwise(pl.col("_dunit")).alias("_dunit"),
    )
    if kg_rows.height:
        warnings.append(
            f"{kg_rows.height} row(s) have a weight unit in 'Distance Unit' "
            f"({describe_lines(kg_rows['_line'])}), as FitNotes writes weight-and-time "
            "exercises (e.g. 'Side Plank,Abs,,,0.0,kg,0:00:00'): the Distance value was read "
            "as the load in that unit and the distance left empty (an unverified "
            "interpretation)"
            + (
                f"; on {describe_lines(conflicting['_line'])} the Weight cell was kept and the "
                "Distance value noted"
                if conflicting.height
                else ""
            )
        )

    df = pull_unfilled_sets(
        rej, df, "no reps, weight, distance or time recorded (all empty or zero)", duration="_time"
    )

    data = df.with_columns(
        pl.col("_date").alias("ts_local"),
        pl.lit(False).alias("time_known"),
        pl.col("exercise").alias("exercise_raw"),
        pl.lit("working").alias("set_type"),
        pl.col("_reps").alias("reps"),
        *weight_columns(pl.col("_weight"), pl.col("_wunit")),
        *distance_columns(pl.col("_distance"), pl.col("_dunit"), rounded=False),
        pl.col("_time").alias("duration_s"),
        pl.concat_str([pl.col("comment"), pl.col("_load_note")], separator="\n", ignore_nulls=True)
        .replace("", None)
        .alias("notes"),
    )
    warnings += _warnings(data)
    return ReadResult(
        format="fitnotes",
        layout=layout,
        kind="workout",
        rows_read=table.rows.height,
        data=finish(data, SET_INPUT),
        quarantine=rej.frame(),
        warnings=warnings,
        assumptions={"time_of_day": "unknown (FitNotes records dates only)", "set_type": "working"},
    )


def _warnings(data: pl.DataFrame) -> list[str]:
    """Readable notes on conversions and interpretations of the accepted rows."""
    out: list[str] = []
    if data.height:
        out.append(
            "FitNotes records dates only and no set types: each day is one session and "
            "every set is read as a working set"
        )
    n_lb = int((data["weight_unit_original"] == "lb").sum())
    if n_lb:
        out.append(
            f"{n_lb} weights in pounds were converted to kg (1 lb = 0.45359237 kg); the "
            "pound values are kept as weight_original"
        )
    if assisted := assisted_warning(data, "exercise_raw", "weight_kg"):
        out.append(assisted)
    return out


SPEC = ReaderSpec(
    name="fitnotes",
    kind="workout",
    description="FitNotes (Android) FitNotes_Export.csv (Weight (kgs|lbs) or Weight Unit)",
    read=read,
    detect=detect,
)
