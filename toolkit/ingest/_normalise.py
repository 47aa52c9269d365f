"""From a reader's input frames to canonical rows: time zones, days, catalogue, keys.

One code path for every reader:

1. **Time.** A naive local time is placed in the zone ``tz`` (DST-ambiguous times
   take the earlier instant; times inside a DST gap are quarantined as ``bad_date``);
   an instant from a file with an offset is kept as is. The ``local_date`` is the
   calendar day in ``tz`` after shifting by ``day_start_hour`` (a 00:40 session
   belongs to the evening before); date-only rows keep their date.
2. **Catalogue.** Exercise names are mapped through the editable catalogue
   (:mod:`toolkit.ingest.catalogue`); an unknown name is kept verbatim, marked
   unmapped and reported.
3. **Natural keys.** Each set, pain entry and measure gets a stable key so that a
   re-upload or an overlapping newer export adds nothing twice. Apps that number
   their sets are keyed by position (patient, app, session start, exercise, set
   number); apps that do not (FitNotes, Fitbod) by content (… exercise, reps, kg,
   seconds, metres). In both, identical keys *within one file* are numbered in file
   order (occurrence 0, 1, 2, …): three identical sets of 10 × 40 kg are three sets,
   and the same three rows in a later export get the same three keys.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import duckdb
import pandera.errors
import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from toolkit._polars import format_str
from toolkit.exceptions import Reason
from toolkit.ingest._base import ReadResult
from toolkit.ingest._parse import SUSPECT_SESSION_S
from toolkit.ingest.catalogue import map_exercises
from toolkit.schema import (
    OutcomeMeasures,
    PainEntries,
    Sessions,
    Sets,
    polars_schema,
)

__all__ = ["Normalised", "normalise"]

_SEP = "\x1f"  # unit separator: cannot occur in exported text fields


@dataclass
class Normalised:
    """Canonical rows of one file, before de-duplication against the store."""

    sessions: pl.DataFrame | None = None
    sets: pl.DataFrame | None = None
    pain_entries: pl.DataFrame | None = None
    outcome_measures: pl.DataFrame | None = None
    quarantine: pl.DataFrame = field(default_factory=pl.DataFrame)
    warnings: list[str] = field(default_factory=list)

    @property
    def rows(self) -> pl.DataFrame:
        """The per-row table of this file (sets, pain entries or measures)."""
        for frame in (self.sets, self.pain_entries, self.outcome_measures):
            if frame is not None:
                return frame
        raise ValueError("no rows")


def md5_hex(keys: pl.Series, lines: pl.Series | None = None) -> pl.Series:
    """MD5 (hex) of each key, computed in DuckDB — stable across library versions,
    unlike polars' own ``hash``.

    With ``lines``, identical keys are first numbered in line order (occurrence 0, 1,
    2, …) and the number is hashed with the key (``key + chr(31) + occurrence``), so
    repeated identical rows get distinct, reproducible keys.
    """
    if lines is None:
        return _md5(pl.DataFrame({"k": keys}), "md5(k)", keys.name)
    # The occurrence is appended in DuckDB, as each key is hashed: no second copy of
    # every key's text.
    frame = pl.DataFrame({"k": keys, "o": _occurrence(keys, lines)})
    return _md5(frame, "md5(k || chr(31) || CAST(o AS VARCHAR))", keys.name)


def _occurrence(keys: pl.Series, lines: pl.Series) -> pl.Series:
    """0, 1, 2, … for each repeat of a key, in order of ``lines`` (then position).

    Exact, and cheap on large files: polars' (unstable, in-process only) 64-bit hash
    finds the few rows whose key *may* repeat; only those are numbered by the key's
    text. The hash never reaches a stored key.
    """
    n = len(keys)
    maybe = keys.hash().is_duplicated()
    if not maybe.any():
        return pl.repeat(0, n, dtype=pl.UInt32, eager=True)
    frame = pl.DataFrame({"k": keys, "l": lines}).with_row_index("i").filter(maybe)
    frame = frame.sort("l", "i").with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).over("k").alias("o"))
    occ = pl.repeat(0, n, dtype=pl.UInt32, eager=True)
    return occ.scatter(frame["i"], frame["o"])


def _md5(frame: pl.DataFrame, expr: str, name: str) -> pl.Series:
    """``expr`` (an md5 in hex of ``frame``'s columns; nulls stay null) for each row, in
    DuckDB, in input order."""
    con = _hasher(os.getpid()).cursor()  # a connection of its own: safe in any thread
    try:
        keys = con.from_arrow(frame.to_arrow(compat_level=pl.CompatLevel.newest()))
        out = keys.query("keys_view", f"SELECT {expr} AS h FROM keys_view").pl()
    finally:
        con.close()
    return out.to_series().alias(name)


@functools.cache
def _hasher(pid: int) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB kept for the keys' md5 (per process: ``pid``, so a forked child
    never uses its parent's). Opening one costs 20–30 ms, twice per workout file."""
    return duckdb.connect()


def _close_hashers() -> None:
    """Close the kept DuckDB before a fork: a child that inherited a live one crashed or
    hung as it exited (the parent opens a new one when it next needs it)."""
    if _hasher.cache_info().currsize:
        _hasher(os.getpid()).close()
    _hasher.cache_clear()


os.register_at_fork(before=_close_hashers)


def _distinct_hashes(data: PolarsData) -> pl.LazyFrame:
    """True when a column's values are pairwise distinct, shown by their 64-bit hashes
    being distinct (equal values hash equally). Hashing is several times cheaper than
    finding duplicated strings; when it cannot show it, the exact check decides."""
    return data.lazyframe.select((pl.col(data.key).hash().n_unique() == pl.len()).alias(data.key))


@functools.cache
def _quick_schema(model: type) -> pa.DataFrameSchema:
    """``model``'s schema with each ``unique`` column checked by :func:`_distinct_hashes`.

    Every other check is the model's own. Validation first runs this schema over every
    row; only when it fails is the model itself run, to name the failing rows exactly
    (so outcomes are the model's).
    """
    schema = model.to_schema()
    for name, column in schema.columns.items():
        if column.unique:
            schema = schema.update_column(
                name, unique=False, checks=[*column.checks, pa.Check(_distinct_hashes, name="unique")]
            )
    return schema


def _validate(frame: pl.DataFrame, model: type, *, lazy: bool = False) -> pl.DataFrame:
    """``model.validate(frame)``, through :func:`_quick_schema` when the frame passes."""
    try:
        return _quick_schema(model).validate(frame, lazy=True)
    except pandera.errors.SchemaErrors:
        return model.validate(frame, lazy=lazy)


def _pull_non_finite(frame: pl.DataFrame, quarantine: list[pl.DataFrame]) -> pl.DataFrame:
    """``frame`` without its rows holding NaN or ±inf in a Float column; those rows go to
    ``quarantine`` (``out_of_range``, naming the first such column)."""
    floats = [c for c, t in frame.schema.items() if t.is_float()]
    if not floats:
        return frame
    flags = [(~pl.col(c).is_finite()).fill_null(False) for c in floats]
    bad = frame.select(pl.any_horizontal(flags).alias("b")).to_series()
    if not bad.any():
        return frame
    first = pl.coalesce(pl.when(f).then(pl.lit(c)) for f, c in zip(flags, floats, strict=True))
    value = pl.coalesce(
        pl.when(f).then(pl.col(c).cast(pl.String)) for f, c in zip(flags, floats, strict=True)
    )
    quarantine.append(
        frame.filter(bad).select(
            pl.col("source_line").alias("_line"),
            first.alias("column"),
            pl.lit(Reason.OUT_OF_RANGE.value).alias("reason"),
            format_str("value out of range: {} is {}, not a finite number", first, value).alias("message"),
        )
    )
    return frame.filter(~bad)


def validated(frame: pl.DataFrame, model: type, quarantine: list[pl.DataFrame]) -> pl.DataFrame:
    """Validate ``frame`` against its pandera ``model``; rows failing a value check
    (a range, an allowed set) are moved to ``quarantine`` with reason ``out_of_range``.

    A schema-level failure (a missing column, a wrong dtype) is a bug in a reader and
    raises. Rows with a NaN or an infinity in any number column (a unit conversion that
    overflowed, say) are quarantined first: every comparison with NaN is false in Python
    and true-ish in polars' ordering, so no range check would stop them.
    """
    frame = _pull_non_finite(frame, quarantine)
    try:
        return _validate(frame, model, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        if cases["index"].null_count():
            raise
    bad = (
        cases.group_by("index")
        .agg(
            format_str("{} failed {}: {}", "column", "check", "failure_case").first().alias("message"),
            pl.col("column").first(),
        )
        .rename({"index": "_row"})
        .with_columns(pl.col("_row").cast(pl.Int64))
    )
    indexed = frame.with_row_index("_row").with_columns(pl.col("_row").cast(pl.Int64))
    rejected = indexed.join(bad, on="_row", how="inner")
    quarantine.append(
        rejected.select(
            pl.col("source_line").alias("_line"),
            pl.col("column"),
            pl.lit(Reason.OUT_OF_RANGE.value).alias("reason"),
            pl.concat_str([pl.lit("value out of range: "), pl.col("message")]).alias("message"),
        )
    )
    good = indexed.join(bad, on="_row", how="anti").drop("_row")
    return model.validate(good)


def _place_in_time(df: pl.DataFrame, tz: str, day_start_hour: int) -> pl.DataFrame:
    placed = pl.coalesce(
        pl.col("ts_utc"),
        pl.col("ts_local")
        .dt.replace_time_zone(tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC"),
    )
    local = placed.dt.convert_time_zone(tz).dt.replace_time_zone(None)
    shifted = local - pl.duration(hours=day_start_hour)
    return df.with_columns(placed.alias("_utc")).with_columns(
        local.alias("_local"),
        pl.when(pl.col("time_known")).then(shifted.dt.date()).otherwise(local.dt.date()).alias("_date"),
    )


def _keyed(df: pl.DataFrame, parts: list[pl.Expr], name: str) -> pl.DataFrame:
    """Add column ``name`` = md5 of the key parts plus the occurrence within the file."""
    text = pl.concat_str([p.cast(pl.String).fill_null("") for p in parts], separator=_SEP)
    keys = df.select(text.alias(name))[name]
    return df.with_columns(md5_hex(keys, df["_line"]))


def _num(expr: str) -> pl.Expr:
    """A float rounded for keys (1 g / 1 mm / 1 ms), so 12.900000000000034 = 12.9."""
    return pl.col(expr).round(3)


def normalise(
    result: ReadResult,
    *,
    patient_id: str,
    upload_id: str,
    tz: str,
    day_start_hour: int = 4,
    catalogue: pl.DataFrame | None = None,
) -> Normalised:
    """Canonical frames (``toolkit.schema`` columns) for one read file.

    Parameters
    ----------
    result
        What the reader returned.
    patient_id, upload_id
        Written on every row.
    tz
        IANA zone for naive times and for calendar days.
    day_start_hour
        Local hour at which a new day starts (0–23).
    catalogue
        Exercise catalogue (default: the packaged one).

    Returns
    -------
    Normalised
        ``sessions`` and ``sets`` (workout files), ``pain_entries`` or
        ``outcome_measures``; plus quarantine rows added here (times that do not
        exist in ``tz``) in the reader's ``QUARANTINE_INPUT`` form, and warnings.
    """
    df = _place_in_time(result.data, tz, day_start_hour)
    gap = df.filter(pl.col("_utc").is_null())
    extra_q = gap.select(
        "_line",
        pl.lit(None, dtype=pl.String).alias("column"),
        pl.lit(Reason.BAD_DATE.value).alias("reason"),
        format_str("this local time does not exist in {} (daylight-saving gap)", pl.lit(tz)).alias("message"),
    )
    df = df.filter(pl.col("_utc").is_not_null())
    common = {"patient_id": patient_id, "upload_id": upload_id}
    out = Normalised(quarantine=extra_q)
    if result.kind == "workout":
        _workout(df, result, out, tz=tz, catalogue=catalogue, **common)
    elif result.kind == "pain":
        keyed = _keyed(
            df,
            [
                pl.lit(patient_id),
                pl.col("_utc"),
                pl.col("time_known"),
                pl.col("location").str.to_lowercase(),
            ],
            "pain_id",
        )
        out.pain_entries = keyed.select(
            "pain_id",
            pl.lit(patient_id).alias("patient_id"),
            pl.col("_utc").alias("recorded_at_utc"),
            pl.col("_local").alias("recorded_at_local"),
            pl.col("_date").alias("local_date"),
            "time_known",
            pl.lit(tz).alias("tz"),
            "pain_nrs",
            "pain_original",
            "scale_original",
            "location",
            "notes",
            pl.lit(result.format).alias("source_format"),
            pl.lit(upload_id).alias("upload_id"),
            pl.col("_line").alias("source_line"),
        ).cast(polars_schema(PainEntries))  # type: ignore[arg-type]
    else:
        keyed = _keyed(df, [pl.lit(patient_id), pl.col("_utc"), pl.col("instrument")], "measure_id")
        out.outcome_measures = keyed.select(
            "measure_id",
            pl.lit(patient_id).alias("patient_id"),
            pl.col("_utc").alias("measured_at_utc"),
            pl.col("_date").alias("local_date"),
            "time_known",
            "instrument",
            "score",
            (pl.col("instrument") == "PSFS").alias("higher_is_better"),
            "notes",
            pl.lit(upload_id).alias("upload_id"),
            pl.col("_line").alias("source_line"),
        ).cast(polars_schema(OutcomeMeasures))  # type: ignore[arg-type]
    extra = [out.quarantine]
    if out.sets is not None:
        out.sets = validated(out.sets, Sets, extra)
        assert out.sessions is not None
        out.sessions = _validate(out.sessions, Sessions)
    if out.pain_entries is not None:
        out.pain_entries = validated(out.pain_entries, PainEntries, extra)
    if out.outcome_measures is not None:
        out.outcome_measures = validated(out.outcome_measures, OutcomeMeasures, extra)
    out.quarantine = pl.concat([q.cast(extra[0].schema) for q in extra if q.height] or [extra[0]])  # type: ignore[arg-type]
    return out


def _workout(
    df: pl.DataFrame,
    result: ReadResult,
    out: Normalised,
    *,
    patient_id: str,
    upload_id: str,
    tz: str,
    catalogue: pl.DataFrame | None,
) -> None:
    source = result.format
    session_key = pl.concat_str(
        [pl.lit(patient_id), pl.lit(source), pl.col("_utc").cast(pl.String)], separator=_SEP
    )
    # One hash per session, not per set: a session's key is the same on all its rows.
    starts = df.select(pl.col("_utc").unique())
    starts = starts.with_columns(
        md5_hex(starts.select(session_key.alias("session_id")).to_series()),
        pl.col("_utc").cast(pl.String).alias("_utc_text"),  # for the set keys, formatted once
    )
    df = df.join(starts, on="_utc", how="left", maintain_order="left")

    names = df["exercise_raw"].unique(maintain_order=True)
    mapped = map_exercises(names, catalogue).unique("exercise_raw", maintain_order=True)
    df = df.join(mapped, on="exercise_raw", how="left", maintain_order="left")
    unmapped = mapped.filter(~pl.col("exercise_mapped"))["exercise_raw"].to_list()
    if unmapped:
        shown = ", ".join(repr(n) for n in unmapped[:8]) + (" …" if len(unmapped) > 8 else "")
        out.warnings.append(
            f"{len(unmapped)} exercise name(s) are not in the catalogue and were kept "
            f"verbatim, marked unmapped: {shown}"
        )

    positional = df["set_index"].is_not_null().any()
    key_parts = [pl.lit(patient_id), pl.lit(source), pl.col("_utc_text"), pl.col("exercise_raw")]
    if positional:
        key_parts += [pl.col("set_index")]
    else:
        key_parts += [
            _num("reps"),
            _num("weight_kg"),
            _num("duration_s"),
            _num("distance_m"),
            pl.col("set_type"),
        ]
    df = _keyed(df, key_parts, "set_id")

    session_rows = df.select(
        "_line",
        "session_id",
        "_utc",
        "_local",
        "_date",
        "time_known",
        "workout_name",
        "session_duration_s",
        "session_duration_raw",
        "workout_notes",
    )
    if not session_rows["_line"].is_sorted():
        session_rows = session_rows.sort("_line")
    # No session's length: too long to be training time (a timer left running), or negative.
    implausible = (pl.col("_dur") > SUSPECT_SESSION_S) | (pl.col("_dur") < 0)
    sessions = (
        session_rows.group_by("session_id", maintain_order=True)
        .agg(
            pl.col("_utc").first().alias("started_at_utc"),
            pl.col("_local").first().alias("started_at_local"),
            pl.col("_date").first().alias("local_date"),
            pl.col("time_known").first(),
            pl.col("workout_name").drop_nulls().first(),
            pl.col("session_duration_s").drop_nulls().first().alias("_dur"),
            pl.col("session_duration_raw").drop_nulls().first().alias("duration_raw"),
            pl.col("workout_notes").drop_nulls().first(),
        )
        .with_columns(
            pl.lit(patient_id).alias("patient_id"),
            pl.lit(source).alias("source_app"),
            pl.lit(tz).alias("tz"),
            pl.when(implausible).then(None).otherwise(pl.col("_dur")).alias("duration_s"),
            (
                implausible.fill_null(False)
                | (pl.col("duration_raw").is_not_null() & pl.col("_dur").is_null())
            ).alias("duration_suspect"),
            pl.lit(upload_id).alias("upload_id"),
        )
    )
    out.sessions = sessions.select(list(polars_schema(Sessions))).cast(polars_schema(Sessions))  # type: ignore[arg-type]
    out.sets = df.select(
        "set_id",
        "session_id",
        pl.lit(patient_id).alias("patient_id"),
        pl.lit(source).alias("source_app"),
        pl.col("_date").alias("local_date"),
        "exercise_raw",
        "exercise",
        "exercise_mapped",
        "equipment",
        "movement_pattern",
        "category",
        "body_region",
        "set_index",
        "set_type",
        "reps",
        "weight_kg",
        "weight_original",
        "weight_unit_original",
        pl.col("weight_unit_assumed").fill_null(False),
        "distance_m",
        "distance_original",
        "distance_unit_original",
        "duration_s",
        "rpe",
        "rest_after_s",
        "superset_id",
        "multiplier",
        "notes",
        pl.lit(upload_id).alias("upload_id"),
        pl.col("_line").alias("source_line"),
    ).cast(polars_schema(Sets))  # type: ignore[arg-type]
