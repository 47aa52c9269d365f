"""Dated warnings a physiotherapist acts on, each with the reason in numbers.

Every flag function returns the same columns (:data:`FLAG_COLUMNS`):

===========  ==========================================================================
patient_id   patient
date         day the flag is about (Date)
kind         ``load_spike`` · ``too_fast_progression`` · ``no_rest`` · ``pain_flare``
detail       one readable sentence with the numbers behind the flag
value        the measured quantity (ratio, %/week, days, points)
threshold    the threshold it crossed, in the same unit
exercise     canonical exercise for exercise-level flags, else null
===========  ==========================================================================

The thresholds are heuristics from the literature, not validated injury predictors
(DOMAIN.md "Critiques you must surface"): ACWR is shown as a descriptive spike
detector (Gabbett 2016; Impellizzeri et al. 2020), the 10 %/week progression rule is
weakly supported (Buist 2008; Nielsen 2014), so flags are prompts to look, not verdicts.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from toolkit._polars import format_str
from toolkit.analysis._frames import as_polars, require_columns, sorted_by

__all__ = [
    "FLAG_COLUMNS",
    "all_flags",
    "load_spikes",
    "no_rest",
    "pain_flares",
    "safe_doses",
    "standard_flags",
    "too_fast_progression",
]

FLAG_COLUMNS: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "date": pl.Date(),
    "kind": pl.String(),
    "detail": pl.String(),
    "value": pl.Float64(),
    "threshold": pl.Float64(),
    "exercise": pl.String(),
}


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=FLAG_COLUMNS)


def _finish(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.select(
        (pl.col(c) if c in frame.columns else pl.lit(None)).cast(t).alias(c) for c, t in FLAG_COLUMNS.items()
    ).sort("patient_id", "date", "kind")


def _fmt(expr: pl.Expr, decimals: int = 0) -> pl.Expr:
    rounded = expr.round(decimals)
    return (rounded.cast(pl.Int64) if decimals == 0 else rounded).cast(pl.String)


def load_spikes(
    session_load: pl.DataFrame,
    acwr: pl.DataFrame | None = None,
    *,
    load: str = "volume_kg",
    ratio: float = 1.5,
    window_days: int = 28,
    min_prior_sessions: int = 4,
    acwr_threshold: float = 1.5,
    acwr_min_session_ratio: float = 1.2,
) -> pl.DataFrame:
    """``load_spike``: a session ≥ ``ratio`` × the trailing mean session load, or EWMA-ACWR ≥ 1.5.

    Parameters
    ----------
    session_load
        :func:`toolkit.analysis.load.session_load` output (``patient_id, date, <load>``).
    acwr
        Optional :func:`toolkit.analysis.load.acwr` output (EWMA variant); days with
        ``acwr >= acwr_threshold`` are flagged too (not during the withheld warm-up).
    load
        Session load column (default ``volume_kg``, Σ reps × kg).
    ratio
        Multiple of the trailing mean that makes a spike (default 1.5).
    window_days
        Trailing window for the mean, excluding the session's own day (default 28).
    min_prior_sessions
        Sessions needed in the window before any spike is called (default 4).
    acwr_threshold
        EWMA-ACWR level flagged (default 1.5, Gabbett 2016's "danger zone").
    acwr_min_session_ratio
        The EWMA-ACWR criterion counts only on a day whose session load is at least
        this multiple of the trailing mean (default 1.2). Daily EWMAs were built for
        athletes who train most days; with 2–3 sessions a week the ratio crosses 1.5
        after two ordinary sessions in four days (a regular twice-weekly plan of
        identical sessions reaches 1.58 after one missed week — see the tests), so
        the ratio alone would flag unchanged training.

    Returns
    -------
    polars.DataFrame
        :data:`FLAG_COLUMNS`; ``value`` is the ratio (session / trailing mean, or the
        ACWR), ``threshold`` the ratio used. One row per patient and day.

    Notes
    -----
    Trailing mean session load over ``(date − window_days, date)``; Williams et al. 2017
    (BJSM 51:209) for EWMA-ACWR; Gabbett 2016 (BJSM 50:273) for the 1.5 level.
    """
    sessions = as_polars(session_load, "session_load")
    require_columns(sessions, ["patient_id", "date", load], "session_load")
    if ratio <= 1:
        from toolkit.exceptions import OptionError

        raise OptionError(f"ratio must be > 1, got {ratio}")
    daily = (
        sessions.filter(pl.col(load).is_not_null())
        .group_by("patient_id", "date")
        .agg(pl.col(load).max().alias("_top"), pl.col(load).sum().alias("_sum"), pl.len().alias("_n"))
        .sort("patient_id", "date")
    )
    window = f"{window_days}d"
    trailing = daily.with_columns(
        pl.col("_sum").rolling_sum_by("date", window, closed="left").over("patient_id").alias("_win_sum"),
        pl.col("_n").rolling_sum_by("date", window, closed="left").over("patient_id").alias("_win_n"),
    ).with_columns((pl.col("_win_sum") / pl.col("_win_n")).alias("_mean"))
    spikes = trailing.filter(
        (pl.col("_win_n") >= min_prior_sessions)
        & (pl.col("_mean") > 0)
        & (pl.col("_top") >= ratio * pl.col("_mean"))
    ).select(
        "patient_id",
        "date",
        pl.lit("load_spike").alias("kind"),
        format_str(
            "session load {} {} = {}× the trailing {}-day mean ({} per session)",
            _fmt(pl.col("_top")),
            pl.lit("kg" if load.endswith("_kg") else "AU"),
            _fmt(pl.col("_top") / pl.col("_mean"), 1),
            pl.lit(window_days),
            _fmt(pl.col("_mean")),
        ).alias("detail"),
        (pl.col("_top") / pl.col("_mean")).alias("value"),
        pl.lit(ratio).alias("threshold"),
    )
    parts = [spikes]
    if acwr is not None:
        a = as_polars(acwr, "acwr")
        require_columns(a, ["patient_id", "date", "acwr"], "acwr")
        # Flag the day the ratio *enters* the zone, not every day it stays there, and
        # only when that day's session is heavier than usual.
        # acwr() output is already in patient, date order: then the previous row of the
        # same patient is the previous day, without a sort or a window.
        if sorted_by(a, "patient_id", "date"):
            prev = pl.when(pl.col("patient_id") == pl.col("patient_id").shift(1)).then(
                pl.col("acwr").shift(1)
            )
        else:
            a = a.sort("patient_id", "date")
            prev = pl.col("acwr").shift(1).over("patient_id")
        a = a.with_columns(prev.alias("_prev")).join(
            trailing.select("patient_id", "date", "_top", "_mean"), on=["patient_id", "date"], how="left"
        )
        entering = (pl.col("acwr") >= acwr_threshold) & (
            pl.col("_prev").is_null() | (pl.col("_prev") < acwr_threshold)
        )
        heavy = pl.col("_top") >= acwr_min_session_ratio * pl.col("_mean")
        high = a.filter(entering & heavy.fill_null(False)).select(
            "patient_id",
            "date",
            pl.lit("load_spike").alias("kind"),
            format_str(
                "EWMA acute:chronic load ratio {} ≥ {}", _fmt(pl.col("acwr"), 2), pl.lit(acwr_threshold)
            ).alias("detail"),
            pl.col("acwr").alias("value"),
            pl.lit(acwr_threshold).alias("threshold"),
        )
        parts.append(high)
    merged = pl.concat([p.cast({"value": pl.Float64, "threshold": pl.Float64}) for p in parts])
    if merged.is_empty():
        return _empty()
    merged = merged.group_by("patient_id", "date", "kind").agg(
        pl.col("detail").str.join("; "), pl.col("value").first(), pl.col("threshold").first()
    )
    return _finish(merged)


def too_fast_progression(
    weekly_top: pl.DataFrame,
    *,
    max_pct_per_week: float = 10.0,
    min_weeks: int = 2,
) -> pl.DataFrame:
    """``too_fast_progression``: a heavy lift's top load rising > 10 %/week for ≥ 2 weeks in a row.

    The "start light" rule: load on a deadlift or squat should climb gradually.

    Parameters
    ----------
    weekly_top
        :func:`toolkit.analysis.load.weekly_top_load` output
        (``patient_id, exercise, week_start, top_kg, change_pct``).
    max_pct_per_week
        Weekly rise above which a week counts as too fast (default 10 %).
    min_weeks
        Consecutive too-fast weeks needed (default 2).

    Returns
    -------
    polars.DataFrame
        :data:`FLAG_COLUMNS`, one row per run of too-fast weeks, dated at the start of
        the week the run reached ``min_weeks``; ``value`` is the mean %/week of the run.

    Notes
    -----
    The 10 % rule is a heuristic: Buist et al. 2008 found no difference between 10 % and
    24 % progressions in novice runners; Nielsen et al. 2014 (JOSPT) linked > 30 %/week
    over 2 weeks to injuries (DOMAIN.md "Weekly change %").
    """
    w = as_polars(weekly_top, "weekly_top")
    require_columns(w, ["patient_id", "exercise", "week_start", "top_kg", "change_pct"], "weekly_top")
    if w.is_empty():
        return _empty()
    w = w.sort("patient_id", "exercise", "week_start").with_columns(
        (pl.col("change_pct") > max_pct_per_week).fill_null(False).alias("_fast"),
        # consecutive calendar weeks only: a gap breaks the run
        ((pl.col("week_start") - pl.col("week_start").shift(1)).dt.total_days() == 7)
        .fill_null(False)
        .over("patient_id", "exercise")
        .alias("_next"),
    )
    w = w.with_columns(
        ((~pl.col("_fast")) | (~pl.col("_next"))).cum_sum().over("patient_id", "exercise").alias("_run")
    )
    runs = (
        w.filter(pl.col("_fast"))
        .group_by("patient_id", "exercise", "_run")
        .agg(
            pl.len().alias("weeks"),
            pl.col("week_start").get(min_weeks - 1, null_on_oob=True).alias("date"),
            pl.col("week_start").first().alias("first_week"),
            pl.col("change_pct").mean().alias("value"),
            (pl.col("top_kg") / (1 + pl.col("change_pct") / 100)).first().alias("from_kg"),
            pl.col("top_kg").last().alias("to_kg"),
        )
        .filter(pl.col("weeks") >= min_weeks)
    )
    if runs.is_empty():
        return _empty()
    return _finish(
        runs.with_columns(
            pl.lit("too_fast_progression").alias("kind"),
            format_str(
                "{} top load rose {} %/week for {} weeks from {} ({} → {} kg); keep rises ≤ {} %/week",
                pl.col("exercise"),
                _fmt(pl.col("value")),
                pl.col("weeks"),
                pl.col("first_week").cast(pl.String),
                _fmt(pl.col("from_kg"), 1),
                _fmt(pl.col("to_kg"), 1),
                pl.lit(max_pct_per_week),
            ).alias("detail"),
            pl.lit(max_pct_per_week).alias("threshold"),
        )
    )


def no_rest(daily: pl.DataFrame, *, max_days: int = 6) -> pl.DataFrame:
    """``no_rest``: ≥ 6 consecutive training days (one flag per streak).

    Parameters
    ----------
    daily
        :func:`toolkit.analysis.load.daily_load` output (``patient_id, date, streak_days``).
    max_days
        Streak length that raises the flag (default 6).

    Returns
    -------
    polars.DataFrame
        :data:`FLAG_COLUMNS`, dated on the day the streak reached ``max_days``;
        ``value`` is the streak's full length in days.
    """
    d = as_polars(daily, "daily")
    require_columns(d, ["patient_id", "date", "streak_days"], "daily")
    if d.is_empty():
        return _empty()
    d = d.sort("patient_id", "date").with_columns(
        (pl.col("streak_days").fill_null(0) == 0).cum_sum().over("patient_id").alias("_streak")
    )
    streaks = (
        d.filter(pl.col("streak_days").fill_null(0) > 0)
        .group_by("patient_id", "_streak")
        .agg(
            pl.col("streak_days").max().alias("value"),
            pl.col("date").first().alias("start"),
            pl.col("date").filter(pl.col("streak_days") == max_days).first().alias("date"),
        )
        .filter(pl.col("value") >= max_days)
    )
    if streaks.is_empty():
        return _empty()
    return _finish(
        streaks.with_columns(
            pl.lit("no_rest").alias("kind"),
            format_str(
                "{} consecutive training days from {} without a rest day",
                pl.col("value").cast(pl.Int64),
                pl.col("start").cast(pl.String),
            ).alias("detail"),
            pl.lit(float(max_days)).alias("threshold"),
        )
    )


def pain_flares(flares: pl.DataFrame, *, threshold: float = 2.0) -> pl.DataFrame:
    """``pain_flare``: pain ≥ 2 points above the trailing 7-day median.

    Parameters
    ----------
    flares
        :func:`toolkit.analysis.pain.flares` output (``patient_id, date, pain,
        trailing_median, excess, days_to_settle``).
    threshold
        Points above the trailing median (only used to label ``threshold``).

    Returns
    -------
    polars.DataFrame
        :data:`FLAG_COLUMNS`; ``value`` is the excess in NRS points.
    """
    f = as_polars(flares, "flares")
    require_columns(
        f, ["patient_id", "date", "pain", "trailing_median", "excess", "days_to_settle"], "flares"
    )
    if f.is_empty():
        return _empty()
    settle = (
        pl.when(pl.col("days_to_settle").is_not_null())
        .then(format_str("settled after {} day(s)", pl.col("days_to_settle").cast(pl.Int64)))
        .otherwise(pl.lit("not settled within the data"))
    )
    return _finish(
        f.with_columns(
            pl.lit("pain_flare").alias("kind"),
            format_str(
                "pain {} = {} points above the 7-day median ({}); {}",
                _fmt(pl.col("pain"), 1),
                _fmt(pl.col("excess"), 1),
                _fmt(pl.col("trailing_median"), 1),
                settle,
            ).alias("detail"),
            pl.col("excess").alias("value"),
            pl.lit(threshold).alias("threshold"),
        )
    )


def safe_doses(
    sets: pl.DataFrame,
    flare_dates: pl.DataFrame,
    *,
    horizon_days: int = 2,
    recent_days: int = 56,
    as_of: dt.date | None = None,
) -> pl.DataFrame:
    """Per exercise, the highest recent dose that was *not* followed by a pain flare.

    Parameters
    ----------
    sets
        Canonical ``sets`` (``patient_id, local_date, exercise, exercise_raw, reps,
        weight_kg, set_type``).
    flare_dates
        ``patient_id, date`` of flare starts (e.g. :func:`pain_flares` output).
    horizon_days
        A session counts as "followed by a flare" when a flare starts within this many
        days after it (default 2).
    recent_days
        Look-back window before ``as_of`` (default 56 days = 8 weeks).
    as_of
        End of the window (default: each patient's last training day).

    Returns
    -------
    polars.DataFrame
        ``patient_id, exercise, date (Date, the session), top_kg (heaviest working
        set), volume_kg (Σ reps × kg of that exercise that day), reps (Σ reps),
        sessions_considered, sessions_followed_by_flare`` — one row per patient and
        exercise with at least one flare-free session in the window.
    """
    s = as_polars(sets, "sets")
    require_columns(s, ["patient_id", "local_date", "exercise_raw", "reps", "weight_kg", "set_type"], "sets")
    fl = as_polars(flare_dates, "flare_dates")
    require_columns(fl, ["patient_id", "date"], "flare_dates")
    columns = {
        "patient_id": pl.String,
        "exercise": pl.String,
        "date": pl.Date,
        "top_kg": pl.Float64,
        "volume_kg": pl.Float64,
        "reps": pl.Float64,
        "sessions_considered": pl.UInt32,
        "sessions_followed_by_flare": pl.UInt32,
    }
    if s.is_empty():
        return pl.DataFrame(schema=columns)
    name = (
        pl.coalesce(pl.col("exercise"), pl.col("exercise_raw"))
        if "exercise" in s.columns
        else pl.col("exercise_raw")
    )
    per_day = (
        s.filter(pl.col("set_type") != "warmup")
        .group_by("patient_id", pl.col("local_date").alias("date"), name.alias("exercise"))
        .agg(
            pl.col("weight_kg").max().alias("top_kg"),
            (pl.col("reps").fill_null(0) * pl.col("weight_kg").fill_null(0)).sum().alias("volume_kg"),
            pl.col("reps").sum().alias("reps"),
        )
    )
    end = (
        per_day.group_by("patient_id").agg(pl.col("date").max().alias("_end"))
        if as_of is None
        else per_day.select("patient_id").unique().with_columns(pl.lit(as_of).alias("_end"))
    )
    per_day = per_day.join(end, on="patient_id").filter(
        pl.col("date") > pl.col("_end") - pl.duration(days=recent_days)
    )
    flares_joined = per_day.join(
        fl.select("patient_id", pl.col("date").alias("_flare")), on="patient_id", how="left"
    )
    followed = (
        flares_joined.with_columns(
            (
                (pl.col("_flare") > pl.col("date"))
                & (pl.col("_flare") <= pl.col("date") + pl.duration(days=horizon_days))
            )
            .fill_null(False)
            .alias("_hit")
        )
        .group_by("patient_id", "date", "exercise")
        .agg(pl.col("_hit").any().alias("_followed"))
    )
    per_day = per_day.join(followed, on=["patient_id", "date", "exercise"])
    counts = per_day.group_by("patient_id", "exercise").agg(
        pl.len().alias("sessions_considered"), pl.col("_followed").sum().alias("sessions_followed_by_flare")
    )
    # Ties (equal top set and volume: a stretch has neither) go to the latest session, so
    # the answer never depends on the order the rows came in.
    best = (
        per_day.filter(~pl.col("_followed"))
        .sort("top_kg", "volume_kg", "date", nulls_last=False)
        .group_by("patient_id", "exercise")
        .agg(pl.all().last())
        .join(counts, on=["patient_id", "exercise"])
    )
    return best.select((pl.col(c).cast(t) for c, t in columns.items())).sort("patient_id", "exercise")


def all_flags(*frames: pl.DataFrame) -> pl.DataFrame:
    """Concatenate flag frames into one timeline, sorted by patient, date and kind."""
    parts = [f for f in frames if f is not None and f.height]
    return _finish(pl.concat(parts)) if parts else _empty()


def standard_flags(
    session_load: pl.DataFrame, daily_load: pl.DataFrame, weekly_top: pl.DataFrame, flares: pl.DataFrame
) -> pl.DataFrame:
    """The four flag families with their default thresholds, as one timeline: what a
    patient's analysis and the cohort table report.

    Parameters
    ----------
    session_load, daily_load, weekly_top
        :func:`~toolkit.analysis.load.session_load`, :func:`~toolkit.analysis.load.daily_load`
        and :func:`~toolkit.analysis.load.weekly_top_load` of the same sets (any number
        of patients).
    flares
        :func:`~toolkit.analysis.pain.flares` of the same patients' daily pain.

    Returns
    -------
    polars.DataFrame
        :func:`all_flags` of :func:`load_spikes` (on the session loads and the days'
        EWMA-ACWR, :func:`~toolkit.analysis.load.acwr`), :func:`too_fast_progression`
        of the heavy lifts (:func:`~toolkit.analysis.load.heavy_lifts`; the "start
        light" rule is about them), :func:`no_rest` and :func:`pain_flares`.
    """
    from toolkit.analysis import load as ld

    return all_flags(
        load_spikes(session_load, ld.acwr(daily_load, variant="ewma")),
        too_fast_progression(weekly_top.filter(pl.col("exercise").is_in(ld.heavy_lifts()))),
        no_rest(daily_load),
        pain_flares(flares),
    )
