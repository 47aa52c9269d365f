"""Hevy reader: both unit layouts, localised dates, quirks, exact row accounting on
hand-made fixtures and on the genuine 7,211-row export."""

from __future__ import annotations

import csv
import datetime as dt

import polars as pl
import pytest

from tests._helpers import assert_accounting, read, read_data, reasons, row
from tests.conftest import FIXTURES, REAL
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest import hevy
from toolkit.ingest._base import SET_INPUT, ReadOptions

HEVY = FIXTURES / "hevy"
HEADER_KG = (
    '"title","start_time","end_time","description","exercise_title","superset_id",'
    '"exercise_notes","set_index","set_type","weight_kg","reps","distance_km",'
    '"duration_seconds","rpe"'
)


# ------------------------------------------------------------------- row accounting

ACCOUNTING = [
    # file, layout, rows_read, accepted, quarantined by reason
    ("hevy_lbs_miles.csv", "imperial", 7, 7, {}),
    ("hevy_de_months.csv", "metric", 7, 7, {}),
    (
        "hevy_messy.csv",
        "metric",
        15,
        7,
        {
            "bad_date": 1,
            "bad_number": 1,
            "unfilled_set": 1,
            "unknown_value": 1,
            "wrong_field_count": 1,
            "out_of_range": 2,
            "missing_value": 1,
        },
    ),
]


@pytest.mark.parametrize(
    ("name", "layout", "rows_read", "accepted", "quarantined"),
    ACCOUNTING,
    ids=[a[0] for a in ACCOUNTING],
)
def test_fixture_accounting(name, layout, rows_read, accepted, quarantined):
    result = read(HEVY / name, contract=SET_INPUT)
    assert (result.format, result.kind, result.layout) == ("hevy", "workout", layout)
    assert_accounting(result, rows_read, accepted, quarantined)
    assert result.data["ts_utc"].null_count() == accepted
    assert result.data["time_known"].all()


def test_messy_quarantine_names_line_column_and_reason():
    q = read(HEVY / "hevy_messy.csv").quarantine
    got = {r["_line"]: (r["reason"], r["column"]) for r in q.iter_rows(named=True)}
    assert got == {
        10: ("bad_date", "start_time"),
        11: ("bad_number", "weight_kg"),
        12: ("unfilled_set", None),
        13: ("unknown_value", "set_type"),
        14: ("wrong_field_count", None),
        15: ("out_of_range", "reps"),
        16: ("missing_value", "exercise_title"),
        17: ("out_of_range", "rpe"),
    }
    messages = dict(zip(q["_line"], q["message"], strict=True))
    assert "'32 Sep 2025, 07:48'" in messages[10]
    assert "'20kg' is not a number" in messages[11]
    assert "13 fields" in messages[14]


# ------------------------------------------------------------------ the genuine export


def test_real_export_exact_counts():
    result = read(REAL / "hevy_kg_2024-2025.csv")
    data = result.data
    assert result.layout == "metric"
    assert result.rows_read == 7211
    assert data.height == 7211
    assert result.quarantine.height == 0
    assert data.schema == pl.Schema(SET_INPUT)
    # FORMATS.md §1.2: normal/warmup/failure/dropset = 3,851 / 2,195 / 1,122 / 43.
    types = dict(data.group_by("set_type").len().iter_rows())
    assert types == {"working": 3851, "warmup": 2195, "failure": 1122, "drop": 43}
    assert (data["superset_id"] == "0").sum() == 277
    assert data["superset_id"].null_count() == 7211 - 277
    assert data["weight_kg"].null_count() == 583  # bodyweight sets, not missing
    assert data["weight_unit_original"].drop_nulls().unique().to_list() == ["kg"]
    # 6,099 duration_seconds = 0 read as no duration; 259 × 300 s and 16 × 5 s remain.
    assert data["duration_s"].value_counts().sort("duration_s").rows() == [
        (None, 6936),
        (5.0, 16),
        (300.0, 259),
    ]
    assert data["distance_m"].null_count() == 7211
    assert data["set_index"].min() == 1
    assert data["set_index"].max() == 7
    assert data["ts_local"].null_count() == 0
    assert data["ts_local"].min() == dt.datetime(2024, 7, 3, 15, 36)
    assert data["ts_local"].max() == dt.datetime(2025, 9, 15, 7, 48)
    assert data.select(pl.struct("workout_name", "ts_local").n_unique()).item() == 335
    assert data["session_duration_s"].null_count() == 0
    assert data["session_duration_s"].min() >= 0
    assert data["notes"].str.contains("\n", literal=True).sum() == 365
    assert data["notes"].str.contains("\\n", literal=True).sum() == 0
    assert data["rpe"].drop_nulls().is_between(6, 10).all()
    assert data["rpe"].null_count() == 295
    warnings = " | ".join(result.warnings)
    assert "47 sets of assisted exercises (Pull Up (Assisted))" in warnings
    assert "6099 sets have duration_seconds = 0" in warnings
    assert "365 rows had literal '\\n' escapes" in warnings
    assert "6 exercise(s) in a workout start at Hevy set number 1 or later" in warnings


def test_real_export_first_rows():
    result = read(REAL / "hevy_kg_2024-2025.csv")
    first = row(result, 2)
    assert first["workout_name"] == "Lower // Ramp // Strength // 1"
    assert first["ts_local"] == dt.datetime(2025, 9, 15, 7, 48)
    assert first["session_duration_s"] == 85 * 60
    assert first["exercise_raw"] == "Seated Leg Curl (Machine)"
    assert (first["set_index"], first["set_type"], first["reps"]) == (1, "warmup", 10.0)
    assert (first["weight_kg"], first["rpe"], first["duration_s"]) == (39.0, 6.0, None)
    assert row(result, 5)["set_type"] == "failure"
    assert row(result, 5)["rpe"] == 9.5


# ---------------------------------------------------------------------------- detection


def test_detection_by_names_case_insensitive():
    header = HEADER_KG.replace('"', "").split(",")
    assert hevy.detect(header) == "metric"
    assert hevy.detect(list(reversed(header))) == "metric"
    assert hevy.detect([h.upper() for h in header]) == "metric"
    lbs = [h.replace("weight_kg", "weight_lbs").replace("distance_km", "distance_miles") for h in header]
    assert hevy.detect(lbs) == "imperial"
    strong = ["Date", "Workout Name", "Exercise Name", "Set Order", "Weight", "Reps"]
    assert hevy.detect(strong) is None
    fitnotes = ["Date", "Exercise", "Category", "Weight (kgs)", "Reps"]
    assert hevy.detect(fitnotes) is None


def test_columns_found_by_name_not_position():
    header = HEADER_KG.replace('"', "").split(",")
    order = list(reversed(range(len(header))))
    cells = '"Push","2 Mar 2026, 18:05","2 Mar 2026, 19:10","","Squat (Barbell)",,"",1,"normal",100,5,,,8'
    values = next(csv.reader([cells]))
    text = ",".join(header[i] for i in order) + "\n" + ",".join(f'"{values[i]}"' for i in order) + "\n"
    result = read_data(text.encode(), "reversed.csv")
    got = row(result, 2)
    assert (got["exercise_raw"], got["set_index"], got["weight_kg"], got["reps"], got["rpe"]) == (
        "Squat (Barbell)",
        2,
        100.0,
        5.0,
        8.0,
    )


def test_forced_format_names_missing_column():
    text = (
        'title,start_time,exercise_name,set_type,weight_kg,reps\nA,"2 Mar 2026, 18:05",Squat,normal,100,5\n'
    )
    with pytest.raises(IngestError, match="exercise_title") as info:
        read_data(text.encode(), "not_hevy.csv", ReadOptions(format="hevy"))
    assert info.value.reason is Reason.MISSING_COLUMN
    assert info.value.column == "exercise_title"


def test_missing_weight_column_is_named():
    header = HEADER_KG.replace(',"weight_kg"', "")
    text = header + '\n"A","2 Mar 2026, 18:05","2 Mar 2026, 19:10","","Squat",,"",0,"normal",5,,,\n'
    with pytest.raises(IngestError, match="weight_kg") as info:
        read_data(text.encode(), "no_weight.csv")
    assert info.value.reason is Reason.MISSING_COLUMN


# -------------------------------------------------------------------- units and values


def test_pounds_and_miles_are_converted_with_originals_kept():
    result = read(HEVY / "hevy_lbs_miles.csv")
    bench = row(result, 3)
    assert bench["weight_kg"] == 52.163  # 115 lb × 0.45359237 = 52.16312… kg
    assert (bench["weight_original"], bench["weight_unit_original"]) == (115.0, "lb")
    assert bench["weight_unit_assumed"] is False
    assert row(result, 2)["weight_kg"] == 20.412  # 45 lb
    assert row(result, 5)["weight_kg"] == 43.091  # 95 lb
    run = row(result, 7)
    assert run["distance_m"] == pytest.approx(2414.016)  # 1.5 mi × 1609.344 m
    assert (run["distance_original"], run["distance_unit_original"]) == (1.5, "mi")
    assert (run["duration_s"], run["reps"], run["weight_kg"]) == (540.0, None, None)
    assert run["workout_name"] == "Evening run 🏃"
    assert bench["session_duration_s"] == 65 * 60
    warnings = " | ".join(result.warnings)
    assert "5 weights in weight_lbs are pounds, converted to kg" in warnings
    assert "1 distances in distance_miles are miles" in warnings
    assert "1 sets of assisted exercises (Pull Up (Assisted))" in warnings
    assert row(result, 6)["weight_kg"] == 18.144  # assistance kept as recorded (40 lb)


def test_all_four_set_types_and_one_based_set_index():
    result = read(HEVY / "hevy_lbs_miles.csv")
    got = [(row(result, n)["set_index"], row(result, n)["set_type"]) for n in (2, 3, 4, 5)]
    assert got == [(1, "warmup"), (2, "working"), (3, "failure"), (4, "drop")]


def test_localised_and_iso_dates():
    result = read(HEVY / "hevy_de_months.csv")
    starts = {n: row(result, n)["ts_local"] for n in range(2, 9)}
    assert starts == {
        2: dt.datetime(2026, 7, 25, 14, 21),  # "25 Juli 2026, 14:21"
        3: dt.datetime(2026, 7, 25, 14, 21),
        4: dt.datetime(2026, 3, 3, 7, 5),  # "3 März 2026"
        5: dt.datetime(2025, 12, 1, 9, 15),  # "1 Dez. 2025"
        6: dt.datetime(2025, 10, 14, 18, 0),  # "14 Okt. 2025"
        7: dt.datetime(2025, 9, 15, 7, 48),  # "2025-09-15 07:48:00"
        8: dt.datetime(2025, 9, 15, 7, 48),  # "2025-09-15T07:48"
    }
    assert row(result, 2)["session_duration_s"] == 69 * 60
    assert row(result, 2)["exercise_raw"] == "Latzug"
    assert row(result, 2)["workout_name"] == "Oberkörper"


def test_notes_newlines_superset_zero_and_emoji():
    result = read(HEVY / "hevy_messy.csv")
    side_bend = row(result, 4)
    assert side_bend["notes"] == "Lean away\nKeep hips square"  # literal \n in the file
    assert side_bend["workout_notes"] == "Deload week\nshort rests"
    assert side_bend["superset_id"] == "0"
    assert row(result, 5)["superset_id"] == "0"
    assert row(result, 6)["superset_id"] == "1"
    assert row(result, 2)["superset_id"] is None
    run = row(result, 7)  # a record spanning lines 7-8 (real newline inside quotes)
    assert run["notes"] == "Zone 2\nnose breathing only"
    assert run["workout_name"] == "Evening workout 🏋️"
    assert run["distance_m"] == 1500.0
    assert (run["distance_original"], run["distance_unit_original"]) == (1.5, "km")
    assert row(result, 2)["notes"] == "All sets, lower big hole pressed against forehead"


def test_zero_duration_means_no_duration_and_bodyweight_is_not_missing():
    result = read(HEVY / "hevy_messy.csv")
    back_ext = row(result, 2)
    assert back_ext["duration_s"] is None  # duration_seconds = 0 on a set with reps
    assert back_ext["weight_kg"] is None  # blank weight = bodyweight
    assert back_ext["weight_unit_original"] is None
    assert back_ext["reps"] == 10.0
    warm_up = row(result, 9)  # 0 reps, 300 s: a timed set
    assert (warm_up["reps"], warm_up["duration_s"]) == (None, 300.0)
    assert any("6 sets have duration_seconds = 0" in w for w in result.warnings)


def test_set_index_must_be_whole_and_end_before_start_is_reported():
    text = (
        HEADER_KG
        + '\n"A","2 Mar 2026, 18:05","2 Mar 2026, 17:00","","Squat",,"",0.5,"normal",100,5,,,'
        + '\n"A","2 Mar 2026, 18:05","2 Mar 2026, 17:00","","Squat",,"",1,"","100",5,,,\n'
    )
    result = read_data(text.encode(), "odd.csv")
    assert reasons(result) == {"bad_number": 1}
    second = row(result, 3)
    assert second["session_duration_s"] is None
    assert second["set_type"] == "working"
    warnings = " | ".join(result.warnings)
    assert "1 workout(s) end before they start (line 3)" in warnings
    assert "1 sets have no set type (line 3)" in warnings


@pytest.mark.parametrize("value", ["2147483647", "1e19", "1e308"])
def test_a_set_number_beyond_the_store_is_quarantined_not_a_crash(value: str) -> None:
    """Found by fuzzing: a set number past the 32-bit set_index failed the whole file in a
    cast; it is one quarantined row."""
    lines = (REAL / "hevy_kg_2024-2025.csv").read_text(encoding="utf-8").splitlines()
    records = list(csv.reader(lines[:3]))
    records[1][records[0].index("set_index")] = value
    out = "".join(",".join(f'"{c}"' for c in rec) + "\n" for rec in records).encode()
    r = read_data(out, "hevy.csv")
    bad = r.quarantine.filter(pl.col("reason") == "out_of_range")
    assert bad["_line"].to_list() == [2] and bad["column"].to_list() == ["set_index"]
    assert bad["message"][0] == f"set number '{value}' is too large"
    assert r.data.height + r.quarantine.height == r.rows_read == 2
