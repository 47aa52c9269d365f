"""Generic pain-diary CSV: a date column and one pain column, plus optional extras.

This is the shape small pain apps and hand-kept spreadsheets share (FORMATS.md §0.5,
§2.3, §5 rule 9): ``timestamp, score, location, notes``. Columns are found by *name*
(case-, space-, ``_``- and ``-``-insensitive), never by position:

=============  ====================================================================
canonical      accepted header names (after :func:`~toolkit.ingest._parse.header_key`)
=============  ====================================================================
``date``       date, day, datetime, date/time, date time, timestamp, recorded_at,
               recorded, recorded on, when, entry date, start, start time
``pain``       pain, pain score, pain level, pain rating, pain intensity, pain nrs,
               pain (0-10), pain vas, pain (0-100), score, nrs, nprs, vas, vas100,
               vas (mm), level, intensity, severity, pain severity, rating
``time``       time, time of day, hour (optional; used when the date has no time)
``location``   location, site, body part, area, where, pain location, region
``notes``      notes, note, comment, comments, remarks
``scale``      scale, pain scale, unit (optional, per row: nrs, nprs, vas, vas100,
               0-10, 0-100, /10, /100)
=============  ====================================================================

``options.column_map`` (``{"pain": "Schmerz", "date": "Datum"}``) overrides any of
them. A file is *not* a pain CSV when it has an exercise column (a workout log), an
instrument column (a PROM file, :mod:`toolkit.ingest.proms`) or Bearable's
``category`` + ``detail`` pair, or when several columns could be the pain score
(``pain`` and ``vas``): then ``--map pain=<column>`` must choose.

Layouts returned by :func:`detect` (the pain column's scale as its name gives it):

``nrs``
    The column is named ``nrs``/``nprs``/``pain nrs``/``pain (0-10)``: a 0–10 numeric
    rating scale.
``vas100``
    The column is named ``vas``/``vas100``/``pain vas``/``vas (mm)``/``pain (0-100)``:
    read as a 0–100 mm
    visual analogue scale and divided by 10 — the name says VAS but not its length, so
    this is announced as an assumption (``--pain-scale nrs`` overrides).
``unlabelled``
    A generic name (``pain``, ``score``, ``level``, ``intensity`` ...): read as 0–10 NRS,
    announced as an assumption (``--pain-scale vas100`` overrides).
``per_row_scale``
    A ``scale`` column says the scale of each row; rows with an empty scale cell fall
    back to ``--pain-scale`` or to the column name as above.

Precedence of the scale of a row: its own ``scale`` cell, then ``options.pain_scale``,
then the column name. A scale is never guessed from the values.

Verbal ratings (``mild``, ``moderate``, ``severe`` ...) in the pain column are read
through :data:`ORDINAL_TO_NRS`, the one table every reader of this package uses for
ordinal pain scales (Bearable, Apple Health, FHIR SNOMED findings).

Dates: only unambiguous forms are read (ISO 8601 with optional time and offset, and
``15 Sep 2025`` / ``15th September 2025``; see
:func:`~toolkit.ingest._parse.timestamp_parts`). ``15/09/2025`` or ``09/15/2025`` could be
either day-first or month-first and are quarantined ``BAD_DATE`` with a request to
export ISO dates. A time with an offset fills ``ts_utc``, one without fills
``ts_local``; a date without a time gives ``time_known = False``.
"""

from __future__ import annotations

import polars as pl

from toolkit._polars import format_str
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest._base import PAIN_INPUT, ReaderSpec, ReadOptions, ReadResult, Rejects, finish
from toolkit.ingest._common import (
    DATE_KEYS,
    IN,
    date_only_warning,
    input_col,
    missing_columns,
    plural,
    pull_bad_dates,
    pull_empty,
    pull_field_count,
    resolve_columns,
    select_inputs,
    unused_columns_warning,
    with_timestamps,
)
from toolkit.ingest._parse import clock_time, header_key, headers_matching, number, unparsed
from toolkit.ingest._text import CsvTable

__all__ = [
    "ORDINAL_RANK",
    "ORDINAL_TO_NRS",
    "SCALE_MAX",
    "SPEC",
    "detect",
    "ordinal_category",
    "ordinal_nrs",
    "ordinal_rank",
    "pain_columns",
    "read",
]

# --------------------------------------------------------------------- the one table

ORDINAL_TO_NRS: dict[str, float] = {
    "not present": 0.0,
    "mild": 2.0,
    "moderate": 5.0,
    "severe": 8.0,
    "unbearable": 10.0,
    "extreme": 10.0,
}
"""Verbal pain category → value on the 0–10 numeric rating scale (NRS).

The categories are placed on the NRS with the cut-points of Serlin et al. (1995),
*When is cancer pain mild, moderate or severe? Grading pain severity by its
interference with function*, Pain 61:277–284: mild = NRS 1–4, moderate = 5–6,
severe = 7–10. Each category takes a representative point of its band — mild 2,
moderate 5, severe 8 — while "unbearable"/"extreme" take the top of the scale, 10,
and "not present" (no pain) takes 0.

This is the only mapping from an ordinal scale to the NRS in the toolkit; it is used
for verbal ratings in generic CSVs, Bearable symptom severities
(:mod:`toolkit.ingest.bearable`), Apple ``HKCategoryValueSeverity``
(:mod:`toolkit.ingest.apple_health`) and SNOMED CT pain-severity findings in FHIR
(:mod:`toolkit.ingest.fhir`). A mapped value is an approximation of where the
category lies on the NRS, not a measurement: ``scale_original`` always says which
scale the rating came from, and ``pain_original`` keeps the source's own code.
"""

ORDINAL_RANK: dict[str, int] = {
    "not present": 0,
    "mild": 1,
    "moderate": 2,
    "severe": 3,
    "unbearable": 4,
    "extreme": 4,
}
"""Position of each :data:`ORDINAL_TO_NRS` category on a 0–4 verbal scale (the
``pain_original`` of a verbal rating that has no numeric code of its own)."""

_VERBAL_ALIASES: dict[str, str] = {
    "none": "not present",
    "no pain": "not present",
    "no": "not present",
    "not present": "not present",
    "notpresent": "not present",
    "absent": "not present",
    "mild": "mild",
    "light": "mild",
    "slight": "mild",
    "low": "mild",
    "moderate": "moderate",
    "medium": "moderate",
    "severe": "severe",
    "strong": "severe",
    "high": "severe",
    "unbearable": "unbearable",
    "extreme": "extreme",
    "excruciating": "extreme",
    "worst": "extreme",
}
"""Words seen for each category (lower case) → the category of :data:`ORDINAL_TO_NRS`."""


def ordinal_category(col: str | pl.Expr) -> pl.Expr:
    """A verbal rating cell (``Moderate``, ``no pain``, ``Excruciating``) → its category
    in :data:`ORDINAL_TO_NRS` (null when the word is not a known category)."""
    expr = pl.col(col) if isinstance(col, str) else col
    key = expr.str.strip_chars().str.to_lowercase().str.replace_all(r"[\s_\-]+", " ")
    return key.replace_strict(_VERBAL_ALIASES, default=None, return_dtype=pl.String)


def ordinal_nrs(category: pl.Expr) -> pl.Expr:
    """NRS value of a category of :data:`ORDINAL_TO_NRS` (Float64, null if unknown)."""
    return category.replace_strict(ORDINAL_TO_NRS, default=None, return_dtype=pl.Float64)


def ordinal_rank(category: pl.Expr) -> pl.Expr:
    """0–4 rank of a category of :data:`ORDINAL_TO_NRS` (Float64, null if unknown)."""
    return category.replace_strict(ORDINAL_RANK, default=None, return_dtype=pl.Float64)


SCALE_MAX = {"nrs_0_10": 10.0, "vas_0_100": 100.0}
"""Top of each numeric pain scale (``scale_original``) a rating is checked against."""


def pain_columns(value: pl.Expr, category: pl.Expr, *, verbal: pl.Expr, vas: pl.Expr) -> list[pl.Expr]:
    """``pain_nrs`` and ``pain_original`` of ratings given as a number or a verbal category.

    Parameters
    ----------
    value
        The number as written (Float64), on the 0–10 NRS or, where ``vas``, the 0–100 VAS.
    category
        The verbal category (a key of :data:`ORDINAL_TO_NRS`), used where ``verbal``.
    verbal, vas
        Boolean expressions: the row's rating is verbal / on the 0–100 VAS.

    Returns
    -------
    list of pl.Expr
        ``pain_nrs``: the category through :data:`ORDINAL_TO_NRS`, a VAS value divided
        by 10, else the number. ``pain_original``: the category's 0–4 rank
        (:data:`ORDINAL_RANK`), else the number.
    """
    return [
        pl.when(verbal)
        .then(ordinal_nrs(category))
        .when(vas)
        .then(value / 10)
        .otherwise(value)
        .alias("pain_nrs"),
        pl.when(verbal).then(ordinal_rank(category)).otherwise(value).alias("pain_original"),
    ]


# --------------------------------------------------------------------------- columns

_PAIN_NRS = ("nrs", "nprs", "painnrs", "painnprs", "nrs(010)", "nrs010", "pain(010)", "pain010", "pain(/10)")
_PAIN_VAS = (
    "vas", "vas100", "painvas", "vas(mm)", "vasmm", "vas(0100)", "vas0100", "pain(0100)", "pain0100",
    "pain(/100)", "painvas(mm)",
)  # fmt: skip
_PAIN_GENERIC = (
    "pain", "painscore", "painlevel", "painrating", "painintensity", "painseverity",
    "score", "level", "intensity", "severity", "rating",
)  # fmt: skip
_KEYS: dict[str, tuple[str, ...]] = {
    "date": DATE_KEYS,
    "pain": _PAIN_NRS + _PAIN_VAS + _PAIN_GENERIC,
    "time": ("time", "timeofday", "hour", "clock"),
    "location": ("location", "site", "bodypart", "area", "where", "painlocation", "region"),
    "notes": ("notes", "note", "comment", "comments", "remarks", "remark"),
    "scale": ("scale", "painscale", "unit", "scaleunit"),
}
_CANONICAL = ("date", "time", "pain", "location", "notes", "scale")

EXCLUDE_KEYS = frozenset(
    {
        "exercise", "exercisename", "exercisetitle", "movement", "lift", "exercisetype",
        "instrument", "questionnaire", "measure", "outcome", "outcomemeasure", "prom",
        "setorder", "reps", "multiplier", "iswarmup",
    }
)  # fmt: skip
"""Header keys that make a file *not* a pain diary (workout logs, PROM files)."""

_ROW_SCALES = {
    "nrs": "nrs_0_10", "nprs": "nrs_0_10", "0-10": "nrs_0_10", "0–10": "nrs_0_10",
    "010": "nrs_0_10", "/10": "nrs_0_10", "10": "nrs_0_10", "nrs010": "nrs_0_10",
    "vas": "vas_0_100", "vas100": "vas_0_100", "0-100": "vas_0_100", "0–100": "vas_0_100",
    "0100": "vas_0_100", "/100": "vas_0_100", "100": "vas_0_100", "vasmm": "vas_0_100",
    "mm": "vas_0_100", "vas0100": "vas_0_100",
}  # fmt: skip
_OPTION_SCALES = {"nrs": "nrs_0_10", "vas100": "vas_0_100"}
_DATE_HINT = (
    "is not a date this reader can read unambiguously: use ISO dates (2025-09-15 or "
    "2025-09-15 07:48) or '15 Sep 2025'; 15/09/2025-style dates can be day- or "
    "month-first"
)


def _pain_candidates(header: list[str]) -> list[str]:
    return headers_matching(header, frozenset(_KEYS["pain"]))


def _name_scale(pain_header: str) -> str:
    key = header_key(pain_header)
    if key in _PAIN_VAS:
        return "vas100"
    if key in _PAIN_NRS:
        return "nrs"
    return "unlabelled"


def detect(header: list[str]) -> str | None:
    """Layout name when ``header`` is a generic pain diary, else ``None``.

    Needs a date column and exactly one pain column (see the module docstring), and no
    exercise / instrument column and no Bearable ``category`` + ``detail`` pair.
    """
    keys = {header_key(h) for h in header}
    if keys & EXCLUDE_KEYS or {"category", "detail"} <= keys:
        return None
    if not headers_matching(header, frozenset(DATE_KEYS)):
        return None
    pain = _pain_candidates(header)
    if len(pain) != 1:
        return None
    if headers_matching(header, frozenset(_KEYS["scale"])):
        return "per_row_scale"
    return _name_scale(pain[0])


def _columns(table: CsvTable, options: ReadOptions) -> dict[str, str | None]:
    cols = resolve_columns(table, options.column_map, _KEYS, canonical=_CANONICAL, skip=frozenset({"pain"}))
    if "pain" not in options.column_map:
        pain = [h for h in _pain_candidates(table.header) if h not in cols.values()]
        if len(pain) > 1:
            raise IngestError(
                table.file,
                Reason.MISSING_COLUMN,
                f"several columns could be the pain score ({', '.join(pain)}); choose one "
                "with --map pain=<column>",
                row=1,
            )
        cols["pain"] = pain[0] if pain else None
    missing = [n for n in ("date", "pain") if cols[n] is None]
    if missing:
        raise missing_columns(
            table,
            "a pain diary needs a date and a pain column",
            missing,
            "; name them with --map date=<column> pain=<column>",
        )
    return cols


# ------------------------------------------------------------------------------ read


def read(table: CsvTable, layout: str, options: ReadOptions) -> ReadResult:
    """Read a generic pain diary into ``PAIN_INPUT`` rows.

    Parameters
    ----------
    table
        The parsed CSV.
    layout
        What :func:`detect` returned, or ``"forced"`` (``--format pain_csv`` on a header
        it did not recognise: the columns then come from ``options.column_map`` and the
        aliases, and a missing one is an ``IngestError``).
    options
        ``pain_scale`` overrides the scale inferred from the column name;
        ``column_map`` overrides column names.

    Returns
    -------
    ReadResult
        ``data`` in ``PAIN_INPUT``: ``ts_local``/``ts_utc``/``time_known``; ``pain_nrs``
        (0–10; a VAS value divided by 10, a verbal rating through
        :data:`ORDINAL_TO_NRS`); ``pain_original`` (the number as written, or the 0–4
        rank of a verbal rating); ``scale_original`` (``nrs_0_10``, ``vas_0_100`` or
        ``verbal_severity``); ``location``; ``notes``. Quarantine reasons:
        ``wrong_field_count`` (more fields than the header), ``missing_value`` (no date
        or no pain value), ``bad_date`` (unreadable or ambiguous date, unreadable time),
        ``unknown_value`` (unknown scale cell), ``bad_number`` (a pain cell that is
        neither a number nor a known verbal category), ``out_of_range`` (outside 0–10 or
        0–100 for its scale).

    Raises
    ------
    IngestError
        ``MISSING_COLUMN`` when no date or pain column can be found, when several
        columns could be the pain score, or when the column map names an absent column.
    """
    label = _columns(table, options)
    df = select_inputs(table, label)
    pain_header = label["pain"]
    assert pain_header is not None
    warnings: list[str] = []
    assumptions: dict[str, str] = {}
    rej = Rejects()
    width = len(table.header)
    rows_read = df.height

    df = pull_field_count(rej, df, width, surplus_only=True)

    date, time, pain, scale = (IN + n for n in ("date", "time", "pain", "scale"))
    df = with_timestamps(df, date, time if label["time"] else None)
    df = pull_empty(rej, df, date, label["date"], "the date is empty")
    df = pull_bad_dates(rej, df, label["date"], format_str("'{}' " + _DATE_HINT, pl.col(date)))
    if label["time"]:
        df = rej.pull(
            df,
            unparsed(time, clock_time(time)),
            Reason.BAD_DATE,
            label["time"],
            format_str("'{}' is not a time of day (expected HH:MM, HH:MM:SS or 7:30 pm)", pl.col(time)),
        )

    # --- the scale of each row: own cell > --pain-scale > column name
    name_scale = _name_scale(pain_header)
    if options.pain_scale is not None:
        default_scale = _OPTION_SCALES[options.pain_scale]
    else:
        default_scale = "vas_0_100" if name_scale == "vas100" else "nrs_0_10"
    if label["scale"]:
        scale_key = pl.col(scale).str.to_lowercase().str.replace_all(r"[\s_]", "")
        row_scale = scale_key.replace_strict(_ROW_SCALES, default=None, return_dtype=pl.String)
        df = df.with_columns(row_scale.alias("_row_scale"))
        df = rej.pull(
            df,
            pl.col(scale).is_not_null() & pl.col("_row_scale").is_null(),
            Reason.UNKNOWN_VALUE,
            label["scale"],
            format_str("unknown pain scale '{}' (expected nrs, vas, vas100, 0-10 or 0-100)", pl.col(scale)),
        )
    else:
        df = df.with_columns(pl.lit(None, dtype=pl.String).alias("_row_scale"))
    df = df.with_columns(
        pl.coalesce(pl.col("_row_scale"), pl.lit(default_scale)).alias("_scale"),
        number(pain).alias("_num"),
        ordinal_category(pain).alias("_verbal"),
    )
    df = pull_empty(rej, df, pain, pain_header, "the pain value is empty")
    df = rej.pull(
        df,
        pl.col("_num").is_null() & pl.col("_verbal").is_null(),
        Reason.BAD_NUMBER,
        pain_header,
        format_str("'{}' is neither a number nor a verbal rating (none/mild/moderate/severe)", pl.col(pain)),
    )
    scale_max = pl.col("_scale").replace_strict(SCALE_MAX, return_dtype=pl.Float64)
    hint = (
        "; if the column is a 0–100 VAS pass --pain-scale vas100"
        if default_scale == "nrs_0_10" and options.pain_scale is None
        else ""
    )
    df = rej.pull(
        df,
        pl.col("_num").is_not_null() & ((pl.col("_num") < 0) | (pl.col("_num") > scale_max)),
        Reason.OUT_OF_RANGE,
        pain_header,
        format_str(
            "pain {} is outside 0–{} ({})" + hint,
            pl.col(pain),
            scale_max.cast(pl.Int64),
            pl.col("_scale"),
        ),
    )

    is_verbal = pl.col("_num").is_null()
    is_vas = ~is_verbal & (pl.col("_scale") == "vas_0_100")
    df = df.with_columns(
        *pain_columns(pl.col("_num"), pl.col("_verbal"), verbal=is_verbal, vas=is_vas),
        pl.when(is_verbal)
        .then(pl.lit("verbal_severity"))
        .otherwise(pl.col("_scale"))
        .alias("scale_original"),
        input_col(label, "location").alias("location"),
        input_col(label, "notes").alias("notes"),
        is_vas.alias("_is_vas"),
        is_verbal.alias("_is_verbal"),
    )

    # --- warnings: every assumption and conversion, in one sentence each
    uses_default = df.filter(pl.col("_row_scale").is_null() & ~pl.col("_is_verbal")).height
    if uses_default:
        if options.pain_scale is not None:
            warnings.append(
                f"Pain values read as {default_scale} as set with --pain-scale "
                f"{options.pain_scale}: {plural(uses_default, 'value')}."
            )
        elif name_scale == "vas100":
            assumptions["pain_scale"] = "vas_0_100"
            warnings.append(
                f"The pain column {pain_header!r} was read as a 0–100 mm visual analogue scale "
                "because of its name (assumed; pass --pain-scale nrs if it is already 0–10)."
            )
        elif name_scale == "unlabelled":
            assumptions["pain_scale"] = "nrs_0_10"
            warnings.append(
                f"The pain column {pain_header!r} does not name its scale: read as a 0–10 numeric "
                "rating scale (assumed; pass --pain-scale vas100 if it is a 0–100 VAS)."
            )
    n_vas = int(df["_is_vas"].sum())
    if n_vas:
        warnings.append(f"Divided by 10 from the 0–100 VAS onto the 0–10 scale: {plural(n_vas, 'rating')}.")
    n_verbal = int(df["_is_verbal"].sum())
    if n_verbal:
        warnings.append(
            f"Verbal ratings mapped to the 0–10 scale (none 0, mild 2, moderate 5, severe 8, "
            f"unbearable/extreme 10; Serlin et al. 1995 cut-points): {plural(n_verbal, 'rating')}."
        )
    date_only_warning(df, warnings, "pain rating", "pain ratings")
    unused_columns_warning(table.header, label, warnings, "pain")

    return ReadResult(
        format="pain_csv",
        layout=layout,
        kind="pain",
        rows_read=rows_read,
        data=finish(df, PAIN_INPUT),
        quarantine=rej.frame(),
        warnings=warnings,
        assumptions=assumptions,
    )


SPEC = ReaderSpec(
    name="pain_csv",
    kind="pain",
    description="Generic pain diary CSV (date + pain score, optional time/location/notes/scale)",
    read=read,
    detect=detect,
)
