"""Patient-reported outcome measures (PROMs) in a long CSV: one score per row.

Layout ``long`` (columns matched by name, case- and space-insensitively)::

    date,instrument,score,notes
    2025-09-01,ODI,36,intake
    2025-09-01,Roland-Morris,14,
    2025-10-01,PSFS,4.7,mean of 3 activities

=================  ================================================================
canonical          accepted header names
=================  ================================================================
``date``           date, day, datetime, timestamp, recorded_at, date/time, ...
``instrument``     instrument, measure, questionnaire, outcome, outcome measure, prom
``score``          score, value, total, total score, result
``time``           time (optional)
``notes``          notes, note, comment, comments
=================  ================================================================

The instrument column is what makes a file a PROM file: without it this reader does
not claim the file, so a generic pain diary (``date, score``) is left to
:mod:`toolkit.ingest.pain_csv`. ``options.column_map`` may name any of the columns.

Instruments (cell values, case-, space- and punctuation-insensitive) and their ranges
(FORMATS.md §2.7):

=========  ====================================================  =========
output     accepted names                                        range
=========  ====================================================  =========
``ODI``    ODI, Oswestry, Oswestry Disability Index              0–100 (%)
``RMDQ``   RMDQ, RMQ, RDQ, Roland-Morris, Roland Morris (...)     0–24
``PSFS``   PSFS, Patient-Specific Functional Scale               0–10
``NRS``    NRS, NPRS, pain, pain NRS, numeric (pain) rating      0–10
=========  ====================================================  =========

A score may end in ``%`` (``32%`` for the ODI). The ODI is read as the 0–100 %
score; a raw 0–50 point total cannot be told apart from a percentage and is not
converted. The PSFS is stored on its original direction (10 = able to perform at the
pre-injury level); PSFS 2.0 reverses the scale (Thoomes et al. 2024) and is not
recognised from the file. Another instrument (VAS, EQ-5D, ...) is quarantined
``unknown_value``; a score outside its instrument's range ``out_of_range``.
"""

from __future__ import annotations

import polars as pl

from toolkit._polars import format_str
from toolkit.exceptions import Reason
from toolkit.ingest._base import MEASURE_INPUT, ReaderSpec, ReadOptions, ReadResult, Rejects, finish
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
    with_timestamps,
)
from toolkit.ingest._parse import clock_time, header_key, headers_matching, number, unparsed
from toolkit.ingest._text import CsvTable

__all__ = ["INSTRUMENT_RANGE", "SPEC", "detect", "read"]

INSTRUMENT_RANGE: dict[str, tuple[float, float]] = {
    "ODI": (0.0, 100.0),
    "RMDQ": (0.0, 24.0),
    "PSFS": (0.0, 10.0),
    "NRS": (0.0, 10.0),
}
"""Valid score range of each instrument (Oswestry % score, Roland-Morris 24 items,
PSFS item mean, 0–10 numeric pain rating)."""

_INSTRUMENTS = {
    "odi": "ODI", "oswestry": "ODI", "oswestrydisabilityindex": "ODI", "oswestrydisability": "ODI",
    "oswestryindex": "ODI", "odi%": "ODI",
    "rmdq": "RMDQ", "rmq": "RMDQ", "rdq": "RMDQ", "rolandmorris": "RMDQ",
    "rolandmorrisdisabilityquestionnaire": "RMDQ", "rolandmorrisquestionnaire": "RMDQ",
    "rolandmorrisdisability": "RMDQ",
    "psfs": "PSFS", "patientspecificfunctionalscale": "PSFS", "patientspecificfunctional": "PSFS",
    "nrs": "NRS", "nprs": "NRS", "pain": "NRS", "painnrs": "NRS", "numericpainratingscale": "NRS",
    "numericratingscale": "NRS", "painscore": "NRS", "nrspain": "NRS",
}  # fmt: skip
"""Instrument cell (lower case, letters/digits/% only) → canonical instrument."""

_KEYS: dict[str, tuple[str, ...]] = {
    "date": DATE_KEYS,
    "instrument": (
        "instrument",
        "measure",
        "questionnaire",
        "outcome",
        "outcomemeasure",
        "prom",
        "instrumentname",
        "questionnairename",
    ),
    "score": ("score", "value", "total", "totalscore", "result", "points"),
    "time": ("time", "timeofday"),
    "notes": ("notes", "note", "comment", "comments", "remarks"),
}
_CANONICAL = tuple(_KEYS)
_EXCLUDE = frozenset({"exercise", "exercisename", "exercisetitle", "movement", "lift", "reps"})


def detect(header: list[str]) -> str | None:
    """``long`` when the header has a date, an instrument and a score column."""
    keys = {header_key(h) for h in header}
    if keys & _EXCLUDE:
        return None
    for name in ("date", "instrument", "score"):
        if not headers_matching(header, frozenset(_KEYS[name])):
            return None
    return "long"


def read(table: CsvTable, layout: str, options: ReadOptions) -> ReadResult:
    """Read a PROM CSV into ``MEASURE_INPUT`` rows.

    Parameters
    ----------
    table
        The parsed CSV.
    layout
        ``long`` from :func:`detect`, or ``"forced"``.
    options
        ``column_map`` may name ``date``, ``instrument``, ``score``, ``time``, ``notes``.

    Returns
    -------
    ReadResult
        ``data`` in ``MEASURE_INPUT``: ``ts_local``/``ts_utc``/``time_known``,
        ``instrument`` (``ODI``/``RMDQ``/``PSFS``/``NRS``), ``score`` on the
        instrument's own scale, ``notes``. Quarantine: ``wrong_field_count``,
        ``missing_value``, ``bad_date``, ``unknown_value`` (instrument),
        ``bad_number`` and ``out_of_range`` (score).

    Raises
    ------
    IngestError
        ``MISSING_COLUMN`` when the date, instrument or score column is missing.
    """
    label = resolve_columns(table, options.column_map, _KEYS, canonical=_CANONICAL)
    missing = [n for n in ("date", "instrument", "score") if label[n] is None]
    if missing:
        raise missing_columns(
            table,
            "an outcome-measure file needs date, instrument and score columns",
            missing,
            "; name them with --map",
        )
    date, inst, score, time = (IN + n for n in ("date", "instrument", "score", "time"))
    rej = Rejects()
    warnings: list[str] = []
    df = select_inputs(table, label)
    rows_read = df.height
    df = pull_field_count(rej, df, len(table.header), surplus_only=True)
    df = with_timestamps(df, date, time if label["time"] else None)
    df = pull_empty(rej, df, date, label["date"], "the date is empty")
    df = pull_bad_dates(
        rej,
        df,
        label["date"],
        format_str(
            "'{}' is not an unambiguous date: use ISO dates (2025-09-15) or '15 Sep 2025'", pl.col(date)
        ),
    )
    if label["time"]:
        df = rej.pull(
            df,
            unparsed(time, clock_time(time)),
            Reason.BAD_DATE,
            label["time"],
            format_str("'{}' is not a time of day", pl.col(time)),
        )
    inst_key = pl.col(inst).str.to_lowercase().str.replace_all(r"[^a-z0-9%]", "")
    df = df.with_columns(
        inst_key.replace_strict(_INSTRUMENTS, default=None, return_dtype=pl.String).alias("instrument"),
        number(pl.col(score).str.replace(r"\s*%$", "")).alias("score"),
    )
    df = pull_empty(rej, df, inst, label["instrument"], "the instrument is empty")
    df = rej.pull(
        df,
        pl.col("instrument").is_null(),
        Reason.UNKNOWN_VALUE,
        label["instrument"],
        format_str("unknown instrument '{}' (expected ODI, RMDQ, PSFS or NRS)", pl.col(inst)),
    )
    df = pull_empty(rej, df, score, label["score"], "the score is empty")
    df = rej.pull(
        df,
        pl.col("score").is_null(),
        Reason.BAD_NUMBER,
        label["score"],
        format_str("score '{}' is not a number", pl.col(score)),
    )
    low, high = (
        pl.col("instrument").replace_strict(
            {k: v[end] for k, v in INSTRUMENT_RANGE.items()}, return_dtype=pl.Float64
        )
        for end in (0, 1)
    )
    df = rej.pull(
        df,
        (pl.col("score") < low) | (pl.col("score") > high),
        Reason.OUT_OF_RANGE,
        label["score"],
        format_str(
            "{} score {} is outside {}–{}",
            pl.col("instrument"),
            pl.col(score),
            low.cast(pl.Int64),
            high.cast(pl.Int64),
        ),
    )
    df = df.with_columns(input_col(label, "notes").alias("notes"))
    data = finish(df, MEASURE_INPUT)
    if data.height:
        counts = data.group_by("instrument").len().sort("instrument")
        listed = ", ".join(f"{i} {n}" for i, n in counts.iter_rows())
        warnings.append(f"Outcome measures read: {listed}.")
        if "PSFS" in counts["instrument"].to_list():
            warnings.append(
                "PSFS scores were read with 10 = able to perform at the pre-injury level "
                "(original PSFS; PSFS 2.0 reverses the scale)."
            )
    renamed = data.height - df.filter(pl.col(inst) == pl.col("instrument")).height
    if renamed:
        warnings.append(
            "Instrument names normalised to ODI/RMDQ/PSFS/NRS (e.g. 'Oswestry' → ODI): "
            f"{plural(renamed, 'row')}."
        )
    date_only_warning(df, warnings, "measure", "measures")
    return ReadResult(
        format="proms",
        layout=layout,
        kind="measures",
        rows_read=rows_read,
        data=data,
        quarantine=rej.frame(),
        warnings=warnings,
    )


SPEC = ReaderSpec(
    name="proms",
    kind="measures",
    description="Outcome measures CSV (date, instrument ODI/RMDQ/PSFS/NRS, score)",
    read=read,
    detect=detect,
)
