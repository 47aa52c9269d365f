"""One contract over every public analysis function (scikit-learn's common checks, in
spirit): the input is not mutated, the output has the documented columns, pandas input
is accepted, and empty input gives empty output (or a typed error) — never a crash."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
import pytest

from toolkit.analysis import flags as fl
from toolkit.analysis import load as ld
from toolkit.analysis import pain as pn
from toolkit.exceptions import ToolkitError

PID = "spike_01"

# function name → (call, documented leading output columns)
CASES: dict[str, tuple[Callable[[dict], pl.DataFrame], list[str]]] = {
    "load.session_load": (
        lambda t: ld.session_load(t["sets"], t["sessions"], bodyweight_kg=80.0),
        [
            "patient_id",
            "session_id",
            "date",
            "sets",
            "volume_kg",
            "timed_s",
            "duration_min",
            "rpe_session",
            "srpe_au",
            "exercises",
        ],
    ),
    "load.daily_load": (
        lambda t: ld.daily_load(t["sets"], t["sessions"]),
        [
            "patient_id",
            "date",
            "sessions",
            "sets",
            "volume_kg",
            "timed_s",
            "srpe_au",
            "training_day",
            "logged",
            "rest_day",
            "streak_days",
        ],
    ),
    "load.weekly_load": (
        lambda t: ld.weekly_load(t["daily"]),
        [
            "patient_id",
            "week_start",
            "sessions",
            "training_days",
            "rest_days",
            "logged_days",
            "volume_kg",
            "srpe_au",
            "change_pct",
            "monotony",
            "strain",
        ],
    ),
    "load.exercise_frequency": (
        lambda t: ld.exercise_frequency(t["sets"]),
        ["patient_id", "exercise", "week_start", "sessions", "sets", "volume_kg"],
    ),
    "load.acwr[ewma]": (
        lambda t: ld.acwr(t["daily"]),
        ["patient_id", "date", "acute", "chronic", "acwr", "variant", "withheld"],
    ),
    "load.acwr[coupled]": (
        lambda t: ld.acwr(t["daily"], variant="coupled"),
        ["patient_id", "date", "acute", "chronic", "acwr", "variant", "withheld"],
    ),
    "load.acwr[uncoupled]": (
        lambda t: ld.acwr(t["daily"], variant="uncoupled"),
        ["patient_id", "date", "acute", "chronic", "acwr", "variant", "withheld"],
    ),
    "load.weekly_top_load": (
        lambda t: ld.weekly_top_load(t["sets"]),
        ["patient_id", "exercise", "week_start", "top_kg", "top_e1rm_kg", "change_pct"],
    ),
    "load.progression": (
        lambda t: ld.progression(t["sets"]),
        [
            "patient_id",
            "exercise",
            "weeks",
            "first_week",
            "last_week",
            "kg_per_week",
            "kg_per_week_ci_low",
            "kg_per_week_ci_high",
            "e1rm_kg_per_week",
            "pct_per_week",
        ],
    ),
    "load.adherence": (
        lambda t: ld.adherence(t["weekly"], t["patients"]),
        ["patient_id", "planned_sessions_per_week", "sessions_per_week", "adherence_pct"],
    ),
    "pain.daily_pain": (
        lambda t: pn.daily_pain(t["pain_entries"]),
        ["patient_id", "date", "pain_mean", "pain_max", "pain_min", "n_entries"],
    ),
    "pain.pain_trend": (lambda t: pn.pain_trend(t["daily_pain"]), ["patient_id", "date", "pain_mean"]),
    "pain.pain_slope": (
        lambda t: pn.pain_slope(t["daily_pain"]),
        ["patient_id", "slope_per_week", "ci_low", "ci_high", "p_value", "n_days", "method"],
    ),
    "pain.change_points": (
        lambda t: pn.change_points(t["daily_pain"]),
        ["patient_id", "date", "mean_before", "mean_after"],
    ),
    "pain.pain_outcome": (
        lambda t: pn.pain_outcome(t["daily_pain"], patients=t["patients"]),
        [
            "patient_id",
            "anchor_date",
            "baseline_start",
            "baseline_end",
            "baseline",
            "current_start",
            "current_end",
            "current",
            "change",
            "percent_change",
            "mcid_reached",
            "rci",
            "reliable_improvement",
        ],
    ),
    "pain.flares": (
        lambda t: pn.flares(t["daily_pain"]),
        ["patient_id", "date", "pain", "trailing_median", "excess", "days_to_settle", "settled"],
    ),
    "pain.prom_outcomes": (
        lambda t: pn.prom_outcomes(t["outcome_measures"]),
        [
            "patient_id",
            "instrument",
            "baseline_date",
            "baseline",
            "latest_date",
            "latest",
            "change",
            "improvement",
            "mcid",
            "mcid_reached",
            "n",
        ],
    ),
    "flags.load_spikes": (lambda t: fl.load_spikes(t["session_load"], t["acwr"]), list(fl.FLAG_COLUMNS)),
    "flags.too_fast_progression": (lambda t: fl.too_fast_progression(t["weekly_top"]), list(fl.FLAG_COLUMNS)),
    "flags.no_rest": (lambda t: fl.no_rest(t["daily"]), list(fl.FLAG_COLUMNS)),
    "flags.pain_flares": (lambda t: fl.pain_flares(t["flares"]), list(fl.FLAG_COLUMNS)),
    "flags.safe_doses": (
        lambda t: fl.safe_doses(t["sets"], t["flares"]),
        [
            "patient_id",
            "exercise",
            "date",
            "top_kg",
            "volume_kg",
            "reps",
            "sessions_considered",
            "sessions_followed_by_flare",
        ],
    ),
}


@pytest.fixture(scope="module")
def tables(cohort_store) -> dict[str, pl.DataFrame]:
    _, store = cohort_store
    t = {
        name: store.table(name, patient_id=PID)
        for name in ("sets", "sessions", "pain_entries", "outcome_measures")
    }
    t["patients"] = store.table("patients").filter(pl.col("patient_id") == PID)
    t["daily"] = ld.daily_load(t["sets"], t["sessions"])
    t["weekly"] = ld.weekly_load(t["daily"])
    t["session_load"] = ld.session_load(t["sets"], t["sessions"])
    t["acwr"] = ld.acwr(t["daily"])
    t["weekly_top"] = ld.weekly_top_load(t["sets"])
    t["daily_pain"] = pn.daily_pain(t["pain_entries"])
    t["flares"] = pn.flares(t["daily_pain"])
    return t


@pytest.mark.parametrize("name", list(CASES))
def test_documented_columns_and_input_untouched(name: str, tables: dict[str, pl.DataFrame]) -> None:
    call, columns = CASES[name]
    before = {k: v.clone() for k, v in tables.items()}
    out = call(tables)
    assert isinstance(out, pl.DataFrame)
    assert out.columns[: len(columns)] == columns, name
    for k, v in tables.items():
        assert v.equals(before[k]), f"{name} mutated {k}"


@pytest.mark.parametrize("name", list(CASES))
def test_pandas_input_gives_the_same_result(name: str, tables: dict[str, pl.DataFrame]) -> None:
    call, _ = CASES[name]
    as_pandas = {k: v.to_pandas() for k, v in tables.items()}
    snapshot = {k: v.copy() for k, v in as_pandas.items()}
    out = call(as_pandas)
    expected = call(tables)
    assert out.columns == expected.columns and out.height == expected.height, name
    for k, v in as_pandas.items():
        assert v.equals(snapshot[k]), f"{name} mutated pandas {k}"


@pytest.mark.parametrize("name", list(CASES))
def test_empty_input_gives_empty_output_or_a_typed_error(name: str, tables: dict[str, pl.DataFrame]) -> None:
    call, columns = CASES[name]
    empty = {k: v.clear() for k, v in tables.items()}
    try:
        out = call(empty)
    except ToolkitError:
        return
    assert out.is_empty(), name
    assert out.columns[: len(columns)] == columns, name
