"""Pain outcomes over time: daily series, trend, slope, change points, flares, MCID and RCI.

Every function is pure (frame in, new frame out; the input is never modified), accepts
polars or pandas frames, works on many patients at once and returns polars. Empty input
gives an empty frame with the documented columns; a missing column or an invalid option
raises :class:`~toolkit.exceptions.OptionError`.

The flow is ``pain_entries`` (:class:`toolkit.schema.PainEntries`) → :func:`daily_pain`
→ the other functions, which take that *daily* frame (``patient_id``, ``date``,
``pain_mean``). Unlogged days are missing, never zero: no function fills them in.

Functions
---------
daily_pain          one row per patient and logged day (mean, max, min, count)
pain_trend          time-aware EWMA of the daily mean, days since the first entry
pain_slope          OLS slope per week with Newey–West (HAC) confidence interval
change_points       candidate shifts in the daily mean (ruptures PELT)
pain_outcome        baseline vs current week, MCID (Ostelo 2008), RCI (Jacobson & Truax 1991)
weeks_since_anchor  weeks since surgery or programme start for every logged day
flares              flare episodes above the trailing median and the days they took to settle
prom_outcomes       first vs latest PROM score per instrument with its MCID
recovered           recovery by NRS = 0 and RMDQ ≤ 2 (Kamper et al. 2010)
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import polars as pl
import ruptures as rpt
import statsmodels.api as sm

from toolkit._polars import format_str
from toolkit.analysis._frames import as_polars, require_columns, sorted_by
from toolkit.analysis._options import float_option, int_option
from toolkit.exceptions import OptionError

__all__ = [
    "change_points",
    "daily_pain",
    "flares",
    "pain_outcome",
    "pain_slope",
    "pain_trend",
    "prom_outcomes",
    "recovered",
    "weeks_since_anchor",
]

_EPS = 1e-9
"""Tolerance of threshold comparisons (a mean of 4.0 computed as 3.9999999999 still counts)."""

_SETTLE_LOOKAHEAD = 14
"""Logged days checked at once for a flare to settle (the rest, when needed, by an exact join)."""

_NORMAL_975 = 1.959963984540054
"""97.5 % quantile of the standard normal (two-sided 5 % level of the RCI)."""

DAILY_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "date": pl.Date(),
    "pain_mean": pl.Float64(),
    "pain_max": pl.Float64(),
    "pain_min": pl.Float64(),
    "n_entries": pl.Int64(),
}
SLOPE_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "slope_per_week": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "p_value": pl.Float64(),
    "n_days": pl.Int64(),
    "method": pl.String(),
}
CHANGE_POINT_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "date": pl.Date(),
    "mean_before": pl.Float64(),
    "mean_after": pl.Float64(),
}
OUTCOME_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "anchor_date": pl.Date(),
    "baseline_start": pl.Date(),
    "baseline_end": pl.Date(),
    "baseline": pl.Float64(),
    "current_start": pl.Date(),
    "current_end": pl.Date(),
    "current": pl.Float64(),
    "change": pl.Float64(),
    "percent_change": pl.Float64(),
    "mcid_reached": pl.Boolean(),
    "rci": pl.Float64(),
    "reliable_improvement": pl.Boolean(),
    "n_days": pl.Int64(),
    "weeks_observed": pl.Float64(),
    "status": pl.String(),
}
FLARE_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "date": pl.Date(),
    "pain": pl.Float64(),
    "trailing_median": pl.Float64(),
    "excess": pl.Float64(),
    "days_to_settle": pl.Int64(),
    "settled": pl.Boolean(),
}
PROM_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "instrument": pl.String(),
    "baseline_date": pl.Date(),
    "baseline": pl.Float64(),
    "latest_date": pl.Date(),
    "latest": pl.Float64(),
    "change": pl.Float64(),
    "improvement": pl.Float64(),
    "mcid": pl.Float64(),
    "mcid_reached": pl.Boolean(),
    "n": pl.Int64(),
}
RECOVERED_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "nrs": pl.Float64(),
    "nrs_date": pl.Date(),
    "nrs_source": pl.String(),
    "rmdq": pl.Float64(),
    "rmdq_date": pl.Date(),
    "recovered": pl.Boolean(),
    "status": pl.String(),
}

PROM_MCID: dict[str, float] = {"ODI": 10.0, "RMDQ": 5.0, "PSFS": 2.0, "NRS": 2.0}
"""Default minimal clinically important improvement per instrument, in the instrument's points
(ODI 0–100, RMDQ 0–24, NRS 0–10: Ostelo et al. 2008; PSFS 0–10: Abbott & Schmitt 2014)."""


# --------------------------------------------------------------------------------------
# Validation and coercion at the boundary
# --------------------------------------------------------------------------------------


def _empty(schema: dict[str, pl.DataType]) -> pl.DataFrame:
    return pl.DataFrame(schema=schema)


def _coerce(
    df: pl.DataFrame,
    name: str,
    *,
    strings: tuple[str, ...] = (),
    dates: tuple[str, ...] = (),
    floats: tuple[str, ...] = (),
    bools: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Cast the named columns to their canonical dtype, or raise naming the column."""
    exprs: list[pl.Expr] = []
    # A column without values (e.g. an empty pandas frame's object column) takes any dtype.
    blank = {col: df[col].null_count() == df.height for col in (*strings, *floats, *bools)}
    for col in strings:
        dtype = df.schema[col]
        if blank[col]:
            exprs.append(pl.lit(None, dtype=pl.String).alias(col))
            continue
        if dtype != pl.String and not (dtype.is_numeric() or dtype == pl.Categorical):
            raise OptionError(f"{name}.{col} must hold text or integers, got dtype {dtype}")
        exprs.append(pl.col(col).cast(pl.String))
    for col in dates:
        dtype = df.schema[col]
        if dtype == pl.Date:
            continue
        if isinstance(dtype, pl.Datetime):
            exprs.append(pl.col(col).dt.date())
        elif dtype in (pl.String, pl.Null):
            try:
                df = df.with_columns(pl.col(col).cast(pl.String).str.to_date("%Y-%m-%d", strict=True))
            except pl.exceptions.PolarsError as exc:
                raise OptionError(f"{name}.{col} must hold dates (YYYY-MM-DD), got unparsable text") from exc
        else:
            raise OptionError(f"{name}.{col} must hold dates, got dtype {dtype}")
    for col in floats:
        dtype = df.schema[col]
        if blank[col]:
            exprs.append(pl.lit(None, dtype=pl.Float64).alias(col))
            continue
        if not dtype.is_numeric():
            raise OptionError(f"{name}.{col} must be numeric, got dtype {dtype}")
        expr = pl.col(col).cast(pl.Float64)
        exprs.append(expr.fill_nan(None))
    for col in bools:
        dtype = df.schema[col]
        if blank[col]:
            exprs.append(pl.lit(None, dtype=pl.Boolean).alias(col))
            continue
        if dtype != pl.Boolean:
            raise OptionError(f"{name}.{col} must be boolean, got dtype {dtype}")
        exprs.append(pl.col(col).cast(pl.Boolean))
    return df.with_columns(exprs) if exprs else df


def _daily(daily: Any, name: str = "daily", *, pain: bool = True) -> pl.DataFrame:
    """Validate a daily frame (as from :func:`daily_pain`): canonical dtypes, one row per day."""
    df = as_polars(daily, name)
    cols = ["patient_id", "date", "pain_mean"] if pain else ["patient_id", "date"]
    require_columns(df, cols, name)
    df = _coerce(df, name, strings=("patient_id",), dates=("date",), floats=("pain_mean",) if pain else ())
    # In patient, date order without a repeated day (daily_pain output) there is nothing
    # to count; else the repeated days are counted by hashing.
    dup = 0 if sorted_by(df, "patient_id", "date", strict=True) else None
    if dup is None:
        dup = df.select(pl.struct("patient_id", "date").is_duplicated().sum()).item()
    if dup:
        raise OptionError(
            f"{name} must have one row per patient_id and date (use daily_pain first), "
            f"got {dup} rows on repeated days"
        )
    return df


def _patient_anchors(patients: Any, name: str = "patients") -> pl.DataFrame:
    """``patient_id, anchor_date``: surgery_date, else programme_start_date, per patient."""
    df = as_polars(patients, name)
    require_columns(df, ["patient_id"], name)
    have = [c for c in ("surgery_date", "programme_start_date") if c in df.columns]
    if not have:
        raise OptionError(
            f"{name} must have surgery_date or programme_start_date, got columns {', '.join(df.columns)}"
        )
    df = _coerce(df.select("patient_id", *have), name, strings=("patient_id",), dates=tuple(have))
    dup = df.select(pl.col("patient_id").is_duplicated().sum()).item()
    if dup:
        raise OptionError(f"{name} must have one row per patient_id, got {dup} repeated rows")
    return df.select("patient_id", anchor_date=pl.coalesce(*have).cast(pl.Date))


def _anchor_option(anchor_date: Any) -> pl.DataFrame | dt.date | None:
    """Normalise ``anchor_date`` of :func:`pain_slope`: None, one date, or a per-patient table."""
    if anchor_date is None:
        return None
    if isinstance(anchor_date, dt.datetime):
        return anchor_date.date()
    if isinstance(anchor_date, dt.date):
        return anchor_date
    if isinstance(anchor_date, str):
        try:
            return dt.date.fromisoformat(anchor_date)
        except ValueError as exc:
            raise OptionError(f"anchor_date must be an ISO date (YYYY-MM-DD), got {anchor_date!r}") from exc
    if isinstance(anchor_date, Mapping):
        rows = []
        for pid, value in anchor_date.items():
            one = _anchor_option(value)
            if not isinstance(one, dt.date):
                raise OptionError(f"anchor_date[{pid!r}] must be a date, got {value!r}")
            rows.append((str(pid), one))
        return pl.DataFrame(rows, schema={"patient_id": pl.String, "anchor_date": pl.Date}, orient="row")
    try:
        return _patient_anchors(anchor_date, "anchor_date")
    except OptionError as exc:
        if "must be a polars or pandas DataFrame" in str(exc):
            raise OptionError(
                "anchor_date must be None, a date, an ISO date string, a dict patient_id → date "
                f"or a patients frame, got {type(anchor_date).__name__}"
            ) from exc
        raise


# --------------------------------------------------------------------------------------
# 1. Daily series
# --------------------------------------------------------------------------------------


def daily_pain(pain_entries: Any, *, location: str | None = None) -> pl.DataFrame:
    """Summarise pain ratings to one row per patient and logged day.

    Parameters
    ----------
    pain_entries
        :class:`toolkit.schema.PainEntries` rows (polars or pandas); needs ``patient_id``,
        ``local_date`` and ``pain_nrs`` (and ``location`` when ``location`` is given).
    location
        Keep only entries of this body location / symptom name, compared case-insensitively
        after trimming spaces. Default ``None`` keeps every location (a day's mean then
        pools all locations).

    Returns
    -------
    polars.DataFrame
        Sorted by ``patient_id, date``; only days with at least one rating:

        - ``patient_id`` (str): patient.
        - ``date`` (date): the local day of the ratings (``local_date``).
        - ``pain_mean`` (float, NRS 0–10 points): mean rating of the day.
        - ``pain_max`` (float, NRS points): highest rating of the day.
        - ``pain_min`` (float, NRS points): lowest rating of the day.
        - ``n_entries`` (int): number of ratings that day.

    Raises
    ------
    OptionError
        A required column is missing, ``pain_nrs`` is not numeric or outside 0–10, or
        ``location`` is not a non-empty string.

    Notes
    -----
    Entries with a null rating are dropped (missing is not zero). Days without entries do
    not appear: later functions treat them as missing, never as pain 0. ``pain_mean`` of
    an ordinal 0–10 scale is a summary, not an interval measurement; ``pain_max`` and
    ``pain_min`` are reported beside it for that reason.

    Examples
    --------
    >>> import datetime as dt, polars as pl
    >>> e = pl.DataFrame({"patient_id": ["p1"] * 3, "pain_nrs": [4.0, 6.0, 3.0],
    ...                   "local_date": [dt.date(2024, 5, 1)] * 2 + [dt.date(2024, 5, 2)]})
    >>> daily_pain(e)["pain_mean"].to_list()
    [5.0, 3.0]
    """
    if location is not None and (not isinstance(location, str) or not location.strip()):
        raise OptionError(f"location must be a non-empty str or None, got {location!r}")
    df = as_polars(pain_entries, "pain_entries")
    cols = ["patient_id", "local_date", "pain_nrs"] + (["location"] if location is not None else [])
    require_columns(df, cols, "pain_entries")
    df = _coerce(
        df.select(cols),
        "pain_entries",
        strings=("patient_id",) + (("location",) if location is not None else ()),
        dates=("local_date",),
        floats=("pain_nrs",),
    )
    if location is not None:
        df = df.filter(pl.col("location").str.strip_chars().str.to_lowercase() == location.strip().lower())
    df = df.filter(pl.all_horizontal(pl.col("patient_id", "local_date", "pain_nrs").is_not_null()))
    bad = df.filter((pl.col("pain_nrs") < 0) | (pl.col("pain_nrs") > 10))
    if bad.height:
        raise OptionError(
            f"pain_entries.pain_nrs must lie in 0–10 (NRS), got {bad['pain_nrs'][0]:g}; "
            "convert other scales (e.g. VAS 0–100) first"
        )
    if df.is_empty():
        return _empty(DAILY_SCHEMA)
    if sorted_by(df, "patient_id", "local_date", strict=True):
        # One entry per patient-day, in order (the usual export): nothing to group.
        p = pl.col("pain_nrs")
        out = df.select(
            "patient_id",
            pl.col("local_date").alias("date"),
            p.alias("pain_mean"),
            p.alias("pain_max"),
            p.alias("pain_min"),
            pl.lit(1, dtype=pl.Int64).alias("n_entries"),
        )
        return out.select(list(DAILY_SCHEMA)).cast(DAILY_SCHEMA)
    out = (
        df.group_by("patient_id", "local_date")
        .agg(
            pain_mean=pl.col("pain_nrs").mean(),
            pain_max=pl.col("pain_nrs").max(),
            pain_min=pl.col("pain_nrs").min(),
            n_entries=pl.len().cast(pl.Int64),
        )
        .rename({"local_date": "date"})
        .sort("patient_id", "date")
    )
    return out.select(list(DAILY_SCHEMA)).cast(DAILY_SCHEMA)


# --------------------------------------------------------------------------------------
# 2. Smoothed trend
# --------------------------------------------------------------------------------------


def pain_trend(daily: Any, *, span_days: int = 7) -> pl.DataFrame:
    """Add a time-aware exponentially weighted mean of daily pain, and days since the first entry.

    Parameters
    ----------
    daily
        Daily frame as from :func:`daily_pain` (``patient_id``, ``date``, ``pain_mean``;
        other columns are passed through). One row per patient and date.
    span_days
        EWMA span N in days (int ≥ 2), default 7: on consecutive days the weight of today
        is λ = 2/(N+1) = 0.25 (Williams et al. 2017 convention).

    Returns
    -------
    polars.DataFrame
        The input rows, in the input order, with every input column plus:

        - ``pain_smooth`` (float, NRS points): time-aware EWMA of ``pain_mean`` up to and
          including that day (trailing: no look-ahead). Null where ``pain_mean`` is null.
        - ``days_since_first`` (int, days): calendar days since the patient's first
          row (0 on the first day).

    Notes
    -----
    Polars ``ewm_mean_by`` over the calendar, per patient (``.over("patient_id")``):
    ``y_1 = x_1``; ``y_i = α_i·x_i + (1 − α_i)·y_{i−1}`` with
    ``α_i = 1 − (1 − λ)^{Δt_i}``, Δt_i = days since the previous logged day, i.e. a
    half-life ``h = ln 2 / −ln(1 − λ)`` days (2.41 d for N = 7). On consecutive days this
    equals the classical EWMA ``λ·x_t + (1 − λ)·y_{t−1}`` (Williams et al. 2017, BJSM
    51:209; pandas ``ewm(span=N, adjust=False)``); across a gap of k unlogged days the
    earlier level decays as if k days had passed, and nothing is imputed (missing ≠ 0).
    A trailing EWMA was chosen over a centred rolling median so that the value shown for
    a day never uses later days.
    """
    span = int_option("span_days", span_days, low=2)
    df = _daily(daily)
    lam = 2.0 / (span + 1.0)
    half_life = dt.timedelta(days=math.log(2.0) / -math.log(1.0 - lam))
    if df.is_empty():
        return df.with_columns(
            pain_smooth=pl.lit(None, dtype=pl.Float64), days_since_first=pl.lit(None, dtype=pl.Int64)
        )
    idx = "__pain_trend_row"
    return (
        df.with_row_index(idx)
        .sort("patient_id", "date")
        .with_columns(
            pain_smooth=pl.col("pain_mean").ewm_mean_by("date", half_life=half_life).over("patient_id"),
            days_since_first=(pl.col("date") - pl.col("date").min().over("patient_id"))
            .dt.total_days()
            .cast(pl.Int64),
        )
        .sort(idx)
        .drop(idx)
    )


# --------------------------------------------------------------------------------------
# 3. Linear slope with HAC confidence interval
# --------------------------------------------------------------------------------------


def _hac_slope(x_weeks: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float | None, str]:
    n = len(y)
    maxlags = math.floor(4.0 * (n / 100.0) ** (2.0 / 9.0))
    if np.ptp(y) == 0.0:
        return 0.0, 0.0, 0.0, None, f"pain constant over {n} days: slope 0, no uncertainty"
    design = np.column_stack([np.ones(n), x_weeks])
    # A perfect linear fit makes the HAC variance 0; t = slope/0 is handled below, so the
    # numpy divide warnings of that one case are silenced locally.
    with np.errstate(divide="ignore", invalid="ignore"):
        fit = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": maxlags}, use_t=True)
        slope = float(fit.params[1])
        se = float(fit.bse[1])
        if not np.isfinite(se) or se <= 1e-12 * max(1.0, abs(slope)):
            return slope, slope, slope, None, f"perfect linear fit over {n} days: no uncertainty"
        low, high = (float(v) for v in fit.conf_int(alpha=0.05)[1])
        p = float(fit.pvalues[1])
    return slope, low, high, p, f"OLS, Newey-West HAC SE (Bartlett, maxlags={maxlags}), t({n - 2})"


def pain_slope(daily: Any, *, anchor_date: Any = None, min_days: int = 7) -> pl.DataFrame:
    """Linear trend of daily pain per patient, in NRS points per week, with a HAC 95 % CI.

    Parameters
    ----------
    daily
        Daily frame as from :func:`daily_pain` (``patient_id``, ``date``, ``pain_mean``).
    anchor_date
        Day from which to fit. ``None`` (default) uses every logged day. Otherwise only
        days on or after the anchor are used, given as one date (or ISO string) for all
        patients, a dict ``patient_id → date``, or a patients frame
        (:class:`toolkit.schema.Patients`: ``surgery_date``, else
        ``programme_start_date``). Patients without an anchor use every day.
    min_days
        Fewest logged days to fit (int ≥ 3), default 7; below it the row has nulls.

    Returns
    -------
    polars.DataFrame
        One row per patient, sorted by ``patient_id``:

        - ``patient_id`` (str).
        - ``slope_per_week`` (float, NRS points / week): OLS slope; negative = improving.
        - ``ci_low``, ``ci_high`` (float, NRS points / week): 95 % confidence interval.
        - ``p_value`` (float): two-sided p for slope = 0; null when it is undefined.
        - ``n_days`` (int): logged days used.
        - ``method`` (str): how the row was computed, e.g.
          ``"OLS, Newey-West HAC SE (Bartlett, maxlags=2), t(28)"``, or why it is null
          (``"too few days (5)"``, ``"pain constant over 9 days: ..."``).

    Notes
    -----
    Model ``pain_mean_t = a + b·(days_t / 7) + e_t`` over the logged days only (no
    imputation), by ordinary least squares. Daily pain is autocorrelated, so the OLS
    standard error is too small; the standard error of ``b`` is Newey–West
    heteroscedasticity-and-autocorrelation consistent (HAC; Newey & West 1987,
    Econometrica 55:703), Bartlett kernel, with the rule-of-thumb bandwidth
    ``maxlags = floor(4·(n/100)^(2/9))`` (Newey & West 1994, Rev Econ Stud 61:631;
    2 lags for 7–99 days, 4 for 100–2315), statsmodels' small-sample correction
    n/(n − 2), and a t(n − 2) reference distribution for the CI and p
    (``statsmodels OLS.fit(cov_type="HAC", use_t=True)``). Lags count logged days, so
    with gaps the autocorrelation correction is approximate. With few days HAC intervals
    are still too narrow (the bandwidth estimate is noisy); read the slope as a
    description of the trend, not as the effect of treatment: recovery and regression to
    the mean produce the same slope (DOMAIN pitfalls 1 and 3).
    """
    min_n = int_option("min_days", min_days, low=3)
    anchor = _anchor_option(anchor_date)
    df = _daily(daily).filter(pl.col("pain_mean").is_not_null())
    if df.is_empty():
        return _empty(SLOPE_SCHEMA)
    if isinstance(anchor, dt.date):
        df = df.with_columns(anchor_date=pl.lit(anchor, dtype=pl.Date))
    elif isinstance(anchor, pl.DataFrame):
        df = df.join(anchor, on="patient_id", how="left")
    else:
        df = df.with_columns(anchor_date=pl.lit(None, dtype=pl.Date))
    ids = df.select(pl.col("patient_id").unique().sort())
    df = (
        df.filter(pl.col("anchor_date").is_null() | (pl.col("date") >= pl.col("anchor_date")))
        .with_columns(
            x_weeks=(pl.col("date") - pl.coalesce("anchor_date", pl.col("date").min().over("patient_id")))
            .dt.total_days()
            .cast(pl.Float64)
            / 7.0
        )
        .sort("patient_id", "date")
    )
    groups = df.partition_by("patient_id", as_dict=True)
    rows = []
    for (pid,) in ids.iter_rows():
        g = groups.get((pid,))
        n = 0 if g is None else g.height
        if g is None or n < min_n:
            rows.append((pid, None, None, None, None, n, f"too few days ({n})"))
            continue
        slope, low, high, p, method = _hac_slope(g["x_weeks"].to_numpy(), g["pain_mean"].to_numpy())
        rows.append((pid, slope, low, high, p, n, method))
    return pl.DataFrame(rows, schema=SLOPE_SCHEMA, orient="row")


# --------------------------------------------------------------------------------------
# 4. Change points
# --------------------------------------------------------------------------------------


_CP_MODELS = ("l1", "l2", "rbf")


def _robust_sigma(y: np.ndarray) -> float:
    """σ from the MAD of first differences / √2, floored at the rounding SD 1/√12."""
    d = np.diff(y)
    mad = float(np.median(np.abs(d - np.median(d))))
    return max(1.482602218505602 * mad / math.sqrt(2.0), 1.0 / math.sqrt(12.0))


def _default_penalty(y: np.ndarray, model: str) -> float:
    """MBIC-like penalty (1.5 × BIC) in the units of the model's cost; see change_points."""
    n = len(y)
    if model == "rbf":
        return math.log(n)
    sigma = _robust_sigma(y)
    if model == "l1":
        return 1.5 * sigma * math.log(n)
    return 3.0 * sigma**2 * math.log(n)


def change_points(
    daily: Any, *, model: str = "l1", min_size: int = 7, penalty: float | None = None
) -> pl.DataFrame:
    """Candidate days on which a patient's daily pain level shifted (ruptures PELT).

    Parameters
    ----------
    daily
        Daily frame as from :func:`daily_pain` (``patient_id``, ``date``, ``pain_mean``).
    model
        Segment cost of :class:`ruptures.Pelt`: ``"l1"`` (default; shift in median, robust
        for the ordinal 0–10 scale), ``"l2"`` (shift in mean) or ``"rbf"`` (kernel; any
        change of distribution).
    min_size
        Fewest logged days in a segment (int ≥ 2), default 7 (one week).
    penalty
        PELT penalty per change point (finite number > 0). Default ``None``: a BIC-type
        penalty scaled to the series, see Notes. Larger values give fewer candidates.

    Returns
    -------
    polars.DataFrame
        One row per candidate change point, sorted by ``patient_id, date``; patients with
        none have no rows:

        - ``patient_id`` (str).
        - ``date`` (date): first logged day of the new segment.
        - ``mean_before`` (float, NRS points): mean ``pain_mean`` of the segment that ends
          the day before (from the previous change point, or the first day).
        - ``mean_after`` (float, NRS points): mean ``pain_mean`` of the segment starting on
          ``date`` (up to the next change point, or the last day).

    Notes
    -----
    Per patient, the signal is ``pain_mean`` on the logged days in date order; unlogged
    days are skipped, not imputed, so ``min_size`` counts logged days and a change
    point is dated at the first logged day after the shift. PELT (Killick et al. 2012,
    JASA 107:1590) minimises Σ segment cost + penalty × number of change points,
    ``rpt.Pelt(model, min_size, jump=1).fit(y).predict(pen)`` (ruptures, Truong et al.
    2020, Signal Processing 167:107299).

    Default penalty, with σ̂ = 1.4826·MAD(Δy)/√2 (robust noise SD from first
    differences, which a level shift hardly affects), floored at 1/√12 ≈ 0.29 (the
    rounding SD of an integer scale) so that flat stretches do not get a zero penalty.
    It is BIC-like, in the units of each cost: BIC charges ``2·ln n`` on the −2
    log-likelihood scale per change (its location and the new level; R ``changepoint``
    "BIC"), and we use the modified BIC ``3·ln n`` (Zhang & Siegmund 2007, Biometrics
    63:22; the default of R ``changepoint``), which is 1.5 × BIC:

    - ``l2``: ``3·σ̂²·ln n`` (Gaussian: −2 log L = Σ r² / σ²).
    - ``l1``: ``1.5·σ̂·ln n`` (Laplace: −2 log L = 2·Σ|r| / b, with the scale b ≤ σ̂).
    - ``rbf``: ``ln n`` (the kernel cost is scale-free, each point adds < 1).

    Why not the plain ``σ²·ln n``: in simulation (60 daily integer ratings, σ = 1) it
    put a change into ~45 % of flat series with ``l2``, and BIC (``σ̂·ln n``) for ``l1``
    into 5 % of flat series and an extra, spurious candidate into ~20 % of series with a
    real step. The defaults above gave ≤ 1 % false candidates on flat series and found a
    2-point step in ~85 % (``l1``) / ~96 % (``l2``) of series. Positive autocorrelation
    of daily pain (DOMAIN pitfall 1) shrinks σ̂ and raises false candidates (≈ 10 % at
    AR(1) φ = 0.3, ≈ 30–40 % at φ = 0.5): report results as candidates to review, never
    as facts, and pass a larger ``penalty`` for noisy, autocorrelated diaries.
    """
    if model not in _CP_MODELS:
        raise OptionError(f"model must be one of {', '.join(_CP_MODELS)}, got {model!r}")
    size = int_option("min_size", min_size, low=2)
    pen_opt = None if penalty is None else float_option("penalty", penalty, low=0.0, low_open=True)
    df = _daily(daily).filter(pl.col("pain_mean").is_not_null()).sort("patient_id", "date")
    rows: list[tuple[Any, ...]] = []
    for (pid,), g in df.partition_by("patient_id", as_dict=True, maintain_order=True).items():
        y = g["pain_mean"].to_numpy().astype(float)
        n = len(y)
        if n < 2 * size or np.ptp(y) == 0.0:
            continue
        pen = _default_penalty(y, model) if pen_opt is None else pen_opt
        ends = rpt.Pelt(model=model, min_size=size, jump=1).fit(y.reshape(-1, 1)).predict(pen=pen)
        starts = [0, *ends[:-1]]
        means = [float(y[s:e].mean()) for s, e in zip(starts, ends, strict=True)]
        dates = g["date"].to_list()
        for i, end in enumerate(ends[:-1]):
            rows.append((pid, dates[end], means[i], means[i + 1]))
    if not rows:
        return _empty(CHANGE_POINT_SCHEMA)
    return pl.DataFrame(rows, schema=CHANGE_POINT_SCHEMA, orient="row").sort("patient_id", "date")


# --------------------------------------------------------------------------------------
# 5. Baseline vs current: MCID and RCI
# --------------------------------------------------------------------------------------


def pain_outcome(
    daily: Any,
    *,
    patients: Any = None,
    baseline_days: int = 7,
    current_days: int = 7,
    mcid_points: float = 2.0,
    mcid_percent: float = 30.0,
    reliability: float = 0.95,
) -> pl.DataFrame:
    """Pain change from the first to the latest logged week: MCID and Reliable Change Index.

    Parameters
    ----------
    daily
        Daily frame as from :func:`daily_pain` (``patient_id``, ``date``, ``pain_mean``).
    patients
        Optional :class:`toolkit.schema.Patients` frame (``patient_id`` and
        ``surgery_date`` and/or ``programme_start_date``). A patient's anchor is the
        surgery date, else the programme start; with an anchor only days on or after it
        are used. Patients listed here without pain entries get a row saying so.
    baseline_days
        Logged days averaged for the baseline (int ≥ 1), default 7: the first ones.
    current_days
        Logged days averaged for the current level (int ≥ 1), default 7: the last ones.
    mcid_points
        Minimal clinically important improvement in NRS points (> 0), default 2
        (Ostelo et al. 2008).
    mcid_percent
        Minimal clinically important improvement in % of baseline (0 < x ≤ 100),
        default 30 (Ostelo et al. 2008).
    reliability
        Test–retest reliability r_xx of the NRS for the RCI (0 ≤ r < 1), default 0.95:
        NRS retest correlations 0.963 (literate) and 0.947 (illiterate patients) in
        Ferraz et al. 1990, J Rheumatol 17:1022.

    Returns
    -------
    polars.DataFrame
        One row per patient (in ``daily`` or ``patients``), sorted by ``patient_id``:

        - ``patient_id`` (str).
        - ``anchor_date`` (date): surgery or programme start; null without one.
        - ``baseline_start``, ``baseline_end`` (date): first and last baseline day.
        - ``baseline`` (float, NRS points): mean ``pain_mean`` of the first
          ``baseline_days`` logged days (on or after the anchor).
        - ``current_start``, ``current_end`` (date): first and last current day.
        - ``current`` (float, NRS points): mean of the last ``current_days`` logged days.
        - ``change`` (float, NRS points): current − baseline; negative = improvement.
        - ``percent_change`` (float, %): 100·change/baseline; null when baseline is 0.
        - ``mcid_reached`` (bool): improvement ≥ ``mcid_points`` or
          ≥ ``mcid_percent`` % of baseline.
        - ``rci`` (float, unitless): Reliable Change Index; null when undefined.
        - ``reliable_improvement`` (bool): rci < −1.96.
        - ``n_days`` (int): logged days used (on or after the anchor).
        - ``weeks_observed`` (float, weeks): (last − first logged day used) / 7.
        - ``status`` (str): ``"ok"``; ``"ok; rci undefined: ..."`` when only the RCI is
          missing; else what is missing: ``"no pain entries"``, ``"no pain entries on or
          after the anchor date YYYY-MM-DD"``, ``"fewer than 14 logged days: baseline and
          current overlap"`` (then ``current`` and everything derived from it are null).

    Notes
    -----
    *MCID* (Ostelo et al. 2008, Spine 33:90–94, international consensus for low back
    pain): an improvement of ≥ 2 NRS points **or** ≥ 30 % from baseline. Example: 6.0 →
    4.0 is reached by points; 3.0 → 2.0 is 33 % and reached by percent. Comparisons
    allow 1e-9 of floating-point error.

    *Reliable Change Index* (Jacobson & Truax 1991, J Consult Clin Psychol 59:12):
    ``RC = (current − baseline) / S_diff``, ``S_diff = √2·SE``,
    ``SE = s1·√(1 − r_xx)``; |RC| > 1.96 is change beyond measurement error at the
    two-sided 5 % level. N-of-1 adaptation: ``s1`` is the SD (ddof = 1) of this
    patient's baseline daily means, not a normative group SD, so RC answers "is this
    change large relative to this patient's own baseline day-to-day variation?". The
    default r_xx comes from a same-visit retest (Ferraz 1990); day-to-day reliability of
    pain is lower (Childs et al. 2005, Spine 30:1331: SEM 1.02 points in LBP), so pass
    a lower ``reliability`` for a more conservative RC. RC is null when s1 = 0 or the
    baseline has fewer than 2 days.

    Baseline and current windows need ``baseline_days + current_days`` logged days so
    they do not overlap. A falling baseline trend (enrolment at a pain peak, regression
    to the mean) also produces an "improvement" (DOMAIN pitfall 3).
    """
    b = int_option("baseline_days", baseline_days, low=1)
    c = int_option("current_days", current_days, low=1)
    pts = float_option("mcid_points", mcid_points, low=0.0, low_open=True)
    pct = float_option("mcid_percent", mcid_percent, low=0.0, high=100.0, low_open=True)
    r_xx = float_option("reliability", reliability, low=0.0, high=1.0, high_open=True)

    d = _daily(daily).filter(pl.col("pain_mean").is_not_null()).select("patient_id", "date", "pain_mean")
    if patients is not None:
        anchors = _patient_anchors(patients)
    else:
        anchors = pl.DataFrame(schema={"patient_id": pl.String, "anchor_date": pl.Date})
    ids = pl.concat([d.select("patient_id"), anchors.select("patient_id")]).unique()
    if ids.is_empty():
        return _empty(OUTCOME_SCHEMA)

    logged = d.group_by("patient_id").agg(any_days=pl.len())
    d = (
        d.join(anchors, on="patient_id", how="left")
        .filter(pl.col("anchor_date").is_null() | (pl.col("date") >= pl.col("anchor_date")))
        .sort("patient_id", "date")
        .with_columns(k=pl.int_range(pl.len()).over("patient_id"), n=pl.len().over("patient_id"))
    )
    span = d.group_by("patient_id").agg(
        n_days=pl.len().cast(pl.Int64), first=pl.col("date").min(), last=pl.col("date").max()
    )
    base = (
        d.filter(pl.col("k") < b)
        .group_by("patient_id")
        .agg(
            baseline_start=pl.col("date").min(),
            baseline_end=pl.col("date").max(),
            baseline=pl.col("pain_mean").mean(),
            s1=pl.col("pain_mean").std(ddof=1),
            n_base=pl.len(),
        )
    )
    cur = (
        d.filter(pl.col("k") >= pl.col("n") - c)
        .group_by("patient_id")
        .agg(
            current_start=pl.col("date").min(),
            current_end=pl.col("date").max(),
            current=pl.col("pain_mean").mean(),
        )
    )
    out = (
        ids.join(anchors, on="patient_id", how="left")
        .join(logged, on="patient_id", how="left")
        .join(span, on="patient_id", how="left")
        .join(base, on="patient_id", how="left")
        .join(cur, on="patient_id", how="left")
        .with_columns(pl.col("n_days").fill_null(0))
    )
    enough = pl.col("n_days") >= b + c
    out = out.with_columns(
        [pl.when(enough).then(pl.col(col)).alias(col) for col in ("current_start", "current_end", "current")]
    )
    change = pl.col("current") - pl.col("baseline")
    s_diff = math.sqrt(2.0) * pl.col("s1") * math.sqrt(1.0 - r_xx)
    rci_ok = (pl.col("n_base") >= 2) & (pl.col("s1") > 0)
    out = out.with_columns(change=change).with_columns(
        percent_change=pl.when(pl.col("baseline") > 0).then(100.0 * pl.col("change") / pl.col("baseline")),
        rci=pl.when(rci_ok & pl.col("change").is_not_null()).then(pl.col("change") / s_diff),
    )
    by_points = -pl.col("change") >= pts - _EPS
    by_percent = (-pl.col("percent_change") >= pct - _EPS).fill_null(False)
    out = out.with_columns(
        mcid_reached=pl.when(pl.col("change").is_not_null()).then(by_points | by_percent),
        reliable_improvement=pl.col("rci") < -_NORMAL_975,
        weeks_observed=(pl.col("last") - pl.col("first")).dt.total_days().cast(pl.Float64) / 7.0,
        status=pl.when(pl.col("any_days").is_null())
        .then(pl.lit("no pain entries"))
        .when(pl.col("n_days") == 0)
        .then(
            format_str(
                "no pain entries on or after the anchor date {}", pl.col("anchor_date").cast(pl.String)
            )
        )
        .when(~enough)
        .then(pl.lit(f"fewer than {b + c} logged days: baseline and current overlap"))
        .when(pl.col("n_base") < 2)
        .then(pl.lit(f"ok; rci undefined: baseline has {b} day"))
        .when(pl.col("s1") <= 0)
        .then(pl.lit("ok; rci undefined: baseline pain constant (SD 0)"))
        .otherwise(pl.lit("ok")),
    )
    return out.select(list(OUTCOME_SCHEMA)).cast(OUTCOME_SCHEMA).sort("patient_id")


# --------------------------------------------------------------------------------------
# 6. Time since surgery / programme start
# --------------------------------------------------------------------------------------


def weeks_since_anchor(daily: Any, patients: Any) -> pl.DataFrame:
    """Add the weeks elapsed since each patient's surgery (else programme start) to every day.

    Parameters
    ----------
    daily
        Frame with ``patient_id`` and ``date`` (e.g. from :func:`daily_pain`); other
        columns are passed through.
    patients
        :class:`toolkit.schema.Patients` frame: ``patient_id`` and ``surgery_date``
        and/or ``programme_start_date``.

    Returns
    -------
    polars.DataFrame
        The input rows in the input order, with every input column plus:

        - ``weeks_since_anchor`` (float, weeks): (date − anchor) / 7 in calendar days;
          negative before the anchor, 0 on it; null when the patient has no anchor or is
          not in ``patients``.

    Notes
    -----
    The anchor is ``surgery_date`` when present (the schema measures recovery time from
    it), else ``programme_start_date``.
    """
    df = _daily(daily, pain=False)
    anchors = _patient_anchors(patients).rename({"anchor_date": "__anchor"})
    idx = "__weeks_row"
    return (
        df.with_row_index(idx)
        .join(anchors, on="patient_id", how="left")
        .with_columns(
            weeks_since_anchor=(pl.col("date") - pl.col("__anchor")).dt.total_days().cast(pl.Float64) / 7.0
        )
        .sort(idx)
        .drop(idx, "__anchor")
    )


# --------------------------------------------------------------------------------------
# 7. Flares
# --------------------------------------------------------------------------------------


def _settle_dates(d: pl.DataFrame, flagged: pl.DataFrame, margin: float) -> pl.Series:
    """For every flare day (row ``__i`` of ``d``, sorted by patient and date), the first
    later day of the same patient with ``pain_mean ≤ trailing_median + margin``, or null.

    The next :data:`_SETTLE_LOOKAHEAD` logged days of every flare day are checked at once
    (flares mostly settle within days); the flare days still unsettled then are matched
    against all their patient's later days.
    """
    n = d.height
    later = (
        flagged.select(
            "__i",
            "__p",
            (pl.col("trailing_median") + margin).alias("__limit"),
            pl.int_ranges(1, _SETTLE_LOOKAHEAD + 1, dtype=pl.Int64).alias("__k"),
        )
        .explode("__k")
        .with_columns(__j=pl.col("__i") + pl.col("__k"))
        .filter(pl.col("__j") < n)
    )
    j = later["__j"]
    later = later.with_columns(
        __later_p=d["__p"].gather(j), __later=d["date"].gather(j), __later_pain=d["pain_mean"].gather(j)
    ).filter(pl.col("__later_p") == pl.col("__p"))
    found = (
        later.filter(pl.col("__later_pain") <= pl.col("__limit"))
        .group_by("__i")
        .agg(pl.col("__later").min().alias("settle_date"))
    )
    # Flare days whose patient has more than the look-ahead of later days and that did
    # not settle within it.
    last_row = d.with_row_index("__j").group_by("__p").agg(pl.col("__j").max().cast(pl.Int64).alias("__last"))
    rest = (
        flagged.select("__i", "__p", "trailing_median")
        .join(found, on="__i", how="anti")
        .join(last_row, on="__p")
        .filter(pl.col("__last") > pl.col("__i") + _SETTLE_LOOKAHEAD)
    )
    if rest.height:
        far = (
            rest.join(
                d.select("__p", pl.col("date").alias("__later"), pl.col("pain_mean").alias("__later_pain"))
                .with_row_index("__j")
                .with_columns(pl.col("__j").cast(pl.Int64)),
                on="__p",
            )
            .filter(
                (pl.col("__j") > pl.col("__i") + _SETTLE_LOOKAHEAD)
                & (pl.col("__later_pain") <= pl.col("trailing_median") + margin)
            )
            .group_by("__i")
            .agg(pl.col("__later").min().alias("settle_date"))
        )
        found = pl.concat([found, far])
    return flagged.select("__i").join(found, on="__i", how="left", maintain_order="left")["settle_date"]


def _episode_starts(flagged: pl.DataFrame) -> pl.Series:
    """Which flare days (sorted by patient and date, with ``settle_date``) start an episode.

    A patient's first flare day starts one; an episode started on day *i* lasts until
    its ``settle_date`` (for ever when null), and the first flare day on or after it
    starts the next. The chains of episode starts are followed for all patients at
    once, one step per episode.
    """
    p = flagged["__p"].to_numpy()
    day = flagged["date"].cast(pl.Int64).to_numpy()
    settle = flagged["settle_date"].cast(pl.Int64)
    settled = settle.is_not_null().to_numpy()
    settle = settle.fill_null(0).to_numpy()
    span = int(day.max() - day.min()) + 2 if len(day) else 1
    key = p.astype(np.int64) * span + (day - day.min())
    nxt = np.searchsorted(key, p.astype(np.int64) * span + (settle - day.min()), side="left")
    ok = settled & (nxt < len(key))
    ok[ok] = p[nxt[ok]] == p[ok]
    nxt = np.where(ok, nxt, -1)
    start = np.zeros(len(key), dtype=bool)
    frontier = np.flatnonzero(np.r_[True, p[1:] != p[:-1]]) if len(key) else np.zeros(0, dtype=np.int64)
    while frontier.size:
        start[frontier] = True
        frontier = nxt[frontier]
        frontier = frontier[frontier >= 0]
    return pl.Series(start, dtype=pl.Boolean)


def flares(
    daily: Any,
    *,
    threshold: float = 2.0,
    window_days: int = 7,
    settle_margin: float = 1.0,
) -> pl.DataFrame:
    """Flare-up episodes: days well above the recent typical pain, and how long they took to settle.

    Parameters
    ----------
    daily
        Daily frame as from :func:`daily_pain` (``patient_id``, ``date``, ``pain_mean``).
    threshold
        A day is a flare day when ``pain_mean − trailing_median ≥ threshold`` NRS points
        (> 0), default 2 (the NRS MCID of Ostelo et al. 2008: a clinically noticeable rise).
    window_days
        Calendar days before the day whose ``pain_mean`` form the trailing median
        (int ≥ 3), default 7.
    settle_margin
        The flare has settled on the first later logged day with
        ``pain_mean ≤ trailing_median + settle_margin`` (≥ 0), default 1 NRS point (back
        within less than the MCID of the pre-flare level).

    Returns
    -------
    polars.DataFrame
        One row per flare episode, sorted by ``patient_id, date``:

        - ``patient_id`` (str).
        - ``date`` (date): first day of the episode.
        - ``pain`` (float, NRS points): ``pain_mean`` on that day.
        - ``trailing_median`` (float, NRS points): median ``pain_mean`` of the
          ``window_days`` calendar days before ``date`` (today excluded).
        - ``excess`` (float, NRS points): pain − trailing_median.
        - ``days_to_settle`` (int, days): calendar days from ``date`` to the first later
          logged day with ``pain_mean ≤ trailing_median + settle_margin``; null if that
          never happens within the data.
        - ``settled`` (bool): ``days_to_settle`` is not null.

    Notes
    -----
    ``trailing_median_t = median{pain_mean_s : t − window_days ≤ s < t}`` over logged days
    (polars ``rolling_median_by(closed="left")`` per patient); it needs ≥ 3 logged values
    in the window, otherwise the day cannot be flagged. The median is used because the NRS
    is ordinal and a single bad day should not move the reference (DOMAIN pitfall 8).

    Episodes: a flare day starts an episode unless an earlier episode of the same
    patient is still unsettled, in which case it is merged into it; consecutive flare
    days are therefore one episode, and so are flare days separated by days that are
    below the threshold but not yet settled. Settling is judged against the trailing
    median *of the episode's first day* (later medians already contain flare days).
    Settling can only be seen on logged days, so after an unlogged gap
    ``days_to_settle`` is an upper bound.
    """
    thr = float_option("threshold", threshold, low=0.0, low_open=True)
    window = int_option("window_days", window_days, low=3)
    margin = float_option("settle_margin", settle_margin, low=0.0)
    d = (
        _daily(daily)
        .filter(pl.col("pain_mean").is_not_null())
        .select("patient_id", "date", "pain_mean")
        .sort("patient_id", "date")
    )
    if d.is_empty():
        return _empty(FLARE_SCHEMA)
    d = d.with_columns(__p=pl.col("patient_id").rle_id())
    flagged = (
        d.with_columns(
            trailing_median=pl.col("pain_mean")
            .rolling_median_by("date", window_size=f"{window}d", closed="left", min_samples=3)
            .over("__p"),
            __i=pl.int_range(pl.len(), dtype=pl.Int64),
        )
        .with_columns(excess=pl.col("pain_mean") - pl.col("trailing_median"))
        .filter(pl.col("excess") >= thr - _EPS)
        .rename({"pain_mean": "pain"})
    )
    if flagged.is_empty():
        return _empty(FLARE_SCHEMA)
    flagged = flagged.with_columns(settle_date=_settle_dates(d, flagged, margin + _EPS))
    episodes = flagged.filter(_episode_starts(flagged))
    return (
        episodes.with_columns(days_to_settle=(pl.col("settle_date") - pl.col("date")).dt.total_days())
        .with_columns(settled=pl.col("days_to_settle").is_not_null())
        .select(list(FLARE_SCHEMA))
        .cast(FLARE_SCHEMA)
    )


# --------------------------------------------------------------------------------------
# 8. Patient-reported outcome measures
# --------------------------------------------------------------------------------------


def _prom_days(outcome_measures: Any) -> pl.DataFrame:
    """PROM scores per patient, instrument and day (same-day repeats averaged)."""
    df = as_polars(outcome_measures, "outcome_measures")
    cols = ["patient_id", "local_date", "instrument", "score", "higher_is_better"]
    require_columns(df, cols, "outcome_measures")
    df = _coerce(
        df.select(cols),
        "outcome_measures",
        strings=("patient_id", "instrument"),
        dates=("local_date",),
        floats=("score",),
        bools=("higher_is_better",),
    )
    df = df.with_columns(pl.col("instrument").str.strip_chars().str.to_uppercase()).filter(
        pl.all_horizontal(pl.col("patient_id", "local_date", "instrument", "score").is_not_null())
    )
    mixed = df.group_by("patient_id", "instrument").agg(pl.col("higher_is_better").drop_nulls().n_unique())
    mixed = mixed.filter(pl.col("higher_is_better") > 1)
    if mixed.height:
        raise OptionError(
            "outcome_measures.higher_is_better must be the same for every score of one instrument, "
            f"got both True and False for {mixed['instrument'][0]} of patient {mixed['patient_id'][0]}"
        )
    return (
        df.group_by("patient_id", "instrument", "local_date")
        .agg(score=pl.col("score").mean(), higher_is_better=pl.col("higher_is_better").drop_nulls().first())
        .with_columns(
            higher_is_better=pl.col("higher_is_better")
            .fill_null(strategy="forward")
            .fill_null(strategy="backward")
            .over("patient_id", "instrument", order_by="local_date")
            .fill_null(pl.col("instrument") == "PSFS")
        )
        .sort("patient_id", "instrument", "local_date")
    )


def prom_outcomes(outcome_measures: Any, *, mcid: Mapping[str, float] | None = None) -> pl.DataFrame:
    """First vs latest score of each outcome measure per patient, with its MCID.

    Parameters
    ----------
    outcome_measures
        :class:`toolkit.schema.OutcomeMeasures` rows: ``patient_id``, ``local_date``,
        ``instrument``, ``score``, ``higher_is_better``.
    mcid
        Minimal clinically important improvement per instrument in the instrument's
        points, overriding the defaults ``{"ODI": 10, "RMDQ": 5, "PSFS": 2, "NRS": 2}``
        (keys case-insensitive; values finite and > 0). Instruments without an MCID get
        null ``mcid`` and ``mcid_reached``.

    Returns
    -------
    polars.DataFrame
        One row per patient and instrument, sorted by ``patient_id, instrument``:

        - ``patient_id`` (str).
        - ``instrument`` (str): upper-case (ODI, RMDQ, PSFS, NRS, ...).
        - ``baseline_date`` (date), ``baseline`` (float, instrument points): first
          measurement day and its score.
        - ``latest_date`` (date), ``latest`` (float, instrument points): last day and
          its score.
        - ``change`` (float, instrument points): latest − baseline; null with one day.
        - ``improvement`` (float, instrument points): change signed so that positive is
          better (−change for ODI, RMDQ, NRS; +change for PSFS, via ``higher_is_better``).
        - ``mcid`` (float, instrument points): threshold used.
        - ``mcid_reached`` (bool): improvement ≥ mcid; null with one day or no MCID.
        - ``n`` (int): days measured.

    Notes
    -----
    Defaults: ODI 10/100, RMDQ 5/24, NRS 2/10 (Ostelo et al. 2008, Spine 33:90–94; the
    consensus also accepts ≥ 30 % improvement, which is not applied here); PSFS 2/10 —
    Abbott & Schmitt 2014 (JOSPT 44:560, doi 10.2519/jospt.2014.5248) report MIDs of
    1.3 (small), 2.3 (medium) and 2.7 (large change); 2 is the conventional round value.
    Same-day repeats of an instrument are averaged. A missing ``higher_is_better`` is
    taken from the patient's other scores of the instrument, else True only for PSFS.
    """
    table = dict(PROM_MCID)
    if mcid is not None:
        if not isinstance(mcid, Mapping):
            raise OptionError(f"mcid must be a dict instrument → points, got {type(mcid).__name__}")
        for key, value in mcid.items():
            if not isinstance(key, str) or not key.strip():
                raise OptionError(f"mcid keys must be instrument names, got {key!r}")
            table[key.strip().upper()] = float_option(f"mcid[{key!r}]", value, low=0.0, low_open=True)
    days = _prom_days(outcome_measures)
    if days.is_empty():
        return _empty(PROM_SCHEMA)
    mcid_frame = pl.DataFrame(
        {"instrument": list(table), "mcid": list(table.values())},
        schema={"instrument": pl.String, "mcid": pl.Float64},
    )
    out = (
        days.group_by("patient_id", "instrument")
        .agg(
            baseline_date=pl.col("local_date").first(),
            baseline=pl.col("score").first(),
            latest_date=pl.col("local_date").last(),
            latest=pl.col("score").last(),
            higher_is_better=pl.col("higher_is_better").last(),
            n=pl.len().cast(pl.Int64),
        )
        .join(mcid_frame, on="instrument", how="left")
        .with_columns(change=pl.when(pl.col("n") >= 2).then(pl.col("latest") - pl.col("baseline")))
        .with_columns(
            improvement=pl.when(pl.col("higher_is_better"))
            .then(pl.col("change"))
            .otherwise(-pl.col("change"))
        )
        .with_columns(mcid_reached=pl.col("improvement") >= pl.col("mcid") - _EPS)
    )
    return out.select(list(PROM_SCHEMA)).cast(PROM_SCHEMA).sort("patient_id", "instrument")


# --------------------------------------------------------------------------------------
# 9. Recovered
# --------------------------------------------------------------------------------------


def recovered(
    outcome_measures: Any,
    *,
    daily: Any = None,
    nrs_max: float = 0.0,
    rmdq_max: float = 2.0,
) -> pl.DataFrame:
    """Whether each patient meets the NRS = 0 and RMDQ ≤ 2 definition of recovery.

    Parameters
    ----------
    outcome_measures
        :class:`toolkit.schema.OutcomeMeasures` rows (``NRS`` and ``RMDQ`` scores are used).
    daily
        Optional daily pain frame (:func:`daily_pain`). When given, the patient's last
        logged day's ``pain_mean`` is used as the NRS if it is more recent than the last
        NRS outcome measure (or there is none).
    nrs_max
        Highest NRS pain counted as recovered (0–10), default 0 (Kamper et al. 2010).
    rmdq_max
        Highest RMDQ score counted as recovered (0–24), default 2 (Kamper et al. 2010).

    Returns
    -------
    polars.DataFrame
        One row per patient, sorted by ``patient_id``:

        - ``patient_id`` (str).
        - ``nrs`` (float, NRS points), ``nrs_date`` (date): latest pain rating used.
        - ``nrs_source`` (str): ``"outcome_measures"`` or ``"daily"``.
        - ``rmdq`` (float, RMDQ points 0–24), ``rmdq_date`` (date): latest RMDQ.
        - ``recovered`` (bool): nrs ≤ nrs_max and rmdq ≤ rmdq_max (three-valued: False as
          soon as one available score is above its cut-off; null when the available
          score passes but the other is missing).
        - ``status`` (str): ``"ok"``, ``"no NRS"``, ``"no RMDQ"`` or
          ``"no NRS and no RMDQ"``.

    Notes
    -----
    Kamper et al. 2010 (Eur Spine J 19:1495, PMC2989296): against patients' own rating of
    complete recovery, NRS = 0 (diagnostic OR 43.9) and RMDQ ≤ 2 (OR 17.6) classified
    recovery best. The two latest scores may come from different days; check
    ``nrs_date`` and ``rmdq_date``. Same-day repeats are averaged.
    """
    n_max = float_option("nrs_max", nrs_max, low=0.0, high=10.0)
    r_max = float_option("rmdq_max", rmdq_max, low=0.0, high=24.0)
    days = _prom_days(outcome_measures)
    latest = (
        days.filter(pl.col("instrument").is_in(["NRS", "RMDQ"]))
        .group_by("patient_id", "instrument")
        .agg(score=pl.col("score").last(), day=pl.col("local_date").last())
    )
    nrs = latest.filter(pl.col("instrument") == "NRS").select(
        "patient_id", nrs="score", nrs_date="day", nrs_source=pl.lit("outcome_measures")
    )
    rmdq = latest.filter(pl.col("instrument") == "RMDQ").select("patient_id", rmdq="score", rmdq_date="day")
    id_frames = [days.select("patient_id")]
    if daily is not None:
        d = _daily(daily).filter(pl.col("pain_mean").is_not_null())
        last = (
            d.sort("date")
            .group_by("patient_id")
            .agg(d_nrs=pl.col("pain_mean").last(), d_date=pl.col("date").last())
        )
        nrs = (
            last.join(nrs, on="patient_id", how="full", coalesce=True)
            .with_columns(
                use_daily=pl.col("d_date").is_not_null()
                & ~(pl.col("nrs_date") >= pl.col("d_date")).fill_null(False)
            )
            .select(
                "patient_id",
                nrs=pl.when("use_daily").then("d_nrs").otherwise("nrs"),
                nrs_date=pl.when("use_daily").then("d_date").otherwise("nrs_date"),
                nrs_source=pl.when("use_daily").then(pl.lit("daily")).otherwise("nrs_source"),
            )
        )
        id_frames.append(d.select("patient_id"))
    ids = pl.concat(id_frames).unique()
    if ids.is_empty():
        return _empty(RECOVERED_SCHEMA)
    out = (
        ids.join(nrs, on="patient_id", how="left")
        .join(rmdq, on="patient_id", how="left")
        .with_columns(
            recovered=(pl.col("nrs") <= n_max + _EPS) & (pl.col("rmdq") <= r_max + _EPS),
            status=pl.when(pl.col("nrs").is_null() & pl.col("rmdq").is_null())
            .then(pl.lit("no NRS and no RMDQ"))
            .when(pl.col("nrs").is_null())
            .then(pl.lit("no NRS"))
            .when(pl.col("rmdq").is_null())
            .then(pl.lit("no RMDQ"))
            .otherwise(pl.lit("ok")),
        )
    )
    return out.select(list(RECOVERED_SCHEMA)).cast(RECOVERED_SCHEMA).sort("patient_id")
