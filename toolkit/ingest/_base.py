"""What every reader receives and returns.

A reader turns one export into *input frames* in a fixed contract (below), plus a
quarantine of the rows it could not use, plus warnings. It does not know about
patients, time zones, the exercise catalogue or the store: the normaliser
(:mod:`toolkit.ingest._normalise`) does that once for every reader.

Contracts (column → dtype); readers fill what their app has and call
:func:`finish` to add the rest as nulls:

* ``SET_INPUT`` — one row per performed set, session-level fields repeated.
* ``PAIN_INPUT`` — one row per pain rating.
* ``MEASURE_INPUT`` — one row per outcome-measure (PROM) score.

Times: ``ts_local`` is a naive local wall-clock time (the file had no offset);
``ts_utc`` is an instant (the file had one). Exactly one of them is set.
``time_known`` is False for date-only sources (FitNotes, a diary with dates only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

from toolkit.exceptions import OptionError, Reason
from toolkit.ingest._parse import DISTANCE_TO_M, LB_TO_KG

__all__ = [
    "MEASURE_INPUT",
    "PAIN_INPUT",
    "QUARANTINE_INPUT",
    "SET_INPUT",
    "SET_TYPES",
    "ReadOptions",
    "ReadResult",
    "Rejects",
    "distance_columns",
    "finish",
    "weight_columns",
]

Kind = Literal["workout", "pain", "measures"]

SET_TYPES = ("working", "warmup", "drop", "failure")
"""Canonical set types: Hevy ``normal/warmup/dropset/failure`` and Strong ``W/D/F``."""

_TIME = {
    "_line": pl.Int64,
    "ts_local": pl.Datetime("us"),
    "ts_utc": pl.Datetime("us", "UTC"),
    "time_known": pl.Boolean,
}

SET_INPUT: dict[str, pl.DataType] = {
    **_TIME,
    "workout_name": pl.String,
    "session_duration_s": pl.Float64,
    "session_duration_raw": pl.String,
    "workout_notes": pl.String,
    "exercise_raw": pl.String,
    "set_index": pl.Int32,
    "set_type": pl.String,
    "reps": pl.Float64,
    "weight_kg": pl.Float64,
    "weight_original": pl.Float64,
    "weight_unit_original": pl.String,
    "weight_unit_assumed": pl.Boolean,
    "distance_m": pl.Float64,
    "distance_original": pl.Float64,
    "distance_unit_original": pl.String,
    "duration_s": pl.Float64,
    "rpe": pl.Float64,
    "rest_after_s": pl.Float64,
    "superset_id": pl.String,
    "multiplier": pl.Float64,
    "notes": pl.String,
}

PAIN_INPUT: dict[str, pl.DataType] = {
    **_TIME,
    "pain_nrs": pl.Float64,
    "pain_original": pl.Float64,
    "scale_original": pl.String,
    "location": pl.String,
    "notes": pl.String,
}

MEASURE_INPUT: dict[str, pl.DataType] = {
    **_TIME,
    "instrument": pl.String,
    "score": pl.Float64,
    "notes": pl.String,
}

QUARANTINE_INPUT: dict[str, pl.DataType] = {
    "_line": pl.Int64,
    "column": pl.String,
    "reason": pl.String,
    "message": pl.String,
}


def finish(df: pl.DataFrame, contract: dict[str, pl.DataType]) -> pl.DataFrame:
    """Select ``contract``'s columns in order, adding missing ones as typed nulls."""
    return df.select(
        (pl.col(name) if name in df.columns else pl.lit(None)).cast(dtype).alias(name)
        for name, dtype in contract.items()
    )


def weight_columns(value: pl.Expr, unit: pl.Expr, *, assumed: bool | pl.Expr = False) -> list[pl.Expr]:
    """``weight_kg``, ``weight_original``, ``weight_unit_original``, ``weight_unit_assumed``.

    ``unit`` must already be normalised to ``kg``/``lb`` (see
    :func:`toolkit.ingest._parse.weight_unit`). The kg value is rounded to 1 g,
    which removes float artefacts such as ``12.900000000000034`` while keeping
    converted pounds exact enough to snap back (20.412 kg = 45 lb).
    """
    kg = pl.when(unit == "lb").then(value * LB_TO_KG).otherwise(value).round(3)
    assumed_expr = assumed if isinstance(assumed, pl.Expr) else pl.lit(assumed)
    return [
        pl.when(value.is_not_null()).then(kg).alias("weight_kg"),
        value.alias("weight_original"),
        pl.when(value.is_not_null()).then(unit).alias("weight_unit_original"),
        (assumed_expr & value.is_not_null()).alias("weight_unit_assumed"),
    ]


def distance_columns(value: pl.Expr, unit: pl.Expr, *, rounded: bool = True) -> list[pl.Expr]:
    """``distance_m``, ``distance_original``, ``distance_unit_original``.

    ``unit`` must already be normalised to ``m``/``km``/``mi``/``ft``/``yd`` (see
    :func:`toolkit.ingest._parse.distance_unit`); an unknown unit gives a null
    ``distance_m``. Metres are rounded to 1 mm unless ``rounded`` is False (Hevy and
    FitNotes keep the full product, e.g. 1.23 mi = 1979.49312 m).
    """
    metres = value * unit.replace_strict(DISTANCE_TO_M, default=None, return_dtype=pl.Float64)
    return [
        (metres.round(3) if rounded else metres).alias("distance_m"),
        value.alias("distance_original"),
        pl.when(value.is_not_null()).then(unit).alias("distance_unit_original"),
    ]


@dataclass(frozen=True)
class ReadOptions:
    """Options a user can set for reading a file (the CLI's flags).

    Parameters
    ----------
    format
        Force a reader (``strong``, ``hevy``, ...) instead of detecting it.
    weight_unit
        Unit of weights in files that do not say (Strong classic iOS, Oct 2025,
        generic CSVs without a unit column): ``kg`` or ``lb``. Its use is always
        reported as an assumption.
    weight_unit_given
        Whether the user chose ``weight_unit`` (changes only the wording).
    tz
        IANA zone for times written without an offset, and for the calendar day
        of every entry. Default: this machine's zone.
    day_start_hour
        Hour at which a new training/pain day starts in local time (0–23). With
        the default 4, a session at 00:40 counts for the evening before, as a
        patient and their physio would say.
    encoding
        Text encoding when the file is not UTF-8/UTF-16 (e.g. ``latin-1``).
    column_map
        Explicit ``canonical → header`` mapping for generic CSVs
        (``{"date": "Datum", "exercise": "Übung"}``).
    pain_scale
        Scale of a generic pain column when it is not 0–10 NRS: ``nrs`` or ``vas100``.
    """

    format: str | None = None
    weight_unit: Literal["kg", "lb"] = "kg"
    weight_unit_given: bool = False
    tz: str | None = None
    day_start_hour: int = 4
    encoding: str | None = None
    column_map: dict[str, str] = field(default_factory=dict)
    pain_scale: str | None = None

    def __post_init__(self) -> None:
        if self.weight_unit not in ("kg", "lb"):
            raise OptionError(f"weight_unit must be 'kg' or 'lb', got {self.weight_unit!r}")
        if not 0 <= self.day_start_hour <= 23:
            raise OptionError(f"day_start_hour must be 0–23, got {self.day_start_hour!r}")
        if self.pain_scale not in (None, "nrs", "vas100"):
            raise OptionError(f"pain_scale must be 'nrs' or 'vas100', got {self.pain_scale!r}")


@dataclass
class ReadResult:
    """What a reader returns for one file.

    Attributes
    ----------
    format
        Reader name, e.g. ``"strong"``.
    layout
        Layout within the format, e.g. ``"v3_workout_number"``.
    kind
        ``"workout"``, ``"pain"`` or ``"measures"``.
    rows_read
        Data rows in the file (blank lines excluded).
    data
        Input frame in the contract of ``kind``.
    quarantine
        Rows not used, in ``QUARANTINE_INPUT`` (``_line``, ``column``, ``reason``, ``message``).
    warnings
        Human-readable notes: assumed units, repaired rows, suspect values.
    assumptions
        Machine-readable assumptions, e.g. ``{"weight_unit": "kg"}``.
    """

    format: str
    layout: str
    kind: Kind
    rows_read: int
    data: pl.DataFrame
    quarantine: pl.DataFrame
    warnings: list[str] = field(default_factory=list)
    assumptions: dict[str, str] = field(default_factory=dict)


class Rejects:
    """Collects quarantined rows while a reader filters its frame.

    Examples
    --------
    >>> rej = Rejects()
    >>> df = pl.DataFrame({"_line": [2, 3], "reps": ["10", "x"]})
    >>> df = rej.pull(df, pl.col("reps") == "x", Reason.BAD_NUMBER, "reps", "not a number")
    >>> df.height, rej.frame().height
    (1, 1)
    """

    def __init__(self) -> None:
        self._parts: list[pl.DataFrame] = []

    def pull(
        self,
        df: pl.DataFrame,
        condition: pl.Expr,
        reason: Reason,
        column: str | None,
        message: str | pl.Expr,
    ) -> pl.DataFrame:
        """Move the rows where ``condition`` holds into the quarantine; return the rest.

        When no row matches, ``df`` itself is returned (no copy of a large frame).
        """
        mask = df.select(condition.fill_null(False).alias("__bad")).to_series()
        if mask.len() != df.height:  # a literal condition, broadcast
            mask = mask.new_from_index(0, df.height) if mask.len() else mask
        if not mask.any():
            return df
        bad = df.filter(mask)
        msg = pl.lit(message) if isinstance(message, str) else message
        self._parts.append(
            bad.select(
                pl.col("_line").cast(pl.Int64),
                pl.lit(column, dtype=pl.String).alias("column"),
                pl.lit(reason.value, dtype=pl.String).alias("reason"),
                msg.cast(pl.String).alias("message"),
            )
        )
        return df.filter(~mask)

    def add(self, frame: pl.DataFrame) -> None:
        """Add already-built quarantine rows (``QUARANTINE_INPUT`` columns)."""
        if frame.height:
            self._parts.append(finish(frame, QUARANTINE_INPUT))

    def frame(self) -> pl.DataFrame:
        """All quarantined rows so far, ordered by line."""
        if not self._parts:
            return pl.DataFrame(schema=QUARANTINE_INPUT)
        return pl.concat(self._parts).sort("_line")


@dataclass(frozen=True)
class ReaderSpec:
    """A registered reader.

    ``detect(header)`` returns a layout name when a CSV header belongs to this
    reader (CSV readers), ``sniff(data)`` does the same from the first bytes
    (JSON/XML/zip readers). ``read`` takes the parsed :class:`CsvTable` (CSV) or the
    raw bytes (others).
    """

    name: str
    kind: Kind
    description: str
    read: Callable[..., ReadResult]
    detect: Callable[[list[str]], str | None] | None = None
    sniff: Callable[[bytes], str | None] | None = None
