"""The `recovery` command: summaries, JSON, exit codes, one-line refusals."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import REAL
from toolkit.cli import app

runner = CliRunner()
STRONG_V1 = REAL / "strong_ios_v1_2020-2021.csv"
HEVY = REAL / "hevy_kg_2024-2025.csv"
JSON_KEYS = {
    "file",
    "format",
    "patient_id",
    "rows_read",
    "rows_accepted",
    "rows_duplicate",
    "rows_quarantined",
    "warnings",
}


def _recovery(*args: str) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("recovery", path=str(Path(sys.executable).parent)) or "recovery"
    return subprocess.run([exe, *args], capture_output=True, text=True, timeout=120)


def test_ingest_json_has_one_object_per_file(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    res = runner.invoke(
        app,
        [
            "ingest",
            str(STRONG_V1),
            str(HEVY),
            "--patient",
            "p1",
            "--store",
            str(store),
            "--json",
            "--tz",
            "UTC",
        ],
    )
    assert res.exit_code == 0, res.output
    objs = [json.loads(line) for line in res.stdout.splitlines()]
    assert [o["format"] for o in objs] == ["strong", "hevy"]
    for o in objs:
        assert o.keys() >= JSON_KEYS
        assert o["rows_read"] == o["rows_accepted"] + o["rows_duplicate"] + o["rows_quarantined"]
        assert o["patient_id"] == "p1"
    assert any("assumed" in w or "no unit" in w for w in objs[0]["warnings"])
    again = runner.invoke(
        app,
        [
            "ingest",
            str(STRONG_V1),
            "--patient",
            "p1",
            "--store",
            str(store),
            "--json",
            "--tz",
            "UTC",
        ],
    )
    o = json.loads(again.stdout)
    assert o["rows_accepted"] == 0 and o["already_ingested"] is True


def test_readable_summary_and_patients_listing(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    res = runner.invoke(
        app, ["ingest", str(STRONG_V1), "--patient", "p1", "--store", str(store), "--tz", "UTC"]
    )
    assert res.exit_code == 0
    assert "rows read 1903 = added" in res.stdout and "assumed weight_unit" in res.stdout
    res = runner.invoke(
        app,
        [
            "patient",
            "p1",
            "--store",
            str(store),
            "--bodyweight-kg",
            "70",
            "--planned-sessions-per-week",
            "3",
            "--surgery-date",
            "2021-01-10",
        ],
    )
    assert res.exit_code == 0 and "bodyweight_kg: 70.0" in res.stdout
    res = runner.invoke(app, ["patients", "--store", str(store), "--json"])
    row = json.loads(res.stdout)
    assert row["patient_id"] == "p1" and row["sets"] > 1800 and row["bodyweight_kg"] == 70.0
    assert row["first_date"] == "2020-12-30"


def test_validate_writes_nothing(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    res = runner.invoke(app, ["validate", str(HEVY), "--store", str(store), "--json"])
    assert res.exit_code == 0
    assert json.loads(res.stdout)["dry_run"] is True
    assert not store.exists()


def test_quarantine_command_lists_reasons(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    bad = tmp_path / "bad_dates.csv"
    bad.write_text(
        "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,RPE\n"
        '2025-13-45 10:00:00,"A",40m,"Deadlift (Barbell)",1,60.0,5.0,0,0.0,\n'
        '2025-03-04 18:00:00,"A",40m,"Deadlift (Barbell)",1,60.0,5.0,0,0.0,\n'
    )
    assert runner.invoke(app, ["ingest", str(bad), "--patient", "p1", "--store", str(store)]).exit_code == 0
    res = runner.invoke(app, ["quarantine", "--patient", "p1", "--store", str(store), "--json"])
    rows = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(rows) == 1
    assert (
        rows[0]["reason"] == "bad_date" and rows[0]["source_line"] == 2 and rows[0]["column_name"] == "Date"
    )
    assert "2025-13-45" in rows[0]["raw_text"]


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"\x00\x01\x02binary\x00" * 50, r"binary"),
        ("Date,Exercise Name\n2025-01-01,Élévation\n".encode("latin-1"), r"row 2: not UTF-8"),
        (
            b'Date,Workout Name,Exercise Name,Set Order,Weight,Reps\n2025-01-01 10:00:00,"A","Squat',
            r"truncated",
        ),
        (b"foo,bar,baz\n1,2,3\n", r"unrecognised header \(foo, bar, baz\); pass --format"),
    ],
)
def test_refused_input_exits_2_with_one_line_and_no_traceback(
    tmp_path: Path, content: bytes, pattern: str
) -> None:
    f = tmp_path / "input.csv"
    f.write_bytes(content)
    store = tmp_path / "s.duckdb"
    proc = _recovery("ingest", str(f), "--patient", "p1", "--store", str(store))
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "input.csv" in lines[0]
    import re

    assert re.search(pattern, lines[0]), lines[0]
    assert not store.exists() or _count(store) == 0


def _count(store: Path) -> int:
    import duckdb

    con = duckdb.connect(str(store), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM sets").fetchall()[0][0]
    finally:
        con.close()


@pytest.mark.parametrize(
    ("file", "extra", "message"),
    [
        (STRONG_V1, ["--tz", "Mars/Olympus"], "--tz must be an IANA zone"),
        (STRONG_V1, ["--format", "nope"], "--format must be one of"),
        (None, [], "missing.csv"),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(
    tmp_path: Path, file: Path | None, extra: list[str], message: str
) -> None:
    target = file or tmp_path / "missing.csv"
    args = ["ingest", str(target), "--patient", "p1", "--store", str(tmp_path / "s.duckdb"), *extra]
    res = runner.invoke(app, args)
    assert res.exit_code == 2 and message in res.stderr


def test_weight_unit_lb_converts_unitless_strong(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    res = runner.invoke(
        app,
        [
            "ingest",
            str(REAL / "strong_v4_small.csv"),
            "--patient",
            "p1",
            "--store",
            str(store),
            "--weight-unit",
            "lb",
            "--json",
        ],
    )
    o = json.loads(res.stdout)
    assert o["assumptions"]["weight_unit"] == "lb"
    from toolkit.store import Store

    sets = Store(store).table("sets", patient_id="p1")
    row = sets.filter(sets["weight_original"] == 10.0).row(0, named=True)
    assert row["weight_kg"] == pytest.approx(4.536, abs=1e-3) and row["weight_unit_assumed"]


def test_demo_builds_the_cohort_and_the_genuine_exports(tmp_path: Path) -> None:
    proc = _recovery("demo", "--store", str(tmp_path / "demo.duckdb"))
    assert proc.returncode == 0, proc.stderr
    for pid in ("real-hevy", "real-strong-v1", "spike_01", "control_10", "reverse_01"):
        assert pid in proc.stdout
    again = _recovery("demo", "--store", str(tmp_path / "demo.duckdb"), "--json")
    reports = [json.loads(line) for line in again.stdout.splitlines()]
    assert reports and all(r["rows_accepted"] == 0 and r["already_ingested"] for r in reports)


def test_a_polars_panic_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """pyo3's PanicException is a BaseException: it must not escape as a traceback."""
    from polars.exceptions import PanicException

    import toolkit.store as store_module

    def panic(*args: object, **kwargs: object) -> None:
        raise PanicException("assertion failed: i < self.len()")

    monkeypatch.setattr(store_module.Store, "ingest", panic)
    monkeypatch.delenv("RECOVERY_DEBUG", raising=False)
    res = runner.invoke(app, ["ingest", str(STRONG_V1), "--patient", "p1", "--store", str(tmp_path / "s.db")])
    assert res.exit_code == 1
    assert res.exception is None or isinstance(res.exception, SystemExit)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in res.stderr
    assert re.search(r"^recovery: internal error: PanicException: assertion failed", lines[0])


def test_ctrl_c_still_interrupts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import toolkit.store as store_module

    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(store_module.Store, "ingest", interrupt)
    res = runner.invoke(app, ["ingest", str(STRONG_V1), "--patient", "p1", "--store", str(tmp_path / "s.db")])
    assert res.exit_code != 1 and "internal error" not in res.stderr
