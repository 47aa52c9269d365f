"""The synthetic cohort: real formats, exact accounting, and planted effects that the
stored data really contain (checked from the store's tables, not from the generator).

Also holds the seeded generator of ``tests/fixtures/pain/strong_v1_patient_pain.csv``
(a pain diary for the lifter of the genuine Strong V1 export); run this file as a
script to rewrite the fixture::

    .venv/bin/python -m tests.test_datasets
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import math
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import toolkit.datasets
from tests.conftest import FIXTURES, REAL
from toolkit.datasets import Cohort, demo_cohort, synthetic_cohort
from toolkit.exceptions import OptionError
from toolkit.ingest import ReadOptions
from toolkit.store import Store

STRONG_V1 = REAL / "strong_ios_v1_2020-2021.csv"
PAIN_FIXTURE = FIXTURES / "pain" / "strong_v1_patient_pain.csv"
RESPONDER_LIKE = ("responder", "spike", "no_rest")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def cohort() -> Cohort:
    return demo_cohort()


@pytest.fixture(scope="module")
def ingested(cohort: Cohort, tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, list]:
    store = Store(tmp_path_factory.mktemp("cohort") / "c.duckdb")
    return store, cohort.ingest_into(store)


@pytest.fixture(scope="module")
def tables(ingested: tuple[Store, list]) -> dict[str, pl.DataFrame]:
    store, _ = ingested
    return {
        name: store.table(name) for name in ("sets", "sessions", "pain_entries", "quarantine", "patients")
    }


def _ids(cohort: Cohort, *groups: str) -> list[str]:
    return cohort.patients.filter(pl.col("group").is_in(groups))["patient_id"].to_list()


def _events(cohort: Cohort, kind: str, patient_id: str | None = None) -> pl.DataFrame:
    ev = cohort.planted_events.filter(pl.col("kind") == kind)
    return ev if patient_id is None else ev.filter(pl.col("patient_id") == patient_id)


def _session_volumes(sets: pl.DataFrame, patient_id: str) -> pl.DataFrame:
    """One row per session: local_date and Σ reps × weight_kg over all its sets."""
    return (
        sets.filter(pl.col("patient_id") == patient_id)
        .group_by("session_id", "local_date")
        .agg((pl.col("reps") * pl.col("weight_kg")).fill_null(0).sum().alias("volume"))
        .sort("local_date")
    )


def _trailing_ratios(vol: pl.DataFrame, *, min_prior: int = 4) -> list[tuple[date, float]]:
    """(day, session volume / mean session volume of the 28 days before) for sessions
    with at least ``min_prior`` earlier sessions in that window."""
    days = vol["local_date"].to_list()
    volumes = vol["volume"].to_numpy()
    out = []
    for i, d in enumerate(days):
        prior = [volumes[j] for j in range(i) if d - timedelta(days=28) <= days[j] < d]
        if len(prior) >= min_prior:
            out.append((d, float(volumes[i] / np.mean(prior))))
    return out


def _runs(days: list[date]) -> list[tuple[date, date, int]]:
    """Runs of consecutive calendar days: (first, last, length)."""
    runs: list[tuple[date, date, int]] = []
    for d in sorted(set(days)):
        if runs and runs[-1][1] + timedelta(days=1) == d:
            first, _, n = runs[-1]
            runs[-1] = (first, d, n + 1)
        else:
            runs.append((d, d, 1))
    return runs


def _pain(pain: pl.DataFrame, patient_id: str) -> pl.DataFrame:
    return pain.filter(pl.col("patient_id") == patient_id).select("local_date", "pain_nrs").sort("local_date")


def _weekly_top_deadlift(sets: pl.DataFrame, patient_id: str) -> pl.DataFrame:
    return (
        sets.filter(
            (pl.col("patient_id") == patient_id)
            & (pl.col("exercise") == "Deadlift")
            & (pl.col("set_type") == "working")
        )
        .group_by(pl.col("local_date").dt.truncate("1w").alias("week"))
        .agg(pl.col("weight_kg").max().alias("top_kg"))
        .sort("week")
        .with_columns((pl.col("top_kg") / pl.col("top_kg").shift(1) - 1).alias("rise"))
    )


def _slope_per_week(days: list[date], values: np.ndarray) -> float:
    t = np.array([(d - days[0]).days for d in days], dtype=float)
    return float(np.polyfit(t, values, 1)[0] * 7)


# --------------------------------------------------------------------------- the generator


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not() -> None:
    a, b = synthetic_cohort(seed=11), synthetic_cohort(seed=11)
    assert a.files["content"].to_list() == b.files["content"].to_list()
    assert a.patients.equals(b.patients) and a.planted_events.equals(b.planted_events)
    c = synthetic_cohort(seed=12)
    assert a.files["sha256"].to_list() != c.files["sha256"].to_list()


def test_demo_cohort_is_the_default_cohort(cohort: Cohort) -> None:
    assert cohort.files["sha256"].to_list() == synthetic_cohort().files["sha256"].to_list()
    assert (cohort.seed, cohort.start, cohort.days) == (7, date(2025, 1, 6), 120)


def test_the_default_cohort_is_generated_fast() -> None:
    t0 = time.perf_counter()
    synthetic_cohort()
    assert time.perf_counter() - t0 < 3.0


def test_out_dir_writes_the_same_bytes_as_in_memory(tmp_path: Path, cohort: Cohort) -> None:
    on_disk = synthetic_cohort(tmp_path)
    assert "content" not in on_disk.files.columns
    assert on_disk.files["sha256"].to_list() == cohort.files["sha256"].to_list()
    for path, data in zip(on_disk.files["path"], cohort.files["content"], strict=True):
        assert Path(path).is_file() and Path(path).read_bytes() == data
    assert Path(on_disk.files["path"][0]).parent == tmp_path / on_disk.files["patient_id"][0]


def test_groups_apps_and_layouts(cohort: Cohort) -> None:
    p = cohort.patients
    counts = dict(p.group_by("group").len().iter_rows())
    assert counts == {
        "responder": 6,
        "nonresponder": 3,
        "control": 10,
        "spike": 2,
        "no_rest": 1,
        "reverse": 1,
    }
    assert p["patient_id"].n_unique() == p.height
    apps = dict(p.group_by("app").len().iter_rows())
    assert abs(apps["strong"] - apps["hevy"]) <= 1
    assert set(p.filter(pl.col("app") == "strong")["layout"]) == {"v1_classic", "v3_workout_number"}
    assert set(p.filter(pl.col("group") == "responder")["sessions_per_week"]) == {2.0, 3.0, 4.0, 5.0}
    assert (p["programme_start"] == date(2025, 1, 13)).all()
    ev = cohort.planted_events
    assert set(ev["kind"]) == {"load_spike", "pain_flare", "no_rest_block", "too_fast_progression"}
    assert set(ev["patient_id"]) == set(_ids(cohort, "spike", "no_rest"))
    assert (ev["start_date"] >= date(2025, 1, 13)).all() and (ev["end_date"] <= date(2025, 5, 5)).all()
    assert (ev["start_date"] <= ev["end_date"]).all()
    assert _events(cohort, "load_spike").height == 4 and _events(cohort, "pain_flare").height == 4
    # Hevy: newest first and the real date style; Strong V3: every field quoted
    hevy = cohort.files.filter(pl.col("format") == "hevy")["content"][0].decode().splitlines()
    assert hevy[0].startswith('"title","start_time","end_time"')
    first, last = (
        datetime.strptime(next(csv.reader([row]))[1], "%d %b %Y, %H:%M") for row in (hevy[1], hevy[-1])
    )
    assert first > last
    v3 = cohort.files.filter(pl.col("layout") == "v3_workout_number")["content"][0].decode().splitlines()
    assert v3[0].startswith('"Workout #";"Date"') and all(line.count('"') == 26 for line in v3[:50])


def test_options_are_validated() -> None:
    with pytest.raises(OptionError, match="days must be"):
        synthetic_cohort(days=30)
    with pytest.raises(OptionError, match="n_controls"):
        synthetic_cohort(n_controls=-1)
    with pytest.raises(OptionError, match="dose_variation must be True or False"):
        synthetic_cohort(dose_variation=1)  # type: ignore[arg-type]
    for bad in (0, 7, True, 4.0, "4"):
        with pytest.raises(OptionError, match=r"spikes_per_patient must be an int in 1\.\.6"):
            synthetic_cohort(spikes_per_patient=bad)  # type: ignore[arg-type]
    with pytest.raises(OptionError, match=r"days must be ≥ 148 for spikes_per_patient=6 .*got 147"):
        synthetic_cohort(spikes_per_patient=6, days=147)


# --------------------------------------------------------------------------- dose variation

DEFAULT_COHORT_SHA256 = "d5cb6035af629ecbf037e1265c0d3b62a7081398abba308047f4cee487d39823"
"""sha256 of the default cohort's per-file sha256 digests joined in file order, taken from
the generator before ``dose_variation`` existed: the option, off, changes no byte."""


def _digest(c: Cohort) -> str:
    return hashlib.sha256("".join(c.files["sha256"]).encode()).hexdigest()


def _weekly_counts(c: Cohort, sessions: pl.DataFrame) -> pl.DataFrame:
    """Sessions per patient × full programme week (0 when none): ``patient_id``, ``week``,
    ``n``, from the canonical ``sessions`` table."""
    start = c.patients["programme_start"][0]
    weeks = pl.DataFrame({"week": range((c.days - 7) // 7)})
    counts = (
        sessions.with_columns(week=(pl.col("local_date") - start).dt.total_days() // 7)
        .group_by("patient_id", "week")
        .agg(n=pl.len().cast(pl.Int64))
    )
    return (
        c.patients.select("patient_id")
        .join(weeks, how="cross")
        .join(counts, on=["patient_id", "week"], how="left")
        .with_columns(pl.col("n").fill_null(0))
        .sort("patient_id", "week")
    )


@pytest.fixture(scope="module")
def varied() -> Cohort:
    return synthetic_cohort(
        seed=5, n_responders=2, n_nonresponders=1, n_controls=1, days=98, dose_variation=True
    )


@pytest.fixture(scope="module")
def varied_tables(varied: Cohort) -> dict[str, pl.DataFrame]:
    return varied.tables()


def test_the_default_cohort_is_unchanged_by_the_dose_variation_option(cohort: Cohort) -> None:
    assert _digest(cohort) == DEFAULT_COHORT_SHA256
    off = synthetic_cohort(dose_variation=False)
    assert _digest(off) == DEFAULT_COHORT_SHA256 and not off.dose_variation
    assert off.patients.equals(cohort.patients) and off.planted_events.equals(cohort.planted_events)
    # without the option the plan is the fixed weekly dose (the last programme week is partial)
    for dose, plan in cohort.patients.select("sessions_per_week", "planned_weekly_sessions").iter_rows():
        assert set(plan[:-1]) == {dose}
    assert cohort.patients.select((pl.col("planned_weekly_sessions").list.len() == 17).all()).item()
    on = synthetic_cohort(dose_variation=True)
    assert on.dose_variation and set(on.files["sha256"]).isdisjoint(cohort.files["sha256"])
    assert on.patients["patient_id"].equals(cohort.patients["patient_id"])


def test_dose_variation_varies_the_weekly_sessions_within_patients(
    varied: Cohort, varied_tables: dict[str, pl.DataFrame], cohort: Cohort, tables: dict[str, pl.DataFrame]
) -> None:
    """Counted from the workout files read by the real readers; the demo cohort (fixed
    plan) for contrast."""
    weekly = _weekly_counts(varied, varied_tables["sessions"])
    sd = weekly.group_by("patient_id").agg(pl.col("n").std(), pl.col("n").n_unique().alias("values"))
    assert sd["n"].mean() >= 1.2, sd
    assert (sd["values"] >= 3).all(), sd
    assert weekly["n"].min() == 0 and weekly["n"].max() >= 5
    fixed = _weekly_counts(cohort, tables["sessions"]).group_by("patient_id").agg(pl.col("n").std())
    assert fixed["n"].mean() <= 1.0, fixed
    # the ground truth lists the same counts, and a plan that varies for every patient
    truth = (
        varied.patients.sort("patient_id")
        .select(pl.col("weekly_sessions").list.head(weekly["week"].max() + 1))
        .explode("weekly_sessions")
    )
    assert truth["weekly_sessions"].to_list() == weekly["n"].to_list()
    for plan in varied.patients["planned_weekly_sessions"]:
        assert len(set(plan[:-1])) >= 2 and max(plan) <= 5
    for row in varied.patients.iter_rows(named=True):
        assert row["sessions_per_week"] == pytest.approx(
            np.mean(row["planned_weekly_sessions"][:13]), abs=1e-3
        )
        assert "weekly dose varies" in row["notes"]


def test_planted_within_slope_is_recorded(varied: Cohort, varied_tables: dict[str, pl.DataFrame]) -> None:
    """``within_slope`` = −0.15 × the mean same-week share (6 − j)/7 of the sessions,
    recomputed here from the workout files; 0 without a planted response."""
    sessions = varied_tables["sessions"]
    start = varied.patients["programme_start"][0]
    for row in varied.patients.iter_rows(named=True):
        j = (
            sessions.filter(pl.col("patient_id") == row["patient_id"])
            .select((pl.col("local_date") - start).dt.total_days() % 7)
            .to_series()
            .to_numpy()
        )
        share = float(np.mean((6 - j) / 7))
        assert row["same_week_share"] == pytest.approx(share)
        if row["group"] in RESPONDER_LIKE:
            assert row["within_slope"] == pytest.approx(-0.15 * share)
            assert 1.0 <= row["pain_floor"] <= 1.8
            assert (
                f"within-patient slope of the weekly pain change {row['within_slope']:+.3f}" in row["notes"]
            )
        else:
            assert row["within_slope"] == 0.0 and row["pain_floor"] is None


def test_tables_without_a_store_equal_the_stored_tables(
    varied: Cohort, varied_tables: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    """``Cohort.tables`` runs the store's reader and normaliser: the same rows as after
    ``ingest_into`` (but for the random ``upload_id``)."""
    store = Store(tmp_path / "v.duckdb")
    varied.ingest_into(store)
    mine = varied_tables
    for name, key in (("sets", "set_id"), ("sessions", "session_id"), ("pain_entries", "pain_id")):
        stored = store.table(name).drop("upload_id").sort(key)
        assert mine[name].drop("upload_id").sort(key).equals(stored), name
    patients = store.table("patients").select(mine["patients"].columns).sort("patient_id")
    assert mine["patients"].sort("patient_id").equals(patients)


def test_smaller_cohorts_and_other_lengths_work() -> None:
    small = synthetic_cohort(seed=3, n_responders=1, n_nonresponders=0, n_controls=0, days=98)
    assert small.patients.height == 5
    assert small.planted_events.height == 10


def test_public_api() -> None:
    assert toolkit.datasets.__all__ == sorted(toolkit.datasets.__all__)
    assert set(toolkit.datasets.__all__) == {"Cohort", "demo_cohort", "synthetic_cohort"}
    for name in toolkit.datasets.__all__:
        assert getattr(toolkit.datasets, name).__doc__


# --------------------------------------------------------------------------- through the store


def test_every_file_ingests_with_exact_accounting(
    cohort: Cohort, ingested: tuple[Store, list], tables: dict[str, pl.DataFrame]
) -> None:
    _, reports = ingested
    assert len(reports) == cohort.files.height
    for report, f in zip(reports, cohort.files.iter_rows(named=True), strict=True):
        assert report.patient_id == f["patient_id"]
        assert (report.format, report.layout) == (f["format"], f["layout"])
        assert report.rows_read == f["n_rows"]
        assert report.rows_accepted == f["n_records"]
        assert report.rows_quarantined == f["n_info"]
        assert report.rows_duplicate == 0
        assert set(report.quarantined_by_reason) <= {"rest_timer_row"}
    q = tables["quarantine"]
    assert q.filter(pl.col("severity") == "error").height == 0
    assert q.height == cohort.files["n_info"].sum() > 0
    files = cohort.files.group_by("patient_id", "kind").agg(pl.col("n_records").sum())
    stored = {
        "workout": tables["sets"].group_by("patient_id").len(),
        "pain": tables["pain_entries"].group_by("patient_id").len(),
    }
    for pid, kind, n in files.iter_rows():
        assert stored[kind].filter(pl.col("patient_id") == pid)["len"].item() == n
    sessions = tables["sessions"].group_by("patient_id").len()
    done = cohort.patients.select("patient_id", "sessions_done").join(sessions, on="patient_id")
    assert (done["sessions_done"] == done["len"]).all() and done.height == cohort.patients.height
    assert tables["sets"]["exercise_mapped"].all()


def test_patient_records_are_set(cohort: Cohort, tables: dict[str, pl.DataFrame]) -> None:
    stored = tables["patients"].join(cohort.patients, on="patient_id")
    assert stored.height == cohort.patients.height
    assert (stored["bodyweight_kg"] == stored["bodyweight_kg_right"]).all()
    assert (stored["planned_sessions_per_week"] == stored["sessions_per_week"]).all()
    assert (stored["programme_start_date"] == stored["programme_start"]).all()


def test_training_only_after_programme_start(tables: dict[str, pl.DataFrame]) -> None:
    assert tables["sessions"]["local_date"].min() >= date(2025, 1, 13)
    assert tables["pain_entries"]["local_date"].min() == date(2025, 1, 6)


def test_no_rest_block_is_in_the_sessions_table(cohort: Cohort, tables: dict[str, pl.DataFrame]) -> None:
    sessions = tables["sessions"]
    for pid in cohort.patients["patient_id"]:
        runs = _runs(sessions.filter(pl.col("patient_id") == pid)["local_date"].to_list())
        long = [r for r in runs if r[2] >= 6]
        planted = _events(cohort, "no_rest_block", pid)
        if planted.height:
            (start, end) = planted.select("start_date", "end_date").row(0)
            assert long == [(start, end, 8)]
        else:
            assert long == [], pid


def test_load_spikes_and_only_they_reach_one_and_a_half_times_the_trailing_mean(
    cohort: Cohort, tables: dict[str, pl.DataFrame]
) -> None:
    for pid in cohort.patients["patient_id"]:
        vol = _session_volumes(tables["sets"], pid)
        ratios = dict(_trailing_ratios(vol))
        planted = set(_events(cohort, "load_spike", pid)["start_date"])
        for d in planted:
            assert ratios[d] >= 2.0, (pid, d, ratios[d])
        high = {d for d, r in ratios.items() if r >= 1.5}
        assert high == planted, (pid, sorted(high))
    # the recorded magnitude is the ratio the store gives (warm-ups included)
    for pid, d, magnitude in (
        _events(cohort, "load_spike").select("patient_id", "start_date", "magnitude").iter_rows()
    ):
        ratio = dict(_trailing_ratios(_session_volumes(tables["sets"], pid), min_prior=1))[d]
        assert ratio == pytest.approx(magnitude, abs=0.002)


@pytest.mark.parametrize(("n_spikes", "days"), [(4, 120), (1, 98), (6, 148)])
def test_spikes_per_patient_plants_that_many_spikes_and_flares(n_spikes: int, days: int) -> None:
    """Checked from the canonical tables (real readers): every planted spike, and only
    they, reaches 1.5 × the trailing 28-day mean session volume; each is followed by
    its flare; spikes lie about 21 days apart after the 28-day warm-up."""
    c = synthetic_cohort(
        n_responders=0, n_nonresponders=0, n_controls=0, days=days, spikes_per_patient=n_spikes
    )
    assert c.spikes_per_patient == n_spikes and c.days == days
    tables = c.tables()
    start = c.patients["programme_start"][0]
    for pid in c.patients["patient_id"]:
        vol = _session_volumes(tables["sets"], pid)
        ratios = dict(_trailing_ratios(vol))
        planted = sorted(_events(c, "load_spike", pid)["start_date"])
        assert len(planted) == (n_spikes if pid.startswith("spike") else 0), pid
        for d in planted:
            assert ratios[d] >= 2.0, (pid, d, ratios[d])
        assert {d for d, r in ratios.items() if r >= 1.5} == set(planted), (pid, sorted(ratios))
        if not planted:
            continue
        for i, d in enumerate(planted):
            assert 0 <= (d - start).days - 28 - 21 * i <= 3, (pid, i, d)
        pain = _pain(tables["pain_entries"], pid)
        flares = _events(c, "pain_flare", pid).sort("start_date")
        assert flares.height == n_spikes and (flares["magnitude"] == 3.0).all()
        for spike, (f0, f1) in zip(planted, flares.select("start_date", "end_date").iter_rows(), strict=True):
            assert 1 <= (f0 - spike).days <= 2 and 2 <= (f1 - f0).days + 1 <= 3
            assert pain.filter(pl.col("local_date").is_between(f0, f1)).height == (f1 - f0).days + 1
            assert f1 <= start + timedelta(days=days - 8)  # inside the diary period
        for pid_, d, magnitude in (
            _events(c, "load_spike", pid).select("patient_id", "start_date", "magnitude").iter_rows()
        ):
            ratio = dict(_trailing_ratios(_session_volumes(tables["sets"], pid_), min_prior=1))[d]
            assert ratio == pytest.approx(magnitude, abs=0.002)
    assert f"{n_spikes} load spike" in c.patients.filter(pl.col("group") == "spike")["notes"][0]
    assert _events(c, "too_fast_progression").height == 1


def test_the_default_spike_count_changes_no_byte(cohort: Cohort) -> None:
    two = synthetic_cohort(spikes_per_patient=2)
    assert _digest(two) == DEFAULT_COHORT_SHA256 and two.spikes_per_patient == cohort.spikes_per_patient == 2
    assert two.planted_events.equals(cohort.planted_events) and two.patients.equals(cohort.patients)


def test_too_fast_progression_and_only_there(cohort: Cohort, tables: dict[str, pl.DataFrame]) -> None:
    ev = _events(cohort, "too_fast_progression")
    assert ev.height == 1
    pid, start, end = ev.select("patient_id", "start_date", "end_date").row(0)
    assert (end - start).days == 20
    for p in cohort.patients["patient_id"]:
        weekly = _weekly_top_deadlift(tables["sets"], p)
        fast = weekly.filter(pl.col("rise") > 0.10)
        if p == pid:
            assert fast["week"].to_list() == [start + timedelta(days=7 * k) for k in range(3)]
            assert (fast["rise"] >= 0.15 - 1e-9).all()
        else:
            weeks = fast["week"].to_list()
            assert not any(b - a == timedelta(days=7) for a, b in itertools.pairwise(weeks)), p
            assert weekly["rise"].drop_nulls().max() <= 0.10, p


def test_flares_follow_spikes_and_stand_two_points_above_the_weekly_median(
    cohort: Cohort, tables: dict[str, pl.DataFrame]
) -> None:
    for pid in _ids(cohort, "spike"):
        pain = _pain(tables["pain_entries"], pid)
        spikes = sorted(_events(cohort, "load_spike", pid)["start_date"])
        flares = _events(cohort, "pain_flare", pid).sort("start_date")
        assert flares.height == len(spikes) == 2
        for spike, (start, end) in zip(
            spikes, flares.select("start_date", "end_date").iter_rows(), strict=True
        ):
            assert 1 <= (start - spike).days <= 2 and 2 <= (end - start).days + 1 <= 3
            window = pain.filter(pl.col("local_date").is_between(start, end))
            assert window.height == (end - start).days + 1  # flare days are always logged
            before = pain.filter(
                pl.col("local_date").is_between(start - timedelta(days=7), start - timedelta(days=1))
            )
            assert window["pain_nrs"].max() >= before["pain_nrs"].median() + 2


def test_responders_reach_mcid_and_the_others_do_not(cohort: Cohort, tables: dict[str, pl.DataFrame]) -> None:
    for row in cohort.patients.iter_rows(named=True):
        values = _pain(tables["pain_entries"], row["patient_id"])["pain_nrs"].to_numpy()
        first, last = values[:7].mean(), values[-7:].mean()
        if row["group"] in RESPONDER_LIKE:
            assert last <= first - 2, row["patient_id"]
            assert last <= 0.7 * first, row["patient_id"]  # ≥ 30 % as well
            assert row["expected_pain_change"] <= -3
        else:
            assert abs(last - first) < 2, row["patient_id"]
            assert abs(row["expected_pain_change"]) < 1


def test_dose_response_across_responders(cohort: Cohort, tables: dict[str, pl.DataFrame]) -> None:
    """Pain falls faster the more sessions a week are planned (first 8 programme weeks,
    before anyone reaches their floor)."""
    doses, slopes = [], []
    for row in cohort.patients.filter(pl.col("group") == "responder").iter_rows(named=True):
        pain = _pain(tables["pain_entries"], row["patient_id"]).filter(
            pl.col("local_date").is_between(
                row["programme_start"], row["programme_start"] + timedelta(days=55)
            )
        )
        doses.append(row["sessions_per_week"])
        slopes.append(_slope_per_week(pain["local_date"].to_list(), pain["pain_nrs"].to_numpy()))
    assert all(s < 0 for s in slopes)
    rank_d = pl.Series(doses).rank().to_numpy()
    rank_s = pl.Series(slopes).rank().to_numpy()
    rho = float(np.corrcoef(rank_d, rank_s)[0, 1])
    assert rho <= -0.7, (doses, slopes)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_pain_effects_hold_for_other_seeds(seed: int) -> None:
    """Without the store: the pain diaries of other seeds show MCID for every
    responder-like patient, none for the others, and the dose–response."""
    c = synthetic_cohort(seed=seed, n_controls=3)
    doses, slopes = [], []
    for row in c.patients.iter_rows(named=True):
        content = c.files.filter((pl.col("patient_id") == row["patient_id"]) & (pl.col("kind") == "pain"))[
            "content"
        ]
        diary = pl.read_csv(io.BytesIO(content.item()), try_parse_dates=True)
        values = diary["pain"].to_numpy().astype(float)
        change = values[-7:].mean() - values[:7].mean()
        assert (change <= -2) == (row["group"] in RESPONDER_LIKE), (row["patient_id"], change)
        if row["group"] == "responder":
            early = diary.filter(
                pl.col("date").is_between(row["programme_start"], row["programme_start"] + timedelta(days=55))
            )
            doses.append(row["sessions_per_week"])
            slopes.append(_slope_per_week(early["date"].to_list(), early["pain"].to_numpy().astype(float)))
    rho = float(np.corrcoef(pl.Series(doses).rank().to_numpy(), pl.Series(slopes).rank().to_numpy())[0, 1])
    assert rho <= -0.5, (doses, slopes)


def test_controls_pain_is_independent_of_training(cohort: Cohort, tables: dict[str, pl.DataFrame]) -> None:
    """Same-day correlation of daily volume (0 on rest days) with pain, both detrended."""
    rs = []
    for row in cohort.patients.filter(pl.col("group") == "control").iter_rows(named=True):
        pid = row["patient_id"]
        daily = (
            _session_volumes(tables["sets"], pid)
            .group_by("local_date")
            .agg(pl.col("volume").sum())
            .join(_pain(tables["pain_entries"], pid), on="local_date", how="right")
            .filter(pl.col("local_date") >= row["programme_start"])
            .with_columns(pl.col("volume").fill_null(0.0))
            .sort("local_date")
        )
        t = np.array([(d - row["programme_start"]).days for d in daily["local_date"]], dtype=float)

        def detrend(y: np.ndarray, t: np.ndarray = t) -> np.ndarray:
            return y - np.polyval(np.polyfit(t, y, 1), t)

        r = float(
            np.corrcoef(detrend(daily["volume"].to_numpy()), detrend(daily["pain_nrs"].to_numpy()))[0, 1]
        )
        rs.append(r)
    assert max(abs(r) for r in rs) < 0.3, rs
    assert abs(float(np.mean(rs))) < 0.1, rs


def test_reverse_patient_skips_training_after_high_pain(
    cohort: Cohort, tables: dict[str, pl.DataFrame]
) -> None:
    (pid,) = _ids(cohort, "reverse")
    start = cohort.patients.filter(pl.col("patient_id") == pid)["programme_start"].item()
    trained = set(tables["sessions"].filter(pl.col("patient_id") == pid)["local_date"])
    pain = _pain(tables["pain_entries"], pid).filter(pl.col("local_date") >= start)
    after_high = [d + timedelta(days=1) in trained for d, v in pain.iter_rows() if v >= 6]
    after_low = [d + timedelta(days=1) in trained for d, v in pain.iter_rows() if v < 6]
    assert len(after_high) >= 10
    assert sum(after_high) == 0
    assert np.mean(after_low) > 0.4
    values = pain["pain_nrs"].to_numpy()
    assert abs(values[:14].mean() - values[-14:].mean()) < 1.5


# --------------------------------------------------------------------------- pain fixture


def strong_v1_patient_pain(seed: int = 2021) -> bytes:
    """The pain diary ``tests/fixtures/pain/strong_v1_patient_pain.csv``.

    A generic pain CSV (``date,pain,notes``, date only) for the lifter of the genuine
    Strong V1 export, 2020-12-30 → 2021-09-06: the mean falls from 6.0 to ≈ 2.5
    (``2.5 + 3.5·exp(−t/60)``, t in days), with AR(1) noise (φ = 0.5, σ = 0.7),
    rounded and clipped to 0–10. Three flares of +3 NRS for 2 days start the day
    after the three sessions with the highest volume relative to the trailing 28-day
    mean session volume (≥ 3 earlier sessions in the window). About 8 % of days are
    not logged (never a flare day).
    """
    rng = np.random.default_rng(seed)
    volume: dict[date, float] = {}
    with STRONG_V1.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            day = date.fromisoformat(row["Date"][:10])
            try:
                v = float(row["Weight"] or 0) * float(row["Reps"] or 0)
            except ValueError:
                v = 0.0
            volume[day] = volume.get(day, 0.0) + v
    days = sorted(volume)
    ratios = []
    for d in days:
        prior = [volume[e] for e in days if d - timedelta(days=28) <= e < d]
        if len(prior) >= 3 and np.mean(prior) > 0:
            ratios.append((volume[d] / float(np.mean(prior)), d))
    triggers = sorted(d for _, d in sorted(ratios, reverse=True)[:3])
    first, last = days[0], days[-1]
    n = (last - first).days + 1
    t = np.arange(n)
    mean = 2.5 + 3.5 * np.exp(-t / 60)
    flare_days = set()
    for d in triggers:
        for k in (1, 2):
            i = (d - first).days + k
            if i < n:
                mean[i] += 3.0
                flare_days.add(i)
    eps = rng.normal(0, 0.7, n)
    noise = np.empty(n)
    noise[0] = eps[0] / math.sqrt(1 - 0.25)
    for i in range(1, n):
        noise[i] = 0.5 * noise[i - 1] + eps[i]
    pain = np.clip(np.rint(mean + noise), 0, 10).astype(int)
    logged = rng.random(n) >= 0.08
    notes_pool = ("stiff morning", "long drive", "slept badly", "good day", "walked the dog")
    out = io.StringIO()
    out.write("date,pain,notes\n")
    for i in range(n):
        if not (logged[i] or i in flare_days):
            continue
        if i in flare_days:
            note = "sore after yesterday's session" if i - 1 not in flare_days else "still sore"
        elif rng.random() < 0.1:
            note = notes_pool[int(rng.integers(len(notes_pool)))]
        else:
            note = ""
        out.write(f"{(first + timedelta(days=i)).isoformat()},{pain[i]},{note}\n")
    return out.getvalue().encode()


def test_strong_v1_pain_fixture_is_reproducible() -> None:
    assert PAIN_FIXTURE.read_bytes() == strong_v1_patient_pain()


def test_strong_v1_pain_fixture_ingests_beside_the_real_export(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.duckdb")
    workout, pain = store.ingest(
        [STRONG_V1, PAIN_FIXTURE], patient_id="lifter", options=ReadOptions(tz="UTC")
    )
    assert pain.format == "pain_csv" and pain.rows_quarantined == 0
    assert pain.rows_accepted == pain.rows_read > 220
    entries = store.table("pain_entries", patient_id="lifter").sort("local_date")
    assert entries["local_date"].min() == date(2020, 12, 30) and entries["local_date"].max() == date(
        2021, 9, 6
    )
    values = entries["pain_nrs"].to_numpy()
    assert 5 <= values[:14].mean() <= 7 and 1.5 <= values[-30:].mean() <= 3.5
    assert set(np.unique(values)) <= set(range(11))
    assert store.table("quarantine", patient_id="lifter").filter(pl.col("severity") == "error").height == 0
    assert workout.rows_accepted > 1800


if __name__ == "__main__":
    PAIN_FIXTURE.write_bytes(strong_v1_patient_pain())
    print(f"wrote {PAIN_FIXTURE}")
