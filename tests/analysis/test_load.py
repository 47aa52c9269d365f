"""Tests of toolkit.analysis.load against hand calculations from the published formulas.

Every golden number below is worked by hand in the test's docstring from the source it
names (``/work/shared/DOMAIN.md`` lists the sources).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from toolkit.analysis import load
from toolkit.exceptions import OptionError
from toolkit.ingest.catalogue import load_catalogue

D0 = dt.date(2024, 1, 1)  # a Monday

SET_SCHEMA = {
    "patient_id": pl.String,
    "session_id": pl.String,
    "local_date": pl.Date,
    "exercise": pl.String,
    "exercise_raw": pl.String,
    "equipment": pl.String,
    "set_type": pl.String,
    "reps": pl.Float64,
    "weight_kg": pl.Float64,
    "duration_s": pl.Float64,
    "rpe": pl.Float64,
}
SESSION_SCHEMA = {
    "session_id": pl.String,
    "patient_id": pl.String,
    "local_date": pl.Date,
    "duration_s": pl.Float64,
}


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def make_sets(*rows: dict[str, Any]) -> pl.DataFrame:
    """Sets with defaults: p1, session s<day>, Deadlift, working set."""
    full = []
    for r in rows:
        r = dict(r)
        r.setdefault("patient_id", "p1")
        r.setdefault("local_date", D0)
        r.setdefault("session_id", f"{r['patient_id']}-{r['local_date']}")
        r.setdefault("exercise", "Deadlift")
        r.setdefault("exercise_raw", r["exercise"] or "Unmapped")
        r.setdefault("set_type", "working")
        full.append({k: r.get(k) for k in SET_SCHEMA})
    return pl.DataFrame(full, schema=SET_SCHEMA)


def make_sessions(*rows: dict[str, Any]) -> pl.DataFrame:
    full = []
    for r in rows:
        r = dict(r)
        r.setdefault("patient_id", "p1")
        r.setdefault("local_date", D0)
        r.setdefault("session_id", f"{r['patient_id']}-{r['local_date']}")
        r.setdefault("duration_s", 3600.0)
        full.append({k: r.get(k) for k in SESSION_SCHEMA})
    return pl.DataFrame(full, schema=SESSION_SCHEMA)


def training_log(
    days: list[int], patient: str = "p1", kg: float = 100.0
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """One session per listed day offset with one set of 10 × ``kg`` (volume 10·kg)."""
    sets = make_sets(
        *({"patient_id": patient, "local_date": day(d), "reps": 10.0, "weight_kg": kg} for d in days)
    )
    sessions = make_sessions(*({"patient_id": patient, "local_date": day(d)} for d in days))
    return sets, sessions


def daily_frame(loads: list[float | None], patient: str = "p1") -> pl.DataFrame:
    """A minimal daily table: consecutive days from D0; ``None`` = unlogged day."""
    return pl.DataFrame(
        {
            "patient_id": [patient] * len(loads),
            "date": [day(i) for i in range(len(loads))],
            "volume_kg": loads,
            "logged": [v is not None for v in loads],
        },
        schema={"patient_id": pl.String, "date": pl.Date, "volume_kg": pl.Float64, "logged": pl.Boolean},
    )


# --------------------------------------------------------------------------------------
# session_load: effective load and volume
# --------------------------------------------------------------------------------------


def test_push_up_effective_load_uses_bodyweight_factor() -> None:
    """Ebben et al. 2011 JSCR 25(10):2891 (catalogue factor 0.64) and DOMAIN "Volume load"
    (BW×factor + external − assistance): 80 kg × 0.64 = 51.2 kg per rep; 10 reps → 512 kg."""
    sets = make_sets({"exercise": "Push-Up", "exercise_raw": "Push Up", "reps": 10.0})
    out = load.session_load(sets, None, bodyweight_kg=80.0)
    assert out["volume_kg"][0] == pytest.approx(512.0)
    assert out["unloaded_sets"][0] == 0


def test_weighted_assisted_and_machine_variants() -> None:
    """DOMAIN "Volume load", effective load BW×factor + external − assistance, BW = 80 kg:

    * weighted back extension (factor 0.5): (0.5·80 + 20) × 10 = 600 kg
    * assisted pull-up (factor 1.0), 30 kg assistance: (80 − 30) × 5 = 250 kg
    * assisted pull-up with more assistance than BW: max(80 − 90, 0) = 0 → unloaded
    * crunch on a machine (catalogue: no factor for machine variants): 60 × 10 = 600 kg
    * deadlift (no factor): 100 × 5 = 500 kg
    Total 1950 kg, one unloaded set.
    """
    sets = make_sets(
        {"exercise": "Back Extension", "exercise_raw": "Back Extension (Weighted)", "reps": 10.0, "weight_kg": 20.0},
        {"exercise": "Pull-Up", "exercise_raw": "Pull Up (Assisted)", "equipment": "assisted", "reps": 5.0,
         "weight_kg": 30.0},
        {"exercise": "Pull-Up", "exercise_raw": "Pull Up (Assisted)", "reps": 5.0, "weight_kg": 90.0},
        {"exercise": "Crunch", "exercise_raw": "Crunch (Machine)", "equipment": "machine", "reps": 10.0,
         "weight_kg": 60.0},
        {"exercise": "Deadlift", "reps": 5.0, "weight_kg": 100.0},
    )  # fmt: skip
    out = load.session_load(sets, None, bodyweight_kg=80.0)
    assert out["volume_kg"][0] == pytest.approx(600 + 250 + 600 + 500)
    assert out["unloaded_sets"][0] == 1
    assert out["exercises"][0] == 4


def test_bodyweight_unknown_counts_unloaded_sets() -> None:
    """Without body mass a push-up's load is unknown: 0 kg and one unloaded set; a
    dumbbell lunge counts its external 16 kg only (lower bound): 16 × 10 = 160 kg."""
    sets = make_sets(
        {"exercise": "Push-Up", "reps": 10.0},
        {"exercise": "Lunge", "exercise_raw": "Lunge (Dumbbell)", "equipment": "dumbbell", "reps": 10.0,
         "weight_kg": 16.0},
        {"exercise": None, "exercise_raw": "Mystery Move", "reps": 8.0},
    )  # fmt: skip
    out = load.session_load(sets, None)
    assert out["volume_kg"][0] == pytest.approx(160.0)
    assert out["unloaded_sets"][0] == 2
    assert out["exercises"][0] == 3  # unmapped names fall back to exercise_raw


def test_bodyweight_per_patient_frame() -> None:
    """Per-patient body mass (the patients table): p1 80 kg, p2 60 kg, push-up factor 0.64,
    10 reps → p1 512 kg, p2 384 kg; p3 has no body mass → unloaded."""
    sets = pl.concat(
        [make_sets({"patient_id": p, "exercise": "Push-Up", "reps": 10.0}) for p in ("p1", "p2", "p3")]
    )
    patients = pl.DataFrame({"patient_id": ["p1", "p2", "p3"], "bodyweight_kg": [80.0, 60.0, None]})
    out = load.session_load(sets, None, bodyweight_kg=patients)
    assert out["volume_kg"].to_list() == pytest.approx([512.0, 384.0, 0.0])
    assert out["unloaded_sets"].to_list() == [0, 0, 1]


def test_warmups_excluded_timed_sets_and_srpe() -> None:
    """Foster et al. 1998 MSSE 30(7):1164, sRPE = RPE × duration_min.

    Counted sets: working 5×100 (RPE 7), failure 5×100 (RPE 9), drop 8×60 (no RPE);
    the warm-up 5×40 (RPE 3) is excluded. Volume 500 + 500 + 480 = 1480 kg.
    A timed plank of 60 s adds to timed_s, not volume. Mean set RPE (7 + 9)/2 = 8;
    duration 45 min → sRPE = 8 × 45 = 360 AU.
    """
    sets = make_sets(
        {"set_type": "warmup", "reps": 5.0, "weight_kg": 40.0, "rpe": 3.0},
        {"set_type": "working", "reps": 5.0, "weight_kg": 100.0, "rpe": 7.0},
        {"set_type": "failure", "reps": 5.0, "weight_kg": 100.0, "rpe": 9.0},
        {"set_type": "drop", "reps": 8.0, "weight_kg": 60.0},
        {"exercise": "Plank", "duration_s": 60.0},
    )
    sessions = make_sessions({"duration_s": 45 * 60.0})
    row = load.session_load(sets, sessions).row(0, named=True)
    assert row["sets"] == 4
    assert row["volume_kg"] == pytest.approx(1480.0)
    assert row["timed_s"] == pytest.approx(60.0)
    assert row["rpe_session"] == pytest.approx(8.0)
    assert row["duration_min"] == pytest.approx(45.0)
    assert row["srpe_au"] == pytest.approx(360.0)
    assert row["date"] == D0


def test_srpe_null_when_duration_or_rpe_missing() -> None:
    """Foster 1998 needs both factors: no duration → no sRPE; no RPE → no sRPE."""
    sets = make_sets(
        {"session_id": "a", "reps": 5.0, "weight_kg": 100.0, "rpe": 8.0},
        {"session_id": "b", "reps": 5.0, "weight_kg": 100.0},
    )
    sessions = make_sessions({"session_id": "a", "duration_s": None}, {"session_id": "b"})
    out = load.session_load(sets, sessions).sort("session_id")
    assert out["srpe_au"].to_list() == [None, None]
    assert out["duration_min"].to_list() == [None, 60.0]


def test_sessions_in_only_one_table_are_kept() -> None:
    """A session without counted sets (only in sessions) has 0 sets and 0 kg; a session
    only in sets has an unknown duration."""
    sets = make_sets({"session_id": "only-sets", "reps": 5.0, "weight_kg": 100.0})
    sessions = make_sessions({"session_id": "only-sessions", "local_date": day(1)})
    out = load.session_load(sets, sessions)
    assert out["session_id"].to_list() == ["only-sets", "only-sessions"]
    assert out["sets"].to_list() == [1, 0]
    assert out["volume_kg"].to_list() == [500.0, 0.0]
    assert out["duration_min"].to_list() == [None, 60.0]


# --------------------------------------------------------------------------------------
# daily_load: logged, rest, gap days and streaks
# --------------------------------------------------------------------------------------


def test_rest_days_gap_days_and_streaks() -> None:
    """DOMAIN pitfall 4, missing ≠ zero. Sessions on days 0, 1, 2, 4 and 20 (offsets):
    day 3 is a rest day (gap of 1 ≤ 14), days 5–19 are a 15-day gap (> 14) → unlogged.

    Streaks: 1, 2, 3, 0 (rest), 1, null… (unlogged), 1.
    """
    sets, sessions = training_log([0, 1, 2, 4, 20])
    daily = load.daily_load(sets, sessions)
    assert daily.height == 21
    assert daily["date"].to_list() == [day(i) for i in range(21)]
    logged = daily["logged"].to_list()
    assert logged[:5] == [True] * 5
    assert logged[5:20] == [False] * 15
    assert logged[20] is True
    assert daily["rest_day"].to_list()[3] is True
    assert daily["rest_day"].to_list()[5:20] == [False] * 15
    assert daily["streak_days"].to_list() == [1, 2, 3, 0, 1, *[None] * 15, 1]
    vol = daily["volume_kg"].to_list()
    assert vol[:5] == [1000.0, 1000.0, 1000.0, 0.0, 1000.0]
    assert vol[5:20] == [None] * 15
    assert daily["sessions"].to_list()[3] == 0
    assert daily["sessions"].to_list()[10] is None
    assert daily["srpe_au"].to_list()[3] == 0.0  # rest day: 0; training days: no RPE → null
    assert daily["srpe_au"].to_list()[0] is None


def test_max_gap_days_threshold_is_inclusive() -> None:
    """A run of exactly max_gap_days empty days is still rest; one more day is a gap."""
    sets, sessions = training_log([0, 4])  # 3 empty days between
    assert load.daily_load(sets, sessions, max_gap_days=3)["logged"].all()
    assert not load.daily_load(sets, sessions, max_gap_days=2)["logged"].all()


def test_two_sessions_one_day_sum() -> None:
    """Two sessions on one day: sessions = 2, volume 1000 + 500 = 1500 kg."""
    sets = make_sets(
        {"session_id": "am", "reps": 10.0, "weight_kg": 100.0},
        {"session_id": "pm", "reps": 5.0, "weight_kg": 100.0},
    )
    daily = load.daily_load(sets, None)
    assert daily.select("sessions", "volume_kg", "training_day").row(0) == (2, 1500.0, True)


# --------------------------------------------------------------------------------------
# weekly_load: Foster monotony and strain, weekly change %
# --------------------------------------------------------------------------------------


def _week(loads: list[float], start: int = 0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "patient_id": "p1",
            "date": [day(start + i) for i in range(len(loads))],
            "sessions": [int(v > 0) for v in loads],
            "training_day": [v > 0 for v in loads],
            "logged": True,
            "volume_kg": loads,
            "srpe_au": loads,
        }
    )


def test_monotony_and_strain_foster_1998() -> None:
    """Foster 1998 MSSE 30(7):1164: monotony = mean/SD of the 7 daily loads (rest = 0),
    strain = weekly load × monotony. Loads Mon–Sun 0, 300, 0, 600, 0, 900, 300:
    Σ = 2100, mean = 300; deviations −300, 0, −300, 300, −300, 600, 0 → Σd² = 720 000;
    sample SD = √(720 000/6) = √120 000 = 346.41; monotony = 300/346.41 = √3/2 = 0.8660;
    strain = 2100 × 0.8660 = 1818.65. Population SD (ddof=0) √(720 000/7) = 320.71 →
    monotony 0.9354.
    """
    week = load.weekly_load(_week([0, 300, 0, 600, 0, 900, 300]))
    row = week.row(0, named=True)
    assert row["week_start"] == D0
    assert row["volume_kg"] == 2100.0
    assert (row["training_days"], row["rest_days"], row["logged_days"], row["sessions"]) == (4, 3, 7, 4)
    assert row["monotony"] == pytest.approx(math.sqrt(3) / 2)
    assert row["strain"] == pytest.approx(2100 * math.sqrt(3) / 2)
    pop = load.weekly_load(_week([0, 300, 0, 600, 0, 900, 300]), ddof=0)
    assert pop["monotony"][0] == pytest.approx(300 / math.sqrt(720_000 / 7))


def test_monotony_null_when_sd_zero_or_day_unlogged() -> None:
    """Foster 1998: SD = 0 → undefined. A week with an unlogged day is incomplete."""
    flat = load.weekly_load(_week([100.0] * 7))
    assert flat["monotony"][0] is None and flat["strain"][0] is None
    gap = _week([0, 300, 0, 600, 0, 900, 300]).with_columns(
        logged=pl.Series([True] * 6 + [False]),
        volume_kg=pl.Series([0, 300, 0, 600, 0, 900, None], dtype=pl.Float64),
    )
    out = load.weekly_load(gap)
    assert out["monotony"][0] is None
    assert out["logged_days"][0] == 6
    assert out["volume_kg"][0] == 1800.0
    assert out["complete_week"][0] is False


def test_weekly_change_pct() -> None:
    """DOMAIN "Weekly change %": (W_t − W_{t−1})/W_{t−1} × 100. Week 1 Σ = 1000,
    week 2 Σ = 1300 → +30 %; week 3 Σ = 0 → −100 %; week 4 after a 0 week → null."""
    loads = [1000, 0, 0, 0, 0, 0, 0] + [0, 1300, 0, 0, 0, 0, 0] + [0] * 7 + [500] + [0] * 6
    out = load.weekly_load(_week([float(v) for v in loads]))
    assert out["week_start"].to_list() == [day(0), day(7), day(14), day(21)]
    assert out["change_pct"].to_list() == [None, pytest.approx(30.0), pytest.approx(-100.0), None]


def test_week_start_and_partial_weeks() -> None:
    """Sunday-start weeks: 2024-01-01 is a Monday, so its week starts Sunday 2023-12-31.
    The partial first week has no change_pct and no monotony."""
    sets, sessions = training_log(list(range(0, 21, 2)))
    daily = load.daily_load(sets, sessions)
    weeks = load.weekly_load(daily, week_start="sunday")
    assert weeks["week_start"][0] == dt.date(2023, 12, 31)
    assert weeks["logged_days"][0] == 6
    assert weeks["monotony"][0] is None
    assert weeks["change_pct"][1] is None  # previous week incomplete
    assert weeks["monotony"][1] is not None


def test_weekly_load_other_load_column() -> None:
    """The load parameter drives change, monotony and strain (sRPE in AU here)."""
    week = _week([0, 300, 0, 600, 0, 900, 300]).with_columns(timed_s=pl.col("volume_kg") / 10)
    out = load.weekly_load(week, load="timed_s")
    assert out["timed_s"][0] == 210.0
    assert out["strain"][0] == pytest.approx(210 * math.sqrt(3) / 2)


# --------------------------------------------------------------------------------------
# ACWR
# --------------------------------------------------------------------------------------


def test_acwr_ewma_williams_2017_hand_computed() -> None:
    """Williams et al. 2017 BJSM 51(3):209: EWMA_t = λ·load_t + (1 − λ)·EWMA_{t−1},
    λ_a = 2/(7+1) = 0.25, λ_c = 2/(28+1) = 2/29, seed = first day.

    Day 1 load 100 (seed) → EWMA_a = EWMA_c = 100. Day 2 load 0:
    EWMA_a = 0.25·0 + 0.75·100 = 75; EWMA_c = (27/29)·100 = 93.103.
    Day 3 load 100: EWMA_a = 0.25·100 + 0.75·75 = 81.25;
    EWMA_c = (2/29)·100 + (27/29)·93.103 = 93.579.
    With zeros afterwards, day t (1-based) has EWMA_a = 81.25·0.75^{t−3},
    EWMA_c = 93.579·(27/29)^{t−3}; the first shown ratio is day 29 (28 days withheld).
    """
    loads = [100.0, 0.0, 100.0] + [0.0] * 30
    out = load.acwr(daily_frame(loads))
    assert out["variant"][0] == "ewma (Williams 2017, λ=2/(N+1))"
    assert out["acute"][:3].to_list() == pytest.approx([100.0, 75.0, 81.25])
    c3 = 2 / 29 * 100 + 27 / 29 * (27 / 29 * 100)
    assert out["chronic"][:3].to_list() == pytest.approx([100.0, 100 * 27 / 29, c3])
    assert out["withheld"].to_list() == [True] * 28 + [False] * 5
    assert out["acwr"][:28].is_null().all()
    t = 29
    expected = (81.25 * 0.75 ** (t - 3)) / (c3 * (27 / 29) ** (t - 3))
    assert out["acwr"][t - 1] == pytest.approx(expected)


def test_acwr_ewma_skips_unlogged_days() -> None:
    """Missing ≠ zero (DOMAIN pitfall 4): the EWMA is carried over unlogged days.
    Loads 100, (unlogged), 0 → day 3 EWMA_a = 0.25·0 + 0.75·100 = 75, not
    0.75²·100 = 56.25 as if the missing day were a zero; day 2 is null."""
    out = load.acwr(daily_frame([100.0, None, 0.0]))
    assert out["acute"].to_list() == [100.0, None, pytest.approx(75.0)]
    zero = load.acwr(daily_frame([100.0, 0.0, 0.0]))
    assert zero["acute"][2] == pytest.approx(56.25)


def test_acwr_coupled_vs_uncoupled_windows() -> None:
    """Windt & Gabbett 2018 (coupled): mean(t−a+1…t)/mean(t−c+1…t); uncoupled (RAU):
    mean(t−a+1…t)/mean(t−c+1…t−a). With a = 2, c = 4 and loads 1, 2, 3, 4, 5, 6:

    day 5: acute (4+5)/2 = 4.5; coupled chronic (2+3+4+5)/4 = 3.5 → 1.2857;
           uncoupled chronic (2+3)/2 = 2.5 → 1.8
    day 6: acute 5.5; coupled (3+4+5+6)/4 = 4.5 → 1.2222; uncoupled (3+4)/2 = 3.5 → 1.5714
    Days 1–4 withheld (first chronic_days).
    """
    daily = daily_frame([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    coupled = load.acwr(daily, variant="coupled", acute_days=2, chronic_days=4)
    uncoupled = load.acwr(daily, variant="uncoupled", acute_days=2, chronic_days=4)
    assert coupled["acwr"].to_list() == [None] * 4 + [pytest.approx(4.5 / 3.5), pytest.approx(5.5 / 4.5)]
    assert uncoupled["acwr"].to_list() == [None] * 4 + [pytest.approx(4.5 / 2.5), pytest.approx(5.5 / 3.5)]
    assert coupled["chronic"][3] == pytest.approx(2.5)  # shown during warm-up
    assert uncoupled["chronic"][3] == pytest.approx(1.5)
    assert coupled["variant"][0] == "rolling coupled"
    assert uncoupled["variant"][0] == "rolling uncoupled"


def test_acwr_rolling_window_with_unlogged_day_is_null() -> None:
    """A rolling window that contains an unlogged day is null (not averaged as 0)."""
    daily = daily_frame([1.0, None, 3.0, 4.0, 5.0, 6.0, 7.0])
    out = load.acwr(daily, variant="coupled", acute_days=2, chronic_days=4)
    assert out["chronic"].to_list()[:5] == [None] * 5
    assert out["chronic"][5] == pytest.approx(4.5)


def test_acwr_null_when_chronic_zero_and_fills_calendar() -> None:
    """If chronic = 0 leave blank (Williams 2017). Missing calendar days become unlogged."""
    out = load.acwr(daily_frame([0.0] * 35), variant="coupled")
    assert out["acwr"].is_null().all()
    sparse = daily_frame([1.0] * 3).filter(pl.col("date") != day(1))
    filled = load.acwr(sparse)
    assert filled["date"].to_list() == [day(0), day(1), day(2)]
    assert filled["acute"][1] is None


def test_acwr_patients_are_independent() -> None:
    """Windows run .over("patient_id"): a second patient does not change the first."""
    a = daily_frame([float(i % 5) * 100 for i in range(40)], "a")
    b = daily_frame([float(i % 3) * 70 for i in range(33)], "b").with_columns(
        pl.col("date") + pl.duration(days=10)
    )
    for variant in ("ewma", "coupled", "uncoupled"):
        alone = load.acwr(a, variant=variant)
        both = load.acwr(pl.concat([b, a]), variant=variant).filter(pl.col("patient_id") == "a")
        assert_frame_equal(alone, both)


def test_acwr_default_withholds_28_days_from_daily_load() -> None:
    """DOMAIN pitfall 7: the first 28 days are warm-up."""
    sets, sessions = training_log(list(range(0, 40, 2)))
    out = load.acwr(load.daily_load(sets, sessions))
    assert out["withheld"].sum() == 28
    assert out.filter(~pl.col("withheld"))["acwr"].is_not_null().all()


@settings(max_examples=40, deadline=None)
@given(
    level=st.floats(min_value=1.0, max_value=1e5),
    extra=st.integers(min_value=1, max_value=20),
    variant=st.sampled_from(["ewma", "coupled", "uncoupled"]),
)
def test_acwr_of_constant_load_is_one(level: float, extra: int, variant: str) -> None:
    """Property (all variants): a constant daily load has acute = chronic, so ACWR = 1."""
    out = load.acwr(daily_frame([level] * (28 + extra)), variant=variant)
    shown = out.filter(~pl.col("withheld"))["acwr"].to_numpy()
    assert len(shown) == extra
    np.testing.assert_allclose(shown, 1.0, rtol=1e-9)


# --------------------------------------------------------------------------------------
# exercise_frequency
# --------------------------------------------------------------------------------------


def test_exercise_frequency_per_week() -> None:
    """Distinct sessions, counted sets and volume per exercise and week (warm-ups out)."""
    sets = make_sets(
        {"local_date": day(0), "reps": 5.0, "weight_kg": 100.0},
        {"local_date": day(0), "reps": 5.0, "weight_kg": 100.0},
        {"local_date": day(0), "set_type": "warmup", "reps": 5.0, "weight_kg": 40.0},
        {"local_date": day(2), "reps": 5.0, "weight_kg": 110.0},
        {"local_date": day(8), "reps": 5.0, "weight_kg": 120.0},
        {"local_date": day(2), "exercise": None, "exercise_raw": "Zercher Hold", "duration_s": 30.0},
    )
    out = load.exercise_frequency(sets)
    dl = out.filter(pl.col("exercise") == "Deadlift")
    assert dl.select("week_start", "sessions", "sets", "volume_kg").rows() == [
        (day(0), 2, 3, 1550.0),
        (day(7), 1, 1, 600.0),
    ]
    assert out.filter(pl.col("exercise") == "Zercher Hold")["sets"].to_list() == [1]


# --------------------------------------------------------------------------------------
# e1RM, weekly top load, progression
# --------------------------------------------------------------------------------------


def test_e1rm_epley_brzycki_and_range() -> None:
    """DOMAIN e1RM rows, w = 100 kg, r = 5:
    Epley 100·(1 + 5/30) = 116.667; Brzycki 100·36/(37 − 5) = 112.5;
    Lombardi 100·5^0.1 = 117.46; O'Conner 100·(1 + 0.125) = 112.5;
    Mayhew 100·100/(52.2 + 41.9·e^{−0.275}) = 119.01; Wathan 100·100/(48.8 + 53.8·e^{−0.375}) = 116.58.
    Range: low 112.5 (Brzycki = O'Conner), high 119.01 (Mayhew)."""
    sets = make_sets({"exercise": "Squat", "reps": 5.0, "weight_kg": 100.0})
    row = load.e1rm(sets).row(0, named=True)
    assert row["e1rm_epley_kg"] == pytest.approx(116.6667, abs=1e-4)
    assert row["e1rm_brzycki_kg"] == pytest.approx(112.5)
    assert row["e1rm_low_kg"] == pytest.approx(112.5)
    assert row["e1rm_high_kg"] == pytest.approx(10_000 / (52.2 + 41.9 * math.exp(-0.275)))
    assert row["e1rm_high_kg"] == pytest.approx(119.01, abs=0.01)
    two = load.e1rm(sets, formulas=["epley", "brzycki"]).row(0, named=True)
    assert (two["e1rm_low_kg"], two["e1rm_high_kg"]) == pytest.approx((112.5, 116.6667), abs=1e-4)
    assert set(SET_SCHEMA) <= set(load.e1rm(sets).columns)


def test_e1rm_excludes_high_reps_warmups_and_assisted() -> None:
    """Formulas overestimate above ~10–12 reps: 12-rep sets are left out at max_reps=10."""
    sets = make_sets(
        {"reps": 10.0, "weight_kg": 100.0},
        {"reps": 12.0, "weight_kg": 90.0},
        {"set_type": "warmup", "reps": 5.0, "weight_kg": 60.0},
        {"set_type": "drop", "reps": 5.0, "weight_kg": 60.0},
        {"exercise": "Pull-Up", "exercise_raw": "Pull Up (Assisted)", "reps": 5.0, "weight_kg": 30.0},
        {"reps": 5.0, "weight_kg": None},
    )
    out = load.e1rm(sets)
    assert out["reps"].to_list() == [10.0]
    assert load.e1rm(sets, max_reps=12)["reps"].to_list() == [10.0, 12.0]


def test_weekly_top_load_change_pct() -> None:
    """DOMAIN "Weekly change %" on the top load: 100 → 110 kg = +10 %; 110 → 125 = +13.6 %;
    a week without the lift breaks week-over-week (null, weeks_since_previous 2).
    top_e1rm (Epley) week 1: best of 100×5 → 116.67 and 90×8 → 114.0 = 116.67."""
    sets = make_sets(
        {"local_date": day(0), "reps": 5.0, "weight_kg": 100.0},
        {"local_date": day(1), "reps": 8.0, "weight_kg": 90.0},
        {"local_date": day(7), "reps": 5.0, "weight_kg": 110.0},
        {"local_date": day(14), "reps": 3.0, "weight_kg": 125.0},
        {"local_date": day(28), "reps": 3.0, "weight_kg": 125.0},
    )
    out = load.weekly_top_load(sets)
    assert out["top_kg"].to_list() == [100.0, 110.0, 125.0, 125.0]
    assert out["change_pct"].to_list() == [None, pytest.approx(10.0), pytest.approx(100 * 15 / 110), None]
    assert out["weeks_since_previous"].to_list() == [None, 1, 1, 2]
    assert out["top_e1rm_kg"][0] == pytest.approx(100 * (1 + 5 / 30))


def test_progression_matches_statsmodels_ols() -> None:
    """Closed-form OLS slope and 95 % CI equal statsmodels OLS conf_int(); weeks with a
    gap keep their true time (week 0, 1, 2, 4, 5)."""
    tops = {0: 60.0, 1: 62.5, 2: 62.5, 4: 70.0, 5: 71.0}
    sets = make_sets(
        *({"local_date": day(7 * w + 2), "reps": 5.0, "weight_kg": kg} for w, kg in tops.items())
    )
    out = load.progression(sets).row(0, named=True)
    x = np.array(list(tops), dtype=float)
    y = np.array(list(tops.values()))
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    low, high = fit.conf_int(alpha=0.05)[1]
    assert out["exercise"] == "Deadlift"
    assert out["weeks"] == 5
    assert (out["first_week"], out["last_week"]) == (day(0), day(35))
    assert out["kg_per_week"] == pytest.approx(fit.params[1])
    assert out["kg_per_week_ci_low"] == pytest.approx(low)
    assert out["kg_per_week_ci_high"] == pytest.approx(high)
    e1 = sm.OLS(y * (1 + 5 / 30), sm.add_constant(x)).fit()
    assert out["e1rm_kg_per_week"] == pytest.approx(e1.params[1])
    assert out["pct_per_week"] == pytest.approx(fit.params[1] / 60.0 * 100)


def test_progression_lift_selection_and_min_weeks() -> None:
    """Default lifts: strength + heavy movement pattern (Deadlift yes, Leg Curl is
    isolation_lower → no). Two weeks < min_weeks 3 → slope null; with min_weeks=2 the
    slope is (110 − 100)/1 = 10 kg/week and the CI is null (0 df)."""
    sets = make_sets(
        {"local_date": day(0), "reps": 5.0, "weight_kg": 100.0},
        {"local_date": day(7), "reps": 5.0, "weight_kg": 110.0},
        {"local_date": day(0), "exercise": "Leg Curl", "reps": 10.0, "weight_kg": 40.0},
        {"local_date": day(7), "exercise": "Leg Curl", "reps": 10.0, "weight_kg": 45.0},
    )
    default = load.progression(sets)
    assert default["exercise"].to_list() == ["Deadlift"]
    assert default["kg_per_week"][0] is None
    two = load.progression(sets, min_weeks=2).row(0, named=True)
    assert two["kg_per_week"] == pytest.approx(10.0)
    assert two["kg_per_week_ci_low"] is None
    chosen = load.progression(sets, lifts=["Leg Curl"], min_weeks=2)
    assert chosen["exercise"].to_list() == ["Leg Curl"]
    assert chosen["kg_per_week"][0] == pytest.approx(5.0)


# --------------------------------------------------------------------------------------
# adherence
# --------------------------------------------------------------------------------------


def test_adherence_from_daily_and_weekly() -> None:
    """DOMAIN physio report, adherence % = completed/prescribed × 100. Sessions Mon, Wed,
    Fri for two weeks (days 0–11 logged = 12 days, 6 sessions): 6/12 × 7 = 3.5 sessions
    per week; planned 3 → 116.7 %. Patient p2 without a plan → null."""
    sets1, ses1 = training_log([0, 2, 4, 7, 9, 11])
    sets2, ses2 = training_log([0, 3], patient="p2")
    daily = load.daily_load(pl.concat([sets1, sets2]), pl.concat([ses1, ses2]))
    patients = pl.DataFrame({"patient_id": ["p1", "p2"], "planned_sessions_per_week": [3.0, None]})
    out = load.adherence(daily, patients)
    assert out["patient_id"].to_list() == ["p1", "p2"]
    assert out["sessions_per_week"][0] == pytest.approx(3.5)
    assert out["adherence_pct"].to_list() == [pytest.approx(350 / 3), None]
    assert_frame_equal(out, load.adherence(load.weekly_load(daily), patients))
    weekly = load.weekly_adherence(daily, patients).filter(pl.col("patient_id") == "p1")
    # week 1: 3 sessions / (3 × 7/7) = 100 %; week 2 (Mon–Fri logged): 3 / (3 × 5/7) = 140 %
    assert weekly["adherence_pct"].to_list() == [pytest.approx(100.0), pytest.approx(140.0)]


# --------------------------------------------------------------------------------------
# Contract: pandas accepted, input untouched, empty → empty, typed errors
# --------------------------------------------------------------------------------------


def _example() -> tuple[pl.DataFrame, pl.DataFrame]:
    sets, sessions = training_log([0, 1, 3, 5, 8, 10, 12, 15, 17, 19, 22, 24, 26, 29, 31])
    extra = make_sets({"local_date": day(3), "exercise": "Push-Up", "reps": 12.0, "rpe": 7.0})
    return pl.concat([sets, extra]), sessions


CALLS: dict[str, Callable[[Any, Any], pl.DataFrame]] = {
    "session_load": lambda s, x: load.session_load(s, x, bodyweight_kg=80.0),
    "daily_load": lambda s, x: load.daily_load(s, x),
    "weekly_load": lambda s, x: load.weekly_load(load.daily_load(s, x)),
    "acwr": lambda s, x: load.acwr(load.daily_load(s, x)),
    "exercise_frequency": lambda s, x: load.exercise_frequency(s),
    "e1rm": lambda s, x: load.e1rm(s),
    "weekly_top_load": lambda s, x: load.weekly_top_load(s),
    "progression": lambda s, x: load.progression(s),
    "adherence": lambda s, x: load.adherence(
        load.daily_load(s, x), pl.DataFrame({"patient_id": ["p1"], "planned_sessions_per_week": [3.0]})
    ),
}

COLUMNS = {
    "session_load": ["patient_id", "session_id", "date", "sets", "volume_kg", "timed_s", "duration_min",
                     "rpe_session", "srpe_au", "exercises", "unloaded_sets"],
    "daily_load": ["patient_id", "date", "sessions", "sets", "volume_kg", "timed_s", "srpe_au", "training_day",
                   "logged", "rest_day", "streak_days", "unloaded_sets"],
    "weekly_load": ["patient_id", "week_start", "sessions", "training_days", "rest_days", "logged_days",
                    "volume_kg", "srpe_au", "change_pct", "monotony", "strain", "complete_week"],
    "acwr": ["patient_id", "date", "acute", "chronic", "acwr", "variant", "withheld"],
    "exercise_frequency": ["patient_id", "exercise", "week_start", "sessions", "sets", "volume_kg", "unloaded_sets"],
    "e1rm": [*SET_SCHEMA, "e1rm_epley_kg", "e1rm_brzycki_kg", "e1rm_low_kg", "e1rm_high_kg"],
    "weekly_top_load": ["patient_id", "exercise", "week_start", "top_kg", "top_e1rm_kg", "change_pct",
                        "weeks_since_previous"],
    "progression": ["patient_id", "exercise", "weeks", "first_week", "last_week", "kg_per_week",
                    "kg_per_week_ci_low", "kg_per_week_ci_high", "e1rm_kg_per_week", "pct_per_week",
                    "first_top_kg"],
    "adherence": ["patient_id", "planned_sessions_per_week", "sessions_per_week", "adherence_pct", "logged_weeks"],
}  # fmt: skip


@pytest.mark.parametrize("name", list(CALLS))
def test_columns_input_unchanged_and_pandas_accepted(name: str) -> None:
    sets, sessions = _example()
    sets_copy, sessions_copy = sets.clone(), sessions.clone()
    out = CALLS[name](sets, sessions)
    assert out.columns == COLUMNS[name]
    assert out.height > 0
    assert_frame_equal(sets, sets_copy)
    assert_frame_equal(sessions, sessions_copy)
    sets_pd, sessions_pd = sets.to_pandas(), sessions.to_pandas()
    before = sets_pd.copy(deep=True), sessions_pd.copy(deep=True)
    from_pandas = CALLS[name](sets_pd, sessions_pd)
    pd.testing.assert_frame_equal(sets_pd, before[0])
    pd.testing.assert_frame_equal(sessions_pd, before[1])
    assert_frame_equal(from_pandas, out)


@pytest.mark.parametrize("name", list(CALLS))
def test_empty_input_gives_empty_output(name: str) -> None:
    sets = pl.DataFrame(schema=SET_SCHEMA)
    sessions = pl.DataFrame(schema=SESSION_SCHEMA)
    out = CALLS[name](sets, sessions)
    assert out.height == 0
    assert out.columns == COLUMNS[name]


def test_empty_and_all_null_pandas_columns() -> None:
    """pandas hands empty or all-None object columns to polars as String: still accepted."""
    empty = pd.DataFrame(columns=list(SET_SCHEMA))
    assert load.session_load(empty, None).columns == COLUMNS["session_load"]
    assert load.daily_load(empty, None).height == 0
    one = make_sets({"exercise": None, "exercise_raw": "Mystery", "reps": 5.0}).to_pandas()
    one["weight_kg"] = one["weight_kg"].astype(object)
    out = load.session_load(one, None)
    assert out.select("sets", "volume_kg", "unloaded_sets").row(0) == (1, 0.0, 1)


def test_daily_load_input_not_mutated_by_weekly_and_acwr() -> None:
    sets, sessions = _example()
    daily = load.daily_load(sets, sessions)
    copy = daily.clone()
    load.weekly_load(daily)
    load.acwr(daily, variant="uncoupled")
    load.adherence(
        daily.to_pandas(), pd.DataFrame({"patient_id": ["p1"], "planned_sessions_per_week": [2.0]})
    )
    assert_frame_equal(daily, copy)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s, x: load.session_load(s.drop("reps"), x), "sets lacks column"),
        (lambda s, x: load.session_load(s, x.drop("duration_s")), "sessions lacks column"),
        (lambda s, x: load.session_load(s, x, bodyweight_kg=-80), "bodyweight_kg must be a positive number"),
        (lambda s, x: load.session_load(s, x, bodyweight_kg="80"), "bodyweight_kg must be a number"),
        (
            lambda s, x: load.session_load(
                s, x, bodyweight_kg=pl.DataFrame({"patient_id": ["p1", "p1"], "bodyweight_kg": [80.0, 81.0]})
            ),
            "one body mass per patient",
        ),
        (lambda s, x: load.session_load(s.with_columns(pl.col("reps").cast(pl.String)), x), "sets.reps must be"),
        (lambda s, x: load.session_load([1, 2], x), "sets must be a polars or pandas DataFrame"),
        (lambda s, x: load.daily_load(s, x, max_gap_days=-1), r"max_gap_days must be an int ≥ 0, got -1"),
        (lambda s, x: load.weekly_load(load.daily_load(s, x), week_start="mon"), "week_start must be one of"),
        (lambda s, x: load.weekly_load(load.daily_load(s, x), load="pain"), "daily lacks column"),
        (lambda s, x: load.acwr(load.daily_load(s, x), variant="banister"), "variant must be one of .* got 'banister'"),
        (lambda s, x: load.acwr(load.daily_load(s, x), acute_days=28), r"acute_days must be < chronic_days \(28\)"),
        (lambda s, x: load.acwr(load.daily_load(s, x), chronic_days=0), "chronic_days must be an int"),
        (lambda s, x: load.e1rm(s, max_reps=40), r"max_reps must be an int in 1..36, got 40"),
        (lambda s, x: load.e1rm(s, formulas=["epley", "guess"]), "formulas must be a non-empty subset"),
        (lambda s, x: load.progression(s, min_weeks=1), "min_weeks must be an int ≥ 2, got 1"),
        (lambda s, x: load.progression(s, lifts="Deadlift"), "lifts must be a list"),
        (lambda s, x: load.adherence(s, pl.DataFrame({"patient_id": ["p1"]})), "must be daily_load output"),
    ],
)  # fmt: skip
def test_option_errors(call: Callable[[Any, Any], Any], match: str) -> None:
    sets, sessions = _example()
    with pytest.raises(OptionError, match=match):
        call(sets, sessions)


# --------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------

set_rows = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # session
        st.sampled_from(["working", "warmup", "drop", "failure"]),
        st.integers(min_value=1, max_value=20),
        st.one_of(st.none(), st.floats(min_value=0.5, max_value=300)),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(rows=set_rows)
def test_volume_is_additive_across_sets_and_days(rows: list[tuple[int, str, int, float | None]]) -> None:
    """Property: Σ session volume = Σ over counted sets of reps × weight (loaded
    exercise, no bodyweight term), and daily volume sums the sessions of each day."""
    sets = make_sets(
        *(
            {"session_id": f"s{s}", "local_date": day(s % 2), "set_type": t, "reps": float(r), "weight_kg": w}
            for s, t, r, w in rows
        )
    )
    expected = sum(r * (w or 0.0) for _, t, r, w in rows if t != "warmup")
    per_session = load.session_load(sets, None)
    assert per_session["volume_kg"].sum() == pytest.approx(expected)
    assert per_session["sets"].sum() == sum(t != "warmup" for _, t, _, _ in rows)
    daily = load.daily_load(sets, None)
    assert daily["volume_kg"].sum() == pytest.approx(expected)


# --------------------------------------------------------------------------------------
# Fast paths against the reference definitions
# --------------------------------------------------------------------------------------
# The functions evaluate the name rules once per distinct name, aggregate runs of
# consecutive sets, and reuse a sorted calendar. The references below are the plain
# row-by-row definitions they replaced (module docstring rules, every set joined to the
# catalogue and matched by the regexes); the fast paths must give the same frames.


def _reference_prepared(sets: pl.DataFrame, bodyweight: Any) -> pl.DataFrame:
    cat = load._catalogue_frame(None)
    df = load._sets_frame(sets).join(
        cat, left_on="exercise", right_on="__exercise", how="left", maintain_order="left"
    )
    if isinstance(bodyweight, pl.DataFrame):
        df = df.join(
            bodyweight.rename({"bodyweight_kg": "__bw"}), on="patient_id", how="left", maintain_order="left"
        )
    else:
        df = df.with_columns(pl.lit(bodyweight, dtype=pl.Float64).alias("__bw"))
    w, factor, body = pl.col("weight_kg"), pl.col("__factor"), pl.col("__bw")
    assisted = (
        pl.col("exercise_raw").str.contains(load._ASSIST)
        | pl.col("equipment").str.contains(load._ASSIST).fill_null(False)
        | (w < 0).fill_null(False)
    )
    machine = pl.col("equipment").str.contains(load._MACHINE).fill_null(False) & ~pl.col(
        "__cat_equipment"
    ).str.contains(load._MACHINE).fill_null(False)
    value = (
        pl.when(assisted)
        .then((factor * body - w.abs().fill_null(0.0)).clip(lower_bound=0.0))
        .when(factor.is_not_null() & body.is_not_null() & ~machine)
        .then(factor * body + w.fill_null(0.0))
        .otherwise(w)
    )
    reps = pl.col("reps")
    return (
        df.with_columns(
            __counted=pl.col("set_type").fill_null("working").is_in(load._COUNTED_SET_TYPES),
            __rep=(reps > 0).fill_null(False),
            __timed=((reps.is_null() | (reps == 0)) & (pl.col("duration_s") > 0)).fill_null(False),
            __assisted=assisted,
            __load=value,
            __name=pl.coalesce("exercise", "exercise_raw"),
        )
        .with_columns(__load_kg=pl.when(pl.col("__load") > 0).then(pl.col("__load")))
        .with_columns(
            __volume_kg=pl.when(pl.col("__rep")).then(reps * pl.col("__load_kg")).fill_null(0.0),
            __unloaded=pl.col("__rep") & pl.col("__load_kg").is_null(),
        )
    )


def _reference_session_load(sets: pl.DataFrame, sessions: pl.DataFrame, bodyweight: Any) -> pl.DataFrame:
    df = _reference_prepared(sets, bodyweight)
    keys = df.group_by("patient_id", "session_id").agg(
        pl.col("local_date").min().alias("date"), pl.lit(None, dtype=pl.Float64).alias("duration_s")
    )
    ses = sessions.select("patient_id", "session_id", pl.col("local_date").alias("date"), "duration_s")
    keys = (
        pl.concat([ses, keys])
        .filter(pl.col("date").is_not_null())
        .unique(["patient_id", "session_id"], keep="first", maintain_order=True)
    )
    agg = (
        df.filter(pl.col("__counted"))
        .group_by("patient_id", "session_id")
        .agg(
            pl.len().cast(pl.Int64).alias("sets"),
            pl.col("__volume_kg").sum().alias("volume_kg"),
            pl.col("duration_s").filter(pl.col("__timed")).sum().alias("timed_s"),
            pl.col("rpe").mean().alias("rpe_session"),
            pl.col("__name").n_unique().cast(pl.Int64).alias("exercises"),
            pl.col("__unloaded").sum().cast(pl.Int64).alias("unloaded_sets"),
        )
    )
    out = keys.join(agg, on=["patient_id", "session_id"], how="left").with_columns(
        pl.col("sets", "exercises", "unloaded_sets").fill_null(0),
        pl.col("volume_kg", "timed_s").fill_null(0.0),
        (pl.col("duration_s") / 60.0).alias("duration_min"),
    )
    out = out.with_columns((pl.col("rpe_session") * pl.col("duration_min")).alias("srpe_au"))
    return out.select(pl.col(c).cast(t) for c, t in load._SESSION_SCHEMA.items()).sort(
        "patient_id", "date", "session_id"
    )


def _reference_daily_load(per_session: pl.DataFrame, max_gap_days: int = 14) -> pl.DataFrame:
    per_day = per_session.group_by("patient_id", "date").agg(
        pl.len().cast(pl.Int64).alias("sessions"),
        pl.col("sets", "volume_kg", "timed_s", "unloaded_sets").sum(),
        pl.when(pl.col("srpe_au").null_count() == 0).then(pl.col("srpe_au").sum()).alias("srpe_au"),
    )
    calendar = (
        per_day.group_by("patient_id")
        .agg(pl.date_ranges(pl.col("date").min(), pl.col("date").max()).first().alias("date"))
        .explode("date")
    )
    d = calendar.join(per_day, on=["patient_id", "date"], how="left").sort("patient_id", "date")
    d = d.with_columns(training_day=pl.col("sessions").fill_null(0) > 0).with_columns(
        __run=pl.col("training_day").cast(pl.Int64).cum_sum().over("patient_id")
    )
    d = d.with_columns(
        logged=pl.col("training_day")
        | ((~pl.col("training_day")).cast(pl.Int64).sum().over("patient_id", "__run") <= max_gap_days)
    )
    logged, train = pl.col("logged"), pl.col("training_day")
    d = d.with_columns(
        *(
            pl.when(train).then(pl.col(c)).when(logged).then(0).cast(pl.Int64).alias(c)
            for c in ("sessions", "sets", "unloaded_sets")
        ),
        *(
            pl.when(train).then(pl.col(c)).when(logged).then(0.0).cast(pl.Float64).alias(c)
            for c in ("volume_kg", "timed_s", "srpe_au")
        ),
        rest_day=logged & ~train,
        __block=(~train).cast(pl.Int64).cum_sum().over("patient_id"),
    ).with_columns(
        streak_days=pl.when(logged).then(train.cast(pl.Int64).cum_sum().over("patient_id", "__block"))
    )
    return d.select(
        "patient_id", "date", "sessions", "sets", "volume_kg", "timed_s", "srpe_au",
        "training_day", "logged", "rest_day", "streak_days", "unloaded_sets",
    )  # fmt: skip


def _random_log(seed: int, shuffle: bool) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Sets of 4 patients over ~80 days mixing every rule: bodyweight factors (push-up,
    back extension), assisted and machine variants, negative weights, unmapped and null
    names, warm-ups, timed sets, missing RPE, null session ids, gaps longer than 14 days;
    sessions missing from / only in the sessions table."""
    rng = np.random.default_rng(seed)
    names = [
        ("Deadlift", "Deadlift (Barbell)", "barbell"),
        ("Push-Up", "Push Up", "bodyweight"),
        ("Push-Up", "Assisted Push Up", None),
        ("Back Extension", "Back Extension (Machine)", "machine"),
        ("Back Extension", "Back Extension", None),
        ("Pull-Up", "Assisted Pull-Up", "Assisted machine"),
        (None, "Mystery Move", "Cable"),
        (None, None, None),
        ("Plank", "Plank", None),
    ]
    rows, ses = [], []
    for p in range(4):
        days = np.unique(np.r_[rng.choice(30, 12, replace=False), 50 + rng.choice(30, 10, replace=False)])
        for d in days:
            sid = f"p{p}s{d}"
            ses.append({"session_id": sid, "patient_id": f"p{p}", "local_date": day(int(d)),
                        "duration_s": float(rng.choice([1800.0, 3600.0, np.nan]))})  # fmt: skip
            for _ in range(rng.integers(1, 9)):
                ex, raw, eq = names[rng.integers(len(names))]
                timed = ex == "Plank"
                rows.append({
                    "patient_id": f"p{p}", "session_id": None if rng.random() < 0.02 else sid,
                    "local_date": day(int(d)), "exercise": ex, "exercise_raw": raw, "equipment": eq,
                    "set_type": rng.choice(["working", "working", "warmup", "drop", "failure"]),
                    "reps": None if timed else float(rng.integers(1, 15)),
                    "weight_kg": None if timed else float(rng.choice([0.0, 20.0, 60.0, -15.0, 100.0])),
                    "duration_s": 45.0 if timed else None,
                    "rpe": None if rng.random() < 0.5 else float(rng.integers(5, 10)),
                })  # fmt: skip
    sets = pl.DataFrame(rows, schema=SET_SCHEMA)
    sessions = pl.DataFrame(ses, schema=SESSION_SCHEMA).with_columns(pl.col("duration_s").fill_nan(None))
    sessions = sessions.filter(pl.int_range(pl.len()) % 7 != 3)
    sessions = pl.concat([sessions, make_sessions({"patient_id": "p9", "local_date": day(3)})])
    if shuffle:
        sets = sets.sample(fraction=1.0, shuffle=True, seed=seed)
    bodyweight = pl.DataFrame({"patient_id": ["p0", "p1", "p2"], "bodyweight_kg": [70.0, 82.5, 60.0]})
    return sets, sessions, bodyweight


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("bodyweight", ["frame", 75.0, None])
def test_session_and_daily_load_equal_the_reference(shuffle: bool, bodyweight: Any) -> None:
    """Per-distinct-name rules, run-wise aggregation (contiguous and shuffled sets) and
    the integer calendar give the reference frames; ``daily_load(session_load=...)``
    gives the same days as ``daily_load(sets, sessions)``."""
    sets, sessions, bw_frame = _random_log(7, shuffle)
    bw = bw_frame if bodyweight == "frame" else bodyweight
    expected = _reference_session_load(sets, sessions, bw)
    got = load.session_load(sets, sessions, bodyweight_kg=bw)
    assert_frame_equal(got, expected, check_exact=False, rel_tol=1e-12)
    days = _reference_daily_load(expected)
    assert_frame_equal(load.daily_load(sets, sessions, bodyweight_kg=bw), days, check_exact=False)
    assert_frame_equal(load.daily_load(None, None, session_load=got), days, check_exact=False)
    # Sorted session loads take the run-wise path, shuffled ones the group-by: same days.
    shuffled = got.sample(fraction=1.0, shuffle=True, seed=5)
    assert_frame_equal(load.daily_load(None, None, session_load=shuffled), days, check_exact=False)
    assert_frame_equal(
        load.daily_load(sets, sessions, bodyweight_kg=bw, max_gap_days=3),
        _reference_daily_load(expected, 3),
        check_exact=False,
    )


@pytest.mark.parametrize("shuffle", [False, True])
def test_set_level_functions_equal_the_reference(shuffle: bool) -> None:
    """weekly_top_load, exercise_frequency and e1rm from the per-distinct rules equal the
    same aggregations of the reference sets."""
    sets, _, bw = _random_log(11, shuffle)
    ref = _reference_prepared(sets, bw)
    strength = ref.filter(
        (
            pl.col("set_type").fill_null("working").is_in(load._STRENGTH_SET_TYPES)
            & (pl.col("reps") >= 1)
            & (pl.col("weight_kg") > 0)
            & ~pl.col("__assisted")
        ).fill_null(False)
    )
    top = (
        strength.with_columns(week_start=pl.col("local_date").dt.truncate("1w"))
        .group_by("patient_id", pl.col("__name").alias("exercise"), "week_start")
        .agg(
            pl.col("weight_kg").max().alias("top_kg"),
            pl.when(pl.col("reps") <= 10)
            .then(pl.col("weight_kg") * (1 + pl.col("reps") / 30))
            .max()
            .alias("top_e1rm_kg"),
        )
        .sort("patient_id", "exercise", "week_start")
    )
    got = load.weekly_top_load(sets)
    assert_frame_equal(got.select(top.columns), top, check_exact=False)
    freq = (
        ref.filter(pl.col("__counted"))
        .with_columns(week_start=pl.col("local_date").dt.truncate("1w"))
        .group_by("patient_id", pl.col("__name").alias("exercise"), "week_start")
        .agg(
            pl.col("session_id").n_unique().cast(pl.Int64).alias("sessions"),
            pl.len().cast(pl.Int64).alias("sets"),
            pl.col("__volume_kg").sum().alias("volume_kg"),
            pl.col("__unloaded").sum().cast(pl.Int64).alias("unloaded_sets"),
        )
        .sort("patient_id", "exercise", "week_start")
    )
    assert_frame_equal(load.exercise_frequency(sets, bodyweight_kg=bw), freq, check_exact=False)
    e1 = load.e1rm(sets)
    expected_rows = strength.filter(pl.col("reps") <= 10).select(SET_SCHEMA.keys())
    assert_frame_equal(e1.select(SET_SCHEMA.keys()), expected_rows)


def test_weekly_load_and_acwr_same_for_shuffled_or_gappy_daily() -> None:
    """A daily_load calendar takes the fast path (no re-sort, no calendar fill); shuffled
    rows or a calendar with days removed take the general one; both agree."""
    sets, sessions, bw = _random_log(3, False)
    daily = load.daily_load(sets, sessions, bodyweight_kg=bw)
    assert load._is_calendar(daily.select("patient_id", "date"))
    shuffled = daily.sample(fraction=1.0, shuffle=True, seed=1)
    assert not load._is_calendar(shuffled.select("patient_id", "date"))
    assert_frame_equal(load.weekly_load(shuffled), load.weekly_load(daily))
    for variant in ("ewma", "coupled", "uncoupled"):
        assert_frame_equal(load.acwr(shuffled, variant=variant), load.acwr(daily, variant=variant))
    edge = (pl.col("date") == pl.col("date").min().over("patient_id")) | (
        pl.col("date") == pl.col("date").max().over("patient_id")
    )
    holes = daily.filter((pl.int_range(pl.len()) % 5 != 2) | edge)
    assert not load._is_calendar(holes.select("patient_id", "date"))
    filled = load.acwr(holes)
    assert filled.height == daily.height
    assert_frame_equal(filled.select("patient_id", "date"), daily.select("patient_id", "date"))


@pytest.mark.parametrize("shuffle", [False, True])
def test_benchmark_baseline_computes_the_same_daily_features(shuffle: bool) -> None:
    """The cohort benchmark's baseline (issue 8: "a hand-written single-pass polars
    baseline that computes the same daily features") gives daily_load's frame on the log
    that mixes every rule."""
    from benchmarks._baseline import daily_features_baseline

    sets, sessions, bw = _random_log(13, shuffle)
    got = daily_features_baseline(sets, sessions, bw, load_catalogue())
    assert_frame_equal(got, load.daily_load(sets, sessions, bodyweight_kg=bw), check_exact=False)
    assert_frame_equal(
        daily_features_baseline(sets, sessions, bw, load_catalogue(), max_gap_days=3),
        load.daily_load(sets, sessions, bodyweight_kg=bw, max_gap_days=3),
        check_exact=False,
    )
