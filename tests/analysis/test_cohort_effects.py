"""The planted effects of the synthetic cohort are found, and nothing is found where
nothing was planted (toolkit.datasets documents every planted effect)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from toolkit.analysis.summary import analyse_patient

TRAINING_FLAGS = {"load_spike", "no_rest", "too_fast_progression"}


@pytest.fixture(scope="module")
def results(cohort_store):
    cohort, store = cohort_store
    return cohort, {pid: analyse_patient(store, pid) for pid in cohort.patients["patient_id"]}


def _group(cohort, group: str) -> list[str]:
    return cohort.patients.filter(pl.col("group") == group)["patient_id"].to_list()


def test_responders_improve_past_the_mcid_with_a_negative_trend(results) -> None:
    cohort, res = results
    for pid in _group(cohort, "responder") + _group(cohort, "spike") + _group(cohort, "no_rest"):
        pain = res[pid].to_dict()["pain"]
        assert pain["mcid_reached"] is True, pid
        assert pain["change"] <= -2.0, pid
        assert pain["trend_ci"][1] < 0, pid  # the whole 95 % CI of the slope is below zero


def test_nonresponders_and_controls_do_not_reach_the_mcid(results) -> None:
    cohort, res = results
    for pid in _group(cohort, "nonresponder") + _group(cohort, "control"):
        assert res[pid].to_dict()["pain"]["mcid_reached"] is False, pid


def test_planted_load_spikes_are_flagged_on_their_dates(results) -> None:
    cohort, res = results
    spikes = cohort.planted_events.filter(pl.col("kind") == "load_spike")
    assert spikes.height >= 4
    for ev in spikes.iter_rows(named=True):
        flags = res[ev["patient_id"]].flags.filter(pl.col("kind") == "load_spike")
        assert ev["start_date"] in flags["date"].to_list(), ev


def test_planted_flares_after_spikes_are_flagged(results) -> None:
    cohort, res = results
    for ev in cohort.planted_events.filter(pl.col("kind") == "pain_flare").iter_rows(named=True):
        dates = res[ev["patient_id"]].flags.filter(pl.col("kind") == "pain_flare")["date"].to_list()
        window = {ev["start_date"] + dt.timedelta(days=k) for k in range(-1, 2)}
        assert window & set(dates), ev


def test_the_no_rest_block_is_flagged_on_its_sixth_day(results) -> None:
    cohort, res = results
    block = cohort.planted_events.filter(pl.col("kind") == "no_rest_block").row(0, named=True)
    flags = res[block["patient_id"]].flags.filter(pl.col("kind") == "no_rest")
    assert flags["date"].to_list() == [block["start_date"] + dt.timedelta(days=5)]
    assert flags["value"].to_list() == [8.0]


def test_too_fast_progression_is_flagged_inside_the_planted_range(results) -> None:
    cohort, res = results
    ev = cohort.planted_events.filter(pl.col("kind") == "too_fast_progression").row(0, named=True)
    flags = res[ev["patient_id"]].flags.filter(pl.col("kind") == "too_fast_progression")
    assert flags.height == 1
    assert ev["start_date"] <= flags["date"][0] <= ev["end_date"]
    assert flags["exercise"][0] == "Deadlift"


def test_controls_get_no_training_flags(results) -> None:
    cohort, res = results
    for pid in _group(cohort, "control") + _group(cohort, "responder") + _group(cohort, "nonresponder"):
        kinds = set(res[pid].flags["kind"].to_list())
        assert not (kinds & TRAINING_FLAGS), (pid, kinds)


def test_no_training_flags_outside_the_planted_events(results) -> None:
    cohort, res = results
    planted = cohort.planted_events
    for pid, analysis in res.items():
        for row in analysis.flags.filter(pl.col("kind").is_in(["no_rest", "too_fast_progression"])).iter_rows(
            named=True
        ):
            mine = planted.filter((pl.col("patient_id") == pid) & (pl.col("kind") != "pain_flare"))
            assert any(e["start_date"] <= row["date"] <= e["end_date"] for e in mine.iter_rows(named=True)), (
                pid,
                row,
            )


def test_dose_response_regular_training_means_faster_decline(results) -> None:
    """Across responders, more planned sessions/week → steeper pain decline over the
    first 8 programme weeks (Spearman rank correlation negative)."""
    cohort, res = results
    from scipy.stats import spearmanr

    from toolkit.analysis.pain import pain_slope

    rows = []
    for p in cohort.patients.filter(pl.col("group") == "responder").iter_rows(named=True):
        daily = res[p["patient_id"]].daily_pain
        early = daily.filter(pl.col("date") < p["programme_start"] + dt.timedelta(weeks=8))
        rows.append((p["sessions_per_week"], pain_slope(early)["slope_per_week"][0]))
    rho = spearmanr([r[0] for r in rows], [r[1] for r in rows]).statistic
    assert rho < -0.5
