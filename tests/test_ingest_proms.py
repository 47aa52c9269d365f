"""Outcome-measure (PROM) CSV reader: detection, instrument names, ranges, accounting."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from tests._helpers import read, reasons
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest import pain_csv, proms
from toolkit.ingest._base import MEASURE_INPUT, ReadOptions
from toolkit.ingest._read import read_bytes

PROMS = Path(__file__).parent / "fixtures" / "proms"


_read = partial(read, contract=MEASURE_INPUT)


def test_proms_accounting_names_and_ranges() -> None:
    r = _read(PROMS / "proms.csv")
    assert (r.format, r.layout, r.kind) == ("proms", "long", "measures")
    assert r.rows_read == 15
    assert r.data.height == 8
    assert reasons(r) == {
        "out_of_range": 2,  # line 6 RMDQ 25 (> 24), line 14 ODI 101
        "unknown_value": 1,  # line 10 EQ-5D
        "missing_value": 2,  # line 11 no instrument, line 12 no score
        "bad_number": 1,  # line 13 'high'
        "bad_date": 1,  # line 15 01/09/2025 (ambiguous)
    }
    assert r.data["_line"].to_list() == [2, 3, 4, 5, 7, 8, 9, 16]
    assert r.data["instrument"].to_list() == ["ODI", "ODI", "RMDQ", "RMDQ", "PSFS", "NRS", "NRS", "ODI"]
    # "32%" is read as 32 on the ODI's 0–100 % scale.
    assert r.data["score"].to_list() == [36.0, 32.0, 14.0, 13.0, 4.7, 6.0, 5.0, 24.0]
    assert r.data["notes"][0] == "intake"
    assert r.data["time_known"].to_list() == [False] * 7 + [True]
    assert r.data["ts_local"][0] == datetime(2025, 9, 1)
    assert r.data["ts_utc"][7] == datetime(2025, 10, 1, 7, 30, tzinfo=UTC)
    q = {row["_line"]: row for row in r.quarantine.iter_rows(named=True)}
    assert q[6]["message"] == "RMDQ score 25 is outside 0–24"
    assert q[10]["message"] == "unknown instrument 'EQ-5D' (expected ODI, RMDQ, PSFS or NRS)"
    assert any("PSFS 2.0" in w for w in r.warnings)
    assert any("normalised" in w and "6 rows" in w for w in r.warnings)


def test_proms_header_aliases_semicolon() -> None:
    r = _read(PROMS / "proms_semicolon.csv")  # Date;Questionnaire;Total;Comment
    assert (r.rows_read, r.data.height) == (4, 3)
    assert reasons(r) == {"bad_number": 1}  # "6,5": decimal commas are not guessed
    assert r.data["instrument"].to_list() == ["RMDQ", "RMDQ", "PSFS"]
    assert r.data["score"].to_list() == [12.0, 10.0, 7.0]
    assert r.data["ts_local"][2] == datetime(2025, 10, 15)  # "15 Oct 2025"


@pytest.mark.parametrize(
    ("header", "layout"),
    [
        (["date", "instrument", "score"], "long"),
        (["Date", "Measure", "Value", "Notes"], "long"),
        (["timestamp", "questionnaire", "total"], "long"),
        (["date", "score", "notes"], None),  # a generic pain diary: no instrument column
        (["date", "pain", "location"], None),
        (["date", "exercise", "instrument", "score"], None),
    ],
)
def test_proms_detect(header: list[str], layout: str | None) -> None:
    assert proms.detect(header) == layout


def test_proms_do_not_steal_generic_pain_files() -> None:
    header = ["date", "score", "notes"]
    assert proms.detect(header) is None
    assert pain_csv.detect(header) == "unlabelled"
    result, _ = read_bytes(b"date,score,notes\n2025-09-01,4,\n", "diary.csv", ReadOptions())
    assert result.format == "pain_csv"


def test_proms_forced_with_missing_columns() -> None:
    with pytest.raises(IngestError, match=r"missing: instrument \(columns found: date, score\)") as info:
        read_bytes(b"date,score\n2025-09-01,30\n", "odi.csv", ReadOptions(format="proms"))
    assert info.value.reason is Reason.MISSING_COLUMN


def test_proms_column_map() -> None:
    data = b"Datum,Fragebogen,Punkte\n2025-09-01,Oswestry Disability Index,40\n"
    result, _ = read_bytes(
        data,
        "de.csv",
        ReadOptions(
            format="proms", column_map={"date": "Datum", "instrument": "Fragebogen", "score": "Punkte"}
        ),
    )
    assert result.data["instrument"].to_list() == ["ODI"]
    assert result.data["score"].to_list() == [40.0]


def test_instrument_ranges() -> None:
    assert proms.INSTRUMENT_RANGE == {
        "ODI": (0.0, 100.0),
        "RMDQ": (0.0, 24.0),
        "PSFS": (0.0, 10.0),
        "NRS": (0.0, 10.0),
    }
