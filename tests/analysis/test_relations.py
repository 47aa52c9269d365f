"""Training ↔ pain relations (toolkit.analysis.relations).

Expected numbers come from outside the module: statsmodels fitted by hand on the same
design (the worked cases), ``statsmodels.stats.multitest.multipletests`` for the
q-values, the planted effects of the synthetic cohort (``toolkit.datasets._cohort``
docstring and ``Cohort.planted_events``) and seeded null simulations.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests

from toolkit.analysis import load as ld
from toolkit.analysis import pain as pn
from toolkit.analysis.relations import (
    FORWARD,
    RELATION_SCHEMA,
    REST_STRENGTH_SCHEMA,
    REVERSE,
    relations,
    rest_and_strength,
    significant_sentences,
)
from toolkit.datasets import synthetic_cohort
from toolkit.exceptions import OptionError

DAY0 = dt.date(2024, 1, 1)


# --------------------------------------------------------------------------------------
# Small builders
# --------------------------------------------------------------------------------------


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float = 1.0) -> np.ndarray:
    e = rng.normal(0.0, sigma, n)
    x = np.empty(n)
    x[0] = e[0] / math.sqrt(1 - phi**2)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def _daily_load(pid: str, train: np.ndarray, volume_kg: np.ndarray) -> pl.DataFrame:
    """A ``load.daily_load``-shaped frame of a fully logged calendar."""
    train = np.asarray(train, bool)
    streak = np.zeros(train.size, np.int64)
    for i, t in enumerate(train):
        streak[i] = (streak[i - 1] + 1 if i else 1) if t else 0
    return pl.DataFrame(
        {
            "patient_id": pid,
            "date": [DAY0 + dt.timedelta(days=i) for i in range(train.size)],
            "sessions": train.astype(np.int64),
            "volume_kg": np.where(train, volume_kg, 0.0),
            "training_day": train,
            "logged": np.ones(train.size, bool),
            "rest_day": ~train,
            "streak_days": streak,
        }
    )


def _daily_pain(pid: str, pain: np.ndarray, keep: np.ndarray | None = None) -> pl.DataFrame:
    keep = np.ones(pain.size, bool) if keep is None else keep
    return pl.DataFrame(
        {
            "patient_id": pid,
            "date": [DAY0 + dt.timedelta(days=i) for i in range(pain.size) if keep[i]],
            "pain_mean": pain[keep].astype(float),
        }
    )


def _row(frame: pl.DataFrame, **where: object) -> dict:
    hit = frame.filter(*(pl.col(k) == v for k, v in where.items()))
    assert hit.height == 1, (where, hit)
    return hit.row(0, named=True)


# --------------------------------------------------------------------------------------
# Inference against statsmodels (worked cases)
# --------------------------------------------------------------------------------------


def test_hac_effect_ci_and_p_equal_statsmodels_on_a_worked_series() -> None:
    # 30 days; daily load autocorrelated (AR 0.8), pain = 4 + 0.3 per 1,000 kg + AR(1) noise.
    rng = np.random.default_rng(11)
    n = 30
    volume = 2000.0 + 600.0 * _ar1(rng, n, 0.8)
    pain = 4.0 + 0.3 * volume / 1000.0 + _ar1(rng, n, 0.6, 0.6)
    out = relations(
        _daily_load("p", np.ones(n, bool), volume),
        _daily_pain("p", pain),
        lags=(0,),
        adjust_prior=False,
        min_days=10,
    )
    row = _row(out, driver="daily load", direction=FORWARD)

    # By hand: OLS pain ~ 1 + load/1000 + days/7, Newey-West with S = ceil(1.3·√30) = 8 lags,
    # reference t(ν) with ν = floor(1.5·30/8) = 5 (≤ n − k = 27).
    design = np.column_stack([np.ones(n), volume / 1000.0, np.arange(n) / 7.0])
    hac = sm.OLS(pain, design).fit(cov_type="HAC", cov_kwds={"maxlags": 8}, use_t=True)
    conv = sm.OLS(pain, design).fit()
    b, se = hac.params[1], hac.bse[1]
    half = stats.t.ppf(0.975, 5) * se
    assert half > stats.t.ppf(0.975, 27) * conv.bse[1]  # the HAC test is the wider one here
    assert "Newey-West HAC SE (Bartlett, maxlags=8), t(5)" in row["method"]
    assert row["effect"] == pytest.approx(b, rel=1e-10)
    assert row["ci_low"] == pytest.approx(b - half, rel=1e-10)
    assert row["ci_high"] == pytest.approx(b + half, rel=1e-10)
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(b) / se, 5), rel=1e-10)
    assert row["n"] == n
    assert row["unit"] == "per 1,000 kg volume load (Σ reps × kg)"


def test_rare_binary_driver_falls_back_to_the_conventional_test() -> None:
    # Two exposure days: the HAC (sandwich) variance rests on two residuals and is far too
    # small, so the conventional OLS interval (wider) is reported — equal to statsmodels'.
    rng = np.random.default_rng(0)
    n = 60
    train = np.zeros(n, bool)
    train[[12, 27]] = True
    pain = 5.0 + _ar1(rng, n, 0.5, 0.7)
    out = relations(
        _daily_load("p", train, np.full(n, 2000.0)),
        _daily_pain("p", pain),
        lags=(1,),
        adjust_prior=False,
        min_days=10,
    )
    row = _row(out, driver="training day", direction=FORWARD)
    x = np.roll(train, 1)[1:].astype(float)
    design = np.column_stack([np.ones(n - 1), x, np.arange(1, n) / 7.0])
    conv = sm.OLS(pain[1:], design).fit()
    low, high = conv.conf_int(alpha=0.05)[1]
    assert row["method"].endswith(f"conventional OLS SE (larger than HAC, maxlags=10), t({n - 1 - 3})")
    assert row["exposure_days"] == 2
    assert row["effect"] == pytest.approx(conv.params[1], rel=1e-10)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), rel=1e-10)
    assert row["p_value"] == pytest.approx(conv.pvalues[1], rel=1e-10)
    # the mirrored rest-day row is the same test with the opposite sign
    rest = _row(out, driver="rest day", direction=FORWARD)
    assert rest["effect"] == pytest.approx(-row["effect"], rel=1e-9)
    assert rest["p_value"] == pytest.approx(row["p_value"], rel=1e-9)


def test_many_patients_at_once_equal_statsmodels_fitted_one_by_one() -> None:
    # The regressions of all patients are solved as one stacked problem; each row must
    # equal statsmodels fitted on that row's own design: missing pain days (lags count
    # calendar days, HAC lags count rows), prior pain forward-filled ≤ 2 days, a patient
    # training daily (streak length = days + 1: collinear with the trend), one with too
    # few ratings, and the reverse model with its weekday indicators.
    rng = np.random.default_rng(17)
    n = 90
    loads, pains, truth = [], [], {}
    for pid, kind in [("a", "gaps"), ("b", "daily"), ("c", "few"), ("d", "gaps")]:
        train = np.ones(n, bool) if kind == "daily" else rng.random(n) < 0.5
        volume = np.where(train, 1500.0 + 400.0 * rng.random(n), 0.0)
        pain = 4.0 + 0.4 * np.roll(volume, 1) / 1000.0 + _ar1(rng, n, 0.5, 0.6)
        keep = rng.random(n) > 0.2 if kind != "few" else np.arange(n) < 12
        loads.append(_daily_load(pid, train, volume))
        pains.append(_daily_pain(pid, pain, keep))
        truth[pid] = (train, volume, np.where(keep, pain, np.nan))
    out = relations(pl.concat(loads), pl.concat(pains), lags=(0, 2, (1, 2)))
    assert out["patient_id"].unique().sort().to_list() == ["a", "b", "c", "d"]

    def check(pid: str, row: dict, y: np.ndarray, design: np.ndarray) -> None:
        m, k = design.shape
        lags = math.ceil(1.3 * math.sqrt(m))
        nu = min(m - k, math.floor(1.5 * m / lags))
        conv = sm.OLS(y, design).fit()
        hac = sm.OLS(y, design).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
        half_hac = stats.t.ppf(0.975, nu) * hac.bse[1]
        half_ols = stats.t.ppf(0.975, m - k) * conv.bse[1]
        se, df = (hac.bse[1], nu) if half_hac >= half_ols else (conv.bse[1], m - k)
        assert row["n"] == m, (pid, row["driver"])
        assert row["effect"] == pytest.approx(conv.params[1], rel=1e-9, abs=1e-12)
        assert row["ci_high"] - row["ci_low"] == pytest.approx(2 * max(half_hac, half_ols), rel=1e-9)
        assert row["p_value"] == pytest.approx(2 * stats.t.sf(abs(conv.params[1]) / se, df), rel=1e-9)

    for pid in ("a", "d"):
        train, volume, pain = truth[pid]
        prior = pd.Series(pain).ffill(limit=2).to_numpy()
        first = np.flatnonzero(np.isfinite(pain))[0]
        for label, lo, hi, driver, x_all in [
            ("0", 0, 0, "daily load", volume / 1000.0),
            ("2", 2, 2, "training day", train.astype(float)),
            ("1–2", 1, 2, "daily load", volume / 1000.0),
        ]:
            t = np.arange(n)
            x = np.full(n, np.nan)
            x[hi:] = np.mean([x_all[hi - j : n - j] for j in range(lo, hi + 1)], axis=0)
            pr = np.full(n, np.nan)
            pr[hi + 1 :] = prior[: n - hi - 1]
            pr[: first + hi + 1] = np.nan  # the calendar starts at the first rating
            rows = np.isfinite(pain) & np.isfinite(x) & np.isfinite(pr)
            design = np.column_stack([np.ones(rows.sum()), x[rows], (t[rows] - first) / 7.0, pr[rows]])
            row = _row(out, patient_id=pid, driver=driver, lag_label=label, direction=FORWARD)
            check(pid, row, pain[rows], design)
        # reverse: next-day training (percentage points) ~ pain + trend + today's training + weekday
        rows = np.isfinite(pain[:-1])
        t = np.arange(n - 1)[rows]
        weekday = np.array([(DAY0 + dt.timedelta(days=int(i))).isoweekday() % 7 + 1 for i in t])
        dummies = [(weekday == d).astype(float) for d in np.unique(weekday)[1:]]
        design = np.column_stack(
            [np.ones(t.size), pain[:-1][rows], (t - first) / 7.0, 100.0 * train[:-1][rows], *dummies]
        )
        row = _row(out, patient_id=pid, driver="training day", direction=REVERSE)
        check(pid, row, 100.0 * train[1:][rows], design)

    streak = _row(out, patient_id="b", driver="streak length", lag_label="0")
    assert streak["effect"] is None
    assert streak["note"] == (
        "not tested: driver is collinear with the time trend or the adjustment (nothing left to compare)"
    )
    every = _row(out, patient_id="b", driver="training day", lag_label="0")
    assert (
        every["note"] == f"not tested: {every['n']} of {every['n']} days exposed (needs ≥ 2 with and without)"
    )
    few = _row(out, patient_id="c", driver="daily load", lag_label="0")
    # 12 ratings; the first has no prior pain → 11 days
    assert few["note"] == "not tested: 11 days with both a pain rating and the driver (fewer than 20)"
    assert few["p_value"] is None and few["q_value"] is None and not few["significant"]


# --------------------------------------------------------------------------------------
# The synthetic cohort: planted effects found, nothing found where nothing was planted
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cohort_relations(cohort_store):
    cohort, store = cohort_store
    sets = store.table("sets")
    sessions = store.table("sessions")
    daily = ld.daily_load(sets, sessions)
    pain = pn.daily_pain(store.table("pain_entries"))
    out = relations(daily, pain, sets=sets, session_load=ld.session_load(sets, sessions))
    return cohort, out


def _group(cohort, group: str) -> list[str]:
    return cohort.patients.filter(pl.col("group") == group)["patient_id"].to_list()


def _flare_by_lag(cohort, pid: str, lag: int) -> float:
    """Planted estimand of ``load spike`` at ``lag``: the mean, over the patient's spikes, of
    the flare (+3 NRS on the mean) on the day ``lag`` days after the spike. Flares start 1
    or 2 days after a spike and last 2 or 3 days, so lag 2 is always +3, lag 1 is +3 only
    for flares that start the next day."""
    ev = cohort.planted_events.filter(pl.col("patient_id") == pid)
    spikes = ev.filter(pl.col("kind") == "load_spike")["start_date"].to_list()
    flares = ev.filter(pl.col("kind") == "pain_flare").select("start_date", "end_date", "magnitude").rows()
    size = []
    for s in spikes:
        day = s + dt.timedelta(days=lag)
        size.append(sum(m for a, b, m in flares if a <= day <= b and a > s and (a - s).days <= 2))
    return float(np.mean(size))


def test_the_planted_flare_size_lies_inside_the_load_spike_ci(cohort_relations) -> None:
    cohort, out = cohort_relations
    for pid in _group(cohort, "spike"):
        rows = out.filter((pl.col("patient_id") == pid) & (pl.col("driver") == "load spike"))
        tested = rows.filter(pl.col("effect").is_not_null())
        assert set(tested["lag_days"].to_list()) >= {0, 1, 2}, pid
        for r in tested.iter_rows(named=True):
            planted = _flare_by_lag(cohort, pid, r["lag_days"])
            assert r["ci_low"] <= planted <= r["ci_high"], (pid, r["lag_days"], planted, r)
            assert r["exposure_days"] == 2
        # lag 2 is +3 for every spike (the full planted flare size)
        assert _flare_by_lag(cohort, pid, 2) == 3.0


def test_a_load_spike_relation_is_significant_where_the_whole_flare_is_planted(cohort_relations) -> None:
    # For each spike patient some lag whose planted estimand is the full +3 NRS is
    # significant (q < 0.05), positive, and its sentence says so in numbers.
    cohort, out = cohort_relations
    for pid in _group(cohort, "spike"):
        sig = out.filter(
            (pl.col("patient_id") == pid) & (pl.col("driver") == "load spike") & pl.col("significant")
        )
        full = [r for r in sig.iter_rows(named=True) if _flare_by_lag(cohort, pid, r["lag_days"]) == 3.0]
        assert full, (pid, sig)
        for r in full:
            assert r["effect"] > 1.0 and r["q_value"] < 0.05
            assert "after a load spike, pain is" in r["sentence"] and "points higher" in r["sentence"]


@pytest.mark.parametrize(
    "pid",
    [
        "spike_01",
        pytest.param(
            "spike_02",
            marks=pytest.mark.xfail(
                strict=True,
                reason=(
                    "cohort power, not the method: spike_02's second flare starts 2 days after "
                    "its spike (lag-1 estimand 1.5); the lag-2 estimate 1.93 (95 % CI 0.40 to 3.46, "
                    "p = 0.014) has q = 0.24 among its 34 tests. With 2 spikes per patient, lag 1 "
                    "or 2 is significant for 29/40 spike patients (seeds 100-119); flares always "
                    "starting the next day: 34/40; 4 spikes ~21 days apart: 38/40 (tested below with spikes_per_patient=4)"
                ),
            ),
        ),
    ],
)
def test_load_spike_is_significant_one_or_two_days_later(cohort_relations, pid: str) -> None:
    _, out = cohort_relations
    rows = out.filter(
        (pl.col("patient_id") == pid) & (pl.col("driver") == "load spike") & pl.col("lag_days").is_in([1, 2])
    )
    assert rows["significant"].any(), rows


@pytest.fixture(scope="module")
def four_spike_relations():
    """``synthetic_cohort(spikes_per_patient=4)`` (spikes 21 days apart), only the two spike
    patients, read through the real readers without a store; the lags of the issue plus
    the 1–2-day window."""
    cohort = synthetic_cohort(n_responders=0, n_nonresponders=0, n_controls=0, spikes_per_patient=4)
    ids = _group(cohort, "spike")
    tables = {
        k: v.filter(pl.col("patient_id").is_in(ids))
        for k, v in cohort.tables().items()
        if k in ("sets", "sessions", "pain_entries")
    }
    sets, sessions = tables["sets"], tables["sessions"]
    out = relations(
        ld.daily_load(sets, sessions),
        pn.daily_pain(tables["pain_entries"]),
        sets=sets,
        session_load=ld.session_load(sets, sessions),
        lags=(0, 1, 2, 3, (1, 2)),
    )
    return cohort, out


def _planted_in_window(cohort, pid: str, first: int, last: int) -> float:
    """Planted estimand of ``load spike`` over the window ``first–last`` days after the spike:
    the mean of the per-lag estimands (each exposed day weighs the same)."""
    return float(np.mean([_flare_by_lag(cohort, pid, k) for k in range(first, last + 1)]))


@pytest.mark.parametrize("pid", ["spike_01", "spike_02"])
def test_four_planted_spikes_are_found_one_to_two_days_later_with_the_planted_size_in_the_ci(
    four_spike_relations, pid: str
) -> None:
    # Acceptance: load spike → higher pain at lag 1–2, significant (q < 0.05), the planted
    # size inside the 95 % CI; with 4 spikes per patient for both spike patients.
    cohort, out = four_spike_relations
    spikes = cohort.planted_events.filter((pl.col("patient_id") == pid) & (pl.col("kind") == "load_spike"))
    assert spikes.height == 4
    rows = out.filter((pl.col("patient_id") == pid) & (pl.col("driver") == "load spike"))
    assert rows["lag_label"].to_list() == ["0", "1", "2", "3", "1–2"]
    window = _row(rows, lag_label="1–2")
    planted = _planted_in_window(cohort, pid, 1, 2)
    assert 1.5 <= planted <= 3.0
    assert window["exposure_days"] >= 7  # 2 days after each of the 4 spikes, less unrated days
    assert window["significant"] and window["q_value"] < 0.05 and window["effect"] > 0, window
    assert window["ci_low"] <= planted <= window["ci_high"], (planted, window)
    assert window["sentence"].startswith("On the 1–2 days after a load spike, pain is ")
    # ... and at lag 1 or lag 2 on its own
    single = [
        r
        for r in rows.filter(pl.col("lag_label").is_in(["1", "2"])).iter_rows(named=True)
        if r["significant"] and r["ci_low"] <= _flare_by_lag(cohort, pid, r["lag_days"]) <= r["ci_high"]
    ]
    assert single, rows
    assert all(r["q_value"] < 0.05 and r["effect"] > 0 for r in single)


def test_the_reverse_patient_shows_pain_avoidance_and_no_forward_relation(cohort_relations) -> None:
    cohort, out = cohort_relations
    (pid,) = _group(cohort, "reverse")
    mine = out.filter(pl.col("patient_id") == pid)
    back = mine.filter(pl.col("direction") == REVERSE)
    assert back.height == 2
    for r in back.iter_rows(named=True):
        assert r["significant"] and r["effect"] < 0 and r["ci_high"] < 0, r
        assert r["sentence"].startswith("On days after higher pain, ")
    training = _row(back, driver="training day")
    assert "training is less likely" in training["sentence"]
    assert training["unit"] == "percentage points of next-day training probability per pain point"
    forward = mine.filter(pl.col("direction") == FORWARD)
    assert forward.filter(pl.col("p_value").is_not_null()).height >= 20
    assert not forward["significant"].any(), forward.filter(pl.col("significant"))


def test_controls_and_nonresponders_show_almost_nothing(cohort_relations) -> None:
    cohort, out = cohort_relations
    controls = _group(cohort, "control")
    assert len(controls) >= 10
    for group in ("control", "nonresponder"):
        ids = _group(cohort, group)
        mine = out.filter(pl.col("patient_id").is_in(ids))
        assert mine.filter(pl.col("p_value").is_not_null()).height >= 25 * len(ids)  # they were tested
        hit = mine.filter(pl.col("significant"))["patient_id"].unique().to_list()
        assert len(hit) <= 1, (group, mine.filter(pl.col("significant")))


def test_q_values_are_benjamini_hochberg_across_every_test_of_a_patient(cohort_relations) -> None:
    _, out = cohort_relations
    for pid in ("spike_01", "reverse_01", "control_01"):
        mine = out.filter(pl.col("patient_id") == pid)
        family = mine.filter(pl.col("p_value").is_not_null() & (pl.col("driver") != "rest day"))
        assert set(family["direction"].to_list()) == {FORWARD, REVERSE}
        expected = multipletests(family["p_value"].to_numpy(), alpha=0.05, method="fdr_bh")[1]
        np.testing.assert_allclose(family["q_value"].to_numpy(), expected, rtol=1e-12)
        assert family["significant"].to_list() == (expected < 0.05).tolist()
        # "rest day" is the training-day hypothesis again: it shares that q, not counted twice
        rest = mine.filter((pl.col("driver") == "rest day") & pl.col("p_value").is_not_null())
        train = mine.filter((pl.col("driver") == "training day") & (pl.col("direction") == FORWARD))
        assert rest["q_value"].to_list() == train["q_value"].to_list()
        # untested rows carry no statistics and are not significant
        untested = mine.filter(pl.col("p_value").is_null())
        assert untested["q_value"].null_count() == untested.height
        assert not untested["significant"].any()
        assert all(n.startswith("not tested: ") for n in untested["note"].to_list())


def test_every_driver_and_lag_is_reported_with_units_and_notes(cohort_relations) -> None:
    _, out = cohort_relations
    assert out.schema == pl.Schema(RELATION_SCHEMA)
    mine = out.filter(pl.col("patient_id") == "spike_01")
    drivers = mine.filter(pl.col("direction") == FORWARD)["driver"].unique(maintain_order=True).to_list()
    assert drivers[:6] == [
        "training day",
        "rest day",
        "daily load",
        "load spike",
        "streak length",
        "weekly frequency",
    ]
    assert len(drivers) == 9 and all(d.endswith(" dose") for d in drivers[6:])
    assert "Deadlift dose" in drivers  # done every session
    assert mine.filter(pl.col("direction") == FORWARD).height == 9 * 4
    units = dict(mine.select("driver", "unit").unique().rows())
    assert units["Deadlift dose"] == "per 100 kg of Deadlift (Σ reps × kg)"
    assert units["load spike"] == "day with a load spike vs without"
    tested = mine.filter(pl.col("p_value").is_not_null())
    assert all(n.startswith("association, not causation") for n in tested["note"].to_list())
    assert all(s.startswith(("No clear association", "On ", "For ", "2 ", "3 ")) for s in tested["sentence"])


def test_significant_sentences_lists_the_significant_rows_strongest_first(cohort_relations) -> None:
    _, out = cohort_relations
    reverse = significant_sentences(out.filter(pl.col("patient_id") == "reverse_01"))
    assert len(reverse) == 2
    assert any(s.startswith("On days after higher pain, training is less likely (−") for s in reverse)
    q = out.filter((pl.col("patient_id") == "reverse_01") & pl.col("significant")).sort("q_value", "p_value")
    assert reverse == q["sentence"].to_list()
    assert significant_sentences(out.filter(pl.col("patient_id") == "control_01")) == []
    both = significant_sentences(
        out.filter(pl.col("patient_id").is_in(["spike_01", "reverse_01"])).to_pandas()
    )
    assert both[0] == reverse[0] and len(both) >= 3


def test_vectorised_sentences_equal_the_per_row_wording() -> None:
    """_tested_sentences (one polars expression) words every tested row exactly as
    _forward_sentence / _reverse_sentence do: signs, zero, thousands, 0–4 decimals, lags."""
    from toolkit.analysis import relations as rl

    rows = []
    specs = [(0, 0), (1, 1), (3, 3), (1, 2)]
    values = [(-0.0004, -0.3, 0.3), (2.345, 1.1, 3.59), (-1234.5, -2500.25, -10.0), (0.00049, -0.0001, 0.001)]
    for i, ((first, last), (b, lo, hi)) in enumerate(zip(specs * 4, values * 4, strict=True)):
        for sig in (False, True):
            for binary, phrase, driver in (
                (True, "a load spike", "load spike"),
                (False, "1,000 kg", "daily load"),
            ):
                rows.append(
                    (
                        FORWARD,
                        driver,
                        first,
                        last,
                        b * (i + 1),
                        lo * (i + 1),
                        hi * (i + 1),
                        0.0123 * i,
                        sig,
                        binary,
                        phrase,
                    )
                )
            for driver in ("training day", "daily load"):
                rows.append((REVERSE, driver, 1, 1, b * 999, lo * 999, hi * 999, 0.5, sig, False, None))
    cols = [
        "direction",
        "driver",
        "__first",
        "__last",
        "effect",
        "ci_low",
        "ci_high",
        "q_value",
        "significant",
        "__bin",
        "__phrase",
    ]
    frame = pl.DataFrame(rows, schema=cols, orient="row").with_columns(sentence=pl.lit("untested"))
    frame = pl.concat([frame, frame.head(3).with_columns(effect=pl.lit(None, pl.Float64))])
    got = rl._tested_sentences(frame)["sentence"].to_list()
    want = []
    for r in frame.iter_rows(named=True):
        fit = {"effect": r["effect"], "ci_low": r["ci_low"], "ci_high": r["ci_high"], "q_value": r["q_value"]}
        if r["effect"] is None:
            want.append("untested")
        elif r["direction"] == FORWARD:
            spec = (r["__first"], r["__last"])
            want.append(
                rl._forward_sentence(r["driver"], spec, fit, r["__bin"], r["__phrase"], r["significant"])
            )
        else:
            want.append(rl._reverse_sentence(r["driver"], fit, r["significant"]))
    assert got == want


@settings(max_examples=300, deadline=None)
@given(
    lo=st.floats(allow_nan=True, allow_infinity=True, width=64),
    width=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -1.0, 2e-4, 2e-3, 0.02, 0.2, 2.0, 20.0, 0.099999, 0.1, 1.0000001]),
    ),
    forward=st.booleans(),
)
def test_decimals_of_many_rows_equal_the_per_row_rule(lo: float, width: float, forward: bool) -> None:
    """The vectorised decimals of _tested_sentences are _decimals' row by row, powers of ten,
    zero, negative and non-finite half-widths included (reverse rows: always 0)."""
    from toolkit.analysis import relations as rl

    with np.errstate(over="ignore", invalid="ignore"):
        hi = lo + width
    got = rl._decimals_of(np.array([lo]), np.array([hi]), np.array([forward]))
    want = rl._decimals({"ci_low": lo, "ci_high": hi}, 1) if forward else 0
    assert got.tolist() == [want]


# --------------------------------------------------------------------------------------
# Null calibration: autocorrelated pain and drivers, no effect
# --------------------------------------------------------------------------------------


def test_false_positive_rate_is_near_nominal_for_autocorrelated_null_series() -> None:
    """200 seeded patients: pain AR(1) φ = 0.5 (σ 0.7, rounded to the NRS), training days
    from an AR(1) φ = 0.7 latent (about 40 % of days), daily load AR(1) φ = 0.5 on them,
    10 % of pain days missing; nothing relates them. One test per patient (lag 1) should
    reject at 5 % in about 5 % of patients; plain OLS on the same series rejects more."""
    rng = np.random.default_rng(2024)
    n, sims = 120, 200
    loads, pains, plain_p = [], [], {"daily load": [], "training day": []}
    for k in range(sims):
        pid = f"sim{k:03d}"
        train = _ar1(rng, n, 0.7) > 0.25
        volume = 2000.0 + 500.0 * _ar1(rng, n, 0.5)
        pain = np.clip(np.rint(5.0 + _ar1(rng, n, 0.5, 0.7)), 0, 10)
        keep = rng.random(n) >= 0.10
        loads.append(_daily_load(pid, train, volume))
        pains.append(_daily_pain(pid, pain, keep))
        # plain OLS (no HAC, no adjustment): pain_t ~ 1 + x_{t−1} + t on the logged days
        idx = np.flatnonzero(keep[1:]) + 1
        for name, x in (("daily load", np.where(train, volume, 0.0) / 1000.0), ("training day", train * 1.0)):
            design = np.column_stack([np.ones(idx.size), x[idx - 1], idx / 7.0])
            plain_p[name].append(sm.OLS(pain[idx], design).fit().pvalues[1])
    out = relations(pl.concat(loads), pl.concat(pains), lags=(1,))
    assert out["patient_id"].n_unique() == sims
    for name in ("daily load", "training day"):
        rows = out.filter((pl.col("driver") == name) & (pl.col("direction") == FORWARD))
        assert rows.height == sims and rows["p_value"].null_count() == 0
        ours = float((rows["p_value"] < 0.05).mean())
        covered = float(((rows["ci_low"] <= 0) & (rows["ci_high"] >= 0)).mean())
        plain = float(np.mean(np.asarray(plain_p[name]) < 0.05))
        assert ours <= 0.10, (name, ours)
        assert covered >= 0.90, (name, covered)
        assert plain >= ours, (name, plain, ours)
    # Cumulative drivers are more persistent than the HAC correction captures: measured
    # 10–12 % in 400-series runs (documented in relations' Notes); guard against worse.
    for name in ("streak length", "weekly frequency"):
        rows = out.filter(pl.col("driver") == name)
        assert float((rows["p_value"] < 0.05).mean()) <= 0.15, name
    # the whole per-patient family (4 forward tests + 2 reverse; rest day shares a q):
    # q < 0.05 anywhere in about 10 % of these null patients (5 % if p were exact)
    any_sig = out.group_by("patient_id").agg(pl.col("significant").any())["significant"].mean()
    assert any_sig <= 0.15


def test_binary_driver_with_two_exposures_keeps_its_size() -> None:
    """200 seeded patients training every third day (2,000 kg) plus two load spikes
    (6,000 kg) on other days; pain AR(1) φ = 0.5 unrelated to them. HAC alone rests on two
    residuals and rejects far too often; the conservative fallback keeps about 5 %."""
    rng = np.random.default_rng(7)
    n, sims = 110, 200
    loads, pains, hac_only = [], [], []
    for k in range(sims):
        pid = f"s{k:03d}"
        regular = np.arange(n) % 3 == 0
        spikes = rng.choice(np.flatnonzero(~regular[20 : n - 3]) + 20, 2, replace=False)
        train = regular.copy()
        train[spikes] = True
        volume = np.where(np.isin(np.arange(n), spikes), 6000.0, 2000.0)
        pain = 5.0 + _ar1(rng, n, 0.5, 0.7)
        loads.append(_daily_load(pid, train, volume))
        pains.append(_daily_pain(pid, pain))
        # HAC only, same rule (S = ⌈1.3·√n⌉, t(⌊1.5·n/S⌋)), bare model pain_t ~ 1 + spike_{t−1} + t
        x = np.isin(np.arange(n) - 1, spikes).astype(float)[1:]
        design = np.column_stack([np.ones(n - 1), x, np.arange(1, n) / 7.0])
        lags = math.ceil(1.3 * math.sqrt(n - 1))
        fit = sm.OLS(pain[1:], design).fit(cov_type="HAC", cov_kwds={"maxlags": lags}, use_t=True)
        t = abs(fit.params[1]) / fit.bse[1]
        hac_only.append(2 * stats.t.sf(t, math.floor(1.5 * (n - 1) / lags)))
    daily = pl.concat(loads)
    sessions = daily.filter(pl.col("training_day")).select("patient_id", "date", "volume_kg")
    out = relations(daily, pl.concat(pains), session_load=sessions, lags=(1,))
    spikes = out.filter((pl.col("driver") == "load spike") & (pl.col("direction") == FORWARD))
    assert spikes["exposure_days"].to_list() == [2] * sims
    ours = float((spikes["p_value"] < 0.05).mean())
    assert ours <= 0.09, ours
    assert float(np.mean(np.asarray(hac_only) < 0.05)) >= 0.25  # what HAC alone would claim


# --------------------------------------------------------------------------------------
# Options, adjustment and drivers on small frames
# --------------------------------------------------------------------------------------


def test_windowed_lags_are_labelled_and_average_the_window() -> None:
    rng = np.random.default_rng(3)
    n = 80
    train = rng.random(n) < 0.4
    pain = 4.0 + _ar1(rng, n, 0.3, 0.5)
    out = relations(_daily_load("p", train, np.full(n, 1500.0)), _daily_pain("p", pain), lags=(0, (1, 2)))
    window = _row(out, driver="training day", lag_label="1–2")
    assert window["lag_days"] == 1
    # exposed = trained on day t−1 or t−2; rows need pain on t and the prior pain on t−3
    t = np.arange(3, n)
    assert window["exposure_days"] == int((train[t - 1] | train[t - 2]).sum())
    assert window["n"] == t.size
    load = _row(out, driver="daily load", lag_label="1–2")
    assert load["n"] == t.size


def test_unlogged_days_are_missing_not_zero() -> None:
    rng = np.random.default_rng(8)
    n = 60
    train = rng.random(n) < 0.5
    daily = _daily_load("p", train, np.full(n, 1000.0)).with_columns(
        logged=pl.int_range(pl.len()).is_between(20, 34).not_(),
    )
    daily = daily.with_columns(
        training_day=pl.col("training_day") & pl.col("logged"),
        rest_day=pl.col("rest_day") & pl.col("logged"),
    )
    pain = _daily_pain("p", 4.0 + _ar1(rng, n, 0.3, 0.5))
    out = relations(daily, pain, lags=(0,), adjust_prior=False)
    # 60 pain days, 15 unlogged → 45 days in the model
    assert _row(out, driver="training day", direction=FORWARD)["n"] == 45
    assert _row(out, driver="daily load", direction=FORWARD)["n"] == 45


def test_reverse_direction_detects_skipping_after_painful_days() -> None:
    rng = np.random.default_rng(21)
    n = 140
    pain = np.clip(np.rint(5.0 + _ar1(rng, n, 0.5, 0.9)), 0, 10)
    planned = (np.arange(n) % 7) < 4
    train = planned.copy()
    train[1:] &= pain[:-1] < 6  # skip the day after a 6 or more
    out = relations(_daily_load("p", train, np.full(n, 2500.0)), _daily_pain("p", pain))
    back = _row(out, driver="training day", direction=REVERSE)
    assert back["significant"] and back["effect"] < -10
    assert back["lag_days"] == 1 and back["exposure_days"] is None


def test_spline_trend_and_too_little_variation() -> None:
    rng = np.random.default_rng(4)
    n = 90
    train = rng.random(n) < 0.5
    pain = 7.0 - 4.0 * (1 - np.exp(-np.arange(n) / 20)) + _ar1(rng, n, 0.5, 0.6)
    out = relations(
        _daily_load("p", train, np.full(n, 1200.0)), _daily_pain("p", pain), lags=(1,), trend="spline"
    )
    row = _row(out, driver="training day", direction=FORWARD)
    assert "natural-spline trend (3 df)" in row["method"]
    assert "spline time trend" in row["note"]
    # no session_load and no sets: no load-spike driver at all
    assert "load spike" not in out["driver"].to_list()
    # constant daily volume on every training day: daily load varies (0 vs 1.2) → tested;
    # a patient who trains every day has no training-day contrast → row with a note
    every = relations(
        _daily_load("q", np.ones(n, bool), np.full(n, 1200.0)), _daily_pain("q", pain), lags=(0,)
    )
    flat = _row(every, driver="training day", direction=FORWARD)
    assert flat["effect"] is None and flat["significant"] is False
    assert flat["note"].startswith("not tested: ")
    assert flat["sentence"].startswith("Training day at lag 0 was not tested (")


def test_exercise_dose_drivers_use_kg_or_sets() -> None:
    rng = np.random.default_rng(9)
    n = 70
    train = rng.random(n) < 0.5
    days = [DAY0 + dt.timedelta(days=int(i)) for i in np.flatnonzero(train)]
    sets = pl.DataFrame(
        [
            row
            for k, d in enumerate(days)
            for row in (
                ("p", f"s{k}", d, "Squat", "Squat", "working", 5.0, 80.0 + k),
                ("p", f"s{k}", d, "Squat", "Squat", "warmup", 5.0, 40.0),
                ("p", f"s{k}", d, "Bird Dog", "Bird Dog", "working", 10.0, None),
                ("p", f"s{k}", d, "Bird Dog", "Bird Dog", "working", 10.0, None),
            )
        ],
        schema=[
            "patient_id",
            "session_id",
            "local_date",
            "exercise",
            "exercise_raw",
            "set_type",
            "reps",
            "weight_kg",
        ],
        orient="row",
    )
    out = relations(
        _daily_load("p", train, np.full(n, 1000.0)),
        _daily_pain("p", 4.0 + _ar1(rng, n, 0.3, 0.5)),
        sets=sets,
        lags=(0,),
        main_exercises=2,
    )
    units = dict(out.filter(pl.col("driver").str.ends_with(" dose")).select("driver", "unit").rows())
    assert units == {
        "Bird Dog dose": "per set of Bird Dog",
        "Squat dose": "per 100 kg of Squat (Σ reps × kg)",
    }
    none = relations(
        _daily_load("p", train, np.full(n, 1000.0)),
        _daily_pain("p", 4.0 + _ar1(rng, n, 0.3, 0.5)),
        sets=sets,
        lags=(0,),
        main_exercises=0,
    )
    assert not none["driver"].str.ends_with(" dose").any()
    assert "load spike" in none["driver"].to_list()  # computed from the sets


# --------------------------------------------------------------------------------------
# rest_and_strength
# --------------------------------------------------------------------------------------


def _lift(rests: np.ndarray, gains: np.ndarray, *, pid: str = "p", name: str = "Deadlift") -> pl.DataFrame:
    """One working set of 5 per session; the weight rises by ``gains[k]`` after ``rests[k]``
    rest days."""
    day, w = 0, 60.0
    rows = [(pid, "s0", DAY0, name, name, "working", 5.0, w)]
    for k, (r, g) in enumerate(zip(rests, gains, strict=True), start=1):
        day += int(r) + 1
        w += float(g)
        rows.append((pid, f"s{k}", DAY0 + dt.timedelta(days=day), name, name, "working", 5.0, w))
    return pl.DataFrame(
        rows,
        schema=[
            "patient_id",
            "session_id",
            "local_date",
            "exercise",
            "exercise_raw",
            "set_type",
            "reps",
            "weight_kg",
        ],
        orient="row",
    )


def test_rest_and_strength_recovers_a_planted_rest_benefit() -> None:
    rng = np.random.default_rng(12)
    rests = rng.choice([1, 2], 30)
    gains = np.where(rests == 2, 3.0, 0.5) + rng.normal(0, 0.5, 30)
    out = rest_and_strength(_lift(rests, gains))
    row = _row(out, exercise="Deadlift")
    # Epley at 5 reps: e1RM change = 7/6 × weight change → slope ≈ 2.5 × 7/6 ≈ 2.9 kg per rest day
    assert row["n_pairs"] == 30
    assert row["significant"] and row["kg_per_rest_day"] > 0 and row["ci_low"] > 0
    assert row["ci_low"] <= 2.5 * 7 / 6 <= row["ci_high"]
    assert row["sentence"].startswith("Each extra rest day between Deadlift sessions goes with a ")
    assert row["mean_rest_days"] == pytest.approx(rests.mean())
    assert (row["min_rest_days"], row["max_rest_days"]) == (1, 2)


def test_rest_and_strength_finds_nothing_when_rest_does_not_matter() -> None:
    rng = np.random.default_rng(13)
    rests = rng.choice([1, 2, 3], 30)
    gains = 1.0 + rng.normal(0, 0.8, 30)
    both = pl.concat([_lift(rests, gains), _lift(rests[:4], gains[:4], name="Squat")])
    out = rest_and_strength(both)
    row = _row(out, exercise="Deadlift")
    assert not row["significant"] and row["ci_low"] < 0 < row["ci_high"]
    assert row["sentence"].startswith(
        "Rest between Deadlift sessions shows no clear relation to strength gains"
    )
    few = _row(out, exercise="Squat")  # 4 pairs < min_pairs
    assert few["kg_per_rest_day"] is None and few["q_value"] is None and few["significant"] is False
    assert few["note"] == "not tested: 4 session pairs (fewer than 6)"
    # q-values: BH across the patient's tested lifts (one here, so q = p)
    assert row["q_value"] == pytest.approx(row["p_value"])
    assert out.schema == pl.Schema(REST_STRENGTH_SCHEMA)


# --------------------------------------------------------------------------------------
# Contract: inputs untouched, pandas accepted, empty in → empty out, typed errors
# --------------------------------------------------------------------------------------


def _small() -> tuple[pl.DataFrame, pl.DataFrame]:
    rng = np.random.default_rng(1)
    n = 50
    train = rng.random(n) < 0.5
    return _daily_load("p", train, 1000 + 100 * rng.random(n)), _daily_pain("p", 4 + _ar1(rng, n, 0.4, 0.6))


def test_pandas_input_is_accepted_and_not_mutated() -> None:
    daily, pain = _small()
    daily_pd, pain_pd = daily.to_pandas(), pain.to_pandas()
    before = (daily_pd.copy(deep=True), pain_pd.copy(deep=True))
    from_pandas = relations(daily_pd, pain_pd)
    pd.testing.assert_frame_equal(daily_pd, before[0])
    pd.testing.assert_frame_equal(pain_pd, before[1])
    assert from_pandas.equals(relations(daily, pain))
    daily_copy = daily.clone()
    relations(daily, pain)
    assert daily.equals(daily_copy)

    sets = _lift(np.array([1, 2] * 5), np.ones(10))
    sets_pd = sets.to_pandas()
    copy = sets_pd.copy(deep=True)
    assert rest_and_strength(sets_pd).equals(rest_and_strength(sets))
    pd.testing.assert_frame_equal(sets_pd, copy)


def test_empty_input_gives_empty_output_with_the_documented_columns() -> None:
    daily, pain = _small()
    out = relations(daily.clear(), pain.clear())
    assert out.height == 0 and out.schema == pl.Schema(RELATION_SCHEMA)
    out = relations(daily, pain.clear())
    assert out.height == 0 and out.schema == pl.Schema(RELATION_SCHEMA)
    sets = _lift(np.array([1]), np.array([1.0]))
    out = rest_and_strength(sets.clear())
    assert out.height == 0 and out.schema == pl.Schema(REST_STRENGTH_SCHEMA)
    assert significant_sentences(pl.DataFrame(schema=RELATION_SCHEMA)) == []


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lags": ()}, r"lags must be a non-empty sequence"),
        ({"lags": (-1,)}, r"lags must be a non-empty sequence"),
        ({"lags": ((2, 1),)}, r"lags must be a non-empty sequence"),
        ({"lags": (29,)}, r"lags must be a non-empty sequence of ints 0\.\.28"),
        ({"lags": "12"}, r"lags must be a non-empty sequence"),
        ({"lags": (1, 1)}, r"lags must not repeat a lag"),
        ({"alpha": 0}, r"alpha must be a number strictly between 0 and 1, got 0"),
        ({"alpha": 1.5}, r"alpha must be a number strictly between 0 and 1"),
        ({"trend": "cubic"}, r"trend must be one of linear, spline, got 'cubic'"),
        ({"main_exercises": -1}, r"main_exercises must be an int ≥ 0, got -1"),
        ({"spline_df": 0}, r"spline_df must be an int in 1\.\.12"),
        ({"adjust_prior": "yes"}, r"adjust_prior must be True or False"),
        ({"min_days": 2}, r"min_days must be an int ≥ 5"),
        ({"min_exposure_days": 0}, r"min_exposure_days must be an int ≥ 1"),
    ],
)
def test_invalid_options_raise_option_error(kwargs: dict, match: str) -> None:
    daily, pain = _small()
    with pytest.raises(OptionError, match=match):
        relations(daily, pain, **kwargs)


def test_invalid_inputs_raise_option_error() -> None:
    daily, pain = _small()
    with pytest.raises(OptionError, match=r"daily_load lacks column\(s\) logged"):
        relations(daily.drop("logged"), pain)
    with pytest.raises(OptionError, match=r"daily_pain lacks column\(s\) pain_mean"):
        relations(daily, pain.drop("pain_mean"))
    with pytest.raises(OptionError, match=r"daily_pain must have one row per patient_id and date"):
        relations(daily, pl.concat([pain, pain]))
    with pytest.raises(OptionError, match=r"daily_load.volume_kg must be Float64, got String"):
        relations(daily.with_columns(pl.col("volume_kg").cast(pl.String)), pain)
    with pytest.raises(OptionError, match=r"daily_load must be a polars or pandas DataFrame, got list"):
        relations([1, 2], pain)
    with pytest.raises(OptionError, match=r"min_pairs must be an int ≥ 4, got 2"):
        rest_and_strength(_lift(np.array([1]), np.array([1.0])), min_pairs=2)
    with pytest.raises(OptionError, match=r"alpha must be a number strictly between 0 and 1"):
        rest_and_strength(_lift(np.array([1]), np.array([1.0])), alpha=1)
    with pytest.raises(OptionError, match=r"relations lacks column\(s\) significant"):
        significant_sentences(pl.DataFrame({"sentence": ["x"]}))
