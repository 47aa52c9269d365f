"""The cohort benchmark's baseline: the daily features of :func:`toolkit.analysis.load.daily_load`,
hand-written as one plain polars query.

Issue 8 asks for the daily-features stage to be timed against "a hand-written
single-pass polars baseline that computes the same daily features". This is that
baseline: the same rules (counted sets, effective load of bodyweight, assisted and
machine variants, timed sets, session-RPE, rest days against logging gaps, streaks;
module docstring of :mod:`toolkit.analysis.load`) written the way a competent polars
user would write them: one lazy plan of joins on the string keys, group-bys and window
expressions, collected once, with the name rules evaluated once per distinct name
and joined back. None of the toolkit's own machinery (integer run keys, hashed name
triples, sorted-run aggregation, integer calendars) is used. ``tests/test_benchmarks.py``
checks that its output equals ``daily_load``'s.

:func:`group_by_baseline` is the simpler query the benchmark used as its baseline until
session 7 (2026-12-02; sessions, all sets and Σ reps × weight per patient-day, none of the rules,
no calendar); its ratio is still printed, for comparison with earlier runs.
"""

from __future__ import annotations

import polars as pl

# The rules' vocabulary is the toolkit's (the same features need the same words);
# the computation below is written independently of it.
from toolkit.analysis.load import _ASSIST, _COUNTED_SET_TYPES, _MACHINE, _NAME_COLUMNS

__all__ = ["daily_features_baseline", "group_by_baseline"]


def group_by_baseline(sets: pl.DataFrame) -> pl.DataFrame:
    """Sessions, sets and volume (Σ reps × kg) per patient-day: one ``group_by``."""
    return sets.group_by("patient_id", "local_date").agg(
        sessions=pl.col("session_id").n_unique(),
        sets=pl.len(),
        volume_kg=(pl.col("reps") * pl.col("weight_kg")).sum(),
    )


def daily_features_baseline(
    sets: pl.DataFrame,
    sessions: pl.DataFrame,
    bodyweight: pl.DataFrame,
    catalogue: pl.DataFrame,
    *,
    max_gap_days: int = 14,
) -> pl.DataFrame:
    """The columns of ``daily_load`` (same names, types and row order) from the canonical
    ``sets`` and ``sessions``, ``bodyweight`` (``patient_id, bodyweight_kg``) and the
    exercise ``catalogue``."""
    names = list(_NAME_COLUMNS)
    cat = (
        catalogue.lazy()
        .select(
            pl.col("canonical_name").alias("exercise"),
            pl.col("bodyweight_factor").alias("factor"),
            pl.col("equipment").alias("cat_equipment"),
        )
        .unique("exercise", keep="first", maintain_order=True)
    )
    rules = (
        sets.lazy()
        .select(names)
        .unique()
        .join(cat, on="exercise", how="left")
        .with_columns(
            assist_text=pl.col("exercise_raw").str.contains(_ASSIST)
            | pl.col("equipment").str.contains(_ASSIST).fill_null(False),
            machine=pl.col("equipment").str.contains(_MACHINE).fill_null(False)
            & ~pl.col("cat_equipment").str.contains(_MACHINE).fill_null(False),
        )
    )
    bw = bodyweight.lazy().select("patient_id", pl.col("bodyweight_kg").alias("bw")).drop_nulls()

    w, reps, factor, body = pl.col("weight_kg"), pl.col("reps"), pl.col("factor"), pl.col("bw")
    assisted = pl.col("assist_text") | (w < 0).fill_null(False)
    load = (
        pl.when(assisted)
        .then((factor * body - w.abs().fill_null(0.0)).clip(lower_bound=0.0))
        .when(factor.is_not_null() & body.is_not_null() & ~pl.col("machine"))
        .then(factor * body + w.fill_null(0.0))
        .otherwise(w)
    )
    load_kg = pl.when(load > 0).then(load)
    rep = (reps > 0).fill_null(False)
    timed = ((reps.is_null() | (reps == 0)) & (pl.col("duration_s") > 0)).fill_null(False)
    counted = pl.col("set_type").fill_null("working").is_in(_COUNTED_SET_TYPES)

    # Per set, the values that count (null for uncounted sets), then plain aggregations.
    per_session = (
        sets.lazy()
        .join(rules, on=names, how="left", nulls_equal=True)
        .join(bw, on="patient_id", how="left")
        .with_columns(
            counted.cast(pl.Int64).alias("sets"),
            pl.when(counted & rep).then(reps * load_kg).alias("volume_kg"),
            pl.when(counted & timed).then(pl.col("duration_s")).alias("timed_s"),
            pl.when(counted).then(pl.col("rpe")).alias("rpe"),
            (counted & rep & load_kg.is_null()).cast(pl.Int64).alias("unloaded_sets"),
        )
        .group_by("patient_id", "session_id")
        .agg(
            pl.col("local_date").min().alias("first_date"),
            pl.col("sets", "volume_kg", "timed_s", "unloaded_sets").sum(),
            pl.col("rpe").mean(),
        )
    )
    # Every session of either table (the sessions table's date wins), then its sets'
    # aggregates (a set without a session id adds a session day, not sets, as in
    # session_load: null keys do not join).
    listed = sessions.lazy().select(
        "patient_id", "session_id", pl.col("local_date").alias("date"), "duration_s"
    )
    from_sets = per_session.select(
        "patient_id",
        "session_id",
        pl.col("first_date").alias("date"),
        pl.lit(None, pl.Float64).alias("duration_s"),
    )
    per_session = (
        pl.concat([listed, from_sets])
        .filter(pl.col("date").is_not_null())
        .unique(["patient_id", "session_id"], keep="first")
        .join(per_session, on=["patient_id", "session_id"], how="left")
        .with_columns(srpe_au=pl.col("rpe") * pl.col("duration_s") / 60.0)
    )
    per_day = per_session.group_by("patient_id", "date").agg(
        pl.len().cast(pl.Int64).alias("sessions"),
        pl.col("sets", "unloaded_sets").fill_null(0).sum(),
        pl.col("volume_kg", "timed_s").fill_null(0.0).sum(),
        pl.when(pl.col("srpe_au").null_count() == 0).then(pl.col("srpe_au").sum()).alias("srpe_au"),
    )
    calendar = (
        per_day.group_by("patient_id")
        .agg(pl.date_ranges(pl.col("date").min(), pl.col("date").max()).first().alias("date"))
        .explode("date")
    )
    train = pl.col("sessions").is_not_null()
    gap_run = train.cum_sum().over("patient_id")  # a training day and the days without a session after it
    day = (
        calendar.join(per_day, on=["patient_id", "date"], how="left")
        .sort("patient_id", "date")
        .with_columns(training_day=train, run=gap_run)
        .with_columns(
            logged=pl.col("training_day") | (pl.len().over("patient_id", "run") - 1 <= max_gap_days)
        )
        .with_columns(streak=(~pl.col("training_day")).cum_sum().over("patient_id"))
    )
    logged, train = pl.col("logged"), pl.col("training_day")

    def on_logged(col: str, zero: float | int) -> pl.Expr:
        return pl.when(train).then(pl.col(col)).when(logged).then(zero).alias(col)

    return day.select(
        "patient_id",
        "date",
        on_logged("sessions", 0),
        on_logged("sets", 0),
        on_logged("volume_kg", 0.0),
        on_logged("timed_s", 0.0),
        on_logged("srpe_au", 0.0),
        "training_day",
        "logged",
        (logged & ~train).alias("rest_day"),
        pl.when(logged)
        .then(train.cast(pl.Int64).cum_sum().over("patient_id", "streak"))
        .alias("streak_days"),
        on_logged("unloaded_sets", 0),
    ).collect()
