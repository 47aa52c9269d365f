"""Flags: each threshold checked on values worked by hand from its definition."""

from __future__ import annotations

import datetime as dt
import itertools

import polars as pl
import pytest

from toolkit.analysis import flags as fl
from toolkit.analysis import load as ld
from toolkit.exceptions import OptionError

D0 = dt.date(2025, 1, 6)


def _days(n: int) -> list[dt.date]:
    return [D0 + dt.timedelta(days=i) for i in range(n)]


def _sessions(volumes: list[float], step: int = 1) -> pl.DataFrame:
    dates = [D0 + dt.timedelta(days=step * i) for i in range(len(volumes))]
    return pl.DataFrame({"patient_id": "p", "date": dates, "volume_kg": volumes})


def test_load_spike_is_1_5_times_the_trailing_28_day_mean() -> None:
    """Definition (issue 3 / Gabbett 2016 'danger' ratio 1.5): 10 sessions of 100 kg
    every 2 days, then 160 kg → 160/100 = 1.6 ≥ 1.5 flagged; 140 → 1.4 not flagged."""
    out = fl.load_spikes(_sessions([100.0] * 10 + [160.0, 140.0], step=2))
    assert out.height == 1
    row = out.row(0, named=True)
    assert row["date"] == D0 + dt.timedelta(days=20)
    assert row["value"] == pytest.approx(1.6)
    assert row["kind"] == "load_spike" and "1.6×" in row["detail"] and "160 kg" in row["detail"]


def test_load_spike_uses_only_the_preceding_28_days() -> None:
    """Mean over (date − 28 d, date): sessions 30+ days before do not count.
    Days 0–2: 1000 kg; days 40–46: 100 kg each (7 sessions); day 47: 160 kg.
    Window for day 47 = days 19–46 → only the 100 kg sessions → ratio 1.6."""
    dates = [D0, D0 + dt.timedelta(1), D0 + dt.timedelta(2)] + [D0 + dt.timedelta(40 + i) for i in range(8)]
    vols = [1000.0] * 3 + [100.0] * 7 + [160.0]
    out = fl.load_spikes(pl.DataFrame({"patient_id": "p", "date": dates, "volume_kg": vols}))
    assert out["date"].to_list() == [D0 + dt.timedelta(47)]


def test_no_spike_without_enough_history() -> None:
    out = fl.load_spikes(_sessions([100.0, 100.0, 500.0]))
    assert out.is_empty() and list(out.columns) == list(fl.FLAG_COLUMNS)


def test_ewma_acwr_flags_the_day_it_enters_the_zone_on_a_heavier_session() -> None:
    """Days 0–9: sessions of 100 kg; day 10: 130 kg (1.3× mean), day 11: 100 kg.
    ACWR enters ≥ 1.5 on day 10 (flagged: session ≥ 1.2× mean) and again on day 13
    after dipping — but day 13 has an ordinary session, so it is not flagged."""
    vols = [100.0] * 10 + [130.0, 100.0, 100.0, 100.0]
    sessions = _sessions(vols)
    acwr = pl.DataFrame(
        {"patient_id": "p", "date": _days(14), "acwr": [None] * 9 + [1.2, 1.6, 1.7, 1.4, 1.55]}
    )
    out = fl.load_spikes(sessions, acwr)
    assert out["date"].to_list() == [D0 + dt.timedelta(10)]
    assert out["value"].to_list() == [1.6] and "EWMA acute:chronic load ratio 1.6" in out["detail"][0]


def test_a_regular_twice_weekly_plan_after_a_missed_week_is_not_a_spike() -> None:
    """Identical 2000 kg sessions on Mondays and Thursdays with one week missed: the
    daily EWMA-ACWR (Williams 2017) reaches ~1.58 on ordinary sessions — not a spike."""
    from toolkit.analysis.load import acwr

    days = [i for i in range(120) if i % 7 in (0, 3) and i not in (42, 45, 49)]
    sessions = pl.DataFrame(
        {"patient_id": "p", "date": [D0 + dt.timedelta(i) for i in days], "volume_kg": 2000.0}
    )
    daily = pl.DataFrame(
        {
            "patient_id": "p",
            "date": _days(120),
            "volume_kg": [2000.0 if i in days else 0.0 for i in range(120)],
            "logged": True,
        }
    )
    ratios = acwr(daily)
    assert ratios["acwr"].max() > 1.5
    assert fl.load_spikes(sessions, ratios).is_empty()


def test_load_spike_rejects_a_ratio_below_one() -> None:
    with pytest.raises(OptionError, match=r"ratio must be > 1, got 0\.9"):
        fl.load_spikes(_sessions([1.0]), ratio=0.9)


def test_too_fast_progression_needs_two_consecutive_weeks_above_10_percent() -> None:
    """Tops 100 → 112 (+12 %) → 125 (+11.6 %) → 130 (+4 %): two fast weeks in a row
    → one flag dated at the second fast week; mean rise (12 + 11.61)/2 = 11.8 %."""
    weeks = [D0 + dt.timedelta(weeks=i) for i in range(4)]
    tops = [100.0, 112.0, 125.0, 130.0]
    change = [None] + [(b - a) / a * 100 for a, b in itertools.pairwise(tops)]
    frame = pl.DataFrame(
        {"patient_id": "p", "exercise": "Deadlift", "week_start": weeks, "top_kg": tops, "change_pct": change}
    )
    out = fl.too_fast_progression(frame)
    assert out.height == 1
    row = out.row(0, named=True)
    assert row["date"] == weeks[2] and row["exercise"] == "Deadlift"
    assert row["value"] == pytest.approx((12.0 + 11.607142857) / 2)
    assert "100.0 → 125.0 kg" in row["detail"]


def test_one_fast_week_or_a_gap_is_not_a_run() -> None:
    weeks = [D0, D0 + dt.timedelta(weeks=1), D0 + dt.timedelta(weeks=3)]
    frame = pl.DataFrame(
        {
            "patient_id": "p",
            "exercise": "Squat",
            "week_start": weeks,
            "top_kg": [100.0, 115.0, 130.0],
            "change_pct": [None, 15.0, 13.0],
        }
    )
    assert fl.too_fast_progression(frame).is_empty()


def test_no_rest_flags_six_consecutive_training_days_once() -> None:
    streak = [1, 2, 3, 4, 5, 6, 7, 0, 1, 2]
    out = fl.no_rest(pl.DataFrame({"patient_id": "p", "date": _days(10), "streak_days": streak}))
    assert out.height == 1
    row = out.row(0, named=True)
    assert row["date"] == D0 + dt.timedelta(5) and row["value"] == 7
    assert "7 consecutive training days from 2025-01-06" in row["detail"]


def test_five_days_is_not_no_rest() -> None:
    out = fl.no_rest(pl.DataFrame({"patient_id": "p", "date": _days(6), "streak_days": [1, 2, 3, 4, 5, 0]}))
    assert out.is_empty()


def test_pain_flares_become_flags() -> None:
    flares = pl.DataFrame(
        {
            "patient_id": ["p"],
            "date": [D0],
            "pain": [7.0],
            "trailing_median": [4.0],
            "excess": [3.0],
            "days_to_settle": [2],
        }
    )
    row = fl.pain_flares(flares).row(0, named=True)
    assert row["kind"] == "pain_flare" and row["value"] == 3.0
    assert row["detail"] == "pain 7.0 = 3.0 points above the 7-day median (4.0); settled after 2 day(s)"


def test_safe_dose_is_the_heaviest_session_not_followed_by_a_flare() -> None:
    dates = _days(10)
    sets = pl.DataFrame(
        {
            "patient_id": "p",
            "local_date": [dates[0], dates[3], dates[6]],
            "exercise": "Deadlift",
            "exercise_raw": "Deadlift (Barbell)",
            "reps": [5.0, 5.0, 5.0],
            "weight_kg": [60.0, 80.0, 70.0],
            "set_type": "working",
        }
    )
    flare = pl.DataFrame({"patient_id": ["p"], "date": [dates[4]]})  # the day after the 80 kg session
    row = fl.safe_doses(sets, flare).row(0, named=True)
    assert row["top_kg"] == 70.0 and row["date"] == dates[6]
    assert (row["sessions_considered"], row["sessions_followed_by_flare"]) == (3, 1)


@pytest.mark.parametrize("seed", range(5))
def test_safe_dose_does_not_depend_on_row_order(seed: int) -> None:
    """Stretches have no weight and no volume: every session ties, and the answer is the
    latest session, whatever order the rows come in (it once followed the order of a hash
    group-by, and the dashboard showed a different date on each reload)."""
    dates = _days(12)
    sets = pl.DataFrame(
        {
            "patient_id": "p",
            "local_date": dates,
            "exercise": ["Hamstring Stretch", "Deadlift"] * 6,
            "exercise_raw": ["Hamstring Stretch", "Deadlift (Barbell)"] * 6,
            "reps": [None, 5.0] * 6,
            "weight_kg": [None, 60.0, None, 60.0] * 3,
            "set_type": "working",
        }
    )
    no_flares = pl.DataFrame(schema={"patient_id": pl.String, "date": pl.Date})
    expected = fl.safe_doses(sets, no_flares)
    assert expected.filter(pl.col("exercise") == "Hamstring Stretch")["date"].to_list() == [dates[10]]
    assert expected.filter(pl.col("exercise") == "Deadlift")["date"].to_list() == [dates[11]]
    assert fl.safe_doses(sets.sample(fraction=1.0, shuffle=True, seed=seed), no_flares).equals(expected)


def test_standard_flags_are_the_four_families_with_heavy_lifts_only() -> None:
    """Eight training days in a row with the session load tripled on the last, the
    deadlift (a heavy lift) and the curl (not one) both +20 %/week for three weeks, and
    one pain flare: every family fires once, progression for the deadlift only."""
    dates = _days(8)
    sessions = _sessions([100.0] * 7 + [300.0]).with_columns(
        sets=pl.lit(3, dtype=pl.Int64),
        timed_s=pl.lit(0.0),
        srpe_au=pl.lit(None, dtype=pl.Float64),
        unloaded_sets=pl.lit(0, dtype=pl.Int64),
    )
    daily = ld.daily_load(None, None, session_load=sessions)
    weeks = [D0 + dt.timedelta(weeks=i) for i in range(4)]
    tops = [100.0, 120.0, 144.0, 172.8]
    change = [None] + [(b - a) / a * 100 for a, b in itertools.pairwise(tops)]
    lifts = pl.DataFrame(
        {
            "patient_id": "p",
            "exercise": ["Deadlift"] * 4 + ["Bicep Curl"] * 4,
            "week_start": weeks * 2,
            "top_kg": tops * 2,
            "change_pct": change * 2,
        }
    )
    flares = pl.DataFrame(
        {
            "patient_id": ["p"],
            "date": [dates[3]],
            "pain": [7.0],
            "trailing_median": [4.0],
            "excess": [3.0],
            "days_to_settle": [2],
        }
    )
    got = fl.standard_flags(sessions, daily, lifts, flares)
    assert sorted(got["kind"].unique()) == ["load_spike", "no_rest", "pain_flare", "too_fast_progression"]
    assert got.filter(pl.col("kind") == "too_fast_progression")["exercise"].unique().to_list() == ["Deadlift"]
    heavy = lifts.filter(pl.col("exercise") == "Deadlift")
    parts = (fl.load_spikes(sessions, ld.acwr(daily, variant="ewma")), fl.too_fast_progression(heavy))
    assert got.equals(fl.all_flags(*parts, fl.no_rest(daily), fl.pain_flares(flares)))


def test_all_flags_merges_and_sorts() -> None:
    a = fl.no_rest(pl.DataFrame({"patient_id": "p", "date": _days(6), "streak_days": [1, 2, 3, 4, 5, 6]}))
    b = fl.load_spikes(_sessions([100.0] * 10 + [200.0], step=2))
    out = fl.all_flags(b, a, fl.all_flags())
    assert out["kind"].to_list() == ["no_rest", "load_spike"]
    assert fl.all_flags().is_empty()
