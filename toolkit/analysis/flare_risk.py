"""Short-term flare risk from the training log: causal daily features and a validated model.

Two functions, used in this order:

=======================  =================================================================
:func:`flare_features`   one row per patient × day *t*: load, rest and spike features
                         computed only from days ≤ *t*, pain at *t*, and the label
                         "a flare episode starts in (t, t + horizon]"
:func:`flare_risk`       a logistic model per patient (long histories) or pooled across
                         the cohort, validated out of sample in time order against the
                         no-skill base rate; hidden unless it beats that baseline
:func:`time_folds`       the expanding-window, time-ordered folds both use
=======================  =================================================================

What this is and is not
-----------------------
It is a *forecast check*, not a causal analysis: a model that beats the base rate says
the training log carries information about flares in the next days for these data; it
does not say the load caused them (reverse causation and confounding by time,
``DOMAIN.md`` pitfalls 2–3). The ACWR is a descriptive spike detector whose risk
thresholds are disputed (Impellizzeri et al. 2020; Lolli et al. 2019), so it enters as
one continuous input among others, never as a verdict. Flares are statistical episodes
(:func:`toolkit.analysis.pain.flares`: ≥ 2 NRS points above the trailing 7-day median),
not clinical diagnoses.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from toolkit.analysis._frames import as_polars, cast_columns, json_records, require_columns
from toolkit.analysis._options import float_option, int_option
from toolkit.analysis.flags import load_spikes
from toolkit.analysis.load import acwr as _acwr
from toolkit.exceptions import OptionError

if TYPE_CHECKING:
    import pandas as pd

    Frame = pl.DataFrame | pd.DataFrame
else:
    Frame = Any

__all__ = [
    "FlareRisk",
    "flare_features",
    "flare_risk",
    "time_folds",
]

_ACUTE_DAYS = 7
"""Length of the short windows (``load_7d``, ``rest_days_7d``, ``sessions_7d``) and of the
acute EWMA; fixed because the feature names carry it."""
_SPIKE_RECENT_DAYS = 3
"""``spike_last_3d`` looks at t − 2 … t (the planted and reported flare lag is 1–2 days)."""

_KEYS = ("patient_id", "date")
_LABEL = "flare_next"
_POOLED = "pooled"
_PATIENT = "patient"
_ALL = "all"

SCOPE_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "scope": pl.String(),
    "n_days": pl.Int64(),
    "n_events": pl.Int64(),
}
VALIDATION_SCHEMA: dict[str, pl.DataType] = {
    "scope": pl.String(),
    "patient_id": pl.String(),
    "n_days": pl.Int64(),
    "n_events": pl.Int64(),
    "n_folds": pl.Int64(),
    "n_scored": pl.Int64(),
    "n_scored_events": pl.Int64(),
    "brier": pl.Float64(),
    "brier_no_skill": pl.Float64(),
    "brier_skill_score": pl.Float64(),
    "bss_ci_low": pl.Float64(),
    "bss_ci_high": pl.Float64(),
    "auc": pl.Float64(),
    "beats_baseline": pl.Boolean(),
    "shown": pl.Boolean(),
}
RELIABILITY_SCHEMA: dict[str, pl.DataType] = {
    "scope": pl.String(),
    "patient_id": pl.String(),
    "bin": pl.Int64(),
    "mean_predicted": pl.Float64(),
    "observed_rate": pl.Float64(),
    "n": pl.Int64(),
}
COEFFICIENT_SCHEMA: dict[str, pl.DataType] = {
    "scope": pl.String(),
    "patient_id": pl.String(),
    "feature": pl.String(),
    "coefficient": pl.Float64(),
    "odds_ratio_per_sd": pl.Float64(),
}
LATEST_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "date": pl.Date(),
    "probability": pl.Float64(),
    "scope": pl.String(),
}
FOLD_SCHEMA: dict[str, pl.DataType] = {
    "scope": pl.String(),
    "patient_id": pl.String(),
    "fold": pl.Int64(),
    "train_start": pl.Date(),
    "train_end": pl.Date(),
    "test_start": pl.Date(),
    "test_end": pl.Date(),
    "n_train": pl.Int64(),
    "n_test": pl.Int64(),
    "train_events": pl.Int64(),
    "train_base_rate": pl.Float64(),
    "evaluated": pl.Boolean(),
}
PREDICTION_SCHEMA: dict[str, pl.DataType] = {
    "scope": pl.String(),
    "patient_id": pl.String(),
    "date": pl.Date(),
    "fold": pl.Int64(),
    "flare_next": pl.Boolean(),
    "probability": pl.Float64(),
    "no_skill_probability": pl.Float64(),
}


# --------------------------------------------------------------------------------------
# Option and frame validation at the boundary
# --------------------------------------------------------------------------------------


def _empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _input(frame: Any, name: str, schema: dict[str, Any], *, one_per_day: bool = True) -> pl.DataFrame:
    df = as_polars(frame, name)
    require_columns(df, list(schema), name)
    df = cast_columns(df.select(list(schema)), schema, name, loose=True).filter(
        pl.col("patient_id").is_not_null() & pl.col("date").is_not_null()
    )
    dup = df.select(pl.struct(*_KEYS).is_duplicated().sum()).item()
    if dup and one_per_day:
        raise OptionError(
            f"{name} must have one row per patient_id and date, got {dup} rows on repeated days"
        )
    return df


# --------------------------------------------------------------------------------------
# 1. Features
# --------------------------------------------------------------------------------------


def _feature_schema(window_days: int) -> dict[str, pl.DataType]:
    w = window_days
    return {
        "patient_id": pl.String(),
        "date": pl.Date(),
        "load_7d": pl.Float64(),
        f"load_{w}d": pl.Float64(),
        "acwr": pl.Float64(),
        f"spikes_{w}d": pl.Int64(),
        "spike_last_3d": pl.Boolean(),
        "streak_days": pl.Int64(),
        "rest_days_7d": pl.Int64(),
        f"rest_days_{w}d": pl.Int64(),
        "sessions_7d": pl.Int64(),
        "days_since_last_session": pl.Int64(),
        "pain_today": pl.Float64(),
        _LABEL: pl.Boolean(),
    }


def _shift_days(frame: pl.DataFrame, days: range) -> pl.DataFrame:
    """``patient_id, date − k`` for every row and every ``k`` in ``days`` (unique)."""
    if frame.is_empty():
        return pl.DataFrame(schema={"patient_id": pl.String, "date": pl.Date})
    return pl.concat(
        [frame.select("patient_id", pl.col("date") - pl.duration(days=k)) for k in days]
    ).unique()


def flare_features(
    daily_load: Frame,
    daily_pain: Frame,
    flares: Frame,
    *,
    window_days: int = 28,
    horizon_days: int = 2,
    include_unlabelled: bool = False,
) -> pl.DataFrame:
    """Daily training-load features known at day *t* and the label "a flare starts soon".

    Parameters
    ----------
    daily_load
        :func:`toolkit.analysis.load.daily_load` output (``patient_id, date, sessions,
        volume_kg, training_day, logged, rest_day, streak_days``), on its complete
        calendar.
    daily_pain
        :func:`toolkit.analysis.pain.daily_pain` output (``patient_id, date,
        pain_mean``).
    flares
        :func:`toolkit.analysis.pain.flares` output (``patient_id, date`` = first day of
        each episode); other columns are ignored.
    window_days
        Length of the long windows in days (int ≥ 8, default 28): the chronic window of
        the EWMA-ACWR, the trailing window of :func:`toolkit.analysis.flags.load_spikes`
        and of ``load_{W}d``, ``spikes_{W}d``, ``rest_days_{W}d`` (``W`` =
        ``window_days`` in the column names).
    horizon_days
        Label horizon in days (int ≥ 1, default 2: the 1–2-day lag reported between a
        load spike and a flare).
    include_unlabelled
        Keep the days whose label cannot be known yet (the last ``horizon_days`` of the
        diary and days followed by no rating), with ``flare_next`` null. Default False
        (dropped). Pass True to let :func:`flare_risk` score the most recent days.

    Returns
    -------
    polars.DataFrame
        One row per patient × day that is a *logged* day of the training calendar
        (``daily_load.logged``) and has a pain rating, sorted by ``patient_id, date``.
        Every feature uses only days ≤ *t*; a window feature is null unless all its days
        are logged calendar days (missing ≠ zero, ``DOMAIN.md`` pitfall 4), so the first
        days of each calendar and days after a logging gap have nulls:

        - ``patient_id`` (str), ``date`` (Date): the day *t*.
        - ``load_7d`` (float, kg): Σ ``volume_kg`` over t − 6 … t (rest days 0).
        - ``load_{W}d`` (float, kg): Σ ``volume_kg`` over the ``window_days`` days
          ending at *t*.
        - ``acwr`` (float, ratio): EWMA acute:chronic workload ratio of ``volume_kg``
          (:func:`toolkit.analysis.load.acwr`, Williams et al. 2017, λ = 2/(N + 1),
          N = 7 and ``window_days``); null during the first ``window_days`` calendar
          days (warm-up) and when the chronic EWMA is 0. A descriptive spike measure.
        - ``spikes_{W}d`` (int, days): days in the ``window_days`` days ending at *t*
          with a load spike (:func:`toolkit.analysis.flags.load_spikes`: the day's
          volume ≥ 1.5 × the mean volume of the training days of the previous
          ``window_days`` days, after ≥ 4 of them).
        - ``spike_last_3d`` (bool): a load spike on t − 2, t − 1 or *t*.
        - ``streak_days`` (int, days): consecutive training days ending at *t* (0 on a
          rest day), from ``daily_load``.
        - ``rest_days_7d`` (int, days): logged rest days in t − 6 … t.
        - ``rest_days_{W}d`` (int, days): logged rest days in the long window.
        - ``sessions_7d`` (int, sessions): sessions in t − 6 … t.
        - ``days_since_last_session`` (int, days): *t* − the last training day ≤ *t*
          (0 on a training day).
        - ``pain_today`` (float, NRS 0–10): ``pain_mean`` on *t* (known at *t*: rated
          the same evening).
        - ``flare_next`` (bool): a flare episode starts on a day in (t, t + horizon]
          — after *t*, never on *t* itself. Null (row dropped unless
          ``include_unlabelled``) when t + horizon is after the patient's last diary
          day or no rating exists in (t, t + horizon], because an unrated day cannot
          show a flare (missing ≠ no flare).

    Raises
    ------
    OptionError
        A missing column, a column of the wrong type, repeated days, or a bad option.

    Notes
    -----
    All windows are polars ``rolling_*_by("date", "<n>d")`` per patient
    (``.over("patient_id")``), closed on the right: the window of *t* is
    (t − n days, t]. Load spikes compare a day with the days *before* it, the EWMA is a
    recursive filter of past values, and the streak and rest-day counts look back
    only, so every feature of *t* is unchanged when data after *t* is deleted or
    altered (proved in the tests). Day-level spikes: ``load_spikes`` is given one row
    per training day (the day's total volume), so two sessions on one day count as one.

    ``daily_load.logged`` is decided in hindsight (a run of more than
    ``max_gap_days`` days without a session is a logging gap); such days are not
    rows, and windows over them are null. No feature value uses it beyond *t*.

    The label follows the prediction target of short-horizon forecasting: an event in
    (t, t + h], with features fixed at *t* (rolling-origin evaluation, Tashman 2000,
    Int J Forecast 16:437). References for the inputs: Williams et al. 2017, BJSM
    51(3):209 (EWMA-ACWR); Gabbett 2016, BJSM 50:273 and Impellizzeri et al. 2020
    (critique); Ostelo et al. 2008, Spine 33:90 (2-point NRS change behind the flare
    threshold).

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> days = pl.date_range(dt.date(2025, 1, 1), dt.date(2025, 1, 10), eager=True)
    >>> train = [i % 2 == 0 for i in range(10)]
    >>> dl = pl.DataFrame({"patient_id": "p", "date": days, "sessions": [int(t) for t in train],
    ...     "volume_kg": [1000.0 * t for t in train], "training_day": train, "logged": True,
    ...     "rest_day": [not t for t in train], "streak_days": [int(t) for t in train]})
    >>> dp = pl.DataFrame({"patient_id": "p", "date": days, "pain_mean": 3.0})
    >>> fl = pl.DataFrame({"patient_id": ["p"], "date": [dt.date(2025, 1, 9)]})
    >>> f = flare_features(dl, dp, fl, window_days=8)
    >>> f.select("load_7d", "flare_next").tail(3).rows()  # Jan 6 (6 calendar days so far), 7, 8
    [(None, False), (4000.0, True), (3000.0, True)]
    """
    window = int_option("window_days", window_days, low=_ACUTE_DAYS + 1)
    horizon = int_option("horizon_days", horizon_days, low=1)
    if not isinstance(include_unlabelled, bool):
        raise OptionError(f"include_unlabelled must be a bool, got {include_unlabelled!r}")
    load = _input(
        daily_load,
        "daily_load",
        {
            "patient_id": pl.String,
            "date": pl.Date,
            "sessions": pl.Int64,
            "volume_kg": pl.Float64,
            "training_day": pl.Boolean,
            "logged": pl.Boolean,
            "rest_day": pl.Boolean,
            "streak_days": pl.Int64,
        },
    )
    pain = _input(
        daily_pain, "daily_pain", {"patient_id": pl.String, "date": pl.Date, "pain_mean": pl.Float64}
    )
    pain = pain.filter(pl.col("pain_mean").is_not_null() & pl.col("pain_mean").is_not_nan())
    starts = _input(flares, "flares", {"patient_id": pl.String, "date": pl.Date}, one_per_day=False).unique()
    schema = _feature_schema(window)
    if load.is_empty() or pain.is_empty():
        return _empty(schema)

    w = window
    load = load.sort(_KEYS).with_columns(pl.col("logged").fill_null(False))
    logged = pl.col("logged")
    train = pl.col("training_day").fill_null(False) & logged

    # Day-level load spikes (each compares a training day with the days before it).
    spike_input = load.filter(train & pl.col("volume_kg").is_not_null()).select(*_KEYS, "volume_kg")
    spikes = load_spikes(spike_input, window_days=w).select(*_KEYS).unique()
    ratio = _acwr(load, load="volume_kg", variant="ewma", acute_days=_ACUTE_DAYS, chronic_days=w).select(
        *_KEYS, "acwr"
    )
    df = (
        load.join(spikes.with_columns(__spike=pl.lit(1, dtype=pl.Int64)), on=list(_KEYS), how="left")
        .join(ratio, on=list(_KEYS), how="left")
        .sort(_KEYS)
        .with_columns(
            __spike=pl.col("__spike").fill_null(0),
            __logged=logged.cast(pl.Int64),
            __rest=(logged & ~train).cast(pl.Int64),
            __vol=pl.when(logged).then(pl.col("volume_kg")),
            __ses=pl.when(logged).then(pl.col("sessions")),
            __last=pl.when(train).then(pl.col("date")),
        )
    )

    def rolling(col: str, days: int) -> pl.Expr:
        return pl.col(col).rolling_sum_by("date", f"{days}d").over("patient_id")

    def full(days: int, expr: pl.Expr) -> pl.Expr:
        # null unless every day of the window is a logged calendar day
        return pl.when(rolling("__logged", days) == days).then(expr)

    def complete_sum(col: str, days: int) -> pl.Expr:
        # a logged day with a null value also makes the window unknown
        known = pl.col(col).is_not_null().cast(pl.Int64).rolling_sum_by("date", f"{days}d").over("patient_id")
        return full(days, pl.when(known == days).then(rolling(col, days)))

    df = df.with_columns(
        load_7d=complete_sum("__vol", _ACUTE_DAYS),
        **{f"load_{w}d": complete_sum("__vol", w)},
        **{f"spikes_{w}d": full(w, rolling("__spike", w))},
        spike_last_3d=rolling("__spike", _SPIKE_RECENT_DAYS) > 0,
        rest_days_7d=full(_ACUTE_DAYS, rolling("__rest", _ACUTE_DAYS)),
        **{f"rest_days_{w}d": full(w, rolling("__rest", w))},
        sessions_7d=complete_sum("__ses", _ACUTE_DAYS),
        days_since_last_session=(pl.col("date") - pl.col("__last").forward_fill().over("patient_id"))
        .dt.total_days()
        .cast(pl.Int64),
        streak_days=pl.when(logged).then(pl.col("streak_days")),
    ).filter(logged)

    df = df.join(pain.select(*_KEYS, pl.col("pain_mean").alias("pain_today")), on=list(_KEYS), how="inner")

    # Label: a flare episode starts in (t, t + h]  <=>  t ∈ [s − h, s − 1] for a start s.
    positive = _shift_days(starts, range(1, horizon + 1)).with_columns(__pos=pl.lit(True))
    rated = _shift_days(pain.select(*_KEYS), range(1, horizon + 1)).with_columns(__rated=pl.lit(True))
    last_day = pain.group_by("patient_id").agg(__end=pl.col("date").max())
    df = (
        df.join(positive, on=list(_KEYS), how="left")
        .join(rated, on=list(_KEYS), how="left")
        .join(last_day, on="patient_id", how="left")
        .with_columns(
            pl.when(
                (pl.col("date") + pl.duration(days=horizon) <= pl.col("__end"))
                & pl.col("__rated").fill_null(False)
            )
            .then(pl.col("__pos").fill_null(False))
            .alias(_LABEL)
        )
    )
    if not include_unlabelled:
        df = df.filter(pl.col(_LABEL).is_not_null())
    return df.select(pl.col(c).cast(t) for c, t in schema.items()).sort(_KEYS)


# --------------------------------------------------------------------------------------
# 2. Time-ordered folds
# --------------------------------------------------------------------------------------


def time_folds(
    dates: Sequence[dt.date] | pl.Series | np.ndarray, n_splits: int = 5
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Expanding-window folds over calendar days: training days always precede test days.

    Parameters
    ----------
    dates
        The date of every row (any order; rows of several patients may share a date).
    n_splits
        Number of folds (int ≥ 2).

    Returns
    -------
    list of (numpy.ndarray, numpy.ndarray)
        ``(train_rows, test_rows)`` per fold, as positions into ``dates``, in time
        order. Every training date is strictly earlier than every test date of the
        fold; test blocks do not overlap and together cover the latest days.

    Raises
    ------
    OptionError
        ``n_splits`` is not an int ≥ 2, or there are fewer than ``n_splits + 1``
        distinct dates.

    Notes
    -----
    :class:`sklearn.model_selection.TimeSeriesSplit` is applied to the sorted *distinct*
    dates, and each row follows its date. Splitting rows directly could put rows of one
    date — other patients' same day — on both sides of a split; splitting dates keeps a
    pooled model from learning from the day it is tested on (rolling-origin evaluation,
    Tashman 2000; Bergmeir & Benítez 2012, Inf Sci 191:192).

    Examples
    --------
    >>> import datetime as dt
    >>> d = [dt.date(2025, 1, 1) + dt.timedelta(days=i // 2) for i in range(12)]
    >>> [(tr.tolist(), te.tolist()) for tr, te in time_folds(d, n_splits=2)][0]
    ([0, 1, 2, 3], [4, 5, 6, 7])
    """
    from sklearn.model_selection import TimeSeriesSplit

    n_splits = int_option("n_splits", n_splits, low=2)
    values = pl.Series("date", dates)
    if values.dtype != pl.Date:
        try:
            values = values.cast(pl.Date)
        except pl.exceptions.PolarsError as exc:
            raise OptionError(f"dates must be dates, got dtype {values.dtype}") from exc
    if values.null_count():
        raise OptionError("dates must not contain nulls")
    unique = values.unique().sort()
    if unique.len() < n_splits + 1:
        raise OptionError(
            f"time_folds needs at least n_splits + 1 = {n_splits + 1} distinct dates, got {unique.len()}"
        )
    position = values.to_frame().with_row_index("__row")
    folds = []
    for train_days, test_days in TimeSeriesSplit(n_splits=n_splits).split(np.arange(unique.len())):
        lo_train, hi_train = unique[int(train_days[0])], unique[int(train_days[-1])]
        lo_test, hi_test = unique[int(test_days[0])], unique[int(test_days[-1])]
        tr = position.filter(pl.col("date").is_between(lo_train, hi_train))["__row"].to_numpy()
        te = position.filter(pl.col("date").is_between(lo_test, hi_test))["__row"].to_numpy()
        folds.append((np.sort(tr).astype(np.int64), np.sort(te).astype(np.int64)))
    return folds


# --------------------------------------------------------------------------------------
# 3. Model and validation
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlareRisk:
    """Validated flare-risk models of a cohort (output of :func:`flare_risk`).

    Attributes
    ----------
    scope
        One row per patient: ``patient_id``; ``scope`` (``"patient"`` = own model,
        ``"pooled"`` = the cohort model); ``n_days`` (labelled days with every feature,
        the model's rows); ``n_events`` (of which ``flare_next`` is true).
    validation
        One row per fitted model: ``scope``; ``patient_id`` (the patient, or ``"all"``
        for the pooled model); ``n_days``, ``n_events`` (rows and events it was fitted
        on); ``n_folds`` (folds evaluated; folds whose training part holds one class
        only are skipped); ``n_scored``, ``n_scored_events`` (out-of-fold rows and
        events); ``brier`` (mean (p − y)² of the out-of-fold probabilities, 0 = perfect);
        ``brier_no_skill`` (the same for the base rate of each fold's *training* rows);
        ``brier_skill_score`` (1 − brier / brier_no_skill; > 0 = better than the base
        rate; null when brier_no_skill = 0); ``bss_ci_low``, ``bss_ci_high`` (95 %
        moving-block bootstrap interval of that score over scored dates, predictions
        fixed; null when ``n_bootstrap`` = 0 or it cannot be computed); ``auc`` (ROC AUC of the out-of-fold
        probabilities; null unless both classes were scored); ``beats_baseline``
        (the 95 % interval of the skill score lies above 0 — a point estimate above 0
        is not enough: with flare dates shuffled at random it is above 0 in about one
        run in five); ``shown`` (= ``beats_baseline``: only then is the model's risk
        reported).
    reliability
        Reliability (calibration) table of every fitted model: ``scope``,
        ``patient_id``, ``bin`` (1 … ≤ 5, non-empty quantile bins of the out-of-fold
        probability), ``mean_predicted`` (mean probability in the bin),
        ``observed_rate`` (fraction of days with a flare in the horizon), ``n`` (days).
    coefficients
        ``scope``, ``patient_id``, ``feature``, ``coefficient`` (log-odds per 1 SD of
        the feature, from the model fitted on all of its rows — *standardised*, so
        features compare), ``odds_ratio_per_sd`` (exp(coefficient)). Associations for
        these data, not causal effects.
    latest_risk
        ``patient_id``, ``date`` (the patient's latest day with every feature),
        ``probability`` (of a flare starting in the next ``horizon`` days),
        ``scope`` — only for patients whose model is shown; empty otherwise.
    folds
        One row per fold of every model: ``scope``, ``patient_id``, ``fold`` (1 …),
        ``train_start``, ``train_end``, ``test_start``, ``test_end`` (Date; always
        ``train_end < test_start``), ``n_train``, ``n_test``, ``train_events``,
        ``train_base_rate`` (the no-skill forecast of the fold), ``evaluated``.
    predictions
        Out-of-fold predictions: ``scope``, ``patient_id`` (the row's patient),
        ``date``, ``fold``, ``flare_next``, ``probability``, ``no_skill_probability``.
    notes
        What was fitted, hidden, skipped or could not be computed, in plain words.
    """

    scope: pl.DataFrame
    validation: pl.DataFrame
    reliability: pl.DataFrame
    coefficients: pl.DataFrame
    latest_risk: pl.DataFrame
    folds: pl.DataFrame
    predictions: pl.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: every frame (except ``predictions``) as a list of rows, dates as
        ISO strings, non-finite numbers as None; plus ``notes``."""
        return {
            "scope": json_records(self.scope),
            "validation": json_records(self.validation),
            "reliability": json_records(self.reliability),
            "coefficients": json_records(self.coefficients),
            "latest_risk": json_records(self.latest_risk),
            "folds": json_records(self.folds),
            "notes": list(self.notes),
        }


@dataclass
class _Unit:
    """One model to fit: the pooled cohort model or one patient's own model."""

    scope: str
    key: str
    data: pl.DataFrame  # labelled complete rows, sorted by date, patient_id


@dataclass
class _Fit:
    validation: dict[str, Any]
    reliability: list[dict[str, Any]]
    coefficients: list[dict[str, Any]]
    folds: list[dict[str, Any]]
    predictions: pl.DataFrame
    model: Any


def _pipeline(c: float, random_state: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "logistic",
                LogisticRegression(C=c, class_weight=None, max_iter=1000, random_state=random_state),
            ),
        ]
    )


def _fit(pipe: Any, x: np.ndarray, y: np.ndarray, notes: list[str], label: str) -> Any:
    """Fit, turning a non-convergence warning into a note (never a silent failure)."""
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        pipe.fit(x, y)
    if any(issubclass(w.category, ConvergenceWarning) for w in caught):
        notes.append(f"{label}: the logistic regression did not fully converge; read its numbers with care.")
    return pipe


def _reliability(y: np.ndarray, p: np.ndarray, n_bins: int = 5) -> list[tuple[int, float, float, int]]:
    """``calibration_curve(strategy="quantile")`` with the count of every non-empty bin."""
    from sklearn.calibration import calibration_curve

    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="quantile", pos_label=1)
    # Same bin edges and assignment as scikit-learn (sklearn/calibration.py), for the counts.
    edges = np.percentile(p, np.linspace(0, 1, n_bins + 1) * 100)
    counts = np.bincount(np.searchsorted(edges[1:-1], p), minlength=n_bins)
    counts = counts[counts != 0]
    return [
        (i + 1, float(mp), float(ot), int(n))
        for i, (mp, ot, n) in enumerate(zip(prob_pred, prob_true, counts, strict=True))
    ]


def _bss_interval(
    oof: pl.DataFrame, *, n_bootstrap: int, block_days: int, random_state: int, level: float = 0.95
) -> tuple[float | None, float | None]:
    """Moving-block bootstrap percentile interval of the Brier skill score.

    Blocks of ``block_days`` consecutive scored dates (all rows of a date — every patient's
    same day — stay together) are drawn with replacement until the series length is
    reached; the predictions are fixed (no refit). ``BSS* = 1 − Σ(p − y)²* / Σ(b − y)²*``.
    """
    if n_bootstrap == 0:
        return None, None
    per_day = (
        oof.with_columns(
            __e=(pl.col("probability") - pl.col(_LABEL).cast(pl.Float64)) ** 2,
            __r=(pl.col("no_skill_probability") - pl.col(_LABEL).cast(pl.Float64)) ** 2,
        )
        .group_by("date")
        .agg(pl.col("__e").sum(), pl.col("__r").sum())
        .sort("date")
    )
    n = per_day.height
    if n < 2:
        return None, None
    e = per_day["__e"].to_numpy()
    r = per_day["__r"].to_numpy()
    b = min(block_days, n)
    n_blocks = math.ceil(n / b)
    rng = np.random.default_rng(random_state)
    starts = rng.integers(0, n - b + 1, size=(n_bootstrap, n_blocks))
    idx = (starts[:, :, None] + np.arange(b)).reshape(n_bootstrap, -1)[:, :n]
    num, den = e[idx].sum(axis=1), r[idx].sum(axis=1)
    ok = den > 0
    if ok.sum() < n_bootstrap / 2:
        return None, None
    lo, hi = np.percentile(1.0 - num[ok] / den[ok], [50 * (1 - level), 50 * (1 + level)])
    return float(lo), float(hi)


def _evaluate(
    unit: _Unit,
    features: list[str],
    *,
    n_splits: int,
    c: float,
    random_state: int,
    n_bootstrap: int,
    block_days: int,
    notes: list[str],
) -> _Fit | None:
    from sklearn.metrics import roc_auc_score

    label = "pooled model" if unit.scope == _POOLED else f"patient {unit.key}"
    data = unit.data
    y = data[_LABEL].cast(pl.Int64).to_numpy()
    x = data.select(features).to_numpy().astype(float)
    n_dates = data["date"].n_unique()
    if n_dates < n_splits + 1:
        notes.append(
            f"{label}: too little data for {n_splits}-fold time-ordered validation "
            f"({n_dates} distinct days, need ≥ {n_splits + 1}); no model."
        )
        return None
    if y.min() == y.max():
        kind = "no flare" if y.max() == 0 else "only flare days"
        notes.append(f"{label}: {kind} in {len(y)} labelled days; nothing to learn, no model.")
        return None

    dates = data["date"]
    fold_rows: list[dict[str, Any]] = []
    parts: list[pl.DataFrame] = []
    skipped = 0
    for k, (tr, te) in enumerate(time_folds(dates, n_splits), start=1):
        ytr = y[tr]
        base = float(ytr.mean())
        evaluated = bool(ytr.min() != ytr.max())
        fold_rows.append(
            {
                "scope": unit.scope,
                "patient_id": unit.key,
                "fold": k,
                "train_start": dates.gather(tr).min(),
                "train_end": dates.gather(tr).max(),
                "test_start": dates.gather(te).min(),
                "test_end": dates.gather(te).max(),
                "n_train": len(tr),
                "n_test": len(te),
                "train_events": int(ytr.sum()),
                "train_base_rate": base,
                "evaluated": evaluated,
            }
        )
        if not evaluated:
            # A training part with one class cannot fit a classifier; its base rate (0 or 1)
            # is not a fair comparison either, so the fold is left out of both scores.
            skipped += 1
            continue
        pipe = _fit(_pipeline(c, random_state), x[tr], ytr, notes, f"{label}, fold {k}")
        prob = pipe.predict_proba(x[te])[:, 1]
        parts.append(
            data[te]
            .select(
                pl.lit(unit.scope).alias("scope"),
                "patient_id",
                "date",
                pl.lit(k, dtype=pl.Int64).alias("fold"),
                pl.col(_LABEL),
            )
            .with_columns(
                probability=pl.Series(prob, dtype=pl.Float64),
                no_skill_probability=pl.lit(base, dtype=pl.Float64),
            )
        )
    if skipped:
        notes.append(
            f"{label}: {skipped} of {n_splits} folds skipped because their training days held "
            "one class only (no flare yet)."
        )
    if not parts:
        notes.append(f"{label}: no fold could be evaluated; no model.")
        return None

    oof = pl.concat(parts).select(pl.col(c).cast(t) for c, t in PREDICTION_SCHEMA.items())
    yy = oof[_LABEL].cast(pl.Int64).to_numpy()
    pp = oof["probability"].to_numpy()
    base = oof["no_skill_probability"].to_numpy()
    brier = float(np.mean((pp - yy) ** 2))
    brier_ref = float(np.mean((base - yy) ** 2))
    bss = 1.0 - brier / brier_ref if brier_ref > 0 else None
    auc = float(roc_auc_score(yy, pp)) if 0 < yy.sum() < len(yy) else None
    ci_low, ci_high = (
        _bss_interval(oof, n_bootstrap=n_bootstrap, block_days=block_days, random_state=random_state)
        if bss is not None
        else (None, None)
    )
    # "Beats the baseline" must survive the uncertainty of the score: the lower end of
    # the block-bootstrap interval is above 0 (with n_bootstrap = 0: the point estimate).
    if bss is None:
        beats = False
    elif n_bootstrap > 0:
        beats = ci_low is not None and ci_low > 0
    else:
        beats = bss > 0

    final = _fit(_pipeline(c, random_state), x, y, notes, f"{label}, final fit")
    coef = final.named_steps["logistic"].coef_[0]
    return _Fit(
        validation={
            "scope": unit.scope,
            "patient_id": unit.key,
            "n_days": len(y),
            "n_events": int(y.sum()),
            "n_folds": len(parts),
            "n_scored": len(yy),
            "n_scored_events": int(yy.sum()),
            "brier": brier,
            "brier_no_skill": brier_ref,
            "brier_skill_score": bss,
            "bss_ci_low": ci_low,
            "bss_ci_high": ci_high,
            "auc": auc,
            "beats_baseline": beats,
            "shown": beats,
        },
        reliability=[
            {
                "scope": unit.scope,
                "patient_id": unit.key,
                "bin": b,
                "mean_predicted": mp,
                "observed_rate": ot,
                "n": n,
            }
            for b, mp, ot, n in _reliability(yy, pp)
        ],
        coefficients=[
            {
                "scope": unit.scope,
                "patient_id": unit.key,
                "feature": name,
                "coefficient": float(b),
                "odds_ratio_per_sd": float(math.exp(b)),
            }
            for name, b in zip(features, coef, strict=True)
        ],
        folds=fold_rows,
        predictions=oof,
        model=final,
    )


def _feature_columns(df: pl.DataFrame) -> list[str]:
    cols = [c for c in df.columns if c not in (*_KEYS, _LABEL)]
    if not cols:
        raise OptionError(
            "features must have at least one feature column besides patient_id, date, flare_next"
        )
    bad = [c for c in cols if not (df.schema[c].is_numeric() or df.schema[c] in (pl.Boolean, pl.Null))]
    if bad:
        raise OptionError(
            f"features columns must be numeric or boolean (every column but patient_id, date and "
            f"flare_next is a model input), got {', '.join(f'{c} ({df.schema[c]})' for c in bad)}"
        )
    return cols


def flare_risk(
    features: Frame,
    *,
    min_events_per_patient: int = 8,
    min_days_per_patient: int = 120,
    n_splits: int = 5,
    random_state: int = 0,
    C: float = 0.1,
    n_bootstrap: int = 1000,
    block_days: int = 7,
) -> FlareRisk:
    """Fit and validate flare-risk models; show one only where it beats the base rate.

    Parameters
    ----------
    features
        :func:`flare_features` output (polars or pandas). Every column other than
        ``patient_id``, ``date`` and ``flare_next`` is a model input and must be numeric
        or boolean; ``patient_id`` is never an input. Rows with a null ``flare_next``
        (``include_unlabelled=True``) are not fitted but can be scored in
        ``latest_risk``.
    min_events_per_patient
        Fewest ``flare_next`` days a patient needs for an own model (int ≥ 1, default 8).
    min_days_per_patient
        Fewest labelled days with every feature a patient needs for an own model
        (int ≥ 1, default 120).
    n_splits
        Folds of the time-ordered validation (int ≥ 2, default 5).
    random_state
        Seed of the bootstrap and of the logistic regression (int ≥ 0, default 0; the
        lbfgs solver itself is deterministic).
    C
        Inverse L2-regularisation strength of the logistic regression (> 0, default
        0.1; smaller = stronger shrinkage towards the base rate).
    n_bootstrap
        Moving-block bootstrap replicates for the interval of the Brier skill score
        (int ≥ 0, default 1000; 0 skips it).
    block_days
        Block length of that bootstrap in scored days (int ≥ 1, default 7: one weekly
        training cycle, longer than a flare episode).

    Returns
    -------
    FlareRisk
        ``scope``, ``validation``, ``reliability``, ``coefficients``, ``latest_risk``,
        ``folds``, ``predictions`` and ``notes``; the columns of each are listed in
        :class:`FlareRisk`. Empty or too little input gives empty frames and a note.

    Raises
    ------
    OptionError
        A bad option, a missing column, a non-numeric feature, repeated days.

    Notes
    -----
    **Scope.** A patient with ≥ ``min_days_per_patient`` labelled days and
    ≥ ``min_events_per_patient`` flare days gets an own model (scope ``"patient"``); if
    that model cannot be validated (a single class in every training part) the patient
    falls back to the pooled model, with a note. The pooled model is fitted on the rows
    of *all* patients — one set of coefficients for the cohort, without patient identity
    — and is used for the patients without an own model. No fallback is made on
    *performance*: a shown own model is not swapped for a better pooled one, and vice
    versa, because picking the better of two on the validation data would overstate it.

    **Model.** ``Pipeline(StandardScaler(), LogisticRegression(C, class_weight=None))``:
    unweighted so the probabilities stay calibrated to the base rate. Rows with any null
    feature (warm-up, logging gaps) are left out. With few events per variable (11
    inputs, often < 10 events each; Peduzzi et al. 1996, J Clin Epidemiol 49:1373; Riley
    et al. 2020, BMJ 368:m441) maximum-likelihood estimates overfit, hence the L2
    shrinkage (default C = 0.1) and the out-of-sample gate below.

    **Validation without look-ahead.** :func:`time_folds`: scikit-learn
    ``TimeSeriesSplit(n_splits)`` on the sorted distinct dates (pooled: dates across
    patients, so every training date precedes every test date); the scaler is fitted
    inside the pipeline on each training part only. A fold whose training part holds one
    class is skipped. On the out-of-fold probabilities ``p`` with outcomes ``y``:
    Brier score ``BS = mean((p − y)²)`` (Brier 1950, Mon Weather Rev 78:1); no-skill
    reference ``BS_ref = mean((ȳ_train,k − y)²)`` with ``ȳ_train,k`` the flare rate of
    fold *k*'s *training* rows — the forecast one could have made then, not the overall
    rate, which would use the test outcomes; Brier skill score ``BSS = 1 − BS/BS_ref``
    (Murphy 1973, J Appl Meteorol 12:595; Wilks, *Statistical Methods in the Atmospheric
    Sciences*); ROC AUC (``sklearn.metrics.roc_auc_score``) when both classes were
    scored; reliability table ``sklearn.calibration.calibration_curve(n_bins=5,
    strategy="quantile")`` (Niculescu-Mizil & Caruana 2005).

    **Gate.** A model is ``shown`` only when ``BSS > 0``; otherwise its ``latest_risk``
    is withheld and a note says so. BSS > 0 on one short series can happen by chance;
    the gate stops models that are *worse* than the base rate, it does not certify one.
    On the demo cohort with the flare dates shuffled in time (no signal), about one
    model in five passes it. ``bss_ci_low``/``bss_ci_high`` give a 95 % moving-block
    bootstrap interval (Künsch 1989, Ann Stat 17:1217) over scored dates, with the
    out-of-fold predictions fixed; a shown model whose interval includes 0 gets a note
    that its skill is not distinguishable from chance.
    The final model of a scope is refitted on all of its labelled rows; ``latest_risk``
    scores each shown patient's latest day with every feature.
    """
    min_events = int_option("min_events_per_patient", min_events_per_patient, low=1)
    min_days = int_option("min_days_per_patient", min_days_per_patient, low=1)
    n_splits = int_option("n_splits", n_splits, low=2)
    random_state = int_option("random_state", random_state, low=0)
    c = float_option("C", C, low=0.0, low_open=True)
    n_bootstrap = int_option("n_bootstrap", n_bootstrap, low=0)
    block_days = int_option("block_days", block_days, low=1)
    notes: list[str] = []
    fit_options: dict[str, Any] = {
        "n_splits": n_splits,
        "c": c,
        "random_state": random_state,
        "n_bootstrap": n_bootstrap,
        "block_days": block_days,
        "notes": notes,
    }

    df = as_polars(features, "features")
    require_columns(df, [*_KEYS, _LABEL], "features")
    cols = _feature_columns(df)
    schema = {"patient_id": pl.String, "date": pl.Date, _LABEL: pl.Boolean} | {
        col: pl.Float64 for col in cols
    }
    df = _input(df, "features", schema)

    complete = df.filter(pl.all_horizontal(pl.col(cols).is_not_null() & pl.col(cols).is_finite()))
    labelled = complete.filter(pl.col(_LABEL).is_not_null()).sort("date", "patient_id")
    n_incomplete = df.filter(pl.col(_LABEL).is_not_null()).height - labelled.height
    if n_incomplete:
        notes.append(
            f"{n_incomplete} labelled days left out because a feature was unknown "
            "(window warm-up or a logging gap; missing is not zero)."
        )

    counts = (
        df.select("patient_id")
        .unique()
        .join(
            labelled.group_by("patient_id").agg(
                n_days=pl.len().cast(pl.Int64), n_events=pl.col(_LABEL).sum().cast(pl.Int64)
            ),
            on="patient_id",
            how="left",
        )
        .with_columns(pl.col("n_days", "n_events").fill_null(0))
        .sort("patient_id")
    )
    eligible = counts.filter((pl.col("n_days") >= min_days) & (pl.col("n_events") >= min_events))[
        "patient_id"
    ].to_list()

    fits: dict[tuple[str, str], _Fit] = {}
    own: set[str] = set()
    for pid in eligible:
        fit = _evaluate(
            _Unit(_PATIENT, pid, labelled.filter(pl.col("patient_id") == pid)),
            cols,
            **fit_options,
        )
        if fit is None:
            notes.append(f"patient {pid}: falls back to the pooled model.")
            continue
        fits[(_PATIENT, pid)] = fit
        own.add(pid)
    if labelled.is_empty():
        notes.append("no labelled day with every feature: no model was fitted.")
    else:
        pooled = _evaluate(_Unit(_POOLED, _ALL, labelled), cols, **fit_options)
        if pooled is not None:
            fits[(_POOLED, _ALL)] = pooled

    scope = counts.with_columns(
        scope=pl.when(pl.col("patient_id").is_in(sorted(own)))
        .then(pl.lit(_PATIENT))
        .otherwise(pl.lit(_POOLED))
    ).select(list(SCOPE_SCHEMA))
    n_own = len(own)
    notes.insert(
        0,
        f"{n_own} patient(s) with an own model (≥ {min_days} labelled days and ≥ {min_events} flare days), "
        f"{scope.height - n_own} on the pooled model.",
    )

    # Latest risk, only from shown models.
    latest_rows = complete.sort("date").group_by("patient_id").agg(pl.all().last()).sort("patient_id")
    latest_parts: list[pl.DataFrame] = []
    for (kind, key), fit in fits.items():
        label = "pooled model" if kind == _POOLED else f"patient {key}'s own model"
        bss = fit.validation["brier_skill_score"]
        bss_text = "undefined" if bss is None else f"{bss:.3f}"
        if not fit.validation["shown"]:
            notes.append(
                f"{label} hidden: it does not beat the no-skill base rate out of sample "
                f"(Brier skill score {bss_text}); no risk is reported from it."
            )
            continue
        lo, hi = fit.validation["bss_ci_low"], fit.validation["bss_ci_high"]
        interval = "" if lo is None else f" (95 % block-bootstrap interval {lo:.3f} to {hi:.3f})"
        caveat = (
            "; the interval includes 0, so the skill is not distinguishable from chance: "
            "treat the risk as exploratory"
            if lo is not None and lo <= 0
            else ""
        )
        notes.append(
            f"{label} shown: Brier skill score {bss_text}{interval} over the no-skill base rate{caveat}."
        )
        who = [key] if kind == _PATIENT else [p for p in scope["patient_id"].to_list() if p not in own]
        rows = latest_rows.filter(pl.col("patient_id").is_in(who))
        if rows.is_empty():
            continue
        prob = fit.model.predict_proba(rows.select(cols).to_numpy().astype(float))[:, 1]
        latest_parts.append(
            rows.select("patient_id", "date").with_columns(
                probability=pl.Series(prob, dtype=pl.Float64), scope=pl.lit(kind)
            )
        )
    if not fits and not labelled.is_empty():
        notes.append("no model could be validated: no flare risk is reported.")
    notes.append(
        "Forecast skill is an association in these data, not evidence that load causes flares "
        "(reverse causation and time trends; DOMAIN.md pitfalls 1–3); ACWR is a descriptive input."
    )

    def frame(rows: list[dict[str, Any]], schema: dict[str, pl.DataType]) -> pl.DataFrame:
        return pl.DataFrame(rows, schema=schema) if rows else _empty(schema)

    ordered = sorted(
        fits.values(), key=lambda f: (f.validation["scope"] != _POOLED, f.validation["patient_id"])
    )
    return FlareRisk(
        scope=scope,
        validation=frame([f.validation for f in ordered], VALIDATION_SCHEMA),
        reliability=frame([r for f in ordered for r in f.reliability], RELIABILITY_SCHEMA),
        coefficients=frame([r for f in ordered for r in f.coefficients], COEFFICIENT_SCHEMA),
        latest_risk=(
            pl.concat(latest_parts)
            .select(pl.col(c).cast(t) for c, t in LATEST_SCHEMA.items())
            .sort("patient_id")
            if latest_parts
            else _empty(LATEST_SCHEMA)
        ),
        folds=frame([r for f in ordered for r in f.folds], FOLD_SCHEMA),
        predictions=(pl.concat([f.predictions for f in ordered]) if ordered else _empty(PREDICTION_SCHEMA)),
        notes=notes,
    )
