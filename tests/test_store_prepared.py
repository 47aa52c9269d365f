"""Store.prepare: read once, check against the store, write once — the same store as a plain ingest."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import FIXTURES, REAL
from toolkit.exceptions import OptionError, StoreBusyError, StoreError
from toolkit.ingest import ReadOptions
from toolkit.store import PreparedUpload, Store

STRONG_V1 = REAL / "strong_ios_v1_2020-2021.csv"
STRONG_V4 = REAL / "strong_v4_2025-10.csv"
HEVY = REAL / "hevy_kg_2024-2025.csv"
MESSY = FIXTURES / "hevy" / "hevy_messy.csv"  # has quarantined rows
UTC = ReadOptions(tz="UTC")
# Differ between any two ingests: the random upload ids and the clock.
_VOLATILE = {"upload_id", "ingested_at_utc", "created_at_utc", "updated_at_utc", "first_seen_at_utc"}


def _contents(store: Store) -> dict[str, pl.DataFrame]:
    """Every table of the store, upload ids replaced by their file's name and hash, the
    clock left out, rows in a fixed order (raw bytes included)."""
    with store.connect(read_only=True) as con:
        uploads = con.sql("SELECT upload_id, file_name || ':' || content_sha256 AS upload FROM uploads").pl()
        out = {}
        for name in (
            "patients",
            "raw_files",
            "uploads",
            "sessions",
            "sets",
            "pain_entries",
            "outcome_measures",
        ):
            frame = con.sql(f"SELECT * FROM {name}").pl()
            if "upload_id" in frame.columns:
                frame = frame.join(uploads, on="upload_id", how="left")
            frame = frame.drop([c for c in frame.columns if c in _VOLATILE])
            out[name] = frame.sort(frame.columns)
        q = con.sql("SELECT * FROM quarantine").pl().join(uploads, on="upload_id", how="left")
        out["quarantine"] = q.drop("upload_id").sort(["upload", "source_line", "column_name", "reason"])
    return out


def _same_contents(a: Store, b: Store) -> None:
    ca, cb = _contents(a), _contents(b)
    for name in ca:
        assert ca[name].equals(cb[name]), name


@pytest.fixture
def stores(tmp_path: Path) -> tuple[Store, Store]:
    return Store(tmp_path / "plain.duckdb", wait_s=0.5), Store(tmp_path / "prepared.duckdb", wait_s=0.5)


def test_prepared_then_checked_then_written_is_the_same_store_as_a_plain_ingest(stores) -> None:
    plain, prep = stores
    for store in (plain, prep):  # something stored already, so duplicates are counted
        store.ingest([STRONG_V1], patient_id="p1", options=UTC)
    expected = plain.ingest([STRONG_V1, STRONG_V4, MESSY, HEVY], patient_id="p1", options=UTC)

    upload = prep.prepare([STRONG_V1, STRONG_V4, MESSY, HEVY], patient_id="p1", options=UTC)
    assert isinstance(upload, PreparedUpload) and len(upload) == 4 and not upload.consumed
    assert upload.names == (str(STRONG_V1), str(STRONG_V4), str(MESSY), str(HEVY))
    checked = prep.ingest(upload, patient_id="p1", dry_run=True)
    again = prep.ingest(upload, patient_id="p1", dry_run=True)  # a check does not use it up
    assert [r.to_dict() for r in checked] == [r.to_dict() for r in again]
    assert all(r.dry_run for r in checked) and not upload.consumed
    written = prep.ingest(upload, patient_id="p1")
    assert upload.consumed

    def counts(reports):
        keys = (
            "file",
            "rows_read",
            "rows_accepted",
            "rows_duplicate",
            "rows_quarantined",
            "already_ingested",
        )
        return [{k: r.to_dict()[k] for k in keys} | {"warnings": r.warnings} for r in reports]

    assert counts(written) == counts(expected)
    assert written[0].already_ingested and written[0].rows_accepted == 0
    assert prep.table("quarantine").height > 0
    _same_contents(plain, prep)


def test_a_list_of_prepared_uploads_is_one_write_in_order(stores) -> None:
    plain, prep = stores
    plain.ingest([STRONG_V4, HEVY], patient_id="p1", options=UTC)
    parts = [prep.prepare([f], patient_id="p1", options=UTC) for f in (STRONG_V4, HEVY)]
    seen: list[str] = []
    prep.ingest(parts, patient_id="p1", progress=seen.append)
    assert seen == [str(STRONG_V4), str(HEVY)]  # as each file is stored
    assert all(p.consumed for p in parts)
    _same_contents(plain, prep)


def test_rows_stored_between_the_check_and_the_write_count_as_duplicates(tmp_path: Path) -> None:
    lines = STRONG_V1.read_bytes().splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    older, newer = tmp_path / "older.csv", tmp_path / "newer.csv"
    older.write_bytes(header + b"".join(body[:1000]))
    newer.write_bytes(header + b"".join(body[600:]))
    store = Store(tmp_path / "w.duckdb", wait_s=0.5)
    store.upsert_patient("p1")

    upload = store.prepare([newer], patient_id="p1", options=UTC)
    [check] = store.ingest(upload, patient_id="p1", dry_run=True)
    assert check.rows_duplicate == 0
    # Meanwhile (another upload, a second tab) the overlapping older export is stored.
    [a] = store.ingest([older], patient_id="p1", options=UTC)
    [b] = store.ingest(upload, patient_id="p1")
    assert b.rows_duplicate > 300 and b.rows_accepted == check.rows_accepted - b.rows_duplicate
    assert b.rows_read == b.rows_accepted + b.rows_duplicate + b.rows_quarantined
    sets = store.table("sets", patient_id="p1")
    assert sets.height == a.rows_accepted + b.rows_accepted
    assert sets["set_id"].n_unique() == sets.height
    stored = store.table("uploads", patient_id="p1").filter(pl.col("upload_id") == b.upload_id)
    assert stored["rows_duplicate"].to_list() == [b.rows_duplicate]  # the write's counts, not the check's

    # The same as storing the two files one after the other without a check.
    reference = Store(tmp_path / "ref.duckdb", wait_s=0.5)
    reference.upsert_patient("p1")
    reference.ingest([older], patient_id="p1", options=UTC)
    [ref] = reference.ingest([newer], patient_id="p1", options=UTC)
    assert (ref.rows_accepted, ref.rows_duplicate) == (b.rows_accepted, b.rows_duplicate)
    _same_contents(reference, store)


def test_the_same_file_prepared_in_two_tabs_is_stored_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.duckdb", wait_s=0.5)
    tab1 = store.prepare([STRONG_V4], patient_id="p1", options=UTC)
    tab2 = store.prepare([STRONG_V4], patient_id="p1", options=UTC)
    [first] = store.ingest(tab1, patient_id="p1")
    [second] = store.ingest(tab2, patient_id="p1")
    assert second.rows_accepted == 0 and second.rows_duplicate == first.rows_accepted
    assert second.already_ingested
    assert store.table("sets", patient_id="p1").height == first.rows_accepted


def test_a_written_prepared_upload_cannot_be_used_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.duckdb", wait_s=0.5)
    upload = store.prepare([STRONG_V4], patient_id="p1", options=UTC)
    store.ingest(upload, patient_id="p1")
    with pytest.raises(StoreError, match=r"already written .* prepare the files again"):
        store.ingest(upload, patient_id="p1")
    with pytest.raises(StoreError, match="already written"):
        store.ingest(upload, patient_id="p1", dry_run=True)
    assert "consumed" in repr(upload)
    assert store.table("uploads").height == 1


def test_a_busy_store_leaves_the_prepared_upload_usable(tmp_path: Path, monkeypatch) -> None:
    store = Store(tmp_path / "w.duckdb", wait_s=0.5)
    upload = store.prepare([STRONG_V4], patient_id="p1", options=UTC)

    def busy(*args, **kwargs):
        raise StoreBusyError("store busy")

    with monkeypatch.context() as m:
        m.setattr(Store, "connect", busy)
        with pytest.raises(StoreBusyError):
            store.ingest(upload, patient_id="p1")
    assert not upload.consumed
    [report] = store.ingest(upload, patient_id="p1")
    assert report.rows_accepted > 0


def test_prepared_uploads_refuse_another_patient_options_or_a_mix(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.duckdb", wait_s=0.5)
    upload = store.prepare([STRONG_V4], patient_id="p1", options=UTC)
    with pytest.raises(OptionError, match="prepared for patient 'p1', not 'p2'"):
        store.ingest(upload, patient_id="p2")
    with pytest.raises(OptionError, match="fixed when an upload is prepared"):
        store.ingest(upload, patient_id="p1", options=UTC)
    with pytest.raises(OptionError, match="not both"):
        store.ingest([upload, STRONG_V1], patient_id="p1")
    with pytest.raises(OptionError, match="passed twice"):
        store.ingest([upload, upload], patient_id="p1")
    assert not upload.consumed and not store.exists()
