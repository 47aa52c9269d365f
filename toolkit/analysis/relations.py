"""Training ↔ pain relations of one patient over time (N-of-1 lagged regressions).

Every function is pure (frame in, new frame out; inputs are never modified), accepts
polars or pandas frames, works on many patients at once and returns polars. Empty input
gives an empty frame with the documented columns; a missing column or an invalid option
raises :class:`~toolkit.exceptions.OptionError`.

=============================  ================================================================
Function                       One row per
=============================  ================================================================
:func:`relations`              patient × direction × driver × lag: effect with a 95 % CI,
                               p, Benjamini–Hochberg q and a plain-language sentence
:func:`rest_and_strength`      patient × heavy lift: e1RM change per extra rest day between
                               sessions of that lift
:func:`significant_sentences`  the sentences of the significant rows (a list of str)
=============================  ================================================================

Every result is an **association within one patient, not a causal effect**. The models
adjust for the recovery trend (``DOMAIN.md`` pitfall 3), for the pain before the
exposure (reverse causation, pitfall 2), use autocorrelation-robust standard errors
(pitfall 1), never fill unlogged days (pitfall 4) and correct for the many tests
(pitfall 5). Co-occurring exposures (a load spike is also a high-load day with a lot of
Romanian deadlift) cannot be separated (pitfall 6): several drivers may light up for
one underlying event.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import statsmodels.api as sm
from scipy import special, stats
from statsmodels.tools.sm_exceptions import SingularMatrixWarning

from toolkit._polars import format_str
from toolkit.analysis import _batched_ols as _bo
from toolkit.analysis import flags as fl
from toolkit.analysis import load as ld
from toolkit.analysis._frames import as_polars, require_columns
from toolkit.analysis._options import int_option
from toolkit.exceptions import OptionError

__all__ = [
    "RELATION_SCHEMA",
    "REST_STRENGTH_SCHEMA",
    "relations",
    "rest_and_strength",
    "significant_sentences",
]

RELATION_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "direction": pl.String(),
    "driver": pl.String(),
    "lag_days": pl.Int64(),
    "lag_label": pl.String(),
    "effect": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "p_value": pl.Float64(),
    "q_value": pl.Float64(),
    "significant": pl.Boolean(),
    "n": pl.Int64(),
    "exposure_days": pl.Int64(),
    "unit": pl.String(),
    "sentence": pl.String(),
    "note": pl.String(),
    "method": pl.String(),
}
"""Columns of :func:`relations` (documented there)."""

REST_STRENGTH_SCHEMA: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "exercise": pl.String(),
    "n_pairs": pl.Int64(),
    "mean_rest_days": pl.Float64(),
    "min_rest_days": pl.Int64(),
    "max_rest_days": pl.Int64(),
    "mean_change_kg": pl.Float64(),
    "kg_per_rest_day": pl.Float64(),
    "ci_low": pl.Float64(),
    "ci_high": pl.Float64(),
    "p_value": pl.Float64(),
    "q_value": pl.Float64(),
    "significant": pl.Boolean(),
    "sentence": pl.String(),
    "note": pl.String(),
    "method": pl.String(),
}
"""Columns of :func:`rest_and_strength` (documented there)."""

FORWARD = "training→pain"
REVERSE = "pain→training"
_TRENDS = ("linear", "spline")
_MAX_LAG = 28
_LEVEL = 0.95
_COUNTED = ("working", "drop", "failure")
_ASSOCIATION = "association, not causation"

# Built-in drivers: name -> (binary, unit, phrase used in sentences).
_DRIVERS: dict[str, tuple[bool, str, str]] = {
    "training day": (True, "day with training vs without", "a training day"),
    "rest day": (True, "rest day vs training day", "a rest day"),
    "daily load": (False, "per 1,000 kg volume load (Σ reps × kg)", "1,000 kg of daily volume load"),
    "load spike": (True, "day with a load spike vs without", "a load spike"),
    "streak length": (False, "per consecutive training day", "consecutive training day"),
    "weekly frequency": (False, "per session in the trailing 7 days", "session in the trailing 7 days"),
}
_REVERSE_UNITS = {
    "training day": "percentage points of next-day training probability per pain point",
    "daily load": "kg of next-day volume load per pain point",
}


# --------------------------------------------------------------------------------------
# Options and inputs
# --------------------------------------------------------------------------------------


def _alpha_option(alpha: Any) -> float:
    ok = isinstance(alpha, numbers.Real) and not isinstance(alpha, bool) and 0.0 < float(alpha) < 1.0
    if not ok:
        raise OptionError(f"alpha must be a number strictly between 0 and 1, got {alpha!r}")
    return float(alpha)


def _lag_specs(lags: Any) -> list[tuple[int, int]]:
    """``lags`` → ``[(first, last), ...]``: an int k is the day ``t − k``; a pair (a, b)
    is the window of days ``t − b … t − a``."""
    expected = (
        f"lags must be a non-empty sequence of ints 0..{_MAX_LAG} or (first, last) windows "
        f"with 0 ≤ first < last ≤ {_MAX_LAG}, e.g. (0, 1, 2, 3, (1, 2)), got {lags!r}"
    )
    if isinstance(lags, str | bytes) or not isinstance(lags, Sequence) or len(lags) == 0:
        raise OptionError(expected)
    specs: list[tuple[int, int]] = []
    for item in lags:
        if isinstance(item, numbers.Integral) and not isinstance(item, bool):
            spec = (int(item), int(item))
        elif (
            isinstance(item, Sequence)
            and not isinstance(item, str | bytes)
            and len(item) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in item)
            and item[0] < item[1]
        ):
            spec = (int(item[0]), int(item[1]))
        else:
            raise OptionError(expected)
        if spec[0] < 0 or spec[1] > _MAX_LAG:
            raise OptionError(expected)
        if spec in specs:
            raise OptionError(f"lags must not repeat a lag, got {item!r} twice")
        specs.append(spec)
    return specs


def _label(spec: tuple[int, int]) -> str:
    return str(spec[0]) if spec[0] == spec[1] else f"{spec[0]}–{spec[1]}"


def _cast(df: pl.DataFrame, name: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Cast contract columns, refusing dtypes that cannot hold them."""
    exprs = []
    for col, dtype in schema.items():
        current = df.schema[col]
        if current == dtype:
            continue
        blank = current == pl.Null or df.get_column(col).null_count() == df.height
        if blank:
            exprs.append(pl.col(col).cast(dtype, strict=False))
        elif dtype == pl.Date and isinstance(current, pl.Datetime):
            exprs.append(pl.col(col).dt.date())
        elif dtype == pl.Date and current == pl.String:
            try:
                df = df.with_columns(pl.col(col).str.to_date("%Y-%m-%d", strict=True))
            except pl.exceptions.PolarsError as exc:
                raise OptionError(f"{name}.{col} must hold dates (YYYY-MM-DD), got unparsable text") from exc
        elif dtype.is_numeric() and current.is_numeric():
            exprs.append(pl.col(col).cast(dtype))
        elif dtype == pl.Boolean and current.is_numeric():
            exprs.append(pl.col(col).cast(pl.Boolean))
        elif dtype == pl.String and (current.is_numeric() or isinstance(current, pl.Categorical | pl.Enum)):
            exprs.append(pl.col(col).cast(pl.String))
        else:
            raise OptionError(f"{name}.{col} must be {dtype}, got {current}")
    df = df.with_columns(exprs) if exprs else df
    floats = [c for c, t in schema.items() if t == pl.Float64]
    return df.with_columns(pl.col(floats).fill_nan(None)) if floats else df


_LOAD_COLUMNS: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "date": pl.Date(),
    "sessions": pl.Float64(),
    "volume_kg": pl.Float64(),
    "training_day": pl.Boolean(),
    "logged": pl.Boolean(),
    "rest_day": pl.Boolean(),
    "streak_days": pl.Float64(),
}
_PAIN_COLUMNS: dict[str, pl.DataType] = {
    "patient_id": pl.String(),
    "date": pl.Date(),
    "pain_mean": pl.Float64(),
}


def _unique_days(df: pl.DataFrame, name: str, hint: str) -> pl.DataFrame:
    dup = df.select(pl.struct("patient_id", "date").is_duplicated().sum()).item()
    if dup:
        raise OptionError(
            f"{name} must have one row per patient_id and date ({hint}), got {dup} repeated rows"
        )
    return df


# --------------------------------------------------------------------------------------
# Inference: OLS with the more conservative of a HAC and a conventional test
# --------------------------------------------------------------------------------------


def _hac_lags(n: int) -> int:
    """Newey–West truncation lag ``S = ⌈1.3·√n⌉`` (Lazarus et al. 2018), at most n − 1."""
    return max(1, min(n - 1, math.ceil(1.3 * math.sqrt(n))))


def _hac_df(n: int, k: int, lags: int) -> int:
    """Equivalent degrees of freedom ``ν = ⌊1.5·n/S⌋`` of the Bartlett long-run variance
    at frequency zero, at most the residual df ``n − k``."""
    return max(1, min(n - k, math.floor(1.5 * n / lags)))


def _ols_infer(y: np.ndarray, design: np.ndarray, j: int = 1) -> dict[str, Any] | str:
    """Effect of column ``j`` with its 95 % CI and p, or the reason it cannot be estimated.

    Two tests of ``β_j = 0`` are computed and the one with the wider 95 % interval is
    reported (its CI and p): Newey–West HAC (Bartlett, ``S`` lags, statsmodels' default:
    no small-sample correction) against ``t(ν)``, and the conventional OLS standard error
    against ``t(n − k)``.
    """
    n, k = design.shape
    if n - k < 2:
        return f"too few days for the model ({n} days, {k} parameters)"
    if np.linalg.matrix_rank(design) < k:
        return "driver is collinear with the time trend or the adjustment (nothing left to compare)"
    lags = _hac_lags(n)
    nu = _hac_df(n, k, lags)
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        # Perfect fits (SE 0) are handled below; silence only statsmodels' rank warning.
        warnings.simplefilter("ignore", SingularMatrixWarning)
        conv = sm.OLS(y, design).fit()
        hac = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": lags}, use_t=True)
    b = float(conv.params[j])
    se_ols = float(conv.bse[j])
    se_hac = float(hac.bse[j])
    if not (np.isfinite(se_ols) and np.isfinite(se_hac)) or max(se_ols, se_hac) <= 1e-12 * max(1.0, abs(b)):
        return "perfect fit: no residual variation to judge the driver against"
    q = (1 + _LEVEL) / 2
    half_hac = float(stats.t.ppf(q, nu)) * se_hac
    half_ols = float(stats.t.ppf(q, n - k)) * se_ols
    if half_hac >= half_ols:
        half, p = half_hac, float(2 * stats.t.sf(abs(b) / se_hac, nu))
        method = f"Newey-West HAC SE (Bartlett, maxlags={lags}), t({nu})"
    else:
        half, p = half_ols, float(2 * stats.t.sf(abs(b) / se_ols, n - k))
        method = f"conventional OLS SE (larger than HAC, maxlags={lags}), t({n - k})"
    return {"effect": b, "ci_low": b - half, "ci_high": b + half, "p_value": p, "method": method}


def _quantiles(t: np.ndarray, starts: np.ndarray, n: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """``np.quantile(t_g, probs_g)`` (method "linear", same arithmetic) of every fit ``g``
    whose rows ``starts[g] … starts[g] + n[g] − 1`` of ``t`` are sorted; ``probs`` is
    ``(fits, q)``."""
    nn = n[:, None].astype(float)
    virtual = nn * probs + (1 + probs * (1 - 1 - 1)) - 1
    below = np.floor(virtual)
    gamma = virtual - below
    prev = np.clip(below, 0, nn - 1).astype(np.intp)
    nxt = np.clip(below + 1, 0, nn - 1).astype(np.intp)
    a = t[starts[:, None] + prev]
    b = t[starts[:, None] + nxt]
    diff = b - a
    return np.where(gamma >= 0.5, b - diff * (1 - gamma), a + diff * gamma)


def _trend_columns(
    fit: np.ndarray, days: np.ndarray, n: np.ndarray, trend: str, spline_df: int | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trend terms of every fit: ``(rows, m)`` columns, ``(fits, m)`` active mask and the
    spline df of each fit (0 for the linear trend).

    Linear: days / 7. Spline: natural cubic spline basis (without intercept) with ``df``
    columns: ``days`` and ``df − 1`` truncated-power terms, knots at quantiles of the
    fit's days (Hastie et al. 2009, eq. 5.4–5.5), each column scaled to max |value| 1;
    ``df`` is ``spline_df`` or one per four weeks of the fit's span, between 2 and 6.
    """
    g = n.size
    if trend == "linear":
        return (days / 7.0)[:, None], np.ones((g, 1), bool), np.zeros(g, np.int64)
    starts = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.intp)
    span = days[starts + n - 1] - days[starts]
    df = (
        np.full(g, spline_df, np.int64)
        if spline_df is not None
        else np.clip(np.rint(span / 28.0), 2, 6).astype(np.int64)
    )
    width = int(df.max()) + 1
    probs = np.zeros((g, width))
    for v in np.unique(df):
        probs[df == v, : v + 1] = np.linspace(0.0, 1.0, v + 1)
    knots = _quantiles(days, starts, n, probs)  # knots beyond df + 1 are unused
    last = knots[np.arange(g), df][fit]
    before = knots[np.arange(g), df - 1][fit]

    def d(knot: np.ndarray) -> np.ndarray:
        return (np.clip(days - knot, 0, None) ** 3 - np.clip(days - last, 0, None) ** 3) / (last - knot)

    with np.errstate(divide="ignore", invalid="ignore"):
        tail = d(before)
        cols = [days] + [d(knots[fit, c]) - tail for c in range(width - 2)]
    active = np.column_stack([np.ones(g, bool)] + [c < df - 1 for c in range(width - 2)])
    basis = np.where(active[fit], np.column_stack(cols), 0.0)
    scale = np.maximum(np.maximum.reduceat(np.abs(basis), starts, axis=0), 1e-12)
    scale[df < 2] = 1.0  # fewer than 3 knots: days alone, unscaled
    return basis / scale[fit], active, df


# --------------------------------------------------------------------------------------
# Drivers
# --------------------------------------------------------------------------------------


def _base_drivers(load: pl.DataFrame) -> pl.DataFrame:
    """Frame ``patient_id, date`` and one column per day-level driver (null when the day
    is unlogged)."""
    logged = pl.col("logged").fill_null(False)
    on = pl.when(logged)
    load = load.sort("patient_id", "date").with_columns(
        __sess=on.then(pl.col("sessions").fill_null(0.0)),
    )
    seven = load.with_columns(
        __wsum=pl.col("__sess").rolling_sum_by("date", "7d").over("patient_id"),
        __wn=pl.col("__sess").is_not_null().cast(pl.Int64).rolling_sum_by("date", "7d").over("patient_id"),
    )
    wide = seven.select(
        "patient_id",
        "date",
        on.then(pl.col("training_day").cast(pl.Float64)).alias("training day"),
        on.then(pl.col("rest_day").cast(pl.Float64)).alias("rest day"),
        on.then(pl.col("volume_kg") / 1000.0).alias("daily load"),
        on.then(pl.col("streak_days")).alias("streak length"),
        pl.when(pl.col("__wn") == 7).then(pl.col("__wsum")).alias("weekly frequency"),
    )
    return wide


def _spike_driver(load: pl.DataFrame, sessions: pl.DataFrame) -> pl.DataFrame:
    """``load spike`` 0/1 on logged days once a spike can be called (≥ 4 sessions in the
    trailing 28 days, the defaults of :func:`toolkit.analysis.flags.load_spikes`)."""
    spikes = fl.load_spikes(sessions).select("patient_id", "date", pl.lit(1.0).alias("__spike"))
    per_day = (
        sessions.filter(pl.col("volume_kg").is_not_null())
        .group_by("patient_id", "date")
        .agg(pl.len().cast(pl.Float64).alias("__n"))
    )
    df = (
        load.select("patient_id", "date", "logged")
        .join(per_day, on=["patient_id", "date"], how="left")
        .join(spikes, on=["patient_id", "date"], how="left")
        .sort("patient_id", "date")
        .with_columns(
            __prior=pl.col("__n")
            .fill_null(0.0)
            .rolling_sum_by("date", "28d", closed="left")
            .over("patient_id")
        )
    )
    value = (
        pl.when(pl.col("logged").fill_null(False) & (pl.col("__prior") >= 4))
        .then(pl.col("__spike").fill_null(0.0))
        .alias("value")
    )
    return df.select("patient_id", "date", pl.lit("load spike").alias("driver"), value)


def _dose_sets(sets: Any) -> pl.LazyFrame:
    """The counted sets of the canonical ``sets`` table with ``__name`` (exercise) and
    ``__kg`` (reps × kg), for :func:`_exercise_drivers`."""
    s = as_polars(sets, "sets")
    require_columns(s, ["patient_id", "local_date", "exercise_raw", "set_type", "reps", "weight_kg"], "sets")
    if "exercise" not in s.columns:
        s = s.with_columns(pl.lit(None, dtype=pl.String).alias("exercise"))
    s = _cast(
        s.select("patient_id", "local_date", "exercise", "exercise_raw", "set_type", "reps", "weight_kg"),
        "sets",
        {
            "patient_id": pl.String(),
            "local_date": pl.Date(),
            "exercise": pl.String(),
            "exercise_raw": pl.String(),
            "set_type": pl.String(),
            "reps": pl.Float64(),
            "weight_kg": pl.Float64(),
        },
    )
    return (
        s.lazy()
        .filter(pl.col("set_type").fill_null("working").is_in(_COUNTED))
        .select(
            "patient_id",
            "local_date",
            "reps",
            "weight_kg",
            __name=pl.coalesce("exercise", "exercise_raw"),
            __kg=(pl.col("reps").fill_null(0.0) * pl.col("weight_kg").fill_null(0.0)).clip(lower_bound=0.0),
        )
    )


def _exercise_drivers(
    s: pl.LazyFrame, main_exercises: int
) -> tuple[pl.DataFrame, dict[tuple[str, str], tuple[str, str]]]:
    """Daily dose of each patient's ``main_exercises`` (≥ 1) most frequent exercises
    (``s`` from :func:`_dose_sets`).

    Returns the long frame ``patient_id, date, driver, value`` of the days with sets of
    the exercise (every other logged day has dose 0, an unlogged day none) and
    ``(patient, driver) → (unit, phrase)``.
    """
    empty = pl.DataFrame(
        schema={"patient_id": pl.String, "date": pl.Date, "driver": pl.String, "value": pl.Float64}
    )
    daily = (
        s.group_by("patient_id", "__name", pl.col("local_date").alias("date"))
        .agg(
            (pl.col("__kg").sum() / 100.0).alias("__kg100"),
            pl.len().cast(pl.Float64).alias("__sets"),
            ((pl.col("weight_kg") > 0) & (pl.col("reps") > 0)).fill_null(False).any().alias("__loaded"),
        )
        .collect()
    )
    if daily.is_empty():
        return empty, {}
    # Each exercise's days gathered as lists in the group-by that ranks the exercises, and
    # only the kept ones exploded: cheaper than joining the ranking back onto every day
    # (at 10,000 patients: 1.2-1.4 s against 2.0-2.1 s, same rows).
    ranked = (
        daily.group_by("patient_id", "__name")
        .agg(pl.len().alias("__days"), pl.col("__loaded").any(), "date", "__kg100", "__sets")
        .sort(["patient_id", "__days", "__name"], descending=[False, True, False])
        .with_columns(__rank=pl.int_range(pl.len()).over("patient_id"))
        .filter(pl.col("__rank") < main_exercises)
    )
    out = ranked.explode(["date", "__kg100", "__sets"]).select(
        "patient_id",
        "date",
        (pl.col("__name") + " dose").alias("driver"),
        pl.when(pl.col("__loaded")).then(pl.col("__kg100")).otherwise(pl.col("__sets")).alias("value"),
    )
    meta = {}
    for pid, name, loaded in ranked.select("patient_id", "__name", "__loaded").iter_rows():
        if loaded:
            meta[(pid, f"{name} dose")] = (
                f"per 100 kg of {name} (Σ reps × kg)",
                f"100 kg of {name} (reps × kg)",
            )
        else:
            meta[(pid, f"{name} dose")] = (f"per set of {name}", f"set of {name}")
    return out, meta


# --------------------------------------------------------------------------------------
# Sentences
# --------------------------------------------------------------------------------------


def _when(spec: tuple[int, int], what: str) -> str:
    first, last = spec
    if first == last == 0:
        return f"On days with {what}"
    if first == last == 1:
        return f"On the day after {what}"
    if first == last:
        return f"{first} days after {what}"
    return f"On the {first}–{last} days after {what}"


def _later(spec: tuple[int, int]) -> str:
    first, last = spec
    if first == last == 0:
        return "the same day"
    if first == last == 1:
        return "the next day"
    if first == last:
        return f"{first} days later"
    return f"over the {first}–{last} days after"


def _fmt(x: float, decimals: int = 1) -> str:
    s = f"{x:,.{decimals}f}"
    return "0" if s.strip("-0.,") == "" else s.replace("-", "−")


def _decimals(fit: dict[str, Any], least: int) -> int:
    """Decimals that show the CI half-width with two significant digits (at least ``least``)."""
    half = (fit["ci_high"] - fit["ci_low"]) / 2
    if not math.isfinite(half) or half <= 0:
        return least
    return int(min(4, max(least, 1 - math.floor(math.log10(half)))))


def _decimals_of(lo: np.ndarray, hi: np.ndarray, forward: np.ndarray) -> np.ndarray:
    """:func:`_decimals` of many rows at once: at least 1 for forward rows, 0 (never more)
    for reverse rows."""
    least = np.where(forward, 1, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = (hi - lo) / 2
        ok = np.isfinite(half) & (half > 0)
        wanted = 1 - np.floor(np.log10(np.where(ok, half, 1.0)))
    dec = np.where(ok, np.minimum(4, np.maximum(least, wanted)), least)
    return np.where(forward, dec, 0).astype(np.int64)


def _forward_sentence(
    driver: str, spec: tuple[int, int], fit: dict[str, Any], binary: bool, phrase: str, significant: bool
) -> str:
    b, lo, hi = fit["effect"], fit["ci_low"], fit["ci_high"]
    d = _decimals(fit, 1)
    ci = f"95 % CI {_fmt(lo, d)} to {_fmt(hi, d)}"
    if not significant:
        return (
            f"No clear association between {driver} and pain {_later(spec)} "
            f"({_fmt(b, d)} points, {ci}; q = {fit['q_value']:.2f})."
        )
    way = "higher" if b > 0 else "lower"
    if binary:
        when = _when(spec, phrase)
        start = when[0].upper() + when[1:]
        return f"{start}, pain is {_fmt(abs(b), d)} points {way} than on other days ({ci})."
    return f"For every extra {phrase}, pain {_later(spec)} is {_fmt(abs(b), d)} points {way} ({ci})."


def _reverse_sentence(driver: str, fit: dict[str, Any], significant: bool) -> str:
    b, lo, hi = fit["effect"], fit["ci_low"], fit["ci_high"]
    if driver == "training day":
        ci = f"95 % CI {_fmt(lo, 0)} to {_fmt(hi, 0)}"
        if not significant:
            return (
                f"No clear association between pain and training the next day "
                f"({_fmt(b, 0)} percentage points per pain point, {ci}; q = {fit['q_value']:.2f})."
            )
        way = "less" if b < 0 else "more"
        return (
            f"On days after higher pain, training is {way} likely "
            f"({_fmt(b, 0)} percentage points per pain point, {ci})."
        )
    ci = f"95 % CI {_fmt(lo, 0)} to {_fmt(hi, 0)} kg"
    if not significant:
        return (
            f"No clear association between pain and the next day's training load "
            f"({_fmt(b, 0)} kg per pain point, {ci}; q = {fit['q_value']:.2f})."
        )
    way = "lower" if b < 0 else "higher"
    return f"On days after higher pain, the training load is {way} ({_fmt(b, 0)} kg per pain point, {ci})."


# --------------------------------------------------------------------------------------
# relations
# --------------------------------------------------------------------------------------


def _bh(frame: pl.DataFrame, by: str) -> pl.DataFrame:
    """Benjamini–Hochberg q-values of the finite ``p_value`` within each ``by`` group, with
    the arithmetic of statsmodels ``multipletests(method="fdr_bh")``:
    ``q_(i) = min_{j ≥ i} p_(j) / (j / m)``, at most 1."""
    indexed = frame.select(by, "p_value").with_row_index("__i")
    q = (
        indexed.filter(pl.col("p_value").is_finite())
        .sort(by, "p_value")
        .with_columns(
            __r=(pl.int_range(pl.len()).over(by) + 1).cast(pl.Float64),
            __m=pl.len().over(by).cast(pl.Float64),
        )
        .select("__i", (pl.col("p_value") / (pl.col("__r") / pl.col("__m"))).alias("__q"), by)
        .with_columns(pl.col("__q").cum_min(reverse=True).over(by).clip(upper_bound=1.0))
    )
    joined = indexed.join(q.select("__i", "__q"), on="__i", how="left", maintain_order="left")
    return frame.with_columns(joined["__q"].alias("q_value"))


def relations(
    daily_load: Any,
    daily_pain: Any,
    *,
    sets: Any = None,
    session_load: Any = None,
    lags: Sequence[int | tuple[int, int]] = (0, 1, 2, 3),
    alpha: float = 0.05,
    main_exercises: int = 3,
    trend: str = "linear",
    spline_df: int | None = None,
    adjust_prior: bool = True,
    min_days: int = 20,
    min_exposure_days: int = 2,
) -> pl.DataFrame:
    """Lagged associations between training and pain, in both directions, per patient.

    For every driver and lag the model ``pain_t = a + b·driver_{t−lag} + trend(t)
    [+ c·pain_{t−lag−1}] + ε_t`` is fitted by OLS over the patient's days; ``b`` is
    reported with a 95 % autocorrelation-robust confidence interval, a p-value and a
    Benjamini–Hochberg q-value across every test of the patient. The reverse direction
    (pain → next-day training) is tested as well, because pain-contingent activity
    produces the same correlations (``DOMAIN.md`` pitfall 2).

    Parameters
    ----------
    daily_load
        :func:`toolkit.analysis.load.daily_load` output (polars or pandas): ``patient_id,
        date, sessions, volume_kg, training_day, logged, rest_day, streak_days``; one
        row per patient and day.
    daily_pain
        :func:`toolkit.analysis.pain.daily_pain` output: ``patient_id, date, pain_mean``
        (NRS 0–10); one row per patient and day with a rating.
    sets
        Canonical ``sets`` table (as for :func:`toolkit.analysis.load.session_load`:
        ``patient_id, session_id, local_date, exercise_raw, set_type, reps, weight_kg``,
        optional ``exercise``). Needed for the exercise-dose drivers, and for the
        load-spike driver when ``session_load`` is not given. ``None``: those drivers
        are left out (no rows).
    session_load
        :func:`toolkit.analysis.load.session_load` output for the load-spike driver
        (:func:`toolkit.analysis.flags.load_spikes` with its defaults). ``None``
        (default): computed from ``sets`` (``session_load(sets, None)``).
    lags
        Lags in days to test (default ``(0, 1, 2, 3)``). An int ``k`` relates pain on day
        ``t`` to the driver on day ``t − k`` (0 = same day; pain is rated in the evening).
        A pair ``(a, b)`` is a window: the driver over days ``t − b … t − a`` (binary:
        exposed on any of them; continuous: their mean), reported with ``lag_days = a``
        and ``lag_label = "a–b"``, e.g. ``(0, 1, 2, 3, (1, 2))``. Lags up to 28.
    alpha
        False discovery rate for ``significant`` (default 0.05).
    main_exercises
        Number of the patient's most frequent exercises (by days done, ties by name)
        whose daily dose is tested (default 3; 0 for none).
    trend
        Time-trend terms: ``"linear"`` (default; days since the patient's first rating)
        or ``"spline"`` (natural cubic spline, for recovery curves that level off).
    spline_df
        Degrees of freedom of the spline trend (int ≥ 1); default ``None``: one per four
        weeks of data, between 2 and 6.
    adjust_prior
        Adjust for the state before the exposure (default True): forward models add the
        pain of the day before the exposure window (``pain_{t−lag−1}``, the last rating
        up to 2 days earlier when that day has none); reverse models add the day's own
        training (``driver_t``). False fits the bare model ``pain_t = a + b·driver_{t−lag}
        + trend``.
    min_days
        Fewest days (rows) a model needs (int ≥ 5, default 20); below it the row has
        null statistics and a ``note``.
    min_exposure_days
        Fewest days with and without exposure a binary driver needs (int ≥ 1, default 2).

    Returns
    -------
    polars.DataFrame
        :data:`RELATION_SCHEMA`, one row per patient (present in both frames) ×
        direction × driver × lag: by ``patient_id``, then the forward rows (drivers in
        the order below, lags in the order given), then the two reverse rows:

        - ``patient_id`` (str).
        - ``direction`` (str): ``"training→pain"`` (driver earlier, pain later) or
          ``"pain→training"`` (pain on day t, training on day t + 1).
        - ``driver`` (str): ``training day``, ``rest day``, ``daily load``, ``load
          spike``, ``streak length``, ``weekly frequency``, ``<exercise> dose``; reverse:
          ``training day``, ``daily load`` (of the next day).
        - ``lag_days`` (int, days): ``k``, or the first day ``a`` of a window; 1 for the
          reverse direction.
        - ``lag_label`` (str): ``"k"`` or ``"a–b"``.
        - ``effect`` (float): ``b``. Forward: NRS points of pain per unit of the driver —
          binary drivers: the difference in pain on days after exposure vs other days;
          ``daily load`` per 1,000 kg; ``streak length`` per consecutive training day;
          ``weekly frequency`` per session in the trailing 7 days (t−lag−6 … t−lag);
          ``<exercise> dose`` per 100 kg of Σ reps × kg of that exercise that day
          (per set for an exercise never loaded). Reverse: ``training day`` in
          percentage points of the probability of training the next day per NRS point
          (linear probability model); ``daily load`` in kg of next-day volume load per
          NRS point.
        - ``ci_low``, ``ci_high`` (float, unit of ``effect``): 95 % confidence interval.
        - ``p_value`` (float): two-sided p for ``b = 0``.
        - ``q_value`` (float): Benjamini–Hochberg adjusted p across every tested row of
          the patient (both directions, all drivers and lags); a ``rest day`` row shares
          the q of its ``training day`` row (the same hypothesis, counted once).
        - ``significant`` (bool): ``q_value < alpha``; False when not tested.
        - ``n`` (int, days): days in the model.
        - ``exposure_days`` (int, days): binary drivers: exposed days among them; null
          for continuous drivers.
        - ``unit`` (str): unit of ``effect``, e.g. ``"per 1,000 kg volume load (Σ reps ×
          kg)"``, ``"day with training vs without"``.
        - ``sentence`` (str): plain language with the numbers, e.g. "On the 1–2 days
          after a load spike, pain is 2.3 points higher than on other days (95 % CI 1.1
          to 3.5)."; a neutral "No clear association between …" when not significant.
        - ``note`` (str): ``"association, not causation"`` and what was adjusted for, or
          why the row was not tested (null statistics).
        - ``method`` (str): the model terms and the test reported, e.g. ``"OLS with
          linear trend and prior adjustment; Newey-West HAC SE (Bartlett, maxlags=13),
          t(11)"``.

    Raises
    ------
    OptionError
        A required column is missing or has the wrong type, a frame repeats a patient and
        day, or an option is invalid.

    Notes
    -----
    **Data.** Days without a pain rating are dropped; the driver of an unlogged day
    (``logged`` False: inside a logging gap of :func:`~toolkit.analysis.load.daily_load`,
    or outside the logged period such as the baseline week before the first session) is
    missing, never 0, and that day is dropped (``DOMAIN.md`` pitfall 4). Lags are counted
    in calendar days (joins on ``date − lag``), not rows. ``weekly frequency`` needs all 7
    days of its window logged. ``load spike`` is 1 on a day flagged by
    :func:`~toolkit.analysis.flags.load_spikes` (session volume ≥ 1.5 × the trailing
    28-day mean session volume), 0 on other logged days, and missing until 4 sessions
    lie in the trailing 28 days (a spike cannot be called earlier). ``rest day`` is
    ``1 − training day`` on logged days, so its rows mirror the ``training day`` rows
    with the opposite sign; they are kept because clinicians ask both ways, but they are
    the same hypothesis and share the training-day q-value (counted once).

    **Forward model.** ``pain_t = a + b·x_{t−lag} + g(t) + c·pain_{t−lag−1} + ε_t``
    with ``g`` linear in days (``trend="linear"``) or a natural cubic spline in days
    (Hastie, Tibshirani & Friedman 2009, *Elements of Statistical Learning* §5.2.1,
    knots at quantiles): without it, any driver that rises while pain falls over recovery
    looks protective (confounding by time, pitfall 3). ``pain_{t−lag−1}`` is the pain
    just *before* the exposure window: pain that makes a patient train less (pitfall 2)
    confounds the relation, pain after the exposure could be its consequence and is not
    adjusted for. For ``streak length`` and ``weekly frequency``, whose windows reach
    further back, the adjustment is partial (time-varying confounding would need
    g-methods).

    **Reverse model.** ``y_{t+1} = a + b·pain_t + g(t) + c·y_t + Σ_d δ_d·[weekday(t+1)
    = d] + ε_t`` with ``y`` = training day (0/1, a linear probability model, b × 100 in
    percentage points) or daily volume load (kg). The weekday indicators and ``y_t``
    absorb the weekly schedule (planned days, alternation), leaving the day-to-day
    deviations that pain could explain (``c·y_t`` only with ``adjust_prior``). A
    negative ``b`` means less training after painful days (pain avoidance); a
    pain-contingent pattern like that also biases the forward lag-0 relation, which is
    why both are reported (QuantiModo's forward-vs-reverse check, ``DOMAIN.md``).

    **Inference.** Daily pain and training are autocorrelated, so the conventional OLS
    standard error is too small (pitfall 1). Two tests of ``b = 0`` are computed and the
    one with the wider 95 % CI is reported (``method`` says which):

    * Newey–West HAC standard error (Newey & West 1987, Econometrica 55:703; Bartlett
      kernel; the variance of statsmodels ``OLS.fit(cov_type="HAC", cov_kwds={"maxlags":
      S})``, which applies no ``n/(n − k)`` small-sample correction), truncation lag ``S = ⌈1.3·√n⌉`` (13 for
      100 days; Lazarus, Lewis, Stock & Watson 2018, JBES 36:541, "HAR inference:
      recommendations for practice"), against a t distribution with the equivalent
      degrees of freedom of the Bartlett long-run variance estimate at frequency zero,
      ``ν = ⌊1.5·n/S⌋`` (Priestley 1981, *Spectral Analysis and Time Series* §6.2.4:
      ``ν = 2n/(S·∫k²)`` halved at frequency zero, ``∫k² = 2/3``), at most ``n − k``. The
      t(ν) reference approximates the fixed-b critical values of Kiefer & Vogelsang
      (2005, Econometric Theory 21:1130); with the usual ``4(n/100)^{2/9}`` lags and
      t(n − k) critical values a 5 % test rejected 9–13 % of null series with AR(1)
      φ = 0.5 pain and drivers in our simulations, with this rule 3–9 %.
    * the conventional OLS standard error against ``t(n − k)``. Robust standard errors
      are biased down when few observations carry the comparison — a binary driver with
      2 exposure days (load spikes) gave a 40 % false-positive rate with HAC alone —
      so, following Angrist & Pischke (2009, *Mostly Harmless Econometrics* §8.1), the
      larger (more conservative) of the two is used.

    **Calibration** (null simulations, 400 series of 120 days: pain AR(1) φ = 0.5 rounded
    to the NRS, training days from an AR(1) φ = 0.7 latent, 10 % of ratings missing; the
    tests ``tests/analysis/test_relations.py`` repeat a smaller version): 5 % tests
    rejected 4–9 % of series for training day, rest day, daily load and both reverse
    drivers, about 5 % for load spikes with 2 exposure days, but 10–12 % for ``streak
    length`` and ``weekly frequency`` at lags ≥ 1 — cumulative drivers are so persistent
    that the HAC correction is incomplete. Their ``note`` says so; read them with care.

    **Multiple testing.** With 8 distinct drivers × 4 lags + 2 reverse tests = 34 tests
    per patient (the demo cohort: 30–34 testable), one or two would be "significant" at
    p < 0.05 by chance; ``q_value`` is the Benjamini–Hochberg step-up adjusted p-value
    (Benjamini & Hochberg 1995, JRSS-B 57:289; statsmodels
    ``multipletests(method="fdr_bh")``) across every tested row of the patient, so
    ``significant`` controls the false discovery rate at ``alpha``, and when nothing is
    related the chance of any significant row is about ``alpha`` (8–10 % in the null
    simulations above, because of the cumulative drivers; 0 of the 10 demo controls).
    The price is power: an effect seen on two days (two load spikes) must reach
    p ≈ 0.001 to survive.

    **Not tested.** A model with fewer than ``min_days`` days, a binary driver with fewer
    than ``min_exposure_days`` days with (or without) exposure, a constant driver, or a
    driver collinear with the trend gives a row with null statistics, ``significant``
    False and the reason in ``note``; it is not counted in the q-values.

    The estimates are associations within one patient: co-occurring exposures cannot be
    separated (pitfall 6), and the flare after a load spike also shows up as a
    ``daily load`` and an exercise-dose relation at the same lags.

    **Computation.** The ~47 models of every patient are not fitted one statsmodels call
    at a time (about 1 ms each, 8 minutes for 10,000 patients) but as stacked least
    squares on day grids, 50 patients at a time (:mod:`toolkit.analysis._batched_ols`);
    the numbers equal statsmodels' to rounding (``tests/analysis/test_batched_ols.py``).
    """
    specs = _lag_specs(lags)
    alpha = _alpha_option(alpha)
    main_exercises = int_option("main_exercises", main_exercises, low=0)
    if trend not in _TRENDS:
        raise OptionError(f"trend must be one of {', '.join(_TRENDS)}, got {trend!r}")
    if spline_df is not None:
        spline_df = int_option("spline_df", spline_df, low=1, high=12)
    if not isinstance(adjust_prior, bool):
        raise OptionError(f"adjust_prior must be True or False, got {adjust_prior!r}")
    min_days = int_option("min_days", min_days, low=5)
    min_exposure_days = int_option("min_exposure_days", min_exposure_days, low=1)

    load = as_polars(daily_load, "daily_load")
    require_columns(load, list(_LOAD_COLUMNS), "daily_load")
    load = _cast(load.select(list(_LOAD_COLUMNS)), "daily_load", _LOAD_COLUMNS)
    load = _unique_days(load.filter(pl.col("patient_id").is_not_null()), "daily_load", "use load.daily_load")
    pain = as_polars(daily_pain, "daily_pain")
    require_columns(pain, list(_PAIN_COLUMNS), "daily_pain")
    pain = _cast(pain.select(list(_PAIN_COLUMNS)), "daily_pain", _PAIN_COLUMNS)
    pain = _unique_days(
        pain.filter(pl.col("patient_id").is_not_null() & pl.col("date").is_not_null()),
        "daily_pain",
        "use pain.daily_pain",
    )
    sessions = None
    if session_load is not None:
        sessions = as_polars(session_load, "session_load")
        require_columns(sessions, ["patient_id", "date", "volume_kg"], "session_load")
        sessions = _cast(
            sessions.select("patient_id", "date", "volume_kg"),
            "session_load",
            {"patient_id": pl.String(), "date": pl.Date(), "volume_kg": pl.Float64()},
        )
    elif sets is not None:
        sessions = ld.session_load(sets, None).select("patient_id", "date", "volume_kg")
    doses = None
    if sets is not None and main_exercises > 0:
        doses = _dose_sets(sets)

    patients = sorted(
        set(load["patient_id"].to_list()) & set(pain.drop_nulls("pain_mean")["patient_id"].to_list())
    )
    if not patients:
        return pl.DataFrame(schema=RELATION_SCHEMA)

    options = _Options(
        specs=specs,
        alpha=alpha,
        main_exercises=main_exercises,
        trend=trend,
        spline_df=spline_df,
        adjust_prior=adjust_prior,
        min_days=min_days,
        min_exposure_days=min_exposure_days,
    )
    keep = pl.col("patient_id").is_in(patients)
    return _relations_of(
        patients,
        load.filter(keep),
        pain.filter(keep & pl.col("pain_mean").is_not_null()),
        None if sessions is None else sessions.filter(keep),
        None if doses is None else doses.filter(keep),
        options,
    )


_CHUNK_PATIENTS = 50
_THREADS = 2


@dataclass(frozen=True)
class _Options:
    specs: list[tuple[int, int]]
    alpha: float
    main_exercises: int
    trend: str
    spline_df: int | None
    adjust_prior: bool
    min_days: int
    min_exposure_days: int


def _relations_of(
    patients: list[str],
    load: pl.DataFrame,
    pain: pl.DataFrame,
    sessions: pl.DataFrame | None,
    doses: pl.LazyFrame | None,
    o: _Options,
) -> pl.DataFrame:
    """:func:`relations` of a few patients (sorted), all inputs already checked.

    Everything happens on day grids: ``pain[p, t]`` over each patient's calendar from the
    first to the last rating (``t`` = days since the first rating, the trend variable)
    and ``drivers[p, _OFF + t, d]`` from ``_OFF`` days before it (NaN: no value).
    """
    n_p = len(patients)
    ids = pl.DataFrame(
        {"patient_id": patients, "__p": np.arange(n_p)}, schema={"patient_id": pl.String, "__p": pl.Int64}
    )
    rated = pain.join(ids, on="patient_id").select(
        "__p", pl.col("date").cast(pl.Int64).alias("__d"), "pain_mean"
    )
    pp, pd_ = rated["__p"].to_numpy(), rated["__d"].to_numpy()
    first = np.full(n_p, np.iinfo(np.int64).max)
    last = np.full(n_p, np.iinfo(np.int64).min)
    np.minimum.at(first, pp, pd_)
    np.maximum.at(last, pp, pd_)
    days = int((last - first).max()) + 1
    y = np.full((n_p, days), np.nan)
    y[pp, pd_ - first[pp]] = rated["pain_mean"].to_numpy()

    # ---- drivers on the grid ------------------------------------------------------------
    order = [d for d in _DRIVERS if sessions is not None or d != "load spike"]
    meta: dict[tuple[str, str], tuple[str, str]] = {}
    dose_values = None
    if doses is not None:
        dose_values, meta = _exercise_drivers(doses, o.main_exercises)
    slots: dict[str, list[str]] = {}
    for pid, name in sorted(meta):
        slots.setdefault(pid, []).append(name)
    n_d = len(order) + max((len(v) for v in slots.values()), default=0)
    width = _OFF + days + 1
    grid = np.full((n_p, width, n_d), np.nan)

    def put(frame: pl.DataFrame, cols: dict[str, int] | None) -> None:
        f = frame.join(ids, on="patient_id").with_columns(pl.col("date").cast(pl.Int64).alias("__d"))
        p = f["__p"].to_numpy()
        pos = f["__d"].to_numpy() - first[p] + _OFF
        ok = (pos >= 0) & (pos < width)
        if cols is None:  # long: slot column, on logged days only
            d = f["__slot"].to_numpy()
            ok &= np.isfinite(grid[p, np.clip(pos, 0, width - 1), d])
            grid[p[ok], pos[ok], d[ok]] = f["value"].to_numpy()[ok]
            return
        for name, d in cols.items():
            grid[p[ok], pos[ok], d] = f[name].cast(pl.Float64).to_numpy()[ok]

    put(_base_drivers(load), {d: order.index(d) for d in order if d != "load spike"})
    if sessions is not None:
        put(
            _spike_driver(load, sessions).rename({"value": "load spike"}),
            {"load spike": order.index("load spike")},
        )
    if dose_values is not None and slots:
        logged = np.zeros((n_p, width), bool)
        f = load.join(ids, on="patient_id").select("__p", pl.col("date").cast(pl.Int64), "logged")
        p = f["__p"].to_numpy()
        pos = f["date"].to_numpy() - first[p] + _OFF
        ok = (pos >= 0) & (pos < width)
        logged[p[ok], pos[ok]] = f["logged"].fill_null(False).to_numpy()[ok]
        for i in range(n_d - len(order)):
            has = np.array([len(slots.get(pid, [])) > i for pid in patients])
            grid[:, :, len(order) + i] = np.where(logged & has[:, None], 0.0, np.nan)
        slot_frame = pl.DataFrame(
            [(pid, name, len(order) + i) for pid, names in slots.items() for i, name in enumerate(names)],
            schema={"patient_id": pl.String, "driver": pl.String, "__slot": pl.Int64},
            orient="row",
        )
        put(dose_values.join(slot_frame, on=["patient_id", "driver"]), None)

    binary = np.array([_DRIVERS[d][0] for d in order] + [False] * (n_d - len(order)))
    # ---- the result table: names of the drivers, fits by chunk of patients ------------------
    names = np.empty((n_p, n_d), dtype=object)
    units = np.empty((n_p, n_d), dtype=object)
    phrases = np.empty((n_p, n_d), dtype=object)
    present = np.zeros((n_p, n_d), bool)
    for i, d in enumerate(order):
        names[:, i], units[:, i], phrases[:, i], present[:, i] = d, _DRIVERS[d][1], _DRIVERS[d][2], True
    for p, pid in enumerate(patients):
        for i, name in enumerate(slots.get(pid, [])):
            unit, phrase = meta[(pid, name)]
            names[p, len(order) + i], units[p, len(order) + i], phrases[p, len(order) + i] = (
                name,
                unit,
                phrase,
            )
            present[p, len(order) + i] = True

    def chunk(start: int) -> pl.DataFrame:
        part = slice(start, start + _CHUNK_PATIENTS)
        labels = (names[part], units[part], phrases[part], present[part])
        fitted = _fit_chunk(y[part], grid[part], first[part], binary, order, labels, o)
        return fitted.with_columns(pl.col("__p") + start)

    # chunks are independent and numpy releases the GIL in its array loops: two at a time
    with ThreadPoolExecutor(max_workers=_THREADS) as pool:
        out = pl.concat(list(pool.map(chunk, range(0, n_p, _CHUNK_PATIENTS))))
    out = out.with_columns(pl.Series(patients, dtype=pl.String).gather(out["__p"]).alias("patient_id"))
    return _finish(out, o)


def _fit_chunk(
    y: np.ndarray,
    grid: np.ndarray,
    first: np.ndarray,
    binary: np.ndarray,
    order: list[str],
    labels_of: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    o: _Options,
) -> pl.DataFrame:
    """Forward and reverse fits of a chunk of patients (grids as in :func:`_relations_of`):
    the result rows before :func:`_finish`, ``__p`` counting the chunk's patients."""
    n_p, days = y.shape
    n_d = grid.shape[2]
    names, units, phrases, present = labels_of
    t_idx = np.arange(days)
    # ---- forward: pain_t ~ 1 + driver (lagged / windowed) + trend + prior pain ----------------
    seen = np.where(np.isfinite(y), t_idx, -1)
    seen = np.maximum.accumulate(seen, axis=1)
    calendar_prior = np.where(
        (seen >= 0) & (t_idx - seen <= 2), np.take_along_axis(y, np.maximum(seen, 0), axis=1), np.nan
    )
    n_s = len(o.specs)
    xs = np.empty((n_p, n_s, n_d, days))
    prior = np.full((n_p, n_s, days), np.nan)
    by_driver = grid.transpose(0, 2, 1)  # (P, D, days)
    for s, (lo, hi) in enumerate(o.specs):
        window = np.stack([by_driver[:, :, _OFF - j : _OFF - j + days] for j in range(lo, hi + 1)], axis=0)
        if hi == lo:
            xs[:, s] = window[0]
        else:
            full = np.isfinite(window).all(axis=0)
            value = np.where(binary[:, None], window.max(axis=0), window.sum(axis=0) / (hi - lo + 1))
            xs[:, s] = np.where(full, value, np.nan)
        if days > hi + 1:
            prior[:, s, hi + 1 :] = calendar_prior[:, : days - hi - 1]
    xs = xs.reshape(n_p * n_s, n_d, days)
    yb = np.repeat(y, n_s, axis=0)
    mask = np.isfinite(yb)[:, None, :] & np.isfinite(xs)
    trend = np.broadcast_to(t_idx / 7.0, (n_p * n_s, days))
    shared = [trend]
    if o.adjust_prior:
        pr = prior.reshape(n_p * n_s, days)
        mask &= np.isfinite(pr)[:, None, :]
        shared.append(pr)
    fwd = _screen(yb, xs, mask, np.broadcast_to(binary, (n_p * n_s, n_d)), None, o)
    k_lin = 2 + len(shared)
    if o.trend == "linear":
        use = ((fwd["code"] == 0) & (fwd["n"] - k_lin >= 2)).reshape(n_p * n_s, n_d)
        res = _bo.fit_slopes_shared(
            np.where(np.isfinite(yb), yb, 0.0),
            np.where(mask, xs, 0.0),
            np.nan_to_num(np.stack(shared, axis=2)),
            mask,
            fwd["lags"],
            use,
        )
        fits = _inference(
            fwd, res.b, res.var_ols, res.var_hac, res.full_rank, np.full(fwd["n"].shape, k_lin), None
        )
    else:
        ok = (fwd["code"] == 0).reshape(n_p * n_s, n_d)
        b_i, d_i, t_i = np.nonzero(mask & ok[:, :, None])
        fit = b_i * n_d + d_i
        columns = [xs[b_i, d_i, t_i][:, None]]
        if o.adjust_prior:
            columns.append(shared[1][b_i, t_i][:, None])
        fits = _fit_long(fwd, fit, yb[b_i, t_i], t_i.astype(float), columns, None, o)
    fwd.update(fits)

    # ---- reverse: y_{t+1} ~ 1 + pain_t + trend + y_t + weekday --------------------------------
    rev_d = [order.index("training day"), order.index("daily load")]
    scale = np.array([100.0, 1000.0])
    ry = (grid[:, _OFF + 1 : _OFF + days + 1, rev_d] * scale).transpose(0, 2, 1)  # (P, 2, T)
    rprior = (grid[:, _OFF : _OFF + days, rev_d] * scale).transpose(0, 2, 1)
    rx = np.broadcast_to(y[:, None, :], ry.shape)
    rmask = np.isfinite(rx) & np.isfinite(ry)
    if o.adjust_prior:
        rmask &= np.isfinite(rprior)
    rmask_t = rmask.reshape(n_p * 2, days)
    rev = _screen(
        ry.reshape(n_p * 2, days),
        rx.reshape(n_p * 2, 1, days),
        rmask_t[:, None, :],
        np.zeros((n_p * 2, 1), bool),
        np.array([True, False] * n_p)[:, None],
        o,
    )
    ok = (rev["code"] == 0).reshape(n_p * 2)
    f_i, t_i = np.nonzero(rmask_t & ok[:, None])
    weekday = ((first[f_i // 2] + t_i + 3) % 7 + 1) % 7 + 1  # polars weekday (Mon = 1) % 7 + 1
    columns = [rx.reshape(n_p * 2, days)[f_i, t_i][:, None]]
    if o.adjust_prior:
        columns.append(rprior.reshape(n_p * 2, days)[f_i, t_i][:, None])
    rev.update(
        _fit_long(rev, f_i, ry.reshape(n_p * 2, days)[f_i, t_i], t_i.astype(float), columns, weekday, o)
    )

    p_i, d_i, s_i = np.nonzero(np.broadcast_to(present[:, :, None], (n_p, n_d, n_s)))
    f_fwd = (p_i * n_s + s_i) * n_d + d_i
    spec_first = np.array([s[0] for s in o.specs])
    spec_last = np.array([s[1] for s in o.specs])
    labels = [_label(s) for s in o.specs]
    forward = _rows(fwd, f_fwd, p_i, 0, o).with_columns(
        direction=pl.lit(FORWARD),
        driver=pl.Series(names[p_i, d_i].tolist(), dtype=pl.String),
        unit=pl.Series(units[p_i, d_i].tolist(), dtype=pl.String),
        __phrase=pl.Series(phrases[p_i, d_i].tolist(), dtype=pl.String),
        __bin=pl.Series(binary[d_i]),
        lag_days=pl.Series(spec_first[s_i], dtype=pl.Int64),
        __first=pl.Series(spec_first[s_i], dtype=pl.Int64),
        __last=pl.Series(spec_last[s_i], dtype=pl.Int64),
        lag_label=pl.Series([labels[s] for s in s_i.tolist()], dtype=pl.String),
    )
    rp = np.repeat(np.arange(n_p), 2)
    rr = np.tile([0, 1], n_p)
    reverse = _rows(rev, np.arange(n_p * 2), rp, 1, o).with_columns(
        direction=pl.lit(REVERSE),
        driver=pl.Series(np.array(["training day", "daily load"])[rr].tolist(), dtype=pl.String),
        unit=pl.Series(
            np.array([_REVERSE_UNITS["training day"], _REVERSE_UNITS["daily load"]])[rr].tolist(),
            dtype=pl.String,
        ),
        __phrase=pl.lit(None, pl.String),
        __bin=pl.lit(False),
        lag_days=pl.lit(1, pl.Int64),
        __first=pl.lit(1, pl.Int64),
        __last=pl.lit(1, pl.Int64),
        lag_label=pl.lit("1"),
    )
    return pl.concat([forward, reverse], how="diagonal_relaxed").sort("__p", "__dir", "__i")


_OFF = _MAX_LAG + 1


def _screen(
    y: np.ndarray,
    x: np.ndarray,
    mask: np.ndarray,
    binary: np.ndarray,
    outcome_binary: np.ndarray | None,
    o: _Options,
) -> dict[str, np.ndarray]:
    """Rows and the reason a fit is not tested (``code``, 0: tested), per fit ``(b, d)``
    of ``x[b, d, t]`` against ``y[b, t]`` over ``mask[b, d, t]``; flattened to ``b·D + d``."""
    n = mask.sum(axis=2)
    pos = (mask & (x > 0)).sum(axis=2)
    xm = np.where(mask, x, np.inf).min(axis=2) == np.where(mask, x, -np.inf).max(axis=2)
    yy = y[:, None, :]
    ym = np.where(mask, yy, np.inf).min(axis=2) == np.where(mask, yy, -np.inf).max(axis=2)
    ones = (mask & (yy > 0)).sum(axis=2) if outcome_binary is not None else np.zeros_like(n)
    med = o.min_exposure_days
    code = np.zeros(n.shape, np.int64)
    ob = np.zeros(n.shape, bool) if outcome_binary is None else np.broadcast_to(outcome_binary, n.shape)
    conds = [
        n < o.min_days,
        binary & ((pos < med) | (n - pos < med)),
        xm,
        ob & ((ones < med) | (n - ones < med)),
        ym,
    ]
    for c, cond in reversed(list(enumerate(conds, start=1))):
        code = np.where(cond, c, code)
    lags = np.maximum(1, np.minimum(n - 1, np.ceil(1.3 * np.sqrt(n)).astype(np.int64)))
    exposure = np.where(binary & (n >= o.min_days), pos, -1)
    return {
        "n": n.reshape(-1),
        "code": code.reshape(-1),
        "exposed": pos.reshape(-1),
        "ones": ones.reshape(-1),
        "exposure_days": exposure.reshape(-1),
        "lags": lags,
    }


def _fit_long(
    scr: dict[str, np.ndarray],
    fit: np.ndarray,
    y: np.ndarray,
    days: np.ndarray,
    columns: list[np.ndarray],
    weekday: np.ndarray | None,
    o: _Options,
) -> dict[str, np.ndarray]:
    """Fit the models whose rows are given one per observation (``fit`` non-decreasing,
    rows in time order): the tested column and the adjustment in ``columns``, the trend
    from ``days`` and weekday indicators when ``weekday`` is given."""
    g = scr["n"].size
    if fit.size == 0:
        nan = np.full(g, np.nan)
        return _inference(scr, nan, nan, nan, np.zeros(g, bool), np.full(g, 2 + len(columns)), None)
    used, local = np.unique(fit, return_inverse=True)
    n = np.bincount(local)
    trend_cols, trend_on, df = _trend_columns(local, days, n, o.trend, o.spline_df)
    cols = [columns[0], trend_cols, *columns[1:]]
    on = [np.ones((used.size, 1), bool), trend_on] + [np.ones((used.size, 1), bool)] * (len(columns) - 1)
    if weekday is not None:
        wd = weekday - 1
        present = np.bincount(local * 7 + wd, minlength=used.size * 7).reshape(used.size, 7) > 0
        cols.append((wd[:, None] == np.arange(7)).astype(float))
        on.append(present & (np.arange(7) != present.argmax(axis=1)[:, None]))
    x = np.column_stack(cols)
    active = np.column_stack(on)
    k_used = 1 + active.sum(axis=1)
    k = np.full(g, 2 + len(columns))
    k[used] = k_used
    few = n - k_used < 2
    b = np.full(g, np.nan)
    var_ols, var_hac, full = b.copy(), b.copy(), np.zeros(g, bool)
    keep = np.flatnonzero(~few)
    if keep.size:
        rows = ~few[local]
        renum = np.cumsum(~few) - 1
        res = _bo.fit_slopes(
            renum[local[rows]], y[rows], x[rows], active[keep], scr["lags"].reshape(-1)[used[keep]]
        )
        b[used[keep]], var_ols[used[keep]], var_hac[used[keep]] = res.b, res.var_ols, res.var_hac
        full[used[keep]] = res.full_rank
    spline_df = np.zeros(g, np.int64)
    spline_df[used] = df
    return _inference(scr, b, var_ols, var_hac, full, k, spline_df)


def _t_quantile(q: float, df: np.ndarray) -> np.ndarray:
    """``scipy.stats.t.ppf(q, df)`` for an integer array ``df``."""
    values, where = np.unique(df, return_inverse=True)
    return special.stdtrit(values.astype(float), q)[where]


def _inference(
    scr: dict[str, np.ndarray],
    b: np.ndarray,
    var_ols: np.ndarray,
    var_hac: np.ndarray,
    full: np.ndarray,
    k: np.ndarray,
    spline_df: np.ndarray | None,
) -> dict[str, np.ndarray]:
    """Effect, 95 % CI and p of the more conservative of the HAC and the conventional test
    (see :func:`relations`, Notes), and the reason codes of the fits that failed."""
    n = scr["n"]
    lags = scr["lags"].reshape(-1)
    nu = np.maximum(1, np.minimum(n - k, np.floor(1.5 * n / lags).astype(np.int64)))
    dfres = np.maximum(n - k, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        se_ols, se_hac = np.sqrt(var_ols), np.sqrt(var_hac)
        # scipy.stats.t.ppf / .sf are special.stdtrit / stdtr(df, −x); the quantiles are
        # computed once per distinct df
        q = (1 + _LEVEL) / 2
        half_hac = _t_quantile(q, nu) * se_hac
        half_ols = _t_quantile(q, dfres) * se_ols
        hac = half_hac >= half_ols
        half = np.where(hac, half_hac, half_ols)
        df = np.where(hac, nu, dfres).astype(float)
        p = 2 * special.stdtr(df, -np.abs(b) / np.where(hac, se_hac, se_ols))
        perfect = ~(np.isfinite(se_ols) & np.isfinite(se_hac)) | (
            np.maximum(se_ols, se_hac) <= 1e-12 * np.maximum(1.0, np.abs(b))
        )
    code = scr["code"].copy()
    todo = code == 0
    code[todo & (n - k < 2)] = 6
    code[(code == 0) & ~full] = 7
    code[(code == 0) & perfect] = 8
    return {
        "code": code,
        "effect": b,
        "half": half,
        "p": p,
        "hac": hac,
        "nu": nu,
        "k": k,
        "spline_df": np.zeros(n.size, np.int64) if spline_df is None else spline_df,
    }


def _rows(
    r: dict[str, np.ndarray], f: np.ndarray, p: np.ndarray, direction: int, o: _Options
) -> pl.DataFrame:
    """Result columns of fits ``f`` (statistics, ``method``, ``__reason``) for :func:`_finish`."""
    ok = r["code"][f] == 0
    b = np.where(ok, r["effect"][f], np.nan)
    half = r["half"][f]
    n, k = r["n"][f], r["k"][f]
    df = pl.DataFrame(
        {
            "__p": p,
            "__dir": np.full(f.size, direction),
            "__i": np.arange(f.size),
            "effect": b,
            "ci_low": b - half,
            "ci_high": b + half,
            "p_value": np.where(ok, r["p"][f], np.nan),
            "n": n.astype(np.int64),
            "exposure_days": r["exposure_days"][f],
            "__code": r["code"][f],
            "__exposed": r["exposed"][f],
            "__ones": r["ones"][f],
            "__k": k,
            "__hac": r["hac"][f],
            "__lags": r["lags"].reshape(-1)[f],
            "__nu": r["nu"][f],
            "__dfres": n - k,
            "__df": r["spline_df"][f],
        }
    ).with_columns(
        pl.col("effect", "ci_low", "ci_high", "p_value").fill_nan(None),
        pl.when(pl.col("exposure_days") >= 0).then("exposure_days").alias("exposure_days"),
    )
    code, n_, med = pl.col("__code"), pl.col("n"), pl.lit(o.min_exposure_days)
    reason = (
        pl.when(code == 1)
        .then(
            format_str(
                "{} days with both a pain rating and the driver (fewer than {})", n_, pl.lit(o.min_days)
            )
        )
        .when(code == 2)
        .then(format_str("{} of {} days exposed (needs ≥ {} with and without)", "__exposed", n_, med))
        .when(code == 3)
        .then(pl.lit("the driver does not vary"))
        .when(code == 4)
        .then(format_str("training on {} of {} next days (needs ≥ {} of each)", "__ones", n_, med))
        .when(code == 5)
        .then(pl.lit("the outcome does not vary"))
        .when(code == 6)
        .then(format_str("too few days for the model ({} days, {} parameters)", n_, "__k"))
        .when(code == 7)
        .then(pl.lit("driver is collinear with the time trend or the adjustment (nothing left to compare)"))
        .when(code == 8)
        .then(pl.lit("perfect fit: no residual variation to judge the driver against"))
    )
    trend_desc = (
        pl.lit("linear trend")
        if o.trend == "linear"
        else format_str("natural-spline trend ({} df)", pl.col("__df"))
    )
    test = (
        pl.when(pl.col("__hac"))
        .then(format_str("Newey-West HAC SE (Bartlett, maxlags={}), t({})", "__lags", "__nu"))
        .otherwise(
            format_str("conventional OLS SE (larger than HAC, maxlags={}), t({})", "__lags", "__dfres")
        )
    )
    prior = " and prior adjustment" if o.adjust_prior else ""
    return df.with_columns(
        __reason=reason,
        method=pl.when(code == 0).then(format_str("OLS with {}{}; {}", trend_desc, pl.lit(prior), test)),
    ).drop("__code", "__exposed", "__ones", "__k", "__hac", "__lags", "__nu", "__dfres", "__df")


def _trend_word(trend: str) -> str:
    return "linear time trend" if trend == "linear" else "spline time trend"


def _finish(out: pl.DataFrame, o: _Options) -> pl.DataFrame:
    """Notes, q-values, significance and sentences of the fitted rows, in the schema."""
    adjust_f = "pain the day before the exposure" if o.adjust_prior else "nothing beyond the trend"
    adjust_r = "the weekday and the day's own training" if o.adjust_prior else "the weekday"
    forward = pl.col("direction") == FORWARD
    driver = pl.col("driver")
    base = f"{_ASSOCIATION}; adjusted for the {_trend_word(o.trend)} and "
    tested_note = (
        pl.when(forward)
        .then(
            pl.lit(base + adjust_f)
            + pl.when(driver == "rest day")
            .then(pl.lit("; mirror of the training-day row (rest day = 1 − training day)"))
            .when(driver.is_in(["streak length", "weekly frequency"]))
            .then(pl.lit("; cumulative driver: the test is approximate (slightly liberal)"))
            .otherwise(pl.lit(""))
        )
        .otherwise(pl.lit(base + adjust_r))
    )
    out = out.with_columns(
        note=pl.when(pl.col("__reason").is_not_null())
        .then(pl.lit("not tested: ") + pl.col("__reason"))
        .otherwise(tested_note),
        exposure_days=pl.when(forward).then(pl.col("exposure_days")),
    )
    # "rest day" repeats the "training day" hypothesis (same p): one test, one q.
    rest = forward & (driver == "rest day")
    qs = _bh(
        out.select("patient_id", pl.when(rest).then(None).otherwise(pl.col("p_value")).alias("p_value")),
        "patient_id",
    )["q_value"]
    out = out.with_columns(qs)
    mirror = out.filter(forward & (driver == "training day")).select(
        "patient_id", "lag_label", pl.col("q_value").alias("__mq")
    )
    out = (
        out.join(mirror, on=["patient_id", "lag_label"], how="left", maintain_order="left")
        .with_columns(
            q_value=pl.when(rest & pl.col("p_value").is_not_null()).then("__mq").otherwise("q_value")
        )
        .with_columns(significant=pl.col("q_value").is_not_null() & (pl.col("q_value") < o.alpha))
    )
    # Untested rows: one expression. Tested rows: the numbers are formatted in Python
    # (f-string rounding and thousands separators), one call per row.
    name = pl.col("driver")
    title = (
        pl.when(pl.col("direction") == REVERSE)
        .then(pl.lit("Pain → next-day ") + name)
        .otherwise(
            name.str.head(1).str.to_uppercase() + name.str.slice(1) + pl.lit(" at lag ") + pl.col("lag_label")
        )
    )
    out = out.with_columns(
        sentence=pl.when(pl.col("effect").is_null()).then(
            title
            + pl.lit(" was not tested (")
            + pl.col("note").str.strip_prefix("not tested: ")
            + pl.lit(").")
        )
    )
    return _tested_sentences(out).select([pl.col(c).cast(t) for c, t in RELATION_SCHEMA.items()])


def _tested_sentences(out: pl.DataFrame) -> pl.DataFrame:
    """``sentence`` of the tested rows (``effect`` not null), as :func:`_forward_sentence`
    and :func:`_reverse_sentence` word them, built as one polars expression: only the
    numbers are formatted in Python (``format`` with the same specifications as
    :func:`_fmt`), one list per number."""
    rows = out.filter(pl.col("effect").is_not_null())
    if rows.is_empty():
        return out
    forward = (rows["direction"] == FORWARD).to_list()
    b, lo, hi = (rows[c].to_list() for c in ("effect", "ci_low", "ci_high"))
    specs = [",.0f", ",.1f", ",.2f", ",.3f", ",.4f"]
    dec = _decimals_of(rows["ci_low"].to_numpy(), rows["ci_high"].to_numpy(), np.array(forward)).tolist()
    fb = [format(v, specs[d]) for v, d in zip(b, dec, strict=True)]
    flo = [format(v, specs[d]) for v, d in zip(lo, dec, strict=True)]
    fhi = [format(v, specs[d]) for v, d in zip(hi, dec, strict=True)]
    fq = [None if v is None else format(v, ".2f") for v in rows["q_value"].to_list()]

    def num(name: str) -> pl.Expr:  # _fmt's zero and minus sign
        c = pl.col(name)
        return (
            pl.when(c.str.strip_chars("-0.,") == "").then(pl.lit("0")).otherwise(c.str.replace_all("-", "−"))
        )

    nums = pl.DataFrame(
        {"__fb": fb, "__flo": flo, "__fhi": fhi, "__fq": fq},
        schema={c: pl.String for c in ("__fb", "__flo", "__fhi", "__fq")},
    )
    first, last, phrase = pl.col("__first"), pl.col("__last"), pl.col("__phrase")
    fb_, flo_, fhi_, fq_ = num("__fb"), num("__flo"), num("__fhi"), pl.col("__fq")
    # |b| as format(abs(b)) writes it: rounding is symmetric, so the same text without "-".
    fabs_ = pl.when(fb_ == "0").then(fb_).otherwise(pl.col("__fb").str.strip_prefix("-"))
    effect, driver, sig = pl.col("effect"), pl.col("driver"), pl.col("significant")
    days = first.cast(pl.String)
    window = first.cast(pl.String) + pl.lit("–") + last.cast(pl.String)

    def by_lag(same: pl.Expr, next_day: pl.Expr, one: pl.Expr, several: pl.Expr) -> pl.Expr:
        """The wording of a lag: 0, 1, one later day, or a window of days."""
        return (
            pl.when((first == 0) & (last == 0))
            .then(same)
            .when((first == 1) & (last == 1))
            .then(next_day)
            .when(first == last)
            .then(one)
            .otherwise(several)
        )

    later = by_lag(
        pl.lit("the same day"),
        pl.lit("the next day"),
        days + pl.lit(" days later"),
        pl.lit("over the ") + window + pl.lit(" days after"),
    )
    when = by_lag(  # _when: its first letter is already upper case (or a digit)
        pl.lit("On days with ") + phrase,
        pl.lit("On the day after ") + phrase,
        days + pl.lit(" days after ") + phrase,
        pl.lit("On the ") + window + pl.lit(" days after ") + phrase,
    )
    ci = pl.lit("95 % CI ") + flo_ + pl.lit(" to ") + fhi_
    way = pl.when(effect > 0).then(pl.lit("higher")).otherwise(pl.lit("lower"))
    fwd = (
        pl.when(~sig)
        .then(
            pl.lit("No clear association between ")
            + driver
            + pl.lit(" and pain ")
            + later
            + pl.lit(" (")
            + fb_
            + pl.lit(" points, ")
            + ci
            + pl.lit("; q = ")
            + fq_
            + pl.lit(").")
        )
        .when(pl.col("__bin"))
        .then(
            when
            + pl.lit(", pain is ")
            + fabs_
            + pl.lit(" points ")
            + way
            + pl.lit(" than on other days (")
            + ci
            + pl.lit(").")
        )
        .otherwise(
            pl.lit("For every extra ")
            + phrase
            + pl.lit(", pain ")
            + later
            + pl.lit(" is ")
            + fabs_
            + pl.lit(" points ")
            + way
            + pl.lit(" (")
            + ci
            + pl.lit(").")
        )
    )
    train = (
        pl.when(~sig)
        .then(
            pl.lit("No clear association between pain and training the next day (")
            + fb_
            + pl.lit(" percentage points per pain point, ")
            + ci
            + pl.lit("; q = ")
            + fq_
            + pl.lit(").")
        )
        .otherwise(
            pl.lit("On days after higher pain, training is ")
            + pl.when(effect < 0).then(pl.lit("less")).otherwise(pl.lit("more"))
            + pl.lit(" likely (")
            + fb_
            + pl.lit(" percentage points per pain point, ")
            + ci
            + pl.lit(").")
        )
    )
    ci_kg = ci + pl.lit(" kg")
    load = (
        pl.when(~sig)
        .then(
            pl.lit("No clear association between pain and the next day's training load (")
            + fb_
            + pl.lit(" kg per pain point, ")
            + ci_kg
            + pl.lit("; q = ")
            + fq_
            + pl.lit(").")
        )
        .otherwise(
            pl.lit("On days after higher pain, the training load is ")
            + pl.when(effect < 0).then(pl.lit("lower")).otherwise(pl.lit("higher"))
            + pl.lit(" (")
            + fb_
            + pl.lit(" kg per pain point, ")
            + ci_kg
            + pl.lit(").")
        )
    )
    said = (
        rows.hstack(nums)
        .select(
            pl.when(pl.col("direction") == FORWARD)
            .then(fwd)
            .when(driver == "training day")
            .then(train)
            .otherwise(load)
            .alias("sentence")
        )
        .to_series()
    )
    tested = out["effect"].is_not_null()
    idx = tested.cast(pl.Int64).cum_sum() - 1
    return out.with_columns(
        sentence=pl.when(tested).then(said.gather(idx.clip(lower_bound=0))).otherwise(pl.col("sentence"))
    )


def significant_sentences(relations: Any) -> list[str]:
    """The sentences of the significant rows, strongest evidence first.

    Parameters
    ----------
    relations
        Output of :func:`relations` or :func:`rest_and_strength` (any frame with
        ``significant`` and ``sentence``; ``q_value`` orders them when present).

    Returns
    -------
    list of str
        ``sentence`` of every row with ``significant`` True, by ascending ``q_value``
        (then ``p_value``); empty when nothing is significant.

    Examples
    --------
    >>> rows = pl.DataFrame({"significant": [False, True, True], "q_value": [0.4, 0.03, 0.001],
    ...                      "sentence": ["No clear association ...", "B", "A"]})
    >>> significant_sentences(rows)
    ['A', 'B']
    """
    df = as_polars(relations, "relations")
    require_columns(df, ["significant", "sentence"], "relations")
    df = df.filter(pl.col("significant").fill_null(False).cast(pl.Boolean))
    keys = [c for c in ("q_value", "p_value") if c in df.columns]
    if keys:
        df = df.sort(keys, nulls_last=True, maintain_order=True)
    return [s for s in df["sentence"].to_list() if s]


# --------------------------------------------------------------------------------------
# rest_and_strength
# --------------------------------------------------------------------------------------


def rest_and_strength(
    sets: Any,
    *,
    min_pairs: int = 6,
    alpha: float = 0.05,
    lifts: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Does more rest between sessions of a lift go with larger strength gains?

    Parameters
    ----------
    sets
        Canonical ``sets`` table (see :func:`toolkit.analysis.load.e1rm`).
    min_pairs
        Fewest pairs of consecutive sessions a lift needs (int ≥ 4, default 6); below it
        the row has null statistics and a ``note``.
    alpha
        False discovery rate for ``significant`` (default 0.05).
    lifts
        Canonical exercise names to analyse; default ``None``: the heavy lifts
        (:func:`toolkit.analysis.load.heavy_lifts`).

    Returns
    -------
    polars.DataFrame
        :data:`REST_STRENGTH_SCHEMA`, one row per patient × lift with at least two
        sessions, sorted by ``patient_id, exercise``:

        - ``patient_id`` (str), ``exercise`` (str, canonical name).
        - ``n_pairs`` (int): pairs of consecutive sessions (days) of the lift.
        - ``mean_rest_days``, ``min_rest_days``, ``max_rest_days`` (days): calendar days
          without that lift between the two sessions (``date_{k+1} − date_k − 1``; 0 on
          consecutive days).
        - ``mean_change_kg`` (float, kg): mean change of the session-best e1RM from one
          session to the next.
        - ``kg_per_rest_day`` (float, kg e1RM per rest day): OLS slope of the change on
          the rest days — how much more the best e1RM rose per extra day of rest.
        - ``ci_low``, ``ci_high`` (float, kg per rest day): 95 % confidence interval.
        - ``p_value`` (float): two-sided p for slope 0.
        - ``q_value`` (float): Benjamini–Hochberg adjusted p across the lifts of the
          patient.
        - ``significant`` (bool): ``q_value < alpha``; False when not tested.
        - ``sentence`` (str): e.g. "Each extra rest day between Deadlift sessions goes
          with a 1.2 kg larger rise in best e1RM (95 % CI 0.4 to 2.0; 24 session pairs,
          1–4 rest days)", or "Rest between Deadlift sessions shows no clear relation to
          strength gains (…)".
        - ``note`` (str): ``"association, not causation"``, or why it was not tested.
        - ``method`` (str): the test reported (as in :func:`relations`).

    Notes
    -----
    Session best e1RM = max over the session's working sets of the Epley estimate
    ``w·(1 + r/30)`` (``DOMAIN.md`` "e1RM Epley"; :func:`toolkit.analysis.load.e1rm`,
    sets with ≤ 10 reps). For consecutive sessions k, k + 1 of the same lift:
    ``Δ_k = best_{k+1} − best_k = a + b·rest_k + ε_k``, OLS; ``b`` is reported with the
    more conservative of a Newey–West HAC and a conventional test (see
    :func:`relations`, Notes: differences of a noisy series are negatively
    autocorrelated). ``a`` absorbs the average progression. Rest is not randomised:
    a long break may follow illness or pain, and planned deloads change both rest and
    load, so the slope is an association. e1RM here follows the *programmed* load: when
    the load is raised once a week, a gap that spans the weekend spans a programme step,
    so the slope can describe the programme rather than recovery (the demo cohort's
    2.5 %/week steps give significant slopes of either sign for several patients); with
    per-session progression it is 0 whatever the rest.
    """
    min_pairs = int_option("min_pairs", min_pairs, low=4)
    alpha = _alpha_option(alpha)
    if lifts is not None and (isinstance(lifts, str) or not all(isinstance(v, str) for v in lifts)):
        raise OptionError(f"lifts must be a list of canonical exercise names or None, got {lifts!r}")
    chosen = ld.heavy_lifts() if lifts is None else list(lifts)
    est = ld.e1rm(sets, formulas=("epley",))
    if est.is_empty():
        return pl.DataFrame(schema=REST_STRENGTH_SCHEMA)
    est = est.with_columns(
        exercise=pl.coalesce("exercise", "exercise_raw")
        if "exercise" in est.columns
        else pl.col("exercise_raw")
    )
    best = (
        est.filter(pl.col("exercise").is_in(chosen))
        .group_by("patient_id", "exercise", pl.col("local_date").alias("date"))
        .agg(pl.col("e1rm_epley_kg").max().alias("best"))
        .sort("patient_id", "exercise", "date")
    )
    by = ["patient_id", "exercise"]
    pairs = best.with_columns(
        rest=((pl.col("date") - pl.col("date").shift(1)).dt.total_days() - 1).over(by),
        change=(pl.col("best") - pl.col("best").shift(1)).over(by),
    ).drop_nulls(["rest", "change"])
    rows = []
    for (pid, ex), g in sorted(pairs.partition_by(by, as_dict=True).items()):
        rest = g["rest"].to_numpy().astype(float)
        change = g["change"].to_numpy().astype(float)
        n = g.height
        row: dict[str, Any] = {
            "patient_id": pid,
            "exercise": ex,
            "n_pairs": n,
            "mean_rest_days": float(rest.mean()),
            "min_rest_days": int(rest.min()),
            "max_rest_days": int(rest.max()),
            "mean_change_kg": float(change.mean()),
        }
        if n < min_pairs:
            row["note"] = f"not tested: {n} session pairs (fewer than {min_pairs})"
        elif np.ptp(rest) == 0:
            row["note"] = f"not tested: always {int(rest[0])} rest days between sessions"
        else:
            fit = _ols_infer(change, np.column_stack([np.ones(n), rest]))
            if isinstance(fit, str):
                row["note"] = f"not tested: {fit}"
            else:
                row.update(fit)
                row["kg_per_rest_day"] = fit["effect"]
                row["note"] = _ASSOCIATION
        rows.append(row)
    frame = pl.DataFrame(
        [{"patient_id": r["patient_id"], "p_value": r.get("p_value")} for r in rows],
        schema={"patient_id": pl.String, "p_value": pl.Float64},
    )
    for r, q in zip(rows, _bh(frame, "patient_id")["q_value"].to_list(), strict=True):
        r["q_value"] = q
        r["significant"] = q is not None and q < alpha
        r["sentence"] = _rest_sentence(r)
    return pl.DataFrame(
        [{k: r.get(k) for k in REST_STRENGTH_SCHEMA} for r in rows], schema=REST_STRENGTH_SCHEMA, orient="row"
    )


def _rest_sentence(r: dict[str, Any]) -> str:
    ex = r["exercise"]
    if r.get("kg_per_rest_day") is None:
        return f"Rest between {ex} sessions was not tested ({r['note'].removeprefix('not tested: ')})."
    b, lo, hi = r["kg_per_rest_day"], r["ci_low"], r["ci_high"]
    span = f"{r['min_rest_days']}–{r['max_rest_days']} rest days"
    ci = f"95 % CI {_fmt(lo)} to {_fmt(hi)}"
    if not r["significant"]:
        return (
            f"Rest between {ex} sessions shows no clear relation to strength gains "
            f"({_fmt(b)} kg e1RM per extra rest day, {ci}; {r['n_pairs']} session pairs, {span})."
        )
    way = "larger" if b > 0 else "smaller"
    return (
        f"Each extra rest day between {ex} sessions goes with a {_fmt(abs(b))} kg {way} rise in best "
        f"e1RM ({ci}; {r['n_pairs']} session pairs, {span})."
    )
