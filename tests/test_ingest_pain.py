"""Pain readers: generic pain CSV, Bearable, FHIR and Apple Health (hand-made fixtures).

Every test goes through :func:`toolkit.ingest._read.read_bytes` (detection + reader +
the row-accounting check) unless it tests a reader function on its own. Expected
numbers are worked out by hand from the fixture lines quoted in the comments.
"""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import polars as pl
import pytest

from tests._helpers import read, reasons
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest import apple_health, bearable, fhir, pain_csv
from toolkit.ingest._base import PAIN_INPUT, QUARANTINE_INPUT, ReadOptions, ReadResult
from toolkit.ingest._parse import timestamp_parts
from toolkit.ingest._read import read_bytes

PAIN = Path(__file__).parent / "fixtures" / "pain"
FHIR = Path(__file__).parent / "fixtures" / "fhir"
APPLE = Path(__file__).parent / "fixtures" / "apple"


_read = partial(read, contract=PAIN_INPUT)


def _by_line(result: ReadResult) -> dict[int, dict[str, object]]:
    return {row["_line"]: row for row in result.data.iter_rows(named=True)}


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ------------------------------------------------------------------------ pain CSV


def test_pain_diary_row_accounting_and_values() -> None:
    r = _read(PAIN / "pain_diary.csv")
    assert (r.format, r.layout, r.kind) == ("pain_csv", "unlabelled", "pain")
    assert r.rows_read == 13
    assert r.data.height == 6
    assert reasons(r) == {
        "bad_date": 2,  # line 5 15/09/2025 (ambiguous), line 6 time 25:99
        "out_of_range": 1,  # line 7: 11 on 0–10
        "missing_value": 2,  # line 8 no value, line 11 no date
        "bad_number": 1,  # line 10 'lots'
        "wrong_field_count": 1,  # line 14: 6 fields
    }
    rows = _by_line(r)
    assert sorted(rows) == [2, 3, 4, 9, 12, 13]
    assert [rows[n]["pain_nrs"] for n in sorted(rows)] == [4.0, 6.0, 3.0, 5.0, 2.5, 2.0]
    # Line 2: date + separate time column → naive local time.
    assert rows[2]["ts_local"] == datetime(2025, 9, 15, 7, 48)
    assert rows[2]["ts_utc"] is None and rows[2]["time_known"] is True
    assert rows[2]["location"] == "lower back" and rows[2]["notes"] == "after sleep"
    # Line 4: date only.
    assert rows[4]["ts_local"] == datetime(2025, 9, 16) and rows[4]["time_known"] is False
    # Line 9: "Moderate" through ORDINAL_TO_NRS (Serlin et al. 1995 band 5–6 → 5).
    assert rows[9]["scale_original"] == "verbal_severity"
    assert rows[9]["pain_original"] == 2.0  # rank of moderate on 0–4
    # Line 12: 2025-09-22T08:00:00+02:00 → 06:00 UTC.
    assert rows[12]["ts_utc"] == _utc(2025, 9, 22, 6, 0) and rows[12]["ts_local"] is None
    # Line 13: "16th Sep 2025" + time "7:05 pm".
    assert rows[13]["ts_local"] == datetime(2025, 9, 16, 19, 5)
    q = {row["_line"]: row for row in r.quarantine.iter_rows(named=True)}
    assert q[5]["column"] == "Date" and "ISO" in q[5]["message"]
    assert q[6]["column"] == "Time"
    assert "--pain-scale vas100" in q[7]["message"]
    assert r.assumptions == {"pain_scale": "nrs_0_10"}
    assert any("does not name its scale" in w for w in r.warnings)
    assert any("Serlin" in w for w in r.warnings)


def test_pain_vas_column_is_divided_by_ten_with_a_warning() -> None:
    r = _read(PAIN / "pain_vas.csv")
    assert (r.layout, r.rows_read, r.data.height) == ("vas100", 6, 4)
    assert reasons(r) == {"out_of_range": 2}  # 120 and -5 on 0–100
    assert r.data["pain_original"].to_list() == [45.0, 62.5, 0.0, 100.0]
    assert r.data["pain_nrs"].to_list() == [4.5, 6.25, 0.0, 10.0]  # ÷ 10
    assert set(r.data["scale_original"]) == {"vas_0_100"}
    assert r.data["ts_utc"].to_list()[:2] == [_utc(2025, 9, 15, 5, 48), _utc(2025, 9, 15, 21, 0)]
    assert r.data["ts_local"].to_list()[2:] == [datetime(2025, 9, 16, 8), datetime(2025, 9, 16, 20)]
    assert r.assumptions == {"pain_scale": "vas_0_100"}
    assert any("visual analogue scale because of its name" in w for w in r.warnings)
    assert any("Divided by 10" in w and "4 ratings" in w for w in r.warnings)


def test_pain_scale_option_overrides_the_column_name() -> None:
    r = _read(PAIN / "pain_vas.csv", pain_scale="nrs")
    assert (r.rows_read, r.data.height) == (6, 1)  # only the 0 fits 0–10
    assert reasons(r) == {"out_of_range": 5}
    assert r.data["scale_original"].to_list() == ["nrs_0_10"]
    assert r.assumptions == {}
    assert any("--pain-scale nrs" in w for w in r.warnings)


def test_pain_per_row_scale_column_semicolon() -> None:
    r = _read(PAIN / "pain_scale_column.csv")
    assert (r.layout, r.rows_read, r.data.height) == ("per_row_scale", 7, 5)
    assert reasons(r) == {"unknown_value": 1, "out_of_range": 1}  # 'likert'; 15 on nrs
    assert r.data["scale_original"].to_list() == [
        "nrs_0_10",
        "vas_0_100",
        "vas_0_100",
        "nrs_0_10",
        "nrs_0_10",
    ]
    # 55 (vas) → 5.5; 30 (0-100) → 3; an empty scale cell falls back to the column (NPRS).
    assert r.data["pain_nrs"].to_list() == [4.0, 5.5, 3.0, 7.0, 6.0]


def test_pain_column_map_with_forced_format() -> None:
    r = _read(
        PAIN / "pain_mapped.csv",
        format="pain_csv",
        column_map={"date": "Datum", "time": "Uhrzeit", "pain": "Schmerz", "location": "Ort"},
    )
    assert (r.layout, r.rows_read, r.data.height, r.quarantine.height) == ("forced", 3, 3, 0)
    assert r.data["ts_local"].to_list() == [
        datetime(2025, 9, 15, 8),
        datetime(2025, 9, 16, 19, 30),  # "7:30 pm"
        datetime(2025, 9, 15),  # "15 Sept 2025", no time
    ]
    assert r.data["time_known"].to_list() == [True, True, False]
    assert r.data["location"].to_list() == ["Rücken", "Rücken", "Bein"]


def test_pain_column_map_naming_an_absent_column_is_refused() -> None:
    path = PAIN / "pain_mapped.csv"
    with pytest.raises(IngestError, match="no such column") as info:
        _read(path, format="pain_csv", column_map={"date": "Datum", "pain": "Schmerzen"})
    assert info.value.reason is Reason.MISSING_COLUMN


def test_pain_forced_without_columns_names_missing_and_found() -> None:
    path = PAIN / "pain_unknown_header.csv"
    with pytest.raises(
        IngestError, match=r"missing: date, pain \(columns found: when_it_hurt, how_much\)"
    ) as info:
        _read(path, format="pain_csv")
    assert info.value.reason is Reason.MISSING_COLUMN


def test_pain_two_candidate_columns_are_not_guessed() -> None:
    path = PAIN / "pain_ambiguous.csv"  # date,pain,vas,notes
    with pytest.raises(IngestError) as auto:
        _read(path)
    assert auto.value.reason is Reason.UNKNOWN_FORMAT
    with pytest.raises(IngestError, match="several columns could be the pain score") as forced:
        _read(path, format="pain_csv")
    assert forced.value.reason is Reason.MISSING_COLUMN


@pytest.mark.parametrize(
    "header",
    [
        [
            "Date",
            "Workout Name",
            "Duration",
            "Exercise Name",
            "Set Order",
            "Weight",
            "Reps",
            "Distance",
            "Seconds",
        ],
        ["date", "exercise", "reps", "weight", "rpe", "score"],
        ["date", "instrument", "score"],
        ["date", "weekday", "time of day", "category", "rating/amount", "detail", "notes"],
        ["date", "notes"],
    ],
)
def test_pain_csv_detect_refuses_other_files(header: list[str]) -> None:
    assert pain_csv.detect(header) is None


@pytest.mark.parametrize(
    ("header", "layout"),
    [
        (["timestamp", "nprs", "location", "notes"], "nrs"),
        (["Date", "Pain Level"], "unlabelled"),
        (["recorded_at", "pain_score", "comment"], "unlabelled"),
        (["DATE/TIME", "VAS (mm)"], "vas100"),
        (["day", "intensity", "scale"], "per_row_scale"),
        (["Date", "Pain (0-10)"], "nrs"),
        (["Date", "Pain (0-100)"], "vas100"),
    ],
)
def test_pain_csv_detect_aliases(header: list[str], layout: str) -> None:
    assert pain_csv.detect(header) == layout


@pytest.mark.parametrize(
    ("cell", "ts_local", "ts_utc", "time_known"),
    [
        ("2025-09-15", datetime(2025, 9, 15), None, False),
        ("2025-09-15 07:48", datetime(2025, 9, 15, 7, 48), None, True),
        ("2025-09-15T07:48:30.5", datetime(2025, 9, 15, 7, 48, 30, 500000), None, True),
        ("2025-09-15T07:48:00+02:00", None, _utc(2025, 9, 15, 5, 48), True),
        ("2025-09-15T07:48:00Z", None, _utc(2025, 9, 15, 7, 48), True),
        ("2024-01-01 08:00:00 -0700", None, _utc(2024, 1, 1, 15), True),  # Apple
        ("15 Sep 2025", datetime(2025, 9, 15), None, False),
        ("22nd Sep 2020", datetime(2020, 9, 22), None, False),  # Bearable
        ("15 Sept 2025, 07:48", datetime(2025, 9, 15, 7, 48), None, True),
        ("15/09/2025", None, None, None),  # day- or month-first: not guessed
        ("09/15/2025", None, None, None),
        ("2025-02-30", None, None, None),
        ("2025-09-15 24:10", None, None, None),
    ],
)
def test_timestamp_parts(cell: str, ts_local: object, ts_utc: object, time_known: object) -> None:
    out = pl.DataFrame({"d": [cell]}).select(timestamp_parts(pl.col("d")).alias("t")).unnest("t")
    assert out.row(0) == (ts_local, ts_utc, time_known)


def test_ordinal_table_is_the_serlin_midpoints() -> None:
    assert pain_csv.ORDINAL_TO_NRS == {
        "not present": 0.0,
        "mild": 2.0,
        "moderate": 5.0,
        "severe": 8.0,
        "unbearable": 10.0,
        "extreme": 10.0,
    }


# ------------------------------------------------------------------------ Bearable


def test_bearable_long_format_pain_symptoms() -> None:
    r = _read(PAIN / "bearable_export.csv")
    assert (r.format, r.layout) == ("bearable", "long")
    assert r.rows_read == 18
    assert r.data.height == 8
    assert reasons(r) == {
        "not_a_pain_entry": 6,  # Mood, Stress, Factors, Meds, Food Diary, Gratitudes
        "missing_value": 1,  # line 12 Hip ache without severity
        "out_of_range": 1,  # line 13 rating 7
        "bad_date": 1,  # line 14 "32nd Sep 2020"
        "bad_number": 1,  # line 18 rating 'x', no severity word
    }
    assert Reason("not_a_pain_entry").is_info
    rows = _by_line(r)
    assert sorted(rows) == [4, 7, 9, 10, 11, 15, 16, 17]
    # mild 2, moderate 5, severe 8, code 4 = unbearable 10, Headache (Severe) 8 (word wins over
    # rating 2), Back (mid) pain (Unbearable) 10, Lower back soreness (None) 0, moderate 5.
    assert [rows[n]["pain_nrs"] for n in sorted(rows)] == [2.0, 5.0, 8.0, 10.0, 8.0, 10.0, 0.0, 5.0]
    assert [rows[n]["pain_original"] for n in sorted(rows)] == [1.0, 2.0, 3.0, 4.0, 3.0, 4.0, 0.0, 2.0]
    assert set(r.data["scale_original"]) == {"bearable_severity"}
    assert rows[4]["location"] == "Back (lower) pain"
    assert rows[4]["ts_local"] == datetime(2020, 9, 22) and rows[4]["time_known"] is False
    assert rows[4]["notes"] == "[pm]"
    assert rows[7]["notes"] == "[pre] woke up stiff"
    assert rows[9]["ts_local"] == datetime(2020, 9, 25, 9, 52) and rows[9]["time_known"] is True
    assert rows[9]["location"] == "Sciatica" and rows[9]["notes"] is None
    assert rows[17]["location"] == "Neck stiffness"
    q = {row["_line"]: row for row in r.quarantine.iter_rows(named=True)}
    assert q[2]["message"] == "a Bearable 'Mood' entry, not a pain rating"
    assert q[3]["message"] == "symptom 'Stress' is not a pain"
    assert any("disagreed" in w and "2 rows" in w for w in r.warnings)


def test_bearable_date_formatted_falls_back_to_date() -> None:
    r = _read(PAIN / "bearable_date_formatted.csv")
    assert (r.layout, r.rows_read, r.data.height) == ("long_date_formatted", 6, 4)
    assert reasons(r) == {"not_a_pain_entry": 2}  # Energy, Sleep
    # Line 4 has "05/01/2022" in 'date formatted' (ambiguous) → "5th Jan 2022" is used.
    assert r.data["ts_local"].to_list() == [datetime(2022, 1, 5)] * 3 + [datetime(2022, 1, 6)]
    assert r.data["pain_nrs"].to_list() == [5.0, 8.0, 2.0, 10.0]  # Extreme → 10


def test_bearable_detect_needs_category_detail_rating() -> None:
    assert bearable.detect(["date", "category", "detail", "notes"]) is None
    assert bearable.detect(["Date", "Category", "Rating", "Detail"]) == "long"


# ---------------------------------------------------------------------------- FHIR


def test_fhir_bundle_with_mixed_resources() -> None:
    r = _read(FHIR / "bundle_mixed.json")
    assert (r.format, r.layout) == ("fhir", "bundle")
    assert r.rows_read == 19  # entries; _line = 1-based entry index
    assert r.data.height == 6
    assert reasons(r) == {
        "not_a_pain_entry": 4,  # Patient, heart-rate Observation, entry without resource, Condition
        "unknown_value": 3,  # VRS given as a number, LA9999-9, valueString
        "entered_in_error": 1,
        "missing_value": 2,  # dataAbsentReason, no effective time
        "bad_date": 1,  # "2025-09"
        "out_of_range": 1,  # 12
        "bad_number": 1,  # valueQuantity "five"
    }
    assert r.quarantine.columns == [*QUARANTINE_INPUT, "raw"]
    rows = _by_line(r)
    assert sorted(rows) == [2, 3, 4, 5, 6, 8]
    # 6 (valueInteger), 4.5 (valueQuantity), LA10139-6 = 7, LA6113-0 = 2 ("2 or more"),
    # SNOMED 76948002 severe = 8, VAS 35 / 10 = 3.5.
    assert [rows[n]["pain_nrs"] for n in sorted(rows)] == [6.0, 4.5, 7.0, 2.0, 8.0, 3.5]
    assert [rows[n]["scale_original"] for n in sorted(rows)] == [
        "nrs_0_10",
        "nrs_0_10",
        "fhir_la_code",
        "fhir_la_code",
        "fhir_snomed_severity",
        "vas_0_100",
    ]
    assert rows[2]["ts_utc"] == _utc(2025, 9, 15, 5, 48)  # +02:00
    assert rows[2]["location"] == "lower back" and rows[2]["notes"] == "after gardening | stiff"
    assert rows[3]["ts_local"] == datetime(2025, 9, 16) and rows[3]["time_known"] is False
    assert rows[4]["ts_utc"] == _utc(2025, 9, 17, 20)  # effectiveInstant
    assert rows[5]["ts_utc"] == _utc(2025, 9, 18, 7)  # effectivePeriod.start +01:00
    q = {row["_line"]: row for row in r.quarantine.iter_rows(named=True)}
    assert '"resourceType":"Patient"' in q[1]["raw"]
    assert q[10]["reason"] == "entered_in_error"
    assert "asked-declined" in q[11]["message"]
    assert q[14]["message"] == "pain 12 is outside 0–10 (nrs_0_10)"
    assert any("LA6113-0" in w for w in r.warnings)


def test_fhir_single_observation() -> None:
    r = _read(FHIR / "observation_single.json")
    assert (r.layout, r.rows_read, r.data.height, r.quarantine.height) == ("observation", 1, 1, 0)
    row = r.data.row(0, named=True)
    assert row["_line"] == 1
    assert row["pain_nrs"] == 5.0 and row["scale_original"] == "nrs_0_10"
    assert row["ts_local"] == datetime(2022, 11, 6) and row["time_known"] is False


def test_fhir_invalid_json_is_refused_with_its_position() -> None:
    path = FHIR / "malformed.json"
    with pytest.raises(IngestError, match=r"invalid JSON: .* at line 7, column 60") as info:
        _read(path)
    assert info.value.reason is Reason.MALFORMED
    assert info.value.row == 7


def test_fhir_other_json_is_not_claimed() -> None:
    data = b'{"resourceType": "Patient", "id": "p1"}'
    assert fhir.sniff(data) is None
    with pytest.raises(IngestError) as info:
        read_bytes(data, "patient.json", ReadOptions())
    assert info.value.reason is Reason.UNKNOWN_FORMAT


def test_fhir_empty_bundle() -> None:
    data = b'{"resourceType": "Bundle", "type": "collection"}'
    result, _ = read_bytes(data, "empty.json", ReadOptions())
    assert (result.rows_read, result.data.height, result.quarantine.height) == (0, 0, 0)


# ---------------------------------------------------------------------- Apple Health


def _pain_record_lines(path: Path) -> list[int]:
    text = path.read_text(encoding="utf-8").splitlines()
    return [i for i, line in enumerate(text, start=1) if "HKCategoryTypeIdentifierLowerBackPain" in line]


def test_apple_export_xml() -> None:
    path = APPLE / "export.xml"
    r = _read(path)
    assert (r.format, r.layout) == ("apple_health", "xml")
    assert r.rows_read == 10  # LowerBackPain records only
    assert r.data.height == 5
    assert reasons(r) == {
        "no_severity": 1,  # HKCategoryValueSeverityUnspecified
        "out_of_range": 1,  # "7"
        "unknown_value": 1,  # HKCategoryValueSeverityAwful
        "missing_value": 1,  # no value attribute
        "bad_date": 1,  # "01/10/2024 07:15"
    }
    assert Reason.INFO_NO_SEVERITY.is_info
    # Moderate 5, Mild 2, Severe 8, NotPresent 0, raw "3" (moderate) 5.
    assert r.data["pain_nrs"].to_list() == [5.0, 2.0, 8.0, 0.0, 5.0]
    assert r.data["pain_original"].to_list() == [3.0, 2.0, 4.0, 1.0, 3.0]  # HK raw values
    assert set(r.data["scale_original"]) == {"apple_severity"}
    assert set(r.data["location"]) == {"lower back"}
    assert r.data["ts_utc"][0] == _utc(2024, 1, 1, 15)  # 08:00 -0700
    assert r.data["ts_utc"][2] == _utc(2024, 1, 3, 6, 15)  # 07:15 +0100
    assert r.data["ts_local"].null_count() == 5
    # _line is the line of each record's start tag in the XML.
    lines = _pain_record_lines(path)
    assert sorted([*r.data["_line"], *r.quarantine["_line"]]) == lines
    assert r.quarantine["raw"].str.starts_with("<Record").all()
    other = next(w for w in r.warnings if w.startswith("Other records ignored"))
    assert "4 records" in other and "StepCount 2" in other


def _zip(tmp_path: Path, members: dict[str, bytes]) -> Path:
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_apple_export_zip(tmp_path: Path) -> None:
    xml = (APPLE / "export.xml").read_bytes()
    path = _zip(
        tmp_path, {"apple_health_export/export_cda.xml": b"<x/>", "apple_health_export/export.xml": xml}
    )
    r = _read(path)
    assert (r.layout, r.rows_read, r.data.height, r.quarantine.height) == ("zip", 10, 5, 5)
    assert r.data["pain_nrs"].to_list() == [5.0, 2.0, 8.0, 0.0, 5.0]


def test_apple_zip_without_export_xml_is_refused(tmp_path: Path) -> None:
    path = _zip(tmp_path, {"apple_health_export/export_cda.xml": b"<ClinicalDocument/>"})
    with pytest.raises(IngestError, match="unrecognised ZIP") as auto:
        _read(path)
    assert auto.value.reason is Reason.UNKNOWN_FORMAT
    with pytest.raises(IngestError, match=r"no export\.xml") as direct:
        apple_health.read(path.read_bytes(), path.name, "zip", ReadOptions())
    assert direct.value.reason is Reason.UNKNOWN_FORMAT


def test_apple_zip_bomb_guard(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _zip(tmp_path, {"export.xml": (APPLE / "export.xml").read_bytes()})
    monkeypatch.setattr(apple_health, "MAX_XML_BYTES", 1000)
    with pytest.raises(IngestError) as info:
        _read(path)
    assert info.value.reason is Reason.TOO_LARGE


def test_apple_stream_guard_counts_bytes_read() -> None:
    stream = io.BytesIO(b"<" * 5000)
    with pytest.raises(IngestError, match="zip-bomb guard") as info:
        list(apple_health._chunks_from_stream(stream, "x.zip", 1000))
    assert info.value.reason is Reason.TOO_LARGE


def test_apple_billion_laughs_is_refused() -> None:
    with pytest.raises(IngestError, match="declares entities") as info:
        _read(APPLE / "billion_laughs.xml")
    assert info.value.reason is Reason.MALFORMED


@pytest.mark.parametrize(
    ("encoding", "why"),
    [
        ("inf", "unknown encoding: inf"),
        ("rot13", "not a text encoding"),
        ("utf-32", "multi-byte encodings are not supported"),
        ("idna", "idna"),
        ("punycode", "codec can't decode"),
    ],
)
def test_apple_xml_declaring_an_unreadable_encoding_is_refused(encoding: str, why: str) -> None:
    """Found by the fuzzer: expat passes the declared encoding to Python's codecs, whose
    LookupError/ValueError escaped the reader as a traceback."""
    data = f'<?xml version="1.0" encoding="{encoding}"?><HealthData locale="en_GB"></HealthData>'.encode()
    with pytest.raises(
        IngestError, match=rf"export\.xml, row 1: the XML declares an encoding .*{why}"
    ) as info:
        read_bytes(data, "export.xml", ReadOptions(tz="UTC"))
    assert info.value.reason is Reason.ENCODING


def test_apple_external_entity_is_refused() -> None:
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE HealthData [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
        b'<HealthData><Record type="HKCategoryTypeIdentifierLowerBackPain" sourceName="&xxe;"/></HealthData>\n'
    )
    with pytest.raises(IngestError) as info:
        read_bytes(data, "xxe.xml", ReadOptions())
    assert info.value.reason is Reason.MALFORMED


def test_apple_truncated_export() -> None:
    data = (APPLE / "export.xml").read_bytes()
    cut = data[: data.index(b"<Workout")]
    with pytest.raises(IngestError) as info:
        read_bytes(cut, "export.xml", ReadOptions())
    assert info.value.reason is Reason.TRUNCATED


def test_apple_sniff() -> None:
    assert apple_health.sniff((APPLE / "export.xml").read_bytes()) == "xml"
    assert apple_health.sniff(b"<?xml version='1.0'?><rss/>") is None
    assert apple_health.sniff(b"date,pain\n") is None
