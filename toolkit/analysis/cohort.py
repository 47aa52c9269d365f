"""The clinic view: one row per patient, a patient × week panel, and a mixed model of dose and pain.

=====================  ===================================================================
Function               Result
=====================  ===================================================================
:func:`cohort_table`   one row per patient: period, sessions, adherence, pain outcome
                       against the MCID, flag counts, status
:func:`weekly_panel`   one row per patient × week: weekly pain, its change, sessions,
                       volume, load change, person-mean-centred dose columns
:func:`mixed_model`    :class:`CohortModel`: linear mixed model of weekly pain change on
                       within- and between-patient dose (statsmodels ``MixedLM``, REML)
:func:`describe`       the model in plain sentences, with its caveats
=====================  ===================================================================

Every function is pure: polars or pandas frames in (never modified), new polars frames
out. :func:`cohort_table` and :func:`weekly_panel` run the load, pain and flag families
on all patients at once (their windows run ``.over("patient_id")``), so they scale to
thousands of patients without a per-patient Python loop.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import stats

from toolkit.analysis import flags as fl
from toolkit.analysis import load as ld
from toolkit.analysis import pain as pn
from toolkit.analysis._frames import as_polars, json_number, json_records, require_columns
from toolkit.analysis._options import int_option, week_start_day, week_start_of
from toolkit.exceptions import OptionError

if TYPE_CHECKING:
    import pandas as pd

    Frame = pl.DataFrame | pd.DataFrame
else:
    Frame = Any

__all__ = [
    "COHORT_TABLE_SCHEMA",
    "FIXED_EFFECTS_SCHEMA",
    "PANEL_SCHEMA",
    "PATIENT_SLOPES_SCHEMA",
    "CohortModel",
    "cohort_table",
    "describe",
    "mixed_model",
    "weekly_panel",
]

COHORT_TABLE_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "name": pl.String(),
    "first_date": pl.Date(),
    "last_date": pl.Date(),
    "last_log": pl.Date(),
    "days_logged_pain": pl.Int64(),
    "sessions": pl.Int64(),
    "sessions_per_week": pl.Float64(),
    "adherence_pct": pl.Float64(),
    "baseline": pl.Float64(),
    "current": pl.Float64(),
    "change": pl.Float64(),
    "percent_change": pl.Float64(),
    "mcid_reached": pl.Boolean(),
    "reliable_improvement": pl.Boolean(),
    "flags_load_spike": pl.Int64(),
    "flags_too_fast_progression": pl.Int64(),
    "flags_no_rest": pl.Int64(),
    "flags_pain_flare": pl.Int64(),
    "flags_total": pl.Int64(),
    "status": pl.String(),
}
PANEL_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "week_start": pl.Date(),
    "pain_mean": pl.Float64(),
    "pain_change": pl.Float64(),
    "sessions": pl.Int64(),
    "volume_kg": pl.Float64(),
    "load_change_pct": pl.Float64(),
    "sessions_within": pl.Float64(),
    "sessions_between": pl.Float64(),
    "load_change_within": pl.Float64(),
    "load_change_between": pl.Float64(),
    "programme_week": pl.Int64(),
    "rated_days": pl.Int64(),
    "logged_days": pl.Int64(),
}
FIXED_EFFECTS_SCHEMA: dict[str, pl.DataType] = {
    "term": pl.String(),
    "estimate": pl.Float64(),
    "std_error": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "p_value": pl.Float64(),
}
PATIENT_SLOPES_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "own_slope": pl.Float64(),
    "own_ci_low": pl.Float64(),
    "own_ci_high": pl.Float64(),
    "pooled_slope": pl.Float64(),
    "n_weeks": pl.Int64(),
}

_FLAG_KINDS = ("load_spike", "too_fast_progression", "no_rest", "pain_flare")
_PREDICTORS = ("sessions_within", "sessions_between", "load_change_within", "load_change_between")
_SLOPE = "sessions_within"
_METHODS = ("powell", "lbfgs")
"""Optimisers tried in turn. Powell is derivative-free and converges where the default
gradient methods stall at a variance estimate of 0 (a boundary), which weekly pain data
often reach; L-BFGS is the fallback."""
_SINGULAR_TOL = 1e-2
"""Singularity tolerance on the diagonal of the Cholesky factor of cov_re / σ² (the rule of
lme4's ``isSingular``, whose default is 1e-4 with a precise optimiser; Powell stops within
about 1e-3 of a boundary, so 1e-2 — a random-effect SD below 1 % of the residual SD)."""
_PATIENT_OPTIONAL = {
    "name": pl.String,
    "planned_sessions_per_week": pl.Float64,
    "bodyweight_kg": pl.Float64,
    "programme_start_date": pl.Date,
    "surgery_date": pl.Date,
}


# --------------------------------------------------------------------------------------
# Boundary helpers
# --------------------------------------------------------------------------------------


def _cast_column(df: pl.DataFrame, col: str, dtype: Any, name: str) -> pl.DataFrame:
    current = df.schema[col]
    if current == dtype:
        return df
    if current == pl.Null or df.get_column(col).null_count() == df.height:
        return df.with_columns(pl.lit(None, dtype=dtype).alias(col))
    if dtype == pl.Date and isinstance(current, pl.Datetime):
        return df.with_columns(pl.col(col).dt.date())
    if dtype == pl.Date and current == pl.String:
        try:
            return df.with_columns(pl.col(col).str.to_date("%Y-%m-%d", strict=True))
        except pl.exceptions.PolarsError as exc:
            raise OptionError(f"{name}.{col} must hold dates (YYYY-MM-DD), got unparsable text") from exc
    if dtype == pl.Float64 and current.is_numeric():
        return df.with_columns(pl.col(col).cast(pl.Float64).fill_nan(None))
    if dtype == pl.String and (current.is_integer() or isinstance(current, pl.Categorical | pl.Enum)):
        return df.with_columns(pl.col(col).cast(pl.String))
    raise OptionError(f"{name}.{col} must be {dtype}, got {current}")


def _patients(patients: Frame, name: str = "patients") -> pl.DataFrame:
    """The ``patients`` table with every optional column (null when absent), one row per patient."""
    df = as_polars(patients, name)
    require_columns(df, ["patient_id"], name)
    df = _cast_column(df, "patient_id", pl.String, name)
    for col, dtype in _PATIENT_OPTIONAL.items():
        if col not in df.columns:
            df = df.with_columns(pl.lit(None, dtype=dtype).alias(col))
        df = _cast_column(df, col, dtype, name)
    df = df.select("patient_id", *_PATIENT_OPTIONAL).filter(pl.col("patient_id").is_not_null())
    dup = df.filter(pl.col("patient_id").is_duplicated())
    if dup.height:
        raise OptionError(
            f"{name} must have one row per patient_id, got repeated rows for {dup['patient_id'][0]!r}"
        )
    return df


def _bodyweights(pts: pl.DataFrame | None) -> pl.DataFrame | None:
    if pts is None:
        return None
    return pts.select("patient_id", "bodyweight_kg").filter(pl.col("bodyweight_kg").is_not_null())


def _table(
    frame: Frame, name: str, ids: pl.Series | None = None, *, date: str = "local_date"
) -> pl.DataFrame:
    """A canonical table (or an analysis result dated by ``date``) as polars, checked for
    ``patient_id`` and ``date``, optionally restricted to the patients ``ids``."""
    df = as_polars(frame, name)
    require_columns(df, ["patient_id", date], name)
    df = _cast_column(df, "patient_id", pl.String, name)
    df = _cast_column(df, date, pl.Date, name)
    if ids is None:
        return df
    keep = df.get_column("patient_id").is_in(ids.implode())
    # Copy the (possibly large) table only when some rows belong to other patients.
    return df if keep.all() else df.filter(keep)


# --------------------------------------------------------------------------------------
# 1. One row per patient
# --------------------------------------------------------------------------------------


def cohort_table(
    sets: Frame,
    sessions: Frame | None,
    pain_entries: Frame,
    patients: Frame,
    *,
    outcome_measures: Frame | None = None,
    session_load: Frame | None = None,
    daily_load: Frame | None = None,
    daily_pain: Frame | None = None,
    flags: Frame | None = None,
) -> pl.DataFrame:
    """One row per patient: period, training dose, adherence, pain outcome and flag counts.

    The numbers are those of :func:`toolkit.analysis.analyse_patient` for each patient
    over all of their data, computed for every patient at once. A caller that has
    already computed the load, pain or flag families for the same tables (as
    :func:`toolkit.analysis.summary.analyse_cohort` does) passes them on instead of
    having them computed twice.

    Parameters
    ----------
    sets
        Canonical ``sets`` table (polars or pandas; see
        :func:`toolkit.analysis.load.session_load` for the columns used).
    sessions
        Canonical ``sessions`` table, or ``None`` (durations then unknown).
    pain_entries
        Canonical ``pain_entries`` table (``patient_id``, ``local_date``, ``pain_nrs``).
    patients
        ``patients`` table (e.g. ``Store.table("patients")`` or ``Store.patients()``):
        ``patient_id`` is required; ``name``, ``planned_sessions_per_week``,
        ``bodyweight_kg``, ``programme_start_date`` and ``surgery_date`` are used when
        present. It defines the rows: every patient in it gets one, with or without
        data; rows of other patients in the data tables are ignored.
    outcome_measures
        Optional canonical ``outcome_measures`` table; only its dates are used (for
        ``last_log``).
    session_load, daily_load, daily_pain, flags
        Results already computed from the same tables, each used instead of
        computing it here (default ``None``: computed; the table is the same either
        way): :func:`toolkit.analysis.load.session_load` (with the patients'
        ``bodyweight_kg``), :func:`toolkit.analysis.load.daily_load`,
        :func:`toolkit.analysis.pain.daily_pain` and
        :func:`toolkit.analysis.flags.standard_flags`. Rows of
        patients not in ``patients`` are ignored. ``session_load`` is read only to
        compute what is not passed (the days, the load-spike flags).

    Returns
    -------
    polars.DataFrame
        One row per patient of ``patients``, sorted by ``patient_id``
        (:data:`COHORT_TABLE_SCHEMA`):

        - ``patient_id`` (str), ``name`` (str; null when none was entered).
        - ``first_date``, ``last_date`` (date): first and last day with a logged set or
          pain rating — the period :func:`~toolkit.analysis.analyse_patient` reports.
        - ``last_log`` (date): most recent day with anything logged (a session, set,
          pain rating or outcome measure); how current the patient's record is.
        - ``days_logged_pain`` (int, days): days with at least one pain rating.
        - ``sessions`` (int): training sessions logged (0 when none).
        - ``sessions_per_week`` (float, sessions/week): Σ sessions ÷ logged training
          days × 7 (:func:`~toolkit.analysis.load.adherence`, as in
          ``PatientAnalysis.adherence``; the ``to_dict()["load"]["sessions_per_week"]``
          of a patient is the plain mean over logged weeks and differs slightly when
          the first or last week is partial); null without training.
        - ``adherence_pct`` (float, %): sessions_per_week ÷ planned sessions per week
          × 100; null when nothing is planned or there is no training.
        - ``baseline``, ``current`` (float, NRS points): mean pain of the first and of
          the last 7 logged days on or after the anchor (surgery, else programme start)
          (:func:`~toolkit.analysis.pain.pain_outcome`).
        - ``change`` (float, NRS points): current − baseline; negative = improvement.
        - ``percent_change`` (float, %): 100 · change / baseline.
        - ``mcid_reached`` (bool): improvement ≥ 2 points or ≥ 30 % (Ostelo et al. 2008).
        - ``reliable_improvement`` (bool): Reliable Change Index < −1.96 (Jacobson &
          Truax 1991).
        - ``flags_load_spike``, ``flags_too_fast_progression``, ``flags_no_rest``,
          ``flags_pain_flare`` (int): number of flags of each kind
          (:mod:`toolkit.analysis.flags`; prompts to look, not verdicts).
        - ``flags_total`` (int): their sum.
        - ``status`` (str): ``"ok"``; ``"no data"``; else what is missing or limited,
          joined by ``"; "`` (``"no training sessions"``, ``"no planned sessions per
          week: adherence unknown"``, and the pain outcome's status, e.g. ``"no pain
          entries"`` or ``"rci undefined: ..."``).

    Raises
    ------
    OptionError
        A frame is not a polars/pandas frame, a required column is missing or has the
        wrong type, or ``patients`` repeats a ``patient_id``.

    Notes
    -----
    Formulas and sources are those of the functions named above: adherence % =
    completed / prescribed sessions × 100 (``DOMAIN.md``, physio report); MCID for low
    back pain of 2 NRS points or 30 % (Ostelo et al. 2008, Spine 33:90); RCI =
    (current − baseline) / (√2 · s₁ · √(1 − r_xx)) (Jacobson & Truax 1991, J Consult
    Clin Psychol 59:12); flags as in :mod:`toolkit.analysis.flags` (session ≥ 1.5 × the
    trailing 28-day mean or EWMA-ACWR ≥ 1.5; heavy-lift top load > 10 %/week for 2
    weeks; ≥ 6 consecutive training days; pain ≥ 2 points above the trailing 7-day
    median).
    """
    pts = _patients(patients)
    ids = pts["patient_id"]
    sets_df = _table(sets, "sets", ids)
    sessions_df = None if sessions is None else _table(sessions, "sessions", ids)
    pain_df = _table(pain_entries, "pain_entries", ids)
    proms_df = None if outcome_measures is None else _table(outcome_measures, "outcome_measures", ids)
    if pts.is_empty():
        return pl.DataFrame(schema=COHORT_TABLE_SCHEMA)

    if session_load is None and (daily_load is None or flags is None):
        session_load = ld.session_load(sets_df, sessions_df, bodyweight_kg=_bodyweights(pts))
    daily = (
        ld.daily_load(None, None, session_load=session_load)
        if daily_load is None
        else _table(daily_load, "daily_load", ids, date="date")
    )
    weekly = ld.weekly_load(daily)
    adh = ld.adherence(weekly, pts.select("patient_id", "planned_sessions_per_week"))
    daily_pain = (
        pn.daily_pain(pain_df) if daily_pain is None else _table(daily_pain, "daily_pain", ids, date="date")
    )
    outcome = pn.pain_outcome(
        daily_pain, patients=pts.select("patient_id", "surgery_date", "programme_start_date")
    )
    if flags is None:
        flags = fl.standard_flags(session_load, daily, ld.weekly_top_load(sets_df), pn.flares(daily_pain))
    else:
        flags = as_polars(flags, "flags")
        require_columns(flags, ["patient_id", "kind"], "flags")

    flag_counts = flags.group_by("patient_id").agg(
        *((pl.col("kind") == kind).sum().cast(pl.Int64).alias(f"flags_{kind}") for kind in _FLAG_KINDS)
    )
    set_days = sets_df.group_by("patient_id").agg(
        lo=pl.col("local_date").min(), hi=pl.col("local_date").max()
    )
    span = (
        pl.concat(
            [
                set_days,
                daily_pain.select("patient_id", pl.col("date").alias("lo"), pl.col("date").alias("hi")),
            ]
        )
        .group_by("patient_id")
        .agg(first_date=pl.col("lo").min(), last_date=pl.col("hi").max())
    )
    log_parts = [set_days.select("patient_id", pl.col("hi").alias("date"))] + [
        df.select("patient_id", pl.col("local_date").alias("date"))
        for df in (sessions_df, pain_df, proms_df)
        if df is not None
    ]
    last_log = pl.concat(log_parts).group_by("patient_id").agg(last_log=pl.col("date").max())
    # Σ sessions per day = the sessions (each counted on the day it started).
    counts = daily.group_by("patient_id").agg(sessions=pl.col("sessions").sum().cast(pl.Int64))
    pain_days = daily_pain.group_by("patient_id").agg(days_logged_pain=pl.len().cast(pl.Int64))

    out = (
        pts.select("patient_id", "name", "planned_sessions_per_week")
        .join(span, on="patient_id", how="left")
        .join(last_log, on="patient_id", how="left")
        .join(pain_days, on="patient_id", how="left")
        .join(counts, on="patient_id", how="left")
        .join(adh.select("patient_id", "sessions_per_week", "adherence_pct"), on="patient_id", how="left")
        .join(
            outcome.select(
                "patient_id",
                "baseline",
                "current",
                "change",
                "percent_change",
                "mcid_reached",
                "reliable_improvement",
                pl.col("status").alias("__pain_status"),
            ),
            on="patient_id",
            how="left",
        )
        .join(flag_counts, on="patient_id", how="left")
        .with_columns(
            pl.col("days_logged_pain", "sessions", *(f"flags_{k}" for k in _FLAG_KINDS)).fill_null(0),
        )
        .with_columns(flags_total=pl.sum_horizontal(*(f"flags_{k}" for k in _FLAG_KINDS)))
    )
    pain_status = pl.col("__pain_status").str.strip_prefix("ok; ").str.strip_prefix("ok")
    problems = pl.concat_list(
        pl.when(pl.col("sessions") == 0).then(pl.lit("no training sessions")),
        pl.when((pl.col("sessions") > 0) & pl.col("planned_sessions_per_week").is_null()).then(
            pl.lit("no planned sessions per week: adherence unknown")
        ),
        pl.when(pain_status.is_not_null() & (pain_status != "")).then(pain_status),
    ).list.drop_nulls()
    no_data = (pl.col("sessions") == 0) & (pl.col("days_logged_pain") == 0) & pl.col("last_log").is_null()
    out = out.with_columns(
        status=pl.when(no_data)
        .then(pl.lit("no data"))
        .when(problems.list.len() == 0)
        .then(pl.lit("ok"))
        .otherwise(problems.list.join("; "))
    )
    return out.select(list(COHORT_TABLE_SCHEMA)).cast(COHORT_TABLE_SCHEMA).sort("patient_id")


# --------------------------------------------------------------------------------------
# 2. Patient × week panel
# --------------------------------------------------------------------------------------


def _centre(panel: pl.DataFrame, col: str, prefix: str) -> pl.DataFrame:
    """Add ``<prefix>_within`` = x − patient mean and ``<prefix>_between`` = patient mean −
    grand mean (the mean of the patient means, each patient weighted equally)."""
    person = pl.col(col).mean().over("patient_id")
    means = panel.group_by("patient_id").agg(pl.col(col).mean().alias("__pm"))
    grand = means["__pm"].mean() if means.height else None
    grand_value = float(grand) if isinstance(grand, int | float) else None
    return panel.with_columns(
        (pl.col(col) - person).alias(f"{prefix}_within"),
        (person - pl.lit(grand_value, dtype=pl.Float64)).alias(f"{prefix}_between"),
    )


def weekly_panel(
    sets: Frame,
    sessions: Frame | None,
    pain_entries: Frame,
    *,
    min_days_per_week: int = 4,
    patients: Frame | None = None,
    weeks: int | None = None,
    week_start: str = "monday",
) -> pl.DataFrame:
    """Weekly pain, its change and the training dose per patient × week, with
    person-mean-centred dose columns for :func:`mixed_model`.

    Parameters
    ----------
    sets, sessions
        Canonical ``sets`` and ``sessions`` tables (``sessions`` may be ``None``).
    pain_entries
        Canonical ``pain_entries`` table.
    min_days_per_week
        Rated days a week needs for ``pain_mean`` (int 1–7), default 4: a week mean
        from one or two diary days is mostly day-to-day noise.
    patients
        Optional ``patients`` table. Its ``programme_start_date`` anchors
        ``programme_week`` (else each patient's first training day does) and its
        ``bodyweight_kg`` gives bodyweight exercises their load in ``volume_kg``.
    weeks
        Keep only the programme's first ``weeks`` weeks (``0 ≤ programme_week <
        weeks``; int ≥ 1), default ``None`` keeps every week. Use it when the effect of
        interest happens early: pain cannot keep falling once it reaches its floor, and
        later weeks only dilute a dose–response. ``pain_change`` of programme week 0 is
        still taken against the week before the programme.
    week_start
        Day a week starts on, ``"monday"`` (default, ISO) … ``"sunday"``.

    Returns
    -------
    polars.DataFrame
        One row per patient × week with a pain rating or a day of training log,
        sorted by ``patient_id, week_start`` (:data:`PANEL_SCHEMA`):

        - ``patient_id`` (str), ``week_start`` (date): first day of the week.
        - ``pain_mean`` (float, NRS points): mean of the week's daily mean ratings;
          null when fewer than ``min_days_per_week`` days are rated.
        - ``pain_change`` (float, NRS points): ``pain_mean`` − the previous calendar
          week's ``pain_mean``; null when either is null (consecutive weeks only).
          Negative = pain fell.
        - ``sessions`` (int, sessions/week): sessions logged in the week; null unless
          the training log covers all 7 days (a week cut by the first or last session
          of the log would read as a low dose).
        - ``volume_kg`` (float, kg/week): volume load Σ reps × effective load; null as
          ``sessions``.
        - ``load_change_pct`` (float, %): week-over-week change of ``volume_kg``,
          ``(W_t − W_{t−1}) / W_{t−1} × 100``; null unless both weeks are complete and
          the previous one is not 0 (:func:`~toolkit.analysis.load.weekly_load`).
        - ``sessions_within`` (float, sessions/week): sessions − the patient's mean
          sessions over the panel's weeks (within-patient deviation).
        - ``sessions_between`` (float, sessions/week): the patient's mean sessions − the
          grand mean (mean of the patient means): the patient's usual dose.
        - ``load_change_within``, ``load_change_between`` (float, percentage points):
          the same decomposition of ``load_change_pct``.
        - ``programme_week`` (int, weeks): weeks since the week of the programme start
          (0 = that week, negative before it); null when the patient has neither a
          ``programme_start_date`` nor a training day.
        - ``rated_days`` (int, days): days of the week with a pain rating (0–7).
        - ``logged_days`` (int, days): days of the week covered by the training log
          (0–7; see :func:`~toolkit.analysis.load.daily_load`).

    Raises
    ------
    OptionError
        Bad option, missing column or wrong column type.

    Notes
    -----
    Person-mean centring (``DOMAIN.md``, "Mixed-effects (clinic level)"):
    ``x_it = (x_it − x̄_i) + (x̄_i − x̄)``, so a model with both parts separates the
    *within-patient* association (does a patient's pain fall more in the weeks they
    train more than usual?) from the *between-patient* one (do patients who train more
    improve faster?) (Curran & Bauer 2011, Annu Rev Psychol 62:583; Enders & Tofighi
    2007, Psychol Methods 12:121). Means are taken over the weeks in the panel (after
    ``weeks``) where the value is known; the model later drops weeks missing any
    column, so its within columns need not average exactly 0.

    Weekly change % follows ``DOMAIN.md`` ("Weekly change %"); missing ≠ zero: a week
    not covered by the training log has null sessions, never 0 (pitfall 4). The pain
    and the training weeks are the same calendar weeks, so ``pain_change`` of a week
    reflects sessions of that week *and* of the one before (pain falls after a
    session, not before it).
    """
    min_days = int_option("min_days_per_week", min_days_per_week, low=1, high=7)
    n_weeks = None if weeks is None else int_option("weeks", weeks, low=1)
    weekday = week_start_day(week_start)
    pts = _patients(patients) if patients is not None else None
    sets_df = _table(sets, "sets")
    sessions_df = None if sessions is None else _table(sessions, "sessions")
    pain_df = _table(pain_entries, "pain_entries")

    daily = ld.daily_load(sets_df, sessions_df, bodyweight_kg=_bodyweights(pts))
    weekly = ld.weekly_load(daily, week_start=week_start)
    complete = pl.col("logged_days") == 7
    training = weekly.select(
        "patient_id",
        "week_start",
        pl.when(complete).then(pl.col("sessions")).alias("sessions"),
        pl.when(complete).then(pl.col("volume_kg")).alias("volume_kg"),
        pl.col("change_pct").alias("load_change_pct"),
        "logged_days",
    )
    pain_days = pn.daily_pain(pain_df)
    pain = (
        pain_days.with_columns(week_start=week_start_of(pl.col("date"), weekday))
        .group_by("patient_id", "week_start")
        .agg(rated_days=pl.len().cast(pl.Int64), __mean=pl.col("pain_mean").mean())
        .with_columns(pain_mean=pl.when(pl.col("rated_days") >= min_days).then(pl.col("__mean")))
        .drop("__mean")
    )
    panel = pain.join(training, on=["patient_id", "week_start"], how="full", coalesce=True)
    if panel.is_empty():
        return pl.DataFrame(schema=PANEL_SCHEMA)

    previous = pl.col("week_start").shift(1).over("patient_id")
    consecutive = previous == pl.col("week_start") - pl.duration(days=7)
    panel = panel.sort("patient_id", "week_start").with_columns(
        pain_change=pl.when(consecutive).then(
            pl.col("pain_mean") - pl.col("pain_mean").shift(1).over("patient_id")
        ),
        rated_days=pl.col("rated_days").fill_null(0),
        logged_days=pl.col("logged_days").fill_null(0),
    )

    first_training = (
        daily.filter(pl.col("training_day")).group_by("patient_id").agg(__first=pl.col("date").min())
    )
    panel = panel.join(first_training, on="patient_id", how="left")
    if pts is not None:
        panel = panel.join(pts.select("patient_id", "programme_start_date"), on="patient_id", how="left")
    else:
        panel = panel.with_columns(programme_start_date=pl.lit(None, dtype=pl.Date))
    anchor_week = week_start_of(pl.coalesce("programme_start_date", "__first"), weekday)
    panel = panel.with_columns(
        programme_week=((pl.col("week_start") - anchor_week).dt.total_days() // 7).cast(pl.Int64)
    )
    if n_weeks is not None:
        panel = panel.filter((pl.col("programme_week") >= 0) & (pl.col("programme_week") < n_weeks))
        if panel.is_empty():
            return pl.DataFrame(schema=PANEL_SCHEMA)

    panel = _centre(panel.with_columns(pl.col("sessions").cast(pl.Float64).alias("__s")), "__s", "sessions")
    panel = _centre(panel, "load_change_pct", "load_change")
    return panel.select(list(PANEL_SCHEMA)).cast(PANEL_SCHEMA).sort("patient_id", "week_start")


# --------------------------------------------------------------------------------------
# 3. Mixed model
# --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CohortModel:
    """A fitted linear mixed model of a weekly outcome on within- and between-patient dose.

    Attributes
    ----------
    fixed_effects
        One row per fixed-effect term (:data:`FIXED_EFFECTS_SCHEMA`): ``term``
        (``Intercept``, ``sessions_within``, ``sessions_between``,
        ``load_change_within``, ``load_change_between``), ``estimate`` (outcome units
        per predictor unit: NRS points per session/week, per percentage point of load
        change; the intercept in NRS points), ``std_error``, ``ci_low`` and ``ci_high``
        (Wald interval at level 1 − ``alpha``), ``p_value`` (two-sided Wald z).
    patient_slopes
        One row per patient in the model (:data:`PATIENT_SLOPES_SCHEMA`):
        ``patient_id``; ``own_slope`` (NRS points per session, that patient's own OLS
        slope of the outcome on ``sessions_within`` alone) with ``own_ci_low`` and
        ``own_ci_high`` (t interval, null with fewer than 3 weeks or no variation in
        sessions); ``pooled_slope`` (fixed ``sessions_within`` effect + the patient's
        predicted random slope (BLUP): the partially pooled estimate, shrunk from the
        own slope towards the fixed effect; equal to the fixed effect when the model
        has no random slope); ``n_weeks`` (weeks of the patient in the model).
    n_patients, n_observations
        Patients and patient-weeks in the model (weeks with the outcome and all four
        predictors).
    converged
        The final fit's optimiser converged.
    random_slope
        The reported fit has a random slope of ``sessions_within`` (False after the
        fallback to a random intercept, or when not asked for).
    formula, re_formula
        The fixed-effects formula and the random-effects formula (``"~sessions_within"``
        or ``"1"``).
    outcome
        Outcome column.
    alpha
        1 − confidence level of the intervals.
    variance_components
        ``intercept_var`` (NRS²), ``slope_var`` (NRS² per session²; null without random
        slope), ``intercept_slope_cov`` and ``residual_var`` (NRS²).
    notes
        What happened during fitting (fallbacks, boundary estimates, optimiser
        warnings) and the model's limitations, in plain words.
    """

    fixed_effects: pl.DataFrame
    patient_slopes: pl.DataFrame
    n_patients: int
    n_observations: int
    converged: bool
    random_slope: bool
    formula: str
    notes: tuple[str, ...] = ()
    re_formula: str = "1"
    outcome: str = "pain_change"
    alpha: float = 0.05
    variance_components: dict[str, float | None] = field(default_factory=dict)

    def effect(self, term: str) -> dict[str, Any]:
        """The ``fixed_effects`` row of ``term`` as a dict (raises OptionError if absent)."""
        rows = self.fixed_effects.filter(pl.col("term") == term)
        if rows.is_empty():
            raise OptionError(
                f"term must be one of {', '.join(self.fixed_effects['term'].to_list())}, got {term!r}"
            )
        return rows.row(0, named=True)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: every attribute, frames as lists of records, NaN as None."""
        return {
            "outcome": self.outcome,
            "formula": self.formula,
            "re_formula": self.re_formula,
            "n_patients": self.n_patients,
            "n_observations": self.n_observations,
            "converged": self.converged,
            "random_slope": self.random_slope,
            "alpha": self.alpha,
            "fixed_effects": json_records(self.fixed_effects),
            "patient_slopes": json_records(self.patient_slopes),
            "variance_components": {k: json_number(v) for k, v in self.variance_components.items()},
            "notes": list(self.notes),
        }


def _is_singular(cov_re: np.ndarray, scale: float) -> bool:
    """The rule of lme4's ``isSingular``: a diagonal element of the Cholesky factor of the
    relative random-effects covariance (cov_re / residual variance) below ``_SINGULAR_TOL``."""
    if not np.all(np.isfinite(cov_re)) or not math.isfinite(scale) or scale <= 0:
        return True
    try:
        chol = np.linalg.cholesky(cov_re / scale)
    except np.linalg.LinAlgError:
        return True
    return bool(np.any(np.abs(np.diag(chol)) < _SINGULAR_TOL))


def _fit(data: Any, formula: str, re_formula: str | None) -> tuple[Any, list[str], list[str]]:
    """Fit one MixedLM by REML; return (result or None, problems, warning messages).

    Warnings are recorded locally (never silenced globally) and returned as text.
    """
    import statsmodels.formula.api as smf

    problems: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = smf.mixedlm(formula, data, groups=data["patient_id"], re_formula=re_formula)
            result = model.fit(reml=True, method=list(_METHODS))
            # The standard errors take a square root of the covariance diagonal, which
            # warns when a variance came out negative: read them inside the catch.
            fe_se = np.asarray(result.bse_fe, dtype=float)
        except (np.linalg.LinAlgError, ValueError) as exc:
            result = None
            problems.append(f"the fit failed ({type(exc).__name__}: {exc})")
    messages = list(dict.fromkeys(f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught))
    if result is None:
        return None, problems, messages
    if not result.converged:
        problems.append("the optimiser did not converge")
    if _is_singular(np.asarray(result.cov_re, dtype=float), float(result.scale)):
        problems.append("the random-effects covariance is singular (a variance at 0 or a correlation at ±1)")
    if not np.all(np.isfinite(fe_se)):
        problems.append("the fixed-effect standard errors are not finite")
    if any("Hessian matrix" in m and "not positive definite" in m for m in messages):
        problems.append("the Hessian is not positive definite")
    return result, problems, messages


def _own_slopes(data: pl.DataFrame, outcome: str, alpha: float) -> pl.DataFrame:
    """Per-patient OLS slope of ``outcome`` on ``sessions_within`` with a t interval."""
    x, y = pl.col(_SLOPE), pl.col(outcome)
    per = (
        data.group_by("patient_id")
        .agg(
            n_weeks=pl.len().cast(pl.Int64),
            sxx=((x - x.mean()) ** 2).sum(),
            sxy=((x - x.mean()) * (y - y.mean())).sum(),
            syy=((y - y.mean()) ** 2).sum(),
        )
        .with_columns(own_slope=pl.when(pl.col("sxx") > 1e-12).then(pl.col("sxy") / pl.col("sxx")))
        .with_columns(
            se=pl.when((pl.col("n_weeks") >= 3) & pl.col("own_slope").is_not_null()).then(
                (
                    (pl.col("syy") - pl.col("own_slope") * pl.col("sxy")).clip(lower_bound=0.0)
                    / (pl.col("n_weeks") - 2)
                    / pl.col("sxx")
                ).sqrt()
            )
        )
    )
    df = np.maximum(per["n_weeks"].to_numpy().astype(float) - 2.0, 1.0)
    tq = stats.t.ppf(1.0 - alpha / 2.0, df)
    return per.with_columns(__t=pl.Series(tq, dtype=pl.Float64)).with_columns(
        own_ci_low=pl.col("own_slope") - pl.col("__t") * pl.col("se"),
        own_ci_high=pl.col("own_slope") + pl.col("__t") * pl.col("se"),
    )


def mixed_model(
    panel: Frame,
    *,
    outcome: str = "pain_change",
    random_slope: bool = True,
    alpha: float = 0.05,
) -> CohortModel:
    """Linear mixed model of weekly pain change on within- and between-patient training dose.

    Parameters
    ----------
    panel
        :func:`weekly_panel` output (polars or pandas): ``patient_id``, the outcome
        and ``sessions_within``, ``sessions_between``, ``load_change_within``,
        ``load_change_between``. Weeks missing any of them are left out.
    outcome
        Numeric outcome column, default ``"pain_change"`` (NRS points per week;
        negative = improvement). ``"pain_mean"`` models the weekly level instead.
    random_slope
        Fit a random slope of ``sessions_within`` per patient (default True). When that
        fit does not converge or is singular, the model falls back to a random
        intercept only and says so in ``notes``.
    alpha
        1 − confidence level of the intervals (0 < alpha < 1), default 0.05.

    Returns
    -------
    CohortModel
        Fixed effects with confidence intervals, per-patient own and partially pooled
        slopes, variance components, convergence and notes (see :class:`CohortModel`).

    Raises
    ------
    OptionError
        Bad option; a missing or non-numeric column; fewer than 3 patients or fewer
        weeks than 2 per fixed effect with complete data; a predictor without
        variation (its effect cannot be estimated).

    Notes
    -----
    Model (``DOMAIN.md``, "Mixed-effects (clinic level)"), for patient *i*, week *t*::

        y_it = β0 + β1·(s_it − s̄_i) + β2·(s̄_i − s̄) + β3·(l_it − l̄_i) + β4·(l̄_i − l̄)
               + b0i + b1i·(s_it − s̄_i) + ε_it,
        (b0i, b1i) ~ N(0, G),  ε_it ~ N(0, σ²) independent,

    with *s* = sessions/week and *l* = weekly load change %, fitted by REML with
    statsmodels ``smf.mixedlm(y ~ sessions_within + sessions_between +
    load_change_within + load_change_between, groups=patient_id,
    re_formula="~sessions_within")``. β1 is the within-patient association (the
    clinically relevant one), β2 the between-patient one (Curran & Bauer 2011; Enders &
    Tofighi 2007). ``pooled_slope`` = β1 + b̂1i, the BLUP-based partially pooled
    slope, lies between the patient's own slope and β1 (shrinkage; Gelman & Hill 2007,
    ch. 12).

    REML is maximised with Powell's derivative-free method, then L-BFGS if Powell fails:
    the default gradient methods often stall when a variance is estimated at 0, which
    weekly pain data reach easily. The random-slope fit is replaced by a
    random-intercept fit when the optimiser does not converge, the Hessian is not
    positive definite, a fixed-effect SE is not finite, or G is singular by the rule of
    lme4's ``isSingular`` (a diagonal element of the Cholesky factor of G/σ² below
    1e-2 here; Bates et al. 2015, J Stat Softw 67(1)). Convergence warnings are
    recorded locally (never silenced globally) and reported in ``notes``.

    ``pain_change`` is a difference of weekly means, so week-to-week noise alone gives
    its residuals a lag-1 correlation of about −0.5 within a patient. A random
    intercept can only express positive within-patient correlation, so its variance
    is often estimated at 0 (then the fixed effects equal pooled OLS and ``notes`` say
    so). Modelling ``pain_mean`` with last week's pain as a covariate is the usual
    alternative (``DOMAIN.md`` workarounds).

    Limitations (statsmodels.org/stable/mixed_linear.html): residuals are independent
    and homoscedastic — there is **no AR(1) residual structure** for weekly pain that
    carries over from week to week — and there are no crossed random effects. Wald
    intervals and z tests ignore the uncertainty in G (no Satterthwaite or
    Kenward–Roger degrees of freedom), so with few patients they are too narrow.
    Associations in observational logs are not effects of training: pain can drive
    training (pain-contingent activity) and recovery over time or regression to the
    mean can mimic a dose–response (``DOMAIN.md`` pitfalls 1–3).
    """
    if not isinstance(outcome, str) or not outcome:
        raise OptionError(f"outcome must be a column name (str), got {outcome!r}")
    if not isinstance(random_slope, bool):
        raise OptionError(f"random_slope must be True or False, got {random_slope!r}")
    ok = isinstance(alpha, numbers.Real) and not isinstance(alpha, bool) and 0.0 < float(alpha) < 1.0
    if not ok:
        raise OptionError(f"alpha must be a number in (0, 1), got {alpha!r}")
    alpha = float(alpha)
    if outcome in (*_PREDICTORS, "patient_id"):
        raise OptionError(f"outcome must not be a predictor or the grouping column, got {outcome!r}")

    df = as_polars(panel, "panel")
    columns = ["patient_id", outcome, *_PREDICTORS]
    require_columns(df, columns, "panel")
    df = _cast_column(df.select(columns), "patient_id", pl.String, "panel")
    for col in (outcome, *_PREDICTORS):
        if not df.schema[col].is_numeric() and df.schema[col] != pl.Null:
            raise OptionError(f"panel.{col} must be numeric, got {df.schema[col]}")
        df = _cast_column(df, col, pl.Float64, "panel")
    data = df.drop_nulls().sort("patient_id")
    n_obs, n_pat = data.height, data["patient_id"].n_unique()
    n_fixed = 1 + len(_PREDICTORS)
    if n_pat < 3 or n_obs < 2 * n_fixed:
        raise OptionError(
            f"panel must have ≥ 3 patients and ≥ {2 * n_fixed} weeks with {outcome} and every "
            f"predictor known, got {n_pat} patients and {n_obs} weeks"
        )
    for col in _PREDICTORS:
        if float(data[col].std() or 0.0) <= 1e-12:
            raise OptionError(
                f"panel.{col} does not vary over the complete weeks: its effect cannot be estimated"
            )

    formula = f"{outcome} ~ " + " + ".join(_PREDICTORS)
    pdata = data.to_pandas()
    notes: list[str] = []
    result, used_slope, re_formula = None, False, "1"
    if random_slope:
        result, problems, messages = _fit(pdata, formula, f"~{_SLOPE}")
        if problems or result is None:
            notes.append(
                f"random-slope model (re_formula ~{_SLOPE}) not used: {'; '.join(problems)}; "
                "fell back to a random intercept only"
            )
            if messages:
                notes.append("warnings of the random-slope fit: " + " | ".join(messages))
            result = None
        else:
            used_slope, re_formula = True, f"~{_SLOPE}"
            if messages:
                notes.append("warnings during the fit (final fit converged): " + " | ".join(messages))
    if result is None:
        result, problems, messages = _fit(pdata, formula, None)
        if result is None:
            raise OptionError(f"the random-intercept model could not be fitted: {'; '.join(problems)}")
        boundary = [p for p in problems if p.startswith("the random-effects covariance is singular")]
        other = [p for p in problems if p not in boundary]
        if boundary:
            # At a variance of 0 the Hessian of the variance parameter is not positive
            # definite by construction; the fixed-effect SEs are checked separately.
            other = [p for p in other if p != "the Hessian is not positive definite"]
        if boundary:
            notes.append(
                "the random-intercept variance is estimated at 0 (boundary): patients' mean outcomes "
                "do not differ beyond week-to-week noise, so the fixed effects equal pooled OLS"
            )
        if other:
            notes.append("random-intercept fit: " + "; ".join(other))
        if messages:
            notes.append("warnings of the random-intercept fit: " + " | ".join(messages))
    converged = bool(result.converged)

    fe = result.fe_params
    se = np.asarray(result.bse_fe, dtype=float)
    z = stats.norm.ppf(1.0 - alpha / 2.0)
    est = np.asarray(fe, dtype=float)
    pvals = 2.0 * stats.norm.sf(np.abs(est / se))
    fixed = pl.DataFrame(
        {
            "term": [str(t) for t in fe.index],
            "estimate": est,
            "std_error": se,
            "ci_low": est - z * se,
            "ci_high": est + z * se,
            "p_value": pvals,
        },
        schema=FIXED_EFFECTS_SCHEMA,
    ).with_columns(pl.col(pl.Float64).fill_nan(None))

    beta_within = float(fe[_SLOPE])
    blup_rows = []
    for pid, effects in result.random_effects.items():
        slope_blup = float(effects[_SLOPE]) if used_slope and _SLOPE in effects.index else 0.0
        blup_rows.append((str(pid), beta_within + slope_blup))
    pooled = pl.DataFrame(
        blup_rows, schema={"patient_id": pl.String, "pooled_slope": pl.Float64}, orient="row"
    )
    slopes = (
        _own_slopes(data, outcome, alpha)
        .join(pooled, on="patient_id", how="left")
        .select(list(PATIENT_SLOPES_SCHEMA))
        .cast(PATIENT_SLOPES_SCHEMA)
        .sort("patient_id")
    )
    if not used_slope:
        notes.append("no random slope: pooled_slope is the fixed sessions_within effect for every patient")

    cov_re = np.asarray(result.cov_re, dtype=float)
    components: dict[str, float | None] = {
        "intercept_var": float(cov_re[0, 0]),
        "slope_var": float(cov_re[1, 1]) if used_slope else None,
        "intercept_slope_cov": float(cov_re[0, 1]) if used_slope else None,
        "residual_var": float(result.scale),
    }
    notes.append(
        "limitations: residuals are assumed independent and homoscedastic (statsmodels MixedLM has no "
        "AR(1) residual structure and no crossed random effects); Wald intervals ignore the uncertainty "
        "of the variance components (no Satterthwaite/Kenward–Roger df)"
    )
    return CohortModel(
        fixed_effects=fixed,
        patient_slopes=slopes,
        n_patients=n_pat,
        n_observations=n_obs,
        converged=converged,
        random_slope=used_slope,
        formula=formula,
        notes=tuple(notes),
        re_formula=re_formula,
        outcome=outcome,
        alpha=alpha,
        variance_components=components,
    )


# --------------------------------------------------------------------------------------
# 4. In words
# --------------------------------------------------------------------------------------


def _fmt(x: float) -> str:
    return f"{x:.2f}".replace("-", "−")


def _interval(row: dict[str, Any], level: int, *, flip: bool) -> str:
    lo, hi = (-row["ci_high"], -row["ci_low"]) if flip else (row["ci_low"], row["ci_high"])
    return f"{level} % CI {_fmt(lo)} to {_fmt(hi)}"


def _sentence(row: dict[str, Any], model: CohortModel, *, per: str, scale: float, where: str) -> str:
    level = round(100 * (1 - model.alpha))
    row = {
        k: (v * scale if isinstance(v, float) and k in ("estimate", "ci_low", "ci_high") else v)
        for k, v in row.items()
    }
    est = row["estimate"]
    clear = row["ci_low"] > 0 or row["ci_high"] < 0
    if model.outcome == "pain_change":
        if est <= 0:
            text = f"{per} goes with a {_fmt(-est)}-point larger weekly fall in pain ({_interval(row, level, flip=True)})"
        else:
            text = f"{per} goes with a {_fmt(est)}-point smaller weekly fall (or larger rise) in pain ({_interval(row, level, flip=False)})"
    else:
        text = f"{per} goes with a change of {_fmt(est)} in {model.outcome} ({_interval(row, level, flip=False)})"
    verdict = "" if clear else f"; the interval includes 0, so no clear association {where}"
    return f"{text}, {where}{verdict}."


def describe(model: CohortModel) -> list[str]:
    """The fitted model in plain sentences: the within- and between-patient associations,
    what the model could not do, and the caveats that go with any such association.

    Parameters
    ----------
    model
        :func:`mixed_model` output.

    Returns
    -------
    list of str
        Sentences: the within-patient dose association, the between-patient one, the
        load-change association (per 10 percentage points), the fitting notes, the
        association caveat and the MixedLM limitations.

    Notes
    -----
    The first sentence reads like "Across 40 patients (480 patient-weeks), each extra
    session in a week (compared with the patient's usual week) goes with a 0.33-point
    larger weekly fall in pain (95 % CI 0.22 to 0.44), within patients." Signs are
    turned into words (fall / smaller fall or larger rise) and the interval is quoted
    on the same scale; when it includes 0 the sentence says there is no clear
    association.
    """
    if not isinstance(model, CohortModel):
        raise OptionError(f"model must be a CohortModel, got {type(model).__name__}")
    lead = f"Across {model.n_patients} patients ({model.n_observations} patient-weeks), "
    lines = [
        lead
        + _sentence(
            model.effect("sessions_within"),
            model,
            per="each extra session in a week (compared with the patient's usual week)",
            scale=1.0,
            where="within patients",
        ),
        "Between patients, "
        + _sentence(
            model.effect("sessions_between"),
            model,
            per="training one more session per week on average than other patients",
            scale=1.0,
            where="between patients",
        ),
        "Within patients, "
        + _sentence(
            model.effect("load_change_within"),
            model,
            per="a week with 10 percentage points more week-on-week volume increase than usual",
            scale=10.0,
            where="within patients",
        ),
    ]
    if model.random_slope:
        var = model.variance_components.get("slope_var")
        if var is not None and var >= 0:
            lines.append(
                f"Patients differ in this within-patient slope (SD {_fmt(math.sqrt(var))} points per session); "
                "each patient's partially pooled slope is in patient_slopes."
            )
    if not model.converged:
        lines.append("Warning: the model fit did not converge; treat these numbers as unreliable.")
    lines.extend(n for n in model.notes if not n.startswith("limitations:"))
    lines.append(
        "These are associations in observational training logs, not effects of training: pain also "
        "drives training (patients skip or lighten sessions when pain is high), and recovery over time "
        "or regression to the mean can look like a dose–response."
    )
    lines.append(
        "Model limitations (statsmodels MixedLM): residuals are assumed independent and equally variable, "
        "with no AR(1) structure for pain that carries over from week to week and no crossed random "
        "effects, and the Wald intervals ignore the uncertainty of the variance components — with few "
        "patients the intervals are too narrow."
    )
    if model.outcome == "pain_change":
        lines.append(
            "Weekly pain change is a difference of weekly means, so noise alone makes consecutive changes "
            "negatively correlated (about −0.5), which the model cannot represent."
        )
    return lines
