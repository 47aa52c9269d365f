"""The DuckDB store: lossless accounting, de-duplication, transactions, locking."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import REAL
from toolkit.exceptions import IngestError, OptionError, Reason, StoreBusyError
from toolkit.ingest import ReadOptions
from toolkit.store import Store

STRONG_V1 = REAL / "strong_ios_v1_2020-2021.csv"
HEVY = REAL / "hevy_kg_2024-2025.csv"
UTC = ReadOptions(tz="UTC")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "w.duckdb", wait_s=0.5)


def _balanced(report) -> bool:
    return report.rows_read == report.rows_accepted + report.rows_duplicate + report.rows_quarantined


def test_same_file_twice_adds_nothing_and_says_already_ingested(store: Store) -> None:
    first = store.ingest([STRONG_V1], patient_id="p1", options=UTC)[0]
    second = store.ingest([STRONG_V1], patient_id="p1", options=UTC)[0]
    assert first.rows_accepted > 1800 and first.rows_duplicate == 0
    assert second.rows_accepted == 0
    assert second.rows_duplicate == first.rows_accepted
    assert second.rows_quarantined == first.rows_quarantined
    assert second.already_ingested and "already ingested" in second.warnings[0]
    assert _balanced(first) and _balanced(second)
    assert store.table("sets", patient_id="p1").height == first.rows_accepted


def test_overlapping_newer_export_adds_only_the_new_sets(store: Store, tmp_path: Path) -> None:
    lines = STRONG_V1.read_bytes().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    older = tmp_path / "older.csv"
    newer = tmp_path / "newer.csv"
    older.write_bytes(header + b"".join(body[:1000]))
    newer.write_bytes(header + b"".join(body[600:]))
    a = store.ingest([older], patient_id="p1", options=UTC)[0]
    b = store.ingest([newer], patient_id="p1", options=UTC)[0]
    full = store.ingest([STRONG_V1], patient_id="p1", options=UTC)[0]
    assert a.rows_read == 1000 and b.rows_read == len(body) - 600
    assert b.rows_duplicate == 400 - _quarantined_between(a, 600, 1000)
    assert full.rows_accepted == 0
    assert store.table("sets", patient_id="p1").height == a.rows_accepted + b.rows_accepted


def _quarantined_between(report, lo: int, hi: int) -> int:
    lines = report.quarantine["source_line"]
    return int(((lines >= lo + 2) & (lines < hi + 2)).sum())


def test_identical_unnumbered_sets_are_three_sets_not_duplicates(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "fitnotes.csv"
    f.write_text(
        "Date,Exercise,Category,Weight (kgs),Reps,Distance,Distance Unit,Time\n"
        "2025-01-06,Deadlift,Back,40.0,10,,,\n"
        "2025-01-06,Deadlift,Back,40.0,10,,,\n"
        "2025-01-06,Deadlift,Back,40.0,10,,,\n"
    )
    r = store.ingest([f], patient_id="p1", options=UTC)[0]
    assert (r.rows_accepted, r.rows_duplicate) == (3, 0)
    f2 = tmp_path / "fitnotes_later.csv"
    f2.write_text(f.read_text() + "2025-01-06,Deadlift,Back,40.0,10,,,\n2025-01-08,Deadlift,Back,45.0,8,,,\n")
    r2 = store.ingest([f2], patient_id="p1", options=UTC)[0]
    assert (r2.rows_accepted, r2.rows_duplicate) == (2, 3)
    assert store.table("sets", patient_id="p1").height == 5


def test_patients_are_kept_apart(store: Store) -> None:
    store.ingest([STRONG_V1], patient_id="p1", options=UTC)
    r = store.ingest([STRONG_V1], patient_id="p2", options=UTC)[0]
    assert r.rows_duplicate == 0 and not r.already_ingested
    frame = store.patients()
    assert frame["patient_id"].to_list() == ["p1", "p2"]
    assert frame["sets"].to_list() == [r.rows_accepted, r.rows_accepted]


def test_patients_counts_and_date_range_agree_with_the_tables(store: Store) -> None:
    from tests.conftest import FIXTURES

    store.ingest([STRONG_V1, FIXTURES / "hevy" / "hevy_messy.csv"], patient_id="p1", options=UTC)
    store.ingest([FIXTURES / "pain" / "strong_v1_patient_pain.csv"], patient_id="p2", options=UTC)
    store.upsert_patient("p3")  # no data at all
    got = store.patients()
    assert got["patient_id"].to_list() == ["p1", "p2", "p3"]

    def per_patient(name: str, *aggs: pl.Expr, where: pl.Expr | None = None) -> pl.DataFrame:
        frame = store.table(name)
        frame = frame if where is None else frame.filter(where)
        return frame.group_by("patient_id").agg(*aggs)

    date_range = [pl.col("local_date").min().alias("lo"), pl.col("local_date").max().alias("hi")]
    parts = [
        per_patient("sessions", pl.len().alias("sessions"), *(e.name.prefix("s_") for e in date_range)),
        per_patient("sets", pl.len().alias("sets")),
        per_patient(
            "pain_entries", pl.len().alias("pain_entries"), *(e.name.prefix("e_") for e in date_range)
        ),
        per_patient("outcome_measures", pl.len().alias("outcome_measures")),
        per_patient("quarantine", pl.len().alias("quarantined_errors"), where=pl.col("severity") == "error"),
        per_patient("uploads", pl.len().alias("uploads")),
    ]
    expected = got.select("patient_id")
    for part in parts:
        expected = expected.join(part, on="patient_id", how="left")
    expected = expected.with_columns(
        pl.min_horizontal("s_lo", "e_lo").alias("first_date"),
        pl.max_horizontal("s_hi", "e_hi").alias("last_date"),
    )
    counts = ["sessions", "sets", "pain_entries", "outcome_measures", "quarantined_errors", "uploads"]
    expected = expected.select(
        "patient_id", *[pl.col(c).fill_null(0).cast(pl.Int64) for c in counts], "first_date", "last_date"
    )
    assert got.select(expected.columns).equals(expected)
    p1, p2, p3 = got.iter_rows(named=True)
    assert p1["sets"] > 0 and p1["quarantined_errors"] > 0 and p1["uploads"] == 2
    assert p2["sets"] == 0 and p2["pain_entries"] == 230 and p2["first_date"] is not None
    assert p3["uploads"] == 0 and p3["first_date"] is None and p3["last_date"] is None


@pytest.mark.parametrize("pid", ["o'brien", "x' OR '1'='1", "p--1; DROP TABLE sets"])
def test_duplicates_are_found_among_the_patient_s_own_rows_whatever_the_id(store: Store, pid: str) -> None:
    """The duplicate look-up is limited to the patient's rows (every key hashes the patient
    id): an id with quotes or SQL in it is a plain value there, its re-upload is all
    duplicates, and another patient's copy of the same file is all new."""
    other = store.ingest([STRONG_V1], patient_id="p1", options=UTC)[0]
    first = store.ingest([STRONG_V1], patient_id=pid, options=UTC)[0]
    again = store.ingest([STRONG_V1], patient_id=pid, options=UTC)[0]
    assert first.rows_accepted == other.rows_accepted and first.rows_duplicate == 0
    assert (again.rows_accepted, again.rows_duplicate) == (0, first.rows_accepted)
    assert store.table("sets", patient_id=pid).height == first.rows_accepted
    assert store.table("sets").height == 2 * first.rows_accepted
    sessions = store.table("sessions")
    assert sessions.height == 2 * store.table("sessions", patient_id="p1").height


@pytest.mark.parametrize("pid", ["p\x1f1", "p\n1", "p\x001"])
def test_a_patient_id_with_a_control_character_is_refused(store: Store, pid: str) -> None:
    """Natural keys join their parts with a control character: an id holding one is
    refused before anything is read, so two patients' keys can never meet."""
    with pytest.raises(OptionError, match="must not contain control characters"):
        store.ingest([STRONG_V1], patient_id=pid, options=UTC)
    assert not store.exists() or store.table("sets").height == 0


def test_a_refused_file_writes_nothing_of_the_whole_command(store: Store, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(STRONG_V1.read_bytes()[:5000] + b'"unterminated')
    with pytest.raises(IngestError, match="truncated") as err:
        store.ingest([HEVY, bad], patient_id="p1", options=UTC)
    assert err.value.reason is Reason.TRUNCATED
    assert store.table("sets").height == 0
    assert store.table("uploads").height == 0


def test_raw_bytes_are_kept_by_content_hash(store: Store) -> None:
    r = store.ingest([STRONG_V1], patient_id="p1", options=UTC)[0]
    assert store.raw_bytes(r.content_sha256) == STRONG_V1.read_bytes()
    store.ingest([STRONG_V1], patient_id="p2", options=UTC)
    with store.connect(read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw_files").fetchall()[0][0] == 1


def test_quarantine_rows_carry_file_line_reason_and_raw_text(store: Store) -> None:
    store.ingest([REAL / "strong_v3_workout_number_2025-09.csv"], patient_id="p1", options=UTC)
    q = store.table("quarantine", patient_id="p1")
    assert q.height > 0
    row = q.row(0, named=True)
    assert row["file_name"] == "strong_v3_workout_number_2025-09.csv"
    assert row["source_line"] >= 2 and row["reason"] and row["message"] and row["raw_text"]


def test_dry_run_writes_nothing(store: Store) -> None:
    r = store.ingest([HEVY], patient_id="p1", options=UTC, dry_run=True)[0]
    assert r.dry_run and r.rows_accepted > 7000
    assert not store.exists()
    store.ingest([HEVY], patient_id="p1", options=UTC)
    again = store.ingest([HEVY], patient_id="p1", options=UTC, dry_run=True)[0]
    assert again.rows_accepted == 0 and again.rows_duplicate == r.rows_accepted


def test_patient_record_round_trips(store: Store) -> None:
    import datetime as dt

    rec = store.upsert_patient(
        "p9",
        name="A. Patient",
        surgery_date=dt.date(2025, 3, 1),
        bodyweight_kg=72.5,
        planned_sessions_per_week=3,
    )
    assert rec["bodyweight_kg"] == 72.5 and rec["surgery_date"] == dt.date(2025, 3, 1)
    rec = store.upsert_patient("p9", condition="L5/S1 discectomy")
    assert rec["name"] == "A. Patient" and rec["condition"] == "L5/S1 discectomy"
    with pytest.raises(OptionError, match="bodyweight_kg must be"):
        store.upsert_patient("p9", bodyweight_kg=-3)


def test_second_writer_gets_store_busy_not_corruption(store: Store) -> None:
    store.ingest([STRONG_V1], patient_id="p1", options=UTC)
    script = textwrap.dedent(f"""
        import duckdb, time
        con = duckdb.connect({str(store.path)!r})
        print("locked", flush=True)
        time.sleep(6)
    """)
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
            with pytest.raises(StoreBusyError, match="store busy"):
                store.ingest([HEVY], patient_id="p1", options=UTC)
        finally:
            holder.kill()
    assert store.table("sets", patient_id="p1").height > 1800
    r = Store(store.path).ingest([HEVY], patient_id="p1", options=UTC)[0]
    assert r.rows_accepted > 7000


def test_local_date_uses_the_day_start_hour(store: Store, tmp_path: Path) -> None:
    f = tmp_path / "late.csv"
    f.write_text(
        "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,RPE\n"
        '2025-03-04 00:40:00,"Late",40m,"Deadlift (Barbell)",1,60.0,5.0,0,0.0,\n'
        '2025-03-04 18:00:00,"Evening",40m,"Deadlift (Barbell)",1,60.0,5.0,0,0.0,\n'
    )
    store.ingest([f], patient_id="p1", options=ReadOptions(tz="Europe/Madrid"))
    sessions = store.table("sessions", patient_id="p1").sort("started_at_utc")
    assert [str(d) for d in sessions["local_date"]] == ["2025-03-03", "2025-03-04"]
    assert str(sessions["started_at_utc"][0]) == "2025-03-03 23:40:00+00:00"
    assert sessions["tz"].unique().to_list() == ["Europe/Madrid"]
    assert pl.Series(sessions["time_known"]).all()


def test_reprocess_rebuilds_the_same_rows_from_raw_bytes(store: Store) -> None:
    store.ingest([STRONG_V1, REAL / "strong_v4_2025-10.csv"], patient_id="p1", options=UTC)
    store.ingest([HEVY], patient_id="p2", options=UTC)
    before = store.table("sets", patient_id="p1").sort("set_id")
    reports = store.reprocess("p1")
    assert [r.format for r in reports] == ["strong", "strong"]
    after = store.table("sets", patient_id="p1").sort("set_id")
    assert after["set_id"].to_list() == before["set_id"].to_list()
    assert after.drop("upload_id").equals(before.drop("upload_id"))
    assert store.table("uploads", patient_id="p1").height == 2
    assert store.table("sets", patient_id="p2").height > 7000


def test_the_workspace_catalogue_beside_the_store_is_used(store: Store, tmp_path: Path) -> None:
    """An alias added to the workspace's catalogue maps names on ingest and re-process."""
    from toolkit.ingest.catalogue import load_catalogue

    f = tmp_path / "generic.csv"
    f.write_text("date,exercise,reps,weight,unit\n2025-01-06,Mystery Hinge,5,60,kg\n")
    first = store.ingest([f], patient_id="p1", options=UTC)[0]
    assert any("not in the catalogue" in w for w in first.warnings)
    assert store.table("sets", patient_id="p1")["exercise"].to_list() == [None]
    cat = load_catalogue().with_columns(
        pl.when(pl.col("canonical_name") == "Deadlift")
        .then(pl.col("aliases") + "|Mystery Hinge")
        .otherwise(pl.col("aliases"))
        .alias("aliases")
    )
    cat.write_csv(store.catalogue_path)
    store.reprocess("p1")
    assert store.table("sets", patient_id="p1")["exercise"].to_list() == ["Deadlift"]


def test_rows_and_bytes_are_freed_before_the_commit(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB keeps a view registered inside a transaction (and its Arrow data) alive until
    the commit: the rows and bytes must reach it in a way that lets them go once inserted."""
    import weakref

    import toolkit.store._duckdb as duckdb_store

    made: list[weakref.ref] = []
    alive_at_release: list[int] = []

    def tracked(fn):
        def wrapper(*args, **kwargs):
            table = fn(*args, **kwargs)
            made.append(weakref.ref(table))
            return table

        return wrapper

    def release() -> None:
        alive_at_release.append(sum(r() is not None for r in made))

    monkeypatch.setattr(duckdb_store, "_arrow", tracked(duckdb_store._arrow))
    monkeypatch.setattr(duckdb_store, "_binary_table", tracked(duckdb_store._binary_table))
    monkeypatch.setattr(duckdb_store, "release_duckdb_memory", release)
    (r,) = store.ingest([STRONG_V1], patient_id="p1", options=UTC)
    assert len(made) >= 3  # the sets, the sessions and the bytes (and the quarantine if any)
    assert alive_at_release[-1] == 0  # after the bytes went in, before the commit
    assert store.raw_bytes(r.content_sha256) == STRONG_V1.read_bytes()
    assert store.table("sets", patient_id="p1").height == r.rows_accepted


def test_release_duckdb_memory_is_harmless(store: Store) -> None:
    from toolkit.ingest._memory import release_duckdb_memory

    (r,) = store.ingest([STRONG_V1], patient_id="p1", options=UTC)
    release_duckdb_memory()
    release_duckdb_memory()
    assert store.table("sets", patient_id="p1").height == r.rows_accepted


def test_recorded_toolkit_version_is_the_installed_package_s() -> None:
    """Uploads record ``toolkit.__version__`` (no metadata look-up at start-up); it must be
    the installed package's version."""
    from importlib.metadata import version

    import toolkit
    from toolkit.store._duckdb import _version

    assert _version() == toolkit.__version__ == version("recovery-toolkit")


@pytest.mark.parametrize("large", [True, False])
def test_a_large_upload_commits_into_the_file_without_the_log(
    store: Store, monkeypatch: pytest.MonkeyPatch, large: bool
) -> None:
    """An upload of at least ``_CHECKPOINT_AT_COMMIT_BYTES`` is checkpointed as it commits
    (its raw bytes are not written to the write-ahead log first); a small one is logged as
    before. Either way the setting is DuckDB's default again afterwards and every row is
    stored; so is a re-process."""
    import toolkit.store._duckdb as duckdb_store

    monkeypatch.setattr(duckdb_store, "_CHECKPOINT_AT_COMMIT_BYTES", 1 if large else 1 << 40)
    wal = Path(str(store.path) + ".wal")
    seen: list[tuple[bool, str]] = []
    commit = duckdb_store._commit

    def spy(con, size):
        default = con.execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0]
        commit(con, size)
        setting = con.execute("SELECT current_setting('checkpoint_threshold')").fetchall()[0][0]
        seen.append((wal.exists() and wal.stat().st_size > 0, setting == default))

    monkeypatch.setattr(duckdb_store, "_commit", spy)
    (r,) = store.ingest([STRONG_V1], patient_id="p1", options=UTC)
    store.reprocess("p1")
    assert seen == [(not large, True), (not large, True)]
    assert store.table("sets", patient_id="p1").height == r.rows_accepted == 1903
    assert store.raw_bytes(r.content_sha256) == STRONG_V1.read_bytes()


def test_connections_draw_no_duckdb_progress_bar_and_use_utc(tmp_path) -> None:
    """Long queries (a 1M-set ingest) must not draw DuckDB's own bar into the CLI's output."""
    store = Store(tmp_path / "s.duckdb")
    with store.connect() as con:
        got = con.execute(
            "SELECT current_setting('enable_progress_bar'), current_setting('TimeZone')"
        ).fetchall()[0]
    assert got == (False, "UTC")
    with store.connect(read_only=True) as con:
        assert con.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0] is False
