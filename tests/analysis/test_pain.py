"""Tests of toolkit.analysis.pain.

Expected numbers are worked by hand from the published definitions named in each test
(Ostelo et al. 2008 MCID; Jacobson & Truax 1991 RCI; Kamper et al. 2010 recovery;
Williams et al. 2017 EWMA), or checked against statsmodels / ruptures called directly.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.api as sm
from polars.testing import assert_frame_equal

from toolkit.analysis import pain as P
from toolkit.exceptions import OptionError

D0 = dt.date(2024, 3, 1)


def day(i: int) -> dt.date:
    return D0 + dt.timedelta(days=i)


def daily_frame(series: dict[str, list[float]], *, start: int = 0, step: int = 1) -> pl.DataFrame:
    """Daily frame with one row per value, patient by patient, on days start, start+step, ..."""
    rows = [
        (pid, day(start + k * step), float(v)) for pid, values in series.items() for k, v in enumerate(values)
    ]
    return pl.DataFrame(
        rows, schema={"patient_id": pl.String, "date": pl.Date, "pain_mean": pl.Float64}, orient="row"
    )


def entries_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": ["p1", "p1", "p1", "p1", "p2", "p2"],
            "local_date": [day(0), day(0), day(0), day(2), day(0), day(1)],
            "pain_nrs": [4.0, 6.0, 8.0, 3.0, None, 5.0],
            "location": ["Lower back", "lower BACK ", "Neck", "lower back", "lower back", "Knee"],
        }
    )


# --------------------------------------------------------------------------------------
# daily_pain
# --------------------------------------------------------------------------------------


def test_daily_pain_aggregates_per_patient_and_day() -> None:
    out = P.daily_pain(entries_frame())
    assert out.columns == list(P.DAILY_SCHEMA)
    assert out.schema == pl.Schema(P.DAILY_SCHEMA)
    # p1 day 0: 4, 6, 8 → mean 6, max 8, min 4; p2's null rating is dropped (missing ≠ 0).
    assert out.rows() == [
        ("p1", day(0), 6.0, 8.0, 4.0, 3),
        ("p1", day(2), 3.0, 3.0, 3.0, 1),
        ("p2", day(1), 5.0, 5.0, 5.0, 1),
    ]


def test_daily_pain_sorted_fast_path_matches_group_by() -> None:
    """One entry per patient-day in order skips the group-by; the result is that of the
    group-by (shuffled input, and a repeated day, take the general path)."""
    rng = np.random.default_rng(3)
    n = 400
    entries = pl.DataFrame(
        {
            "patient_id": [f"p{i // 100}" for i in range(n)],
            "local_date": [dt.date(2024, 1, 1) + dt.timedelta(days=i % 100) for i in range(n)],
            "pain_nrs": rng.integers(0, 11, n).astype(float),
        }
    )
    fast = P.daily_pain(entries)
    general = P.daily_pain(entries.sample(fraction=1.0, shuffle=True, seed=1))
    assert_frame_equal(fast, general)
    assert fast["n_entries"].to_list() == [1] * n
    doubled = pl.concat([entries, entries.with_columns(pl.col("pain_nrs") / 2)])
    out = P.daily_pain(doubled)
    assert out.height == n and out["n_entries"].to_list() == [2] * n
    assert_frame_equal(out.select("patient_id", "date"), fast.select("patient_id", "date"))


def test_daily_pain_location_filter_is_case_insensitive() -> None:
    out = P.daily_pain(entries_frame(), location="  LOWER back")
    assert out.rows() == [
        ("p1", day(0), 5.0, 6.0, 4.0, 2),
        ("p1", day(2), 3.0, 3.0, 3.0, 1),
    ]


def test_daily_pain_accepts_pandas_and_does_not_mutate() -> None:
    pdf = entries_frame().to_pandas()
    pdf["local_date"] = pd.to_datetime(pdf["local_date"])  # datetime64 from a CSV reader
    before = pdf.copy()
    out = P.daily_pain(pdf)
    pd.testing.assert_frame_equal(pdf, before)
    assert out["pain_mean"].to_list() == [6.0, 3.0, 5.0]
    assert out.schema["date"] == pl.Date


def test_daily_pain_empty_and_errors() -> None:
    empty = P.daily_pain(entries_frame().clear())
    assert empty.is_empty() and empty.schema == pl.Schema(P.DAILY_SCHEMA)
    with pytest.raises(OptionError, match=r"lacks column.*pain_nrs"):
        P.daily_pain(entries_frame().drop("pain_nrs"))
    with pytest.raises(OptionError, match=r"must lie in 0–10 .*got 55"):
        P.daily_pain(entries_frame().with_columns(pain_nrs=pl.lit(55.0)))
    with pytest.raises(OptionError, match="location must be a non-empty str or None, got 3"):
        P.daily_pain(entries_frame(), location=3)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------
# pain_trend
# --------------------------------------------------------------------------------------


def test_pain_trend_ewma_hand_computed() -> None:
    # Williams et al. 2017: λ = 2/(N+1) = 0.25 for N = 7.
    # Consecutive days 4, 8, 4: y1 = 4; y2 = .25·8 + .75·4 = 5; y3 = .25·4 + .75·5 = 4.75.
    # Patient q, days 0 and 2 (one unlogged day): α = 1 − .75² = .4375 → 4 + .4375·4 = 5.75.
    df = pl.concat([daily_frame({"p": [4, 8, 4]}), daily_frame({"q": [4, 8]}, step=2)])
    out = P.pain_trend(df)
    assert out.columns == [*df.columns, "pain_smooth", "days_since_first"]
    assert out["pain_smooth"].to_list() == pytest.approx([4.0, 5.0, 4.75, 4.0, 5.75])
    assert out["days_since_first"].to_list() == [0, 1, 2, 0, 2]


def test_pain_trend_matches_pandas_span_ewm_and_keeps_row_order() -> None:
    rng = np.random.default_rng(7)
    values = rng.integers(0, 11, 30).astype(float)
    df = daily_frame({"p": list(values)})
    expected = pd.Series(values).ewm(span=7, adjust=False).mean().to_numpy()
    shuffled = df.sample(fraction=1.0, shuffle=True, seed=1)
    out = P.pain_trend(shuffled)
    assert_frame_equal(out.select(df.columns), shuffled)  # input rows, input order
    got = out.sort("date")["pain_smooth"].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_pain_trend_options() -> None:
    with pytest.raises(OptionError, match="span_days must be an int ≥ 2, got 1"):
        P.pain_trend(daily_frame({"p": [1, 2]}), span_days=1)
    with pytest.raises(OptionError, match="one row per patient_id and date"):
        P.pain_trend(pl.concat([daily_frame({"p": [1]}), daily_frame({"p": [2]})]))


# --------------------------------------------------------------------------------------
# pain_slope
# --------------------------------------------------------------------------------------


def test_pain_slope_matches_statsmodels_hac() -> None:
    y = [7, 6.5, 7, 6, 5.5, 6, 5, 5.5, 4.5, 5.0]
    out = P.pain_slope(daily_frame({"p": y})).row(0, named=True)
    # Direct statsmodels call: x in weeks, Newey–West with floor(4·(10/100)^(2/9)) = 2 lags.
    assert math.floor(4 * (10 / 100) ** (2 / 9)) == 2
    x = np.arange(10) / 7.0
    ref = sm.OLS(np.array(y), sm.add_constant(x)).fit(cov_type="HAC", cov_kwds={"maxlags": 2}, use_t=True)
    low, high = ref.conf_int(alpha=0.05)[1]
    assert out["slope_per_week"] == pytest.approx(ref.params[1])
    assert out["ci_low"] == pytest.approx(low)
    assert out["ci_high"] == pytest.approx(high)
    assert out["p_value"] == pytest.approx(ref.pvalues[1])
    assert out["n_days"] == 10
    assert out["method"] == "OLS, Newey-West HAC SE (Bartlett, maxlags=2), t(8)"
    # OLS point estimate by hand: slope per day = Sxy/Sxx = -0.2545...; ×7 per week.
    t = np.arange(10)
    slope_day = ((t - t.mean()) * (np.array(y) - np.mean(y))).sum() / ((t - t.mean()) ** 2).sum()
    assert out["slope_per_week"] == pytest.approx(7 * slope_day)


def test_pain_slope_recovers_planted_slope() -> None:
    rng = np.random.default_rng(20240301)
    t = np.arange(84)  # 12 weeks
    falling = 7.0 - 0.5 * t / 7.0 + rng.normal(0, 0.8, t.size)
    fall = P.pain_slope(daily_frame({"fall": list(falling)})).row(0, named=True)
    assert fall["ci_low"] <= -0.5 <= fall["ci_high"]
    assert fall["ci_high"] < 0 and fall["p_value"] < 0.05
    assert fall["method"].endswith("maxlags=3), t(82)")  # floor(4·0.84^(2/9)) = 3


def ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> np.ndarray:
    e = rng.normal(0, sd, n)
    x = np.zeros(n)
    for t in range(n):
        x[t] = (phi * x[t - 1] if t else 0.0) + e[t]
    return x


def test_pain_slope_flat_series_ci_contains_zero_at_nominal_rate() -> None:
    # 200 flat patients at once: with independent noise the 95 % CI should contain 0 for
    # about 95 % of them; with AR(1) noise (phi = .5) HAC must beat naive OLS, whose
    # nominal 5 % error is inflated by autocorrelation (DOMAIN pitfall 1).
    rng = np.random.default_rng(1)
    n = 84
    iid = {f"i{k:03d}": list(5 + rng.normal(0, 0.8, n)) for k in range(200)}
    auto = {f"a{k:03d}": list(5 + ar1(rng, n, 0.5, 0.8)) for k in range(200)}
    out = P.pain_slope(daily_frame(iid | auto))
    covers = (pl.col("ci_low") <= 0) & (pl.col("ci_high") >= 0)
    rate = out.group_by(pl.col("patient_id").str.head(1)).agg(miss=(~covers).mean()).sort("patient_id")
    miss_auto, miss_iid = rate["miss"].to_list()
    assert miss_iid <= 0.10
    x = sm.add_constant(np.arange(n) / 7.0)
    naive = np.mean([sm.OLS(np.array(v), x).fit().pvalues[1] < 0.05 for v in auto.values()])
    assert miss_auto < naive and miss_auto <= 0.20


def test_pain_slope_too_few_days_constant_and_anchor() -> None:
    df = pl.concat(
        [
            daily_frame({"few": [5, 4, 3, 2, 1]}),
            daily_frame({"const": [3] * 9}),
            # 5 high days before the anchor, then a falling week: only the latter is fitted.
            daily_frame({"anch": [9, 9, 9, 9, 9, 7, 6, 5, 4, 3, 2, 1]}),
        ]
    )
    out = P.pain_slope(df, anchor_date={"anch": day(5)})
    rows = {r["patient_id"]: r for r in out.iter_rows(named=True)}
    assert rows["few"]["method"] == "too few days (5)" and rows["few"]["slope_per_week"] is None
    assert rows["const"]["slope_per_week"] == 0.0 and rows["const"]["p_value"] is None
    assert rows["anch"]["n_days"] == 7
    assert rows["anch"]["slope_per_week"] == pytest.approx(-7.0)  # exactly −1 per day
    assert rows["anch"]["p_value"] is None  # perfect fit: no uncertainty
    # One date for everybody, or a patients frame, work too.
    same = P.pain_slope(df, anchor_date="2024-03-06").filter(pl.col("patient_id") == "anch")
    assert same["slope_per_week"][0] == pytest.approx(-7.0)
    pts = pl.DataFrame({"patient_id": ["anch"], "surgery_date": [day(5)]})
    assert P.pain_slope(df, anchor_date=pts).filter(pl.col("patient_id") == "anch")["n_days"][0] == 7
    with pytest.raises(OptionError, match="anchor_date must be an ISO date"):
        P.pain_slope(df, anchor_date="yesterday")
    with pytest.raises(OptionError, match=r"anchor_date must be None, a date.*got list"):
        P.pain_slope(df, anchor_date=[day(0)])


# --------------------------------------------------------------------------------------
# change_points
# --------------------------------------------------------------------------------------


def step_series(seed: int) -> list[float]:
    rng = np.random.default_rng(seed)
    y = np.r_[np.full(30, 7.0), np.full(30, 3.0)] + rng.normal(0, 1.0, 60)
    return list(np.clip(np.round(y), 0, 10))


@pytest.mark.parametrize("model", ["l1", "l2", "rbf"])
def test_change_points_finds_planted_step(model: str) -> None:
    out = P.change_points(daily_frame({"p": step_series(11)}), model=model)
    assert out.columns == list(P.CHANGE_POINT_SCHEMA)
    assert out.height == 1
    row = out.row(0, named=True)
    assert abs((row["date"] - day(30)).days) <= 2  # planted: first day of pain 3 is day 30
    assert row["mean_before"] == pytest.approx(7.0, abs=0.6)
    assert row["mean_after"] == pytest.approx(3.0, abs=0.6)


def test_change_points_none_on_flat_series_and_gaps_use_logged_days() -> None:
    rng = np.random.default_rng(5)
    flat = list(np.clip(np.round(5.0 + rng.normal(0, 1.0, 60)), 0, 10))
    assert P.change_points(daily_frame({"flat": flat})).is_empty()
    # Every other day logged: the step sits after 30 logged values = calendar day 60.
    out = P.change_points(daily_frame({"gappy": step_series(11)}, step=2))
    assert out.height == 1 and abs((out["date"][0] - day(60)).days) <= 4
    assert (out["date"][0] - D0).days % 2 == 0  # always a logged day


def test_change_points_matches_ruptures_with_explicit_penalty() -> None:
    import ruptures as rpt

    y = np.array(step_series(3))
    ends = rpt.Pelt(model="l2", min_size=7, jump=1).fit(y.reshape(-1, 1)).predict(pen=5.0)
    out = P.change_points(daily_frame({"p": list(y)}), model="l2", penalty=5.0)
    assert out["date"].to_list() == [day(e) for e in ends[:-1]]


def test_change_points_short_constant_and_options() -> None:
    short = daily_frame({"short": [7] * 7 + [2] * 6, "const": [4] * 40})
    assert P.change_points(short).is_empty()  # 13 < 2·min_size; constant: nothing to find
    with pytest.raises(OptionError, match="model must be one of l1, l2, rbf, got 'l3'"):
        P.change_points(short, model="l3")
    with pytest.raises(OptionError, match=r"penalty must be a finite number > 0, got -1"):
        P.change_points(short, penalty=-1)
    with pytest.raises(OptionError, match="min_size must be an int ≥ 2, got 1"):
        P.change_points(short, min_size=1)


# --------------------------------------------------------------------------------------
# pain_outcome
# --------------------------------------------------------------------------------------


def outcome_for(baseline: list[float], current: list[float], **kwargs: object) -> dict:
    out = P.pain_outcome(daily_frame({"p": baseline + current}), **kwargs)
    assert out.height == 1
    return out.row(0, named=True)


def test_pain_outcome_mcid_ostelo_2008() -> None:
    # Ostelo et al. 2008 (Spine 33:90): improvement ≥ 2 NRS points OR ≥ 30 % of baseline.
    # 6.0 → 4.0: 2 points (and 33 %) → reached.
    r = outcome_for([5, 6, 7, 6, 5, 7, 6], [4] * 7)
    assert (r["baseline"], r["current"], r["change"]) == pytest.approx((6.0, 4.0, -2.0))
    assert r["percent_change"] == pytest.approx(-100 / 3)
    assert r["mcid_reached"] is True and r["status"] == "ok"
    # 8.0 → 6.0: 2 points but only 25 % → reached by points.
    r = outcome_for([8] * 6 + [8.0], [6] * 7)
    assert r["percent_change"] == pytest.approx(-25.0) and r["mcid_reached"] is True
    # 3.0 → 2.0: 1 point, 33 % → reached by percent.
    r = outcome_for([3] * 7, [2] * 7)
    assert r["change"] == pytest.approx(-1.0) and r["mcid_reached"] is True
    # 8.0 → 6.5: 1.5 points, 18.75 % → not reached.
    r = outcome_for([8] * 7, [6.5] * 7)
    assert r["percent_change"] == pytest.approx(-18.75) and r["mcid_reached"] is False
    # Getting worse never reaches the MCID; baseline 0 has no percent change.
    assert outcome_for([2] * 7, [5] * 7)["mcid_reached"] is False
    r = outcome_for([0] * 7, [0] * 7)
    assert r["percent_change"] is None and r["mcid_reached"] is False


def test_pain_outcome_rci_jacobson_truax_1991() -> None:
    # Baseline 5,6,7,6,5,7,6: mean 6, deviations −1,0,1,0,−1,1,0 → s1² = 4/6.
    # r_xx = .95: SE = s1·√.05; S_diff = √2·SE = √(2·(2/3)·.05) = 0.2581989; RC = −2/0.2581989.
    r = outcome_for([5, 6, 7, 6, 5, 7, 6], [4] * 7)
    assert r["rci"] == pytest.approx(-7.745967, rel=1e-6)
    assert r["reliable_improvement"] is True
    # Current 6,5,6,6,5,6,6 = 40/7: change −2/7; r_xx = .8: S_diff = √(2·(2/3)·.2) = 0.5163978.
    r = outcome_for([5, 6, 7, 6, 5, 7, 6], [6, 5, 6, 6, 5, 6, 6], reliability=0.8)
    assert r["change"] == pytest.approx(-2 / 7)
    assert r["rci"] == pytest.approx((-2 / 7) / 0.5163978, rel=1e-6)
    assert r["reliable_improvement"] is False and r["mcid_reached"] is False
    # Constant baseline: SD 0 → RCI undefined, the rest still reported.
    r = outcome_for([6] * 7, [4] * 7)
    assert r["rci"] is None and r["reliable_improvement"] is None and r["mcid_reached"] is True
    assert r["status"] == "ok; rci undefined: baseline pain constant (SD 0)"


def test_pain_outcome_anchor_windows_and_statuses() -> None:
    df = pl.concat(
        [
            # 5 pre-surgery days at 9, then 14 days: baseline 7 (days 5–11), current 3 (12–18).
            daily_frame({"surg": [9] * 5 + [7] * 7 + [3] * 7}),
            daily_frame({"short": [6, 5, 6, 5, 6]}),
            daily_frame({"before": [6] * 14}),
        ]
    )
    patients = pl.DataFrame(
        {
            "patient_id": ["surg", "before", "nolog"],
            "surgery_date": [day(5), None, None],
            "programme_start_date": [day(0), day(40), day(0)],
        }
    )
    out = P.pain_outcome(df, patients=patients)
    assert out.columns == list(P.OUTCOME_SCHEMA) and out.schema == pl.Schema(P.OUTCOME_SCHEMA)
    rows = {r["patient_id"]: r for r in out.iter_rows(named=True)}
    s = rows["surg"]
    assert s["anchor_date"] == day(5)  # surgery date preferred over programme start
    assert (s["baseline_start"], s["baseline_end"], s["baseline"]) == (day(5), day(11), 7.0)
    assert (s["current_start"], s["current_end"], s["current"]) == (day(12), day(18), 3.0)
    assert s["n_days"] == 14 and s["weeks_observed"] == pytest.approx(13 / 7)
    assert rows["short"]["status"] == "fewer than 14 logged days: baseline and current overlap"
    assert rows["short"]["current"] is None and rows["short"]["change"] is None
    assert rows["short"]["baseline"] == pytest.approx(5.6) and rows["short"]["anchor_date"] is None
    assert rows["before"]["status"] == "no pain entries on or after the anchor date 2024-04-10"
    assert rows["before"]["n_days"] == 0 and rows["before"]["baseline"] is None
    assert rows["nolog"]["status"] == "no pain entries"
    assert rows["nolog"]["mcid_reached"] is None and rows["nolog"]["rci"] is None


def test_pain_outcome_pandas_not_mutated_empty_and_options() -> None:
    pdf = daily_frame({"p": [6] * 7 + [4] * 7}).to_pandas()
    before = pdf.copy()
    assert P.pain_outcome(pdf)["mcid_reached"].to_list() == [True]
    pd.testing.assert_frame_equal(pdf, before)
    empty = P.pain_outcome(daily_frame({}))
    assert empty.is_empty() and empty.schema == pl.Schema(P.OUTCOME_SCHEMA)
    with pytest.raises(OptionError, match=r"reliability must be a finite number ≥ 0 and < 1, got 1"):
        P.pain_outcome(pdf, reliability=1)
    with pytest.raises(OptionError, match="baseline_days must be an int ≥ 1, got 0"):
        P.pain_outcome(pdf, baseline_days=0)
    with pytest.raises(OptionError, match="patients must have surgery_date or programme_start_date"):
        P.pain_outcome(pdf, patients=pl.DataFrame({"patient_id": ["p"]}))
    with pytest.raises(OptionError, match=r"lacks column.*pain_mean"):
        P.pain_outcome(pdf.drop(columns="pain_mean"))


# --------------------------------------------------------------------------------------
# weeks_since_anchor
# --------------------------------------------------------------------------------------


def test_weeks_since_anchor() -> None:
    df = daily_frame({"a": [5, 5, 5], "b": [4, 4], "c": [3]}, step=7)
    patients = pl.DataFrame(
        {
            "patient_id": ["a", "b"],
            "surgery_date": [day(7), None],
            "programme_start_date": [day(0), day(3)],
        }
    )
    out = P.weeks_since_anchor(df, patients)
    assert out.columns == [*df.columns, "weeks_since_anchor"]
    assert out["weeks_since_anchor"].to_list() == pytest.approx([-1.0, 0.0, 1.0, -3 / 7, 4 / 7, None])
    empty = P.weeks_since_anchor(df.clear(), patients)
    assert empty.is_empty() and empty.schema["weeks_since_anchor"] == pl.Float64


# --------------------------------------------------------------------------------------
# flares
# --------------------------------------------------------------------------------------


def test_flares_planted_spikes_and_settling() -> None:
    values = (
        [3] * 10  # days 0–9, typical pain 3
        + [8, 6, 5, 4]  # day 10 spike (median 3, excess 5); 11, 12 still flaring (merged); 13 ≤ 3 + 1
        + [3] * 11  # days 14–24
        + [9, 7, 7]  # day 25 spike that never settles within the data
    )
    out = P.flares(daily_frame({"p": values}))
    assert out.columns == list(P.FLARE_SCHEMA) and out.schema == pl.Schema(P.FLARE_SCHEMA)
    assert out.rows() == [
        ("p", day(10), 8.0, 3.0, 5.0, 3, True),
        ("p", day(25), 9.0, 3.0, 6.0, None, False),
    ]


def test_flares_merge_until_settled_and_need_three_values() -> None:
    # Day 2 spike has only 2 earlier values → not judged. Day 10 spike (8), day 11 at 4.5 is
    # below the threshold but not settled (> 3 + 1), day 12 at 6 is a flare day again: one
    # episode, settled on day 13 (pain 3).
    values = [3, 3, 9] + [3] * 7 + [8, 4.5, 6, 3, 3]
    out = P.flares(daily_frame({"p": values}))
    assert out.select("date", "days_to_settle").rows() == [(day(10), 3)]
    # A calendar window: with logging every third day only 2 values fit in 7 days → no flares.
    assert P.flares(daily_frame({"p": [3] * 10 + [9, 3]}, step=3)).is_empty()
    # Larger window sees ≥ 3 values.
    assert P.flares(daily_frame({"p": [3] * 10 + [9, 3]}, step=3), window_days=9).height == 1


def test_flares_options_and_empty() -> None:
    assert P.flares(daily_frame({})).schema == pl.Schema(P.FLARE_SCHEMA)
    with pytest.raises(OptionError, match="window_days must be an int ≥ 3, got 2"):
        P.flares(daily_frame({"p": [1]}), window_days=2)
    with pytest.raises(OptionError, match="threshold must be a finite number > 0, got 0"):
        P.flares(daily_frame({"p": [1]}), threshold=0)


# --------------------------------------------------------------------------------------
# prom_outcomes and recovered
# --------------------------------------------------------------------------------------


def proms() -> pl.DataFrame:
    rows = [
        ("p", D0, "ODI", 40.0, False),
        ("p", day(42), "ODI", 28.0, False),  # −12 ≥ 10 (Ostelo 2008) → reached
        ("p", D0, "RMDQ", 12.0, False),
        ("p", day(42), "RMDQ", 8.0, False),  # −4 < 5 → not reached
        ("p", D0, "PSFS", 3.0, True),
        ("p", day(21), "psfs", 4.0, None),
        ("p", day(42), "PSFS", 5.5, True),  # +2.5 ≥ 2 (higher is better) → reached
        ("p", D0, "NRS", 6.0, False),
        ("p", day(42), "NRS", 5.0, False),  # −1 < 2 → not reached
        ("q", D0, "ODI", 30.0, False),  # single measure
    ]
    return pl.DataFrame(
        rows,
        schema={
            "patient_id": pl.String,
            "local_date": pl.Date,
            "instrument": pl.String,
            "score": pl.Float64,
            "higher_is_better": pl.Boolean,
        },
        orient="row",
    )


def test_prom_outcomes_ostelo_and_abbott_mcids() -> None:
    out = P.prom_outcomes(proms())
    assert out.columns == list(P.PROM_SCHEMA) and out.schema == pl.Schema(P.PROM_SCHEMA)
    got = out.select("patient_id", "instrument", "change", "improvement", "mcid", "mcid_reached", "n").rows()
    assert got == [
        ("p", "NRS", -1.0, 1.0, 2.0, False, 2),
        ("p", "ODI", -12.0, 12.0, 10.0, True, 2),
        ("p", "PSFS", 2.5, 2.5, 2.0, True, 3),
        ("p", "RMDQ", -4.0, 4.0, 5.0, False, 2),
        ("q", "ODI", None, None, 10.0, None, 1),
    ]
    psfs = out.filter(pl.col("instrument") == "PSFS").row(0, named=True)
    assert (psfs["baseline_date"], psfs["latest_date"]) == (D0, day(42))
    # Abbott & Schmitt 2014 "large change" MID 2.7 → 2.5 no longer counts.
    custom = P.prom_outcomes(proms(), mcid={"psfs": 2.7})
    assert custom.filter(pl.col("instrument") == "PSFS")["mcid_reached"].to_list() == [False]


def test_prom_outcomes_errors_and_pandas() -> None:
    pdf = proms().to_pandas()
    before = pdf.copy()
    assert P.prom_outcomes(pdf).height == 5
    pd.testing.assert_frame_equal(pdf, before)
    with pytest.raises(OptionError, match=r"mcid\['ODI'\] must be a finite number > 0, got -1"):
        P.prom_outcomes(proms(), mcid={"ODI": -1})
    with pytest.raises(OptionError, match="mcid must be a dict instrument → points, got list"):
        P.prom_outcomes(proms(), mcid=[("ODI", 10)])  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"lacks column.*higher_is_better"):
        P.prom_outcomes(proms().drop("higher_is_better"))


def test_recovered_kamper_2010() -> None:
    # Kamper et al. 2010 (Eur Spine J 19:1495): recovered = NRS 0 and RMDQ ≤ 2.
    rows = [
        ("yes", D0, "NRS", 0.0),
        ("yes", D0, "RMDQ", 2.0),
        ("pain", D0, "NRS", 1.0),
        ("pain", D0, "RMDQ", 0.0),
        ("rmdq", D0, "NRS", 0.0),
        ("rmdq", D0, "RMDQ", 3.0),
        ("half", D0, "NRS", 0.0),
    ]
    om = pl.DataFrame(rows, schema=["patient_id", "local_date", "instrument", "score"], orient="row")
    om = om.with_columns(higher_is_better=pl.lit(False))
    out = P.recovered(om)
    assert out.schema == pl.Schema(P.RECOVERED_SCHEMA)
    got = {r["patient_id"]: (r["recovered"], r["status"]) for r in out.iter_rows(named=True)}
    assert got == {
        "yes": (True, "ok"),
        "pain": (False, "ok"),
        "rmdq": (False, "ok"),
        "half": (None, "no RMDQ"),
    }
    # A later pain-diary day replaces an older NRS measure.
    diary = daily_frame({"pain": [0.0]}, start=10)
    row = P.recovered(om, daily=diary).filter(pl.col("patient_id") == "pain").row(0, named=True)
    assert (row["nrs"], row["nrs_source"], row["recovered"]) == (0.0, "daily", True)


# --------------------------------------------------------------------------------------
# Contract over every function: input unchanged, empty in → empty out with the schema
# --------------------------------------------------------------------------------------

DAILY = daily_frame({"a": [6] * 7 + [4] * 7 + [8, 3, 3], "b": [5, 5, 4]})
PATIENTS = pl.DataFrame({"patient_id": ["a"], "surgery_date": [day(1)]})

CALLS = {
    "daily_pain": (lambda f: P.daily_pain(f), entries_frame(), P.DAILY_SCHEMA),
    "pain_trend": (lambda f: P.pain_trend(f), DAILY, None),
    "pain_slope": (lambda f: P.pain_slope(f), DAILY, P.SLOPE_SCHEMA),
    "change_points": (lambda f: P.change_points(f), DAILY, P.CHANGE_POINT_SCHEMA),
    "pain_outcome": (lambda f: P.pain_outcome(f, patients=PATIENTS.clear()), DAILY, P.OUTCOME_SCHEMA),
    "weeks_since_anchor": (lambda f: P.weeks_since_anchor(f, PATIENTS), DAILY, None),
    "flares": (lambda f: P.flares(f), DAILY, P.FLARE_SCHEMA),
    "prom_outcomes": (lambda f: P.prom_outcomes(f), proms(), P.PROM_SCHEMA),
    "recovered": (lambda f: P.recovered(f), proms(), P.RECOVERED_SCHEMA),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_contract_input_unchanged_and_empty(name: str) -> None:
    call, frame, schema = CALLS[name]
    copy = frame.clone()
    call(frame)
    assert_frame_equal(frame, copy)
    pdf = frame.to_pandas()
    pdf_copy = pdf.copy()
    call(pdf)
    pd.testing.assert_frame_equal(pdf, pdf_copy)
    empty = call(frame.clear())
    assert empty.is_empty()
    if schema is not None:
        assert empty.schema == pl.Schema(schema)


def test_public_names() -> None:
    assert sorted(P.__all__) == P.__all__
    for name in P.__all__:
        assert callable(getattr(P, name))


def _reference_flares(daily: pl.DataFrame, thr: float, window: int, margin: float) -> pl.DataFrame:
    """The plain definition flares() replaced: every later day of the patient checked for
    settling, then one pass over the flare days in a Python loop."""
    eps = 1e-9
    d = daily.filter(pl.col("pain_mean").is_not_null()).select("patient_id", "date", "pain_mean")
    d = d.sort("patient_id", "date")
    flagged = (
        d.with_columns(
            trailing_median=pl.col("pain_mean")
            .rolling_median_by("date", window_size=f"{window}d", closed="left", min_samples=3)
            .over("patient_id")
        )
        .with_columns(excess=pl.col("pain_mean") - pl.col("trailing_median"))
        .filter(pl.col("excess") >= thr - eps)
        .rename({"pain_mean": "pain"})
    )
    settle = (
        flagged.select("patient_id", "date", "trailing_median")
        .join(d.rename({"date": "later", "pain_mean": "later_pain"}), on="patient_id")
        .filter(
            (pl.col("later") > pl.col("date"))
            & (pl.col("later_pain") <= pl.col("trailing_median") + margin + eps)
        )
        .group_by("patient_id", "date")
        .agg(settle_date=pl.col("later").min())
    )
    flagged = flagged.join(settle, on=["patient_id", "date"], how="left").sort("patient_id", "date")
    keep, current, open_until, is_open = [], object(), None, False
    for pid, date, settle_date in flagged.select("patient_id", "date", "settle_date").iter_rows():
        if pid != current:
            current, is_open = pid, False
        if is_open and (open_until is None or date < open_until):
            keep.append(False)
            continue
        keep.append(True)
        is_open, open_until = True, settle_date
    return (
        flagged.filter(pl.Series(keep, dtype=pl.Boolean))
        .with_columns(days_to_settle=(pl.col("settle_date") - pl.col("date")).dt.total_days())
        .with_columns(settled=pl.col("days_to_settle").is_not_null())
        .select(list(P.FLARE_SCHEMA))
        .cast(P.FLARE_SCHEMA)
    )


@pytest.mark.parametrize(
    ("threshold", "window", "margin"), [(2.0, 7, 1.0), (1.0, 7, 0.0), (0.5, 3, 0.0), (3.0, 10, 2.5)]
)
def test_flares_equal_the_reference_definition(threshold: float, window: int, margin: float) -> None:
    """The look-ahead settle search (with its fallback for flares that settle late or
    never) and the vectorised episode chains give the reference episodes, on random
    diaries with missing days, long plateaus above the trailing median and shuffled rows."""
    rng = np.random.default_rng(5)
    frames = []
    for p in range(6):
        n = 150
        level = np.repeat(rng.integers(1, 8, size=n // 15), 15).astype(float)[:n]
        pain = np.clip(level + rng.normal(0, 1.2, size=n), 0, 10).round()
        keep = rng.random(n) > 0.15
        frames.append(
            pl.DataFrame(
                {
                    "patient_id": f"p{p}",
                    "date": [day(int(i)) for i in np.flatnonzero(keep)],
                    "pain_mean": pain[keep],
                }
            )
        )
    daily = pl.concat(frames).sample(fraction=1.0, shuffle=True, seed=1)
    expected = _reference_flares(daily, threshold, window, margin)
    got = P.flares(daily, threshold=threshold, window_days=window, settle_margin=margin)
    assert expected.height > 5
    assert_frame_equal(got, expected)
