"""Cohort level: the per-patient table, the weekly panel and the mixed model.

What the planted dose–response of the synthetic cohort lets a weekly mixed model see
------------------------------------------------------------------------------------
Responders' pain falls 0.15 NRS per completed session until a floor
(``toolkit.datasets._cohort``). A session on day j (0–6) of a week lowers that week's
mean pain by 0.15 × (6 − j)/7 and the next week's by the rest, so a responder's
weekly change falls by ≈ 0.15 × 3/7 ≈ 0.064 NRS per extra session in the same week
(the generator's ``within_slope``). In the demo cohort each patient's weekly dose is
fixed (only adherence noise, SD ≈ 0.5–0.8 sessions/week), 9 of 23 patients respond,
and the weekly change has noise SD ≈ 0.7–0.8 NRS: the expected pooled within-patient
slope is ≈ 9/23 × −0.064 ≈ −0.03 against a standard error of ≈ 0.15 over the first 8
programme weeks, so no 95 % CI on it can exclude 0. The demo test checks the direction
only and says so. The claim "the model finds the planted dose–response" is tested on
``synthetic_cohort(dose_variation=True)``: the same generator, files and readers, with
deload, holiday and catch-up weeks that make the weekly dose vary within patients
(:func:`dose_cohort`), and on a within-patient permutation of its sessions (the null).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings

import numpy as np
import polars as pl
import pytest

from toolkit.analysis import analyse_patient, analyse_tables
from toolkit.analysis.cohort import (
    COHORT_TABLE_SCHEMA,
    FIXED_EFFECTS_SCHEMA,
    PANEL_SCHEMA,
    PATIENT_SLOPES_SCHEMA,
    CohortModel,
    cohort_table,
    describe,
    mixed_model,
    weekly_panel,
)
from toolkit.datasets import Cohort, synthetic_cohort
from toolkit.exceptions import OptionError

FLAG_KINDS = ("load_spike", "too_fast_progression", "no_rest", "pain_flare")
PREDICTORS = ["sessions_within", "sessions_between", "load_change_within", "load_change_between"]


# --------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tables(cohort_store) -> dict[str, pl.DataFrame]:
    _, store = cohort_store
    names = ("sets", "sessions", "pain_entries", "outcome_measures", "patients")
    return {name: store.table(name) for name in names}


@pytest.fixture(scope="module")
def table(tables) -> pl.DataFrame:
    return cohort_table(
        tables["sets"],
        tables["sessions"],
        tables["pain_entries"],
        tables["patients"],
        outcome_measures=tables["outcome_measures"],
    )


@pytest.fixture(scope="module")
def demo_panel(tables) -> pl.DataFrame:
    """The demo cohort's first 8 programme weeks (the dose-5 responders reach their floor
    after ~7–8 weeks; later weeks only dilute the dose–response)."""
    return weekly_panel(
        tables["sets"], tables["sessions"], tables["pain_entries"], patients=tables["patients"], weeks=8
    )


@pytest.fixture(scope="module")
def demo_model(demo_panel) -> CohortModel:
    return mixed_model(demo_panel)


@pytest.fixture(scope="module")
def dose_cohort() -> tuple[Cohort, dict[str, pl.DataFrame], pl.DataFrame]:
    """60 responders plus the generator's 2 spike, 1 no-rest (all with the planted
    response) and 1 reverse patient, 126 days (17 programme weeks, past most floors),
    weekly dose varying within patients. Read by the real readers and normaliser
    (``Cohort.tables``; a store would add ~0.3 s per patient), every week in the panel."""
    cohort = synthetic_cohort(
        seed=7, n_responders=60, n_nonresponders=0, n_controls=0, days=126, dose_variation=True
    )
    tables = cohort.tables()
    panel = weekly_panel(
        tables["sets"], tables["sessions"], tables["pain_entries"], patients=tables["patients"]
    )
    return cohort, tables, panel


def _planted_weekly_change(
    cohort: Cohort, tables: dict[str, pl.DataFrame], panel: pl.DataFrame
) -> pl.DataFrame:
    """The model's rows with ``planted_change``: the change of the week's mean over the
    rated days of the planted (noise-free) mean pain.

    Planted mean of day t: ``max(pain_floor, pain_baseline − 0.15·S_t)`` with S_t the
    sessions before day t (responder-like groups; ``pain_baseline`` without a floor),
    plus each planted flare's magnitude on its days — the generator's formula applied to
    the sessions and diary days the readers return.
    """
    flares = cohort.planted_events.filter(pl.col("kind") == "pain_flare")
    parts = []
    for pid, baseline, floor in cohort.patients.select(
        "patient_id", "pain_baseline", "pain_floor"
    ).iter_rows():
        days = np.unique(tables["pain_entries"].filter(pl.col("patient_id") == pid)["local_date"].to_numpy())
        done = np.sort(tables["sessions"].filter(pl.col("patient_id") == pid)["local_date"].to_numpy())
        before = np.searchsorted(done, days, side="left")
        mean = np.full(days.size, baseline) if floor is None else np.maximum(floor, baseline - 0.15 * before)
        for first, last, size in (
            flares.filter(pl.col("patient_id") == pid)
            .select("start_date", "end_date", "magnitude")
            .iter_rows()
        ):
            mean = mean + size * ((days >= np.datetime64(first)) & (days <= np.datetime64(last)))
        parts.append(pl.DataFrame({"patient_id": pid, "local_date": days, "planted": mean}))
    weekly = (
        pl.concat(parts)
        .group_by("patient_id", week_start=pl.col("local_date").dt.truncate("1w"))
        .agg(pl.col("planted").mean())
    )
    return (
        panel.join(weekly, on=["patient_id", "week_start"], how="left")
        .sort("patient_id", "week_start")
        .with_columns(planted_change=pl.col("planted") - pl.col("planted").shift(1).over("patient_id"))
        .drop_nulls(["pain_change", *PREDICTORS])
    )


def _permute_sessions(panel: pl.DataFrame, seed: int) -> pl.DataFrame:
    """Shuffle each patient's known weekly sessions (and their within deviations) across
    that patient's weeks: any within-patient dose–response is destroyed, patient means
    (the between part) are unchanged."""
    rng = np.random.default_rng(seed)
    known = panel.filter(pl.col("sessions").is_not_null()).sort("patient_id", "week_start")
    order = np.concatenate(
        [
            start + rng.permutation(n)
            for start, n in zip(
                np.cumsum(
                    [0, *known.group_by("patient_id", maintain_order=True).len()["len"].to_list()[:-1]]
                ),
                known.group_by("patient_id", maintain_order=True).len()["len"].to_list(),
                strict=True,
            )
        ]
    )
    shuffled = known.with_columns(
        pl.Series("sessions", known["sessions"].to_numpy()[order]),
        pl.Series("sessions_within", known["sessions_within"].to_numpy()[order]),
    )
    return pl.concat([shuffled, panel.filter(pl.col("sessions").is_null())]).sort("patient_id", "week_start")


def _row(frame: pl.DataFrame, **where: object) -> dict:
    out = frame
    for col, value in where.items():
        out = out.filter(pl.col(col) == value)
    assert out.height == 1, where
    return out.row(0, named=True)


# --------------------------------------------------------------------------------------
# cohort_table
# --------------------------------------------------------------------------------------


def test_cohort_table_has_one_row_per_patient_with_the_documented_columns(table, cohort_store) -> None:
    cohort, _ = cohort_store
    assert table.schema == pl.Schema(COHORT_TABLE_SCHEMA)
    assert table["patient_id"].to_list() == sorted(cohort.patients["patient_id"].to_list())
    assert table["patient_id"].is_unique().all()
    total = pl.sum_horizontal(*(f"flags_{k}" for k in FLAG_KINDS))
    assert table.select((total == pl.col("flags_total")).all()).item()
    assert set(table["status"]) == {"ok"}


@pytest.mark.parametrize("pid", ["spike_01", "control_01"])
def test_cohort_table_matches_analyse_patient(table, cohort_store, pid) -> None:
    _, store = cohort_store
    a = analyse_patient(store, pid)
    row = _row(table, patient_id=pid)
    outcome = a.pain_outcome.row(0, named=True)
    adherence = a.adherence.row(0, named=True)
    assert (row["first_date"], row["last_date"]) == (a.start, a.end)
    assert row["days_logged_pain"] == a.daily_pain.height
    assert row["sessions"] == a.session_load.height
    for kind in FLAG_KINDS:
        assert row[f"flags_{kind}"] == a.flags.filter(pl.col("kind") == kind).height, kind
    assert row["flags_total"] == a.flags.height
    assert row["sessions_per_week"] == pytest.approx(adherence["sessions_per_week"])
    assert row["adherence_pct"] == pytest.approx(adherence["adherence_pct"])
    for col in ("baseline", "current", "change", "percent_change"):
        assert row[col] == pytest.approx(outcome[col]), col
    assert row["mcid_reached"] is outcome["mcid_reached"]
    assert row["reliable_improvement"] is outcome["reliable_improvement"]
    if pid == "spike_01":  # two planted spikes, each followed by a flare
        assert row["flags_load_spike"] == 2 and row["flags_pain_flare"] >= 2 and row["mcid_reached"]


def test_cohort_table_covers_patients_without_pain_or_without_any_data(tables) -> None:
    """A patient who trains but keeps no diary (control_01's workouts under a new id) and a
    registered patient with no data at all."""
    ids = {"nopain_01": "control_01"}
    copy_sets = (
        tables["sets"]
        .filter(pl.col("patient_id") == "control_01")
        .with_columns(patient_id=pl.lit("nopain_01"), session_id="np-" + pl.col("session_id"))
    )
    copy_sessions = (
        tables["sessions"]
        .filter(pl.col("patient_id") == "control_01")
        .with_columns(patient_id=pl.lit("nopain_01"), session_id="np-" + pl.col("session_id"))
    )
    base = tables["patients"].filter(pl.col("patient_id") == ids["nopain_01"])
    patients = pl.concat(
        [
            tables["patients"],
            base.with_columns(patient_id=pl.lit("nopain_01"), name=pl.lit("No Diary")),
            base.with_columns(patient_id=pl.lit("empty_01"), name=pl.lit(None, dtype=pl.String)),
        ]
    )
    sets = pl.concat([tables["sets"], copy_sets])
    sessions = pl.concat([tables["sessions"], copy_sessions])
    out = cohort_table(sets, sessions, tables["pain_entries"], patients)
    assert out.height == 25

    a = analyse_tables(
        "nopain_01",
        sets=sets,
        sessions=sessions,
        pain_entries=tables["pain_entries"],
        outcome_measures=tables["outcome_measures"],
        patients=patients,
    )
    row = _row(out, patient_id="nopain_01")
    assert row["name"] == "No Diary"
    assert row["days_logged_pain"] == a.daily_pain.height == 0
    assert row["sessions"] == a.session_load.height > 0
    assert (row["first_date"], row["last_date"]) == (a.start, a.end)
    assert row["last_log"] == a.end
    for kind in FLAG_KINDS:
        assert row[f"flags_{kind}"] == a.flags.filter(pl.col("kind") == kind).height
    assert row["adherence_pct"] == pytest.approx(a.adherence["adherence_pct"][0])
    assert row["baseline"] is None and row["mcid_reached"] is None
    assert row["status"] == "no pain entries"
    # the same workouts give the same numbers as the original patient
    original = _row(out, patient_id="control_01")
    for col in ("sessions", "sessions_per_week", "adherence_pct", "flags_load_spike", "flags_no_rest"):
        assert row[col] == original[col], col

    empty = _row(out, patient_id="empty_01")
    assert empty["status"] == "no data"
    assert (empty["sessions"], empty["days_logged_pain"], empty["flags_total"]) == (0, 0, 0)
    assert empty["first_date"] is None and empty["last_log"] is None and empty["sessions_per_week"] is None


def test_cohort_table_status_names_what_is_missing(tables) -> None:
    """Training without a prescribed dose, and too few diary days for baseline vs current."""
    pid = "control_02"
    patients = tables["patients"].with_columns(
        planned_sessions_per_week=pl.when(pl.col("patient_id") == pid)
        .then(None)
        .otherwise("planned_sessions_per_week")
    )
    pain = tables["pain_entries"].filter(
        (pl.col("patient_id") != pid) | (pl.col("local_date") < dt.date(2025, 1, 20))
    )
    out = cohort_table(tables["sets"], tables["sessions"], pain, patients)
    row = _row(out, patient_id=pid)
    assert row["adherence_pct"] is None and row["sessions_per_week"] is not None
    assert row["status"] == (
        "no planned sessions per week: adherence unknown; fewer than 14 logged days: baseline and current overlap"
    )


def test_cohort_table_empty_inputs(tables) -> None:
    empty = {k: v.clear() for k, v in tables.items()}
    out = cohort_table(empty["sets"], empty["sessions"], empty["pain_entries"], empty["patients"])
    assert out.is_empty() and out.schema == pl.Schema(COHORT_TABLE_SCHEMA)
    # registered patients but no data yet: one "no data" row each
    out = cohort_table(empty["sets"], None, empty["pain_entries"], tables["patients"])
    assert out.height == tables["patients"].height
    assert set(out["status"]) == {"no data"}
    assert out["sessions"].sum() == 0


def test_cohort_table_accepts_pandas_and_does_not_mutate(tables, table) -> None:
    pd_tables = {k: v.to_pandas() for k, v in tables.items()}
    before = {k: v.copy() for k, v in pd_tables.items()}
    out = cohort_table(
        pd_tables["sets"],
        pd_tables["sessions"],
        pd_tables["pain_entries"],
        pd_tables["patients"],
        outcome_measures=pd_tables["outcome_measures"],
    )
    for k, v in pd_tables.items():
        assert v.equals(before[k]), k
    assert out.equals(table)


def test_cohort_table_takes_precomputed_families(tables, table) -> None:
    """Passing the session loads, days, daily pain and flags of the same tables (as
    analyse_cohort and the benchmark do) gives the same table as computing them; rows of
    patients outside ``patients`` are ignored."""
    from toolkit.analysis import flags as fl
    from toolkit.analysis import load as ld
    from toolkit.analysis import pain as pn

    sets, sessions, pain, patients = (tables[k] for k in ("sets", "sessions", "pain_entries", "patients"))
    bodyweight = patients.select("patient_id", "bodyweight_kg").filter(pl.col("bodyweight_kg").is_not_null())
    session = ld.session_load(sets, sessions, bodyweight_kg=bodyweight)
    daily = ld.daily_load(None, None, session_load=session)
    daily_pain = pn.daily_pain(pain)
    flags = fl.standard_flags(session, daily, ld.weekly_top_load(sets), pn.flares(daily_pain))
    assert flags.height > 0 and daily.height > 0
    measures = tables["outcome_measures"]
    every = dict(session_load=session, daily_load=daily, daily_pain=daily_pain, flags=flags)
    assert cohort_table(sets, sessions, pain, patients, outcome_measures=measures, **every).equals(table)
    for name, frame in every.items():  # each alone, the others computed
        out = cohort_table(sets, sessions, pain, patients, outcome_measures=measures, **{name: frame})
        assert out.equals(table), name
    # precomputed frames of the whole cohort, table of two patients
    two = patients.sort("patient_id").head(2)
    alone = cohort_table(sets, sessions, pain, two, outcome_measures=measures)
    assert alone.height == 2
    assert cohort_table(sets, sessions, pain, two, outcome_measures=measures, **every).equals(alone)
    assert alone.equals(table.filter(pl.col("patient_id").is_in(two["patient_id"].implode())))
    with pytest.raises(OptionError, match="flags lacks column"):
        cohort_table(sets, sessions, pain, patients, flags=flags.drop("kind"))
    with pytest.raises(OptionError, match="daily_pain lacks column"):
        cohort_table(sets, sessions, pain, patients, daily_pain=daily_pain.drop("date"))


def test_cohort_table_rejects_bad_input(tables) -> None:
    dup = pl.concat([tables["patients"], tables["patients"].head(1)])
    with pytest.raises(OptionError, match="one row per patient_id"):
        cohort_table(tables["sets"], tables["sessions"], tables["pain_entries"], dup)
    with pytest.raises(OptionError, match="lacks column"):
        cohort_table(
            tables["sets"], tables["sessions"], tables["pain_entries"], tables["patients"].drop("patient_id")
        )
    with pytest.raises(OptionError, match="polars or pandas"):
        cohort_table([], tables["sessions"], tables["pain_entries"], tables["patients"])


# --------------------------------------------------------------------------------------
# weekly_panel
# --------------------------------------------------------------------------------------


def _tiny() -> dict[str, pl.DataFrame]:
    """Two patients; programme start Monday 2024-01-08; one 8 × 62.5 kg set per session (500 kg).

    p1 trains Mon/Wed/Fri in week 1, Mon/Thu in week 2 and Mon–Thu plus Sunday in week 3
    (3, 2, 5 sessions; log 2024-01-08 … 2024-01-28, so all three weeks are complete).
    p2 trains Monday 2024-01-08 and Sunday 2024-01-14 (one complete week, 2 sessions).
    """
    d = dt.date
    p1 = [d(2024, 1, x) for x in (8, 10, 12, 15, 18, 22, 23, 24, 25, 28)]
    p2 = [d(2024, 1, 8), d(2024, 1, 14)]
    rows = [("p1", day) for day in p1] + [("p2", day) for day in p2]
    sessions = pl.DataFrame(
        {
            "session_id": [f"{p}-{day}" for p, day in rows],
            "patient_id": [p for p, _ in rows],
            "local_date": [day for _, day in rows],
            "duration_s": [3000.0] * len(rows),
        }
    )
    sets = sessions.select(
        "patient_id",
        "session_id",
        "local_date",
        exercise_raw=pl.lit("Deadlift (Barbell)"),
        exercise=pl.lit("Deadlift (Barbell)"),
        set_type=pl.lit("working"),
        reps=pl.lit(8.0),
        weight_kg=pl.lit(62.5),
    )
    # p1 pain: baseline week 5 days (mean 6), week 1 four days (mean 5), week 2 three days
    # (below min_days_per_week = 4), week 3 four days (mean 3).
    pain = [(d(2024, 1, x), v) for x, v in [(1, 6), (2, 6), (3, 5), (4, 7), (5, 6)]]
    pain += [(d(2024, 1, x), v) for x, v in [(8, 5), (9, 5), (10, 4), (11, 6)]]
    pain += [(d(2024, 1, x), v) for x, v in [(15, 4), (16, 4), (17, 4)]]
    pain += [(d(2024, 1, x), 3) for x in (22, 23, 24, 25)]
    pain_entries = pl.DataFrame(
        {
            "patient_id": ["p1"] * len(pain),
            "local_date": [x for x, _ in pain],
            "pain_nrs": [float(v) for _, v in pain],
        }
    )
    patients = pl.DataFrame({"patient_id": ["p1", "p2"], "programme_start_date": [d(2024, 1, 8)] * 2})
    return {"sets": sets, "sessions": sessions, "pain_entries": pain_entries, "patients": patients}


def test_weekly_panel_by_hand() -> None:
    t = _tiny()
    panel = weekly_panel(t["sets"], t["sessions"], t["pain_entries"], patients=t["patients"])
    assert panel.schema == pl.Schema(PANEL_SCHEMA)
    p1 = panel.filter(pl.col("patient_id") == "p1")
    assert p1["week_start"].to_list() == [dt.date(2024, 1, d) for d in (1, 8, 15, 22)]
    assert p1["programme_week"].to_list() == [-1, 0, 1, 2]
    assert p1["rated_days"].to_list() == [5, 4, 3, 4]
    assert p1["pain_mean"].to_list() == [6.0, 5.0, None, 3.0]
    # 5 − 6; week 2 has 3 rated days (< 4) so neither it nor week 3 has a change
    assert p1["pain_change"].to_list() == [None, -1.0, None, None]
    assert p1["sessions"].to_list() == [None, 3, 2, 5]
    assert p1["volume_kg"].to_list() == [None, 1500.0, 1000.0, 2500.0]
    # (1000 − 1500)/1500 × 100 and (2500 − 1000)/1000 × 100; week 1 has no complete week before it
    assert p1["load_change_pct"].to_list() == pytest.approx([None, None, -100 / 3, 150.0])
    # p1 mean sessions 10/3, p2 mean 2, grand mean of patient means 8/3
    assert p1["sessions_within"].to_list() == pytest.approx([None, -1 / 3, -4 / 3, 5 / 3])
    assert p1["sessions_between"].to_list() == pytest.approx([2 / 3] * 4)
    # only p1 has load changes: mean (−100/3 + 150)/2 = 175/3, so between = 0
    assert p1["load_change_within"].to_list() == pytest.approx(
        [None, None, -100 / 3 - 175 / 3, 150 - 175 / 3]
    )
    assert p1["load_change_between"].to_list() == pytest.approx([0.0] * 4)
    p2 = _row(panel, patient_id="p2")
    assert (p2["sessions"], p2["logged_days"], p2["rated_days"], p2["pain_mean"]) == (2, 7, 0, None)
    assert p2["sessions_between"] == pytest.approx(-2 / 3)


def test_weekly_panel_first_weeks_only() -> None:
    """``weeks=2`` keeps programme weeks 0 and 1; week 0's change is still against the
    baseline week; centring is over the kept weeks (p1: 3 and 2 sessions, mean 2.5)."""
    t = _tiny()
    panel = weekly_panel(t["sets"], t["sessions"], t["pain_entries"], patients=t["patients"], weeks=2)
    p1 = panel.filter(pl.col("patient_id") == "p1")
    assert p1["programme_week"].to_list() == [0, 1]
    assert p1["pain_change"].to_list() == [-1.0, None]
    assert p1["sessions_within"].to_list() == pytest.approx([0.5, -0.5])
    # without patients the first training day anchors programme week 0
    same = weekly_panel(t["sets"], t["sessions"], t["pain_entries"], weeks=2)
    assert same.drop("sessions_between").equals(panel.drop("sessions_between"))


def test_weekly_panel_min_days_per_week() -> None:
    t = _tiny()
    panel = weekly_panel(t["sets"], t["sessions"], t["pain_entries"], min_days_per_week=3)
    p1 = panel.filter(pl.col("patient_id") == "p1")
    assert p1["pain_mean"].to_list() == [6.0, 5.0, 4.0, 3.0]
    assert p1["pain_change"].to_list() == [None, -1.0, -1.0, -1.0]


def test_weekly_panel_rejects_bad_options() -> None:
    t = _tiny()
    args = (t["sets"], t["sessions"], t["pain_entries"])
    for kwargs, match in [
        ({"min_days_per_week": 0}, "min_days_per_week must be an int in 1..7, got 0"),
        ({"min_days_per_week": 8}, "min_days_per_week"),
        ({"min_days_per_week": 4.0}, "min_days_per_week"),
        ({"weeks": 0}, "weeks must be an int ≥ 1, got 0"),
        ({"weeks": True}, "weeks"),
        ({"week_start": "funday"}, "week_start must be one of"),
    ]:
        with pytest.raises(OptionError, match=match):
            weekly_panel(*args, **kwargs)
    with pytest.raises(OptionError, match="lacks column"):
        weekly_panel(t["sets"], t["sessions"], t["pain_entries"].drop("local_date"))


def test_weekly_panel_empty_input() -> None:
    t = {k: v.clear() for k, v in _tiny().items()}
    out = weekly_panel(t["sets"], t["sessions"], t["pain_entries"], patients=t["patients"])
    assert out.is_empty() and out.schema == pl.Schema(PANEL_SCHEMA)
    out = weekly_panel(t["sets"], None, t["pain_entries"], weeks=4)
    assert out.is_empty() and out.schema == pl.Schema(PANEL_SCHEMA)


def test_weekly_panel_accepts_pandas_and_does_not_mutate() -> None:
    t = _tiny()
    pd_t = {k: v.to_pandas() for k, v in t.items()}
    before = {k: v.copy() for k, v in pd_t.items()}
    out = weekly_panel(pd_t["sets"], pd_t["sessions"], pd_t["pain_entries"], patients=pd_t["patients"])
    for k, v in pd_t.items():
        assert v.equals(before[k]), k
    assert out.equals(weekly_panel(t["sets"], t["sessions"], t["pain_entries"], patients=t["patients"]))


def test_demo_panel_rows(demo_panel, cohort_store) -> None:
    cohort, _ = cohort_store
    assert demo_panel["patient_id"].n_unique() == cohort.patients.height
    assert demo_panel["programme_week"].min() == 0 and demo_panel["programme_week"].max() == 7
    assert demo_panel.select(pl.struct("patient_id", "week_start").is_unique().all()).item()
    # within deviations average 0 per patient over the weeks with sessions
    means = demo_panel.group_by("patient_id").agg(pl.col("sessions_within").mean())
    assert means["sessions_within"].abs().max() < 1e-9


# --------------------------------------------------------------------------------------
# mixed_model: the planted dose–response
# --------------------------------------------------------------------------------------


def test_demo_model_points_the_planted_way(demo_model) -> None:
    """Direction only: with 23 patients of fixed weekly dose the CI cannot exclude 0 (see
    the module docstring for the arithmetic); pain falls on average over the first 8 weeks."""
    fe = demo_model.fixed_effects
    assert fe.schema == pl.Schema(FIXED_EFFECTS_SCHEMA)
    assert fe["term"].to_list() == ["Intercept", *PREDICTORS]
    assert demo_model.n_patients == 23 and demo_model.converged
    assert demo_model.effect("sessions_within")["estimate"] < 0
    assert demo_model.effect("sessions_between")["estimate"] < 0
    assert demo_model.effect("Intercept")["ci_high"] < 0  # the average weekly change is a fall
    assert demo_model.formula == "pain_change ~ " + " + ".join(PREDICTORS)


@pytest.mark.slow
def test_model_finds_the_planted_dose_response_and_not_a_permuted_one(dose_cohort) -> None:
    """The acceptance test: where the cohort plants a dose–response, the mixed model finds
    it with the right sign and a 95 % CI excluding 0; with each patient's weekly sessions
    shuffled across their weeks (seeded) the CI contains 0.

    Expected value (module docstring of ``toolkit.datasets._cohort``): on the same week's
    sessions alone a responder's weekly change falls by −0.15 × a (a = the mean same-week
    share (6 − j)/7 of their sessions, ≈ 3/7: ``within_slope`` ≈ −0.064 per session). The
    model also holds the week-on-week load change fixed, and at equal load change more
    sessions this week go with more last week, whose carry-over (the other (1 + j)/7 of
    0.15) the coefficient takes up in part: before the floor its expectation lies between
    −0.15 × a and −0.15 (weeks after a patient's floor pull it towards 0). For this cohort
    it is computed exactly as the same fixed-effects regression (OLS; the random-intercept
    variance is estimated at ≈ 0, where REML's fixed effects equal OLS) applied to the
    planted, noise-free weekly change — here ≈ −0.097 against a fitted −0.123 (95 % CI
    −0.166 to −0.080) — and must lie in the CI.
    """
    cohort, tables, panel = dose_cohort
    model = mixed_model(panel)
    within = model.effect("sessions_within")
    assert model.converged and model.n_patients == cohort.patients.height == 64
    assert within["estimate"] < 0 and within["ci_high"] < 0, within

    # REML puts the random-intercept variance at ~0 here, so the fixed effects are pooled OLS
    assert model.variance_components["intercept_var"] < 1e-6 * model.variance_components["residual_var"]
    rows = _planted_weekly_change(cohort, tables, panel)
    assert rows.height == model.n_observations
    design = np.column_stack([np.ones(rows.height), *(rows[c].to_numpy() for c in PREDICTORS)])
    expected = float(np.linalg.lstsq(design, rows["planted_change"].to_numpy(), rcond=None)[0][1])
    same_week = float(cohort.patients["within_slope"].mean())  # the hand calculation, ≈ −0.15 × 3/7
    assert -0.15 * 0.5 < same_week < -0.15 * 0.35
    assert -0.15 < expected < same_week  # between the same-week share and the full effect
    assert within["ci_low"] < expected < within["ci_high"], (expected, within)

    null = mixed_model(_permute_sessions(panel, seed=7)).effect("sessions_within")
    assert null["ci_low"] < 0 < null["ci_high"], null
    assert abs(null["estimate"]) < abs(within["estimate"]) / 3


def test_permuted_demo_sessions_give_a_ci_containing_zero(demo_panel) -> None:
    within = mixed_model(_permute_sessions(demo_panel, seed=11)).effect("sessions_within")
    assert within["ci_low"] < 0 < within["ci_high"], within


# --------------------------------------------------------------------------------------
# mixed_model: shrinkage, fallback, output
# --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def heterogeneous_panel() -> pl.DataFrame:
    """40 patients × 12 weeks with a random intercept (SD 0.3) and a random slope (SD 0.25
    around −0.3 NRS per session) and independent noise (SD 0.5): the random-slope model is
    well identified."""
    rng = np.random.default_rng(42)
    rows = []
    for i in range(40):
        b0, b1 = rng.normal(0.0, 0.3), rng.normal(0.0, 0.25)
        between, load_between = rng.normal(0.0, 1.0), rng.normal(0.0, 10.0)
        x = rng.normal(0.0, 1.2, 12)
        load = rng.normal(0.0, 20.0, 12)
        y = -0.2 + b0 + (-0.3 + b1) * x - 0.1 * between + rng.normal(0.0, 0.5, 12)
        rows += [(f"p{i:02d}", y[k], x[k], between, load[k], load_between) for k in range(12)]
    return pl.DataFrame(rows, schema=["patient_id", "pain_change", *PREDICTORS], orient="row")


def test_pooled_slopes_shrink_towards_the_fixed_effect(heterogeneous_panel) -> None:
    model = mixed_model(heterogeneous_panel)
    assert model.random_slope and model.converged
    assert model.re_formula == "~sessions_within"
    slopes = model.patient_slopes
    assert slopes.schema == pl.Schema(PATIENT_SLOPES_SCHEMA)
    assert slopes.height == 40 and set(slopes["n_weeks"]) == {12}
    fixed = model.effect("sessions_within")["estimate"]
    assert fixed == pytest.approx(-0.3, abs=0.15)
    lo = pl.min_horizontal("own_slope", pl.lit(fixed)) - 1e-9
    hi = pl.max_horizontal("own_slope", pl.lit(fixed)) + 1e-9
    between = slopes.select(pl.col("pooled_slope").is_between(lo, hi).mean()).item()
    assert between >= 0.9, between
    assert slopes["pooled_slope"].std() < slopes["own_slope"].std()
    # the own slope is an OLS slope with a t interval around it
    assert slopes.select((pl.col("own_ci_low") < pl.col("own_slope")).all()).item()
    assert slopes.select((pl.col("own_slope") < pl.col("own_ci_high")).all()).item()
    assert model.variance_components["slope_var"] > 0


def test_singular_random_slope_falls_back_to_a_random_intercept(tables) -> None:
    """Over all weeks the demo's patient-level variances are at 0: the random-slope fit is
    singular, the model says so and reports the random-intercept fit."""
    panel = weekly_panel(
        tables["sets"], tables["sessions"], tables["pain_entries"], patients=tables["patients"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning escapes the fit
        model = mixed_model(panel)
    assert not model.random_slope and model.re_formula == "1"
    assert any("fell back to a random intercept only" in n for n in model.notes)
    fixed = model.effect("sessions_within")["estimate"]
    assert model.patient_slopes["pooled_slope"].to_list() == pytest.approx([fixed] * model.n_patients)
    assert model.variance_components["slope_var"] is None
    no_slope = mixed_model(panel, random_slope=False)
    assert no_slope.fixed_effects.equals(model.fixed_effects)
    assert not any("fell back" in n for n in no_slope.notes)


def test_model_to_dict_is_json_ready(demo_model, heterogeneous_panel) -> None:
    for model in (demo_model, mixed_model(heterogeneous_panel)):
        d = model.to_dict()
        text = json.dumps(d, allow_nan=False)
        assert json.loads(text)["n_patients"] == model.n_patients
        assert {r["term"] for r in d["fixed_effects"]} == {"Intercept", *PREDICTORS}
        assert len(d["patient_slopes"]) == model.n_patients
        assert d["notes"] and d["formula"] == model.formula


def test_describe_says_what_was_found_and_the_caveats(heterogeneous_panel, demo_model) -> None:
    model = mixed_model(heterogeneous_panel)
    est = model.effect("sessions_within")
    lines = describe(model)
    first = lines[0]
    assert first.startswith("Across 40 patients (480 patient-weeks), each extra session in a week")
    assert f"{-est['estimate']:.2f}-point larger weekly fall in pain" in first
    assert f"(95 % CI {-est['ci_high']:.2f} to {-est['ci_low']:.2f})" in first
    assert first.endswith("within patients.")
    text = " ".join(lines)
    assert "AR(1)" in text and "not effects of training" in text
    demo_text = " ".join(describe(demo_model))
    assert "the interval includes 0, so no clear association within patients" in demo_text
    with pytest.raises(OptionError, match="CohortModel"):
        describe("model")  # type: ignore[arg-type]


def test_mixed_model_rejects_bad_input(demo_panel) -> None:
    with pytest.raises(OptionError, match="≥ 3 patients"):
        mixed_model(demo_panel.clear())
    with pytest.raises(OptionError, match="≥ 3 patients"):
        mixed_model(demo_panel.filter(pl.col("patient_id").is_in(["spike_01", "control_01"])))
    with pytest.raises(OptionError, match="lacks column"):
        mixed_model(demo_panel.drop("load_change_between"))
    with pytest.raises(OptionError, match="lacks column"):
        mixed_model(demo_panel, outcome="pain_nrs")
    with pytest.raises(OptionError, match="must not be a predictor"):
        mixed_model(demo_panel, outcome="sessions_within")
    with pytest.raises(OptionError, match="random_slope must be True or False"):
        mixed_model(demo_panel, random_slope=1)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="alpha must be a number in"):
        mixed_model(demo_panel, alpha=1.5)
    with pytest.raises(OptionError, match="does not vary"):
        mixed_model(demo_panel.with_columns(load_change_between=pl.lit(0.0)))
    with pytest.raises(OptionError, match="polars or pandas"):
        mixed_model({"a": 1})  # type: ignore[arg-type]


def test_mixed_model_accepts_pandas_and_does_not_mutate(demo_panel, demo_model) -> None:
    frame = demo_panel.to_pandas()
    before = frame.copy()
    model = mixed_model(frame)
    assert frame.equals(before)
    assert model.fixed_effects.equals(demo_model.fixed_effects)
    assert model.patient_slopes.equals(demo_model.patient_slopes)


def test_alpha_widens_the_intervals(demo_panel, demo_model) -> None:
    wide = mixed_model(demo_panel, alpha=0.01).effect("sessions_within")
    usual = demo_model.effect("sessions_within")
    assert wide["estimate"] == pytest.approx(usual["estimate"])
    assert wide["ci_high"] - wide["ci_low"] == pytest.approx(
        (usual["ci_high"] - usual["ci_low"]) * 2.5758293035489 / 1.959963984540054
    )
    assert math.isclose(wide["p_value"], usual["p_value"])
    assert describe(mixed_model(demo_panel, alpha=0.01))[0].count("99 % CI") == 1
