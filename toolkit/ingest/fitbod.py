"""Fitbod (iOS) ``WorkoutExport.csv``, one row per set.

Layouts
-------
``current_kg`` / ``current_lbs`` (2019 → today; FORMATS.md §1.4)::

    Date,Exercise,Reps,Weight(kg),Duration(s),Distance(m),Incline,Resistance,isWarmup,Note,multiplier
    Date,Exercise,Reps,Weight(lbs),Duration(s),Distance(m),Incline,Resistance,isWarmup,Note,multiplier

``old`` (2018–2019)::

    Date,Exercise,Sets,Reps,Weight,isWarmup,Note

Detection (case- and space-insensitive): ``multiplier`` with ``Weight(kg)`` or
``Weight(lbs)`` → current; ``Sets`` with ``isWarmup`` → old.

How the cells are read
----------------------
* **Times.** Current: ``2025-08-20 01:49:39 +0000``, one timestamp per workout, an
  instant (``ts_utc``); a value without offset would be read as local time. Old:
  ``2019-02-13``, date only (``ts_local`` midnight, ``time_known`` False).
* **Leading spaces** (``" 10"``, ``" 2.0"``) are stripped; blank lines are skipped
  (they are not rows).
* **Weights.** ``Weight(kg)`` values are often pounds converted to kg at full
  precision (``20.41168092460379`` = 45 lb). They are kept as kg: ``weight_kg`` is
  rounded to 1 g (20.412), ``weight_original`` keeps every digit, and the number of
  such values is reported. ``Weight(lbs)`` is converted to kg. ``0.0`` = bodyweight
  (weight null).
* **Old form, no unit.** ``Weight`` has no unit; its values are pounds converted to kg
  (``6.803893642`` = 15 lb), so they are read as kg (or as ``--weight-unit`` when the
  user gives one), flagged ``weight_unit_assumed`` and reported as an assumption.
* **Old form, ``Sets``.** A row stands for ``Sets`` identical sets. The store has one
  row per set, but ``rows_read`` counts file rows and every file row must end
  accepted or quarantined exactly once, so rows are *not* expanded: a row with
  ``Sets`` = N > 1 is kept as one set, ``notes`` says that Fitbod recorded N
  identical sets, and a warning lists those lines (set counts and volume from them
  are undercounted). ``Sets`` = 0 is an unfilled row.
* **Set type** ``isWarmup`` ``true``/``TRUE`` → warmup, ``false`` or empty → working;
  other text is quarantined (``unknown_value``). Fitbod does not number sets
  (``set_index`` null).
* **Timed and cardio sets**: ``Reps`` 0 with ``Duration(s)`` or ``Distance(m)`` > 0;
  the 0 reps are read as no reps, and 0 durations/distances as not recorded.
* ``multiplier`` (2.0 for dumbbell pairs, 0.0 for timed work) is kept as exported.
  ``Incline`` and ``Resistance`` have no column in the set contract: non-zero values
  are appended to ``notes`` (reported). ``Note`` → ``notes``.

Rows not used are quarantined with a reason: wrong field count, missing exercise
name or date, unreadable date or number, unknown warm-up flag, negative values, and
sets with nothing recorded (``unfilled_set``).
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
    finish,
    weight_columns,
)
from toolkit.ingest._common import (
    app_columns,
    assisted_warning,
    canonical_frame,
    missing_column,
    pounds_warning,
    pull_empty,
    pull_field_count,
    pull_negative,
    pull_unfilled_sets,
    pull_unparsed,
)
from toolkit.ingest._parse import (
    LB_TO_KG,
    converted_pounds,
    describe_lines,
    find_column,
    number,
    parse_datetime,
)
from toolkit.ingest._text import CsvTable

__all__ = ["SPEC", "detect", "read"]

_WEIGHTS = {"weight(kg)": "kg", "weight(kgs)": "kg", "weight(lbs)": "lb", "weight(lb)": "lb"}
_CURRENT = {
    "date": "Date",
    "exercise": "Exercise",
    "reps": "Reps",
    "duration": "Duration(s)",
    "distance": "Distance(m)",
    "incline": "Incline",
    "resistance": "Resistance",
    "warmup": "isWarmup",
    "note": "Note",
    "multiplier": "multiplier",
}
_OLD = {
    "date": "Date",
    "exercise": "Exercise",
    "sets": "Sets",
    "reps": "Reps",
    "weight": "Weight",
    "warmup": "isWarmup",
    "note": "Note",
}
_REQUIRED = ("date", "exercise", "reps", "weight")
_UTC_FORMATS = ["%Y-%m-%d %H:%M:%S %z", "%Y-%m-%d %H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%z"]
_LOCAL_FORMATS = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
_WARMUP = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}


def detect(header: list[str]) -> str | None:
    """``"current_kg"``, ``"current_lbs"`` or ``"old"`` for a Fitbod header, else None.

    Parameters
    ----------
    header
        Column names of the file's first line.

    Returns
    -------
    str or None
        ``current_*`` when ``multiplier`` and a ``Weight(kg|lbs)`` column are present,
        ``old`` when ``Sets`` and ``isWarmup`` are, otherwise None.
    """
    weight = find_column(header, *_WEIGHTS)
    if find_column(header, "multiplier") and weight:
        unit = _WEIGHTS["".join(weight.split()).lower()]
        return "current_lbs" if unit == "lb" else "current_kg"
    if find_column(header, "Sets") and find_column(header, "isWarmup"):
        return "old"
    return None


def _columns(table: CsvTable, layout: str) -> tuple[dict[str, str | None], str | None]:
    """Canonical name → header name and the weight unit named in the header."""
    if layout == "old":
        return app_columns(table, "Fitbod", _OLD, _REQUIRED), None
    cols = app_columns(table, "Fitbod", _CURRENT, [n for n in _REQUIRED if n != "weight"])
    cols["weight"] = find_column(table.header, *_WEIGHTS)
    if cols["weight"] is None:
        raise missing_column(table, "Fitbod", "Weight(kg)")
    return cols, _WEIGHTS["".join(cols["weight"].split()).lower()]


def read(table: CsvTable, layout: str, options: ReadOptions) -> ReadResult:
    """Read a Fitbod export into ``SET_INPUT`` rows.

    Parameters
    ----------
    table
        The parsed file.
    layout
        ``"current_kg"``, ``"current_lbs"``, ``"old"`` or ``"forced"`` (``--format
        fitbod`` on a header that did not match: the missing column is named).
    options
        ``weight_unit`` (with ``weight_unit_given``) overrides the kg assumed for the
        old form's unit-less ``Weight``.

    Returns
    -------
    ReadResult
        ``data`` in ``SET_INPUT``: ``ts_utc`` (current form, workout start, UTC) or
        ``ts_local`` (old form, date at midnight, ``time_known`` False),
        ``exercise_raw``, ``set_type`` (working/warmup), ``reps``, ``weight_kg`` (kg,
        1 g) with ``weight_original``/``weight_unit_original``/``weight_unit_assumed``,
        ``distance_m`` (m) with ``distance_original``/``distance_unit_original`` (m),
        ``duration_s`` (s), ``multiplier`` and ``notes``; ``set_index`` is null.

    Raises
    ------
    IngestError
        ``MISSING_COLUMN`` when a required column is absent.
    """
    if layout == "forced":
        layout = detect(table.header) or ("old" if find_column(table.header, "Sets") else "current_kg")
    old = layout == "old"
    cols, header_unit = _columns(table, layout)
    assumed = old
    unit = (options.weight_unit if options.weight_unit_given else "kg") if old else header_unit
    rej = Rejects()
    warnings: list[str] = []

    canon = (
        "date",
        "exercise",
        "sets",
        "reps",
        "weight",
        "duration",
        "distance",
        "incline",
        "resistance",
        "warmup",
        "note",
        "multiplier",
    )
    df = canonical_frame(table.rows, cols, canon)
    df = pull_field_count(rej, df, len(table.header))
    df = df.with_columns(
        parse_datetime("date", _UTC_FORMATS).dt.replace_time_zone("UTC").alias("_utc"),
        parse_datetime("date", _LOCAL_FORMATS).alias("_local"),
        number("sets").alias("_sets"),
        number("reps").alias("_reps"),
        number("weight").alias("_weight"),
        number("duration").alias("_duration"),
        number("distance").alias("_distance"),
        number("incline").alias("_incline"),
        number("resistance").alias("_resistance"),
        number("multiplier").alias("_multiplier"),
        pl.col("warmup")
        .str.to_lowercase()
        .replace_strict(_WARMUP, default=None, return_dtype=pl.Boolean)
        .alias("_warmup"),
    )
    df = pull_empty(rej, df, "exercise", cols["exercise"], "the exercise name is empty")
    df = pull_empty(rej, df, "date", cols["date"], "the date is empty")
    example = "2019-02-13" if old else "2025-08-20 01:49:39 +0000"
    df = rej.pull(
        df,
        pl.col("_utc").is_null() & pl.col("_local").is_null(),
        Reason.BAD_DATE,
        cols["date"],
        format_str("'{}' is not a date (expected e.g. '{}')", pl.col("date"), pl.lit(example)),
    )
    numeric = ("sets", "reps", "weight", "duration", "distance", "incline", "resistance", "multiplier")
    df = pull_unparsed(rej, df, [(name, f"_{name}", cols.get(name)) for name in numeric])
    df = rej.pull(
        df,
        pl.col("_sets") != pl.col("_sets").floor(),
        Reason.BAD_NUMBER,
        cols.get("sets"),
        format_str("number of sets '{}' is not a whole number", pl.col("sets")),
    )
    df = rej.pull(
        df,
        pl.col("warmup").is_not_null() & pl.col("_warmup").is_null(),
        Reason.UNKNOWN_VALUE,
        cols.get("warmup"),
        format_str("unknown warm-up flag '{}' (expected true or false)", pl.col("warmup")),
    )
    signed = ("sets", "reps", "weight", "duration", "distance")
    df = pull_negative(rej, df, [(name, f"_{name}", cols.get(name)) for name in signed])

    df = rej.pull(df, pl.col("_sets") == 0, Reason.INFO_UNFILLED_SET, None, "Sets is 0: no set recorded")
    df = pull_unfilled_sets(rej, df, "no reps, weight, duration or distance recorded (all empty or zero)")

    extras = pl.concat_str(
        [
            pl.when(pl.col("_sets") > 1).then(
                format_str("Fitbod recorded {} identical sets in this row; stored as one", pl.col("sets"))
            ),
            pl.when(pl.col("_incline").fill_null(0) != 0).then(format_str("incline {}", pl.col("incline"))),
            pl.when(pl.col("_resistance").fill_null(0) != 0).then(
                format_str("resistance {}", pl.col("resistance"))
            ),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    data = df.with_columns(
        pl.col("_utc").alias("ts_utc"),
        pl.when(pl.col("_utc").is_null()).then(pl.col("_local")).alias("ts_local"),
        pl.col("date").str.contains(":").alias("time_known"),
        pl.col("exercise").alias("exercise_raw"),
        pl.when(pl.col("_warmup").fill_null(False))
        .then(pl.lit("warmup"))
        .otherwise(pl.lit("working"))
        .alias("set_type"),
        pl.col("_reps").alias("reps"),
        *weight_columns(pl.col("_weight"), pl.lit(unit, dtype=pl.String), assumed=assumed),
        pl.col("_distance").alias("distance_m"),
        pl.col("_distance").alias("distance_original"),
        pl.when(pl.col("_distance").is_not_null()).then(pl.lit("m")).alias("distance_unit_original"),
        pl.col("_duration").alias("duration_s"),
        pl.col("_multiplier").alias("multiplier"),
        pl.concat_str([pl.col("note"), extras.replace("", None)], separator="\n", ignore_nulls=True)
        .replace("", None)
        .alias("notes"),
    )
    warnings += _warnings(df, cols, old=old, unit=unit, options=options)
    assumptions = {"weight_unit": unit or "kg"} if old else {}
    if old:
        assumptions["time_of_day"] = "unknown (the old Fitbod export has dates only)"
    return ReadResult(
        format="fitbod",
        layout=layout,
        kind="workout",
        rows_read=table.rows.height,
        data=finish(data, SET_INPUT),
        quarantine=rej.frame(),
        warnings=warnings,
        assumptions=assumptions,
    )


def _example(looks_lb: pl.DataFrame) -> str:
    """``"20.41168092460379 kg = 45 lb"`` for the first flagged weight."""
    first = looks_lb.sort("_line")["_weight"][0]
    return f"{first!r} kg = {first / LB_TO_KG:.4g} lb"


def _warnings(
    df: pl.DataFrame,
    cols: dict[str, str | None],
    *,
    old: bool,
    unit: str | None,
    options: ReadOptions,
) -> list[str]:
    """Readable notes on units, conversions and interpretations of accepted rows."""
    out: list[str] = []
    weights = df.filter(pl.col("_weight").is_not_null())
    looks_lb = weights.filter(converted_pounds(pl.col("_weight")))
    if old and weights.height:
        how = "as you chose" if options.weight_unit_given else "assumed"
        evidence = (
            f"; {looks_lb.height} of {weights.height} values look like pounds converted to kg "
            f"(e.g. {_example(looks_lb)}), which supports kg"
            if looks_lb.height
            else ""
        )
        out.append(f"the old Fitbod export's 'Weight' column has no unit: read as {unit} ({how}){evidence}")
    elif unit == "lb" and weights.height:
        out.append(pounds_warning(weights.height, str(cols["weight"])))
    if looks_lb.height and unit == "kg" and not old:
        out.append(
            f"{looks_lb.height} of {weights.height} weights in {cols['weight']} look like pounds "
            f"converted to kg (e.g. {_example(looks_lb)}); kept exact as weight_original, "
            "weight_kg rounded to 1 g"
        )
    multi = df.filter(pl.col("_sets") > 1)
    if multi.height:
        out.append(
            f"{multi.height} row(s) record Sets > 1 ({describe_lines(multi['_line'])}): each is "
            "kept as one set with the count in its notes, so set counts and volume from these "
            "rows are undercounted"
        )
    extra = df.filter((pl.col("_incline").fill_null(0) != 0) | (pl.col("_resistance").fill_null(0) != 0))
    if extra.height:
        out.append(
            f"{extra.height} row(s) have a non-zero Incline or Resistance "
            f"({describe_lines(extra['_line'])}); kept in their notes"
        )
    if assisted := assisted_warning(df, "exercise", "_weight"):
        out.append(assisted)
    local = df.filter(pl.col("_utc").is_null())
    if not old and local.height:
        out.append(
            f"{local.height} timestamp(s) have no UTC offset ({describe_lines(local['_line'])}); "
            "read as local time"
        )
    return out


SPEC = ReaderSpec(
    name="fitbod",
    kind="workout",
    description="Fitbod WorkoutExport.csv (Weight(kg|lbs) + multiplier; old Sets/isWarmup form)",
    read=read,
    detect=detect,
)
