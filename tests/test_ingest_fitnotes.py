"""FitNotes reader: header-unit and per-row-unit layouts, repair of rows with unquoted
commas, weight-and-time rows, exact row accounting."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests._helpers import assert_accounting, read, read_data, row
from tests.conftest import FIXTURES
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest import fitnotes
from toolkit.ingest._base import SET_INPUT, ReadOptions, ReadResult

FITNOTES = FIXTURES / "fitnotes"


def quarantined(result: ReadResult) -> dict[int, tuple[str, str | None]]:
    return {r["_line"]: (r["reason"], r["column"]) for r in result.quarantine.iter_rows(named=True)}


# ------------------------------------------------------------------- row accounting

ACCOUNTING = [
    # file, layout, rows_read, accepted, quarantined by reason
    (
        "FitNotes_Export_lbs.csv",
        "lbs_header",
        12,
        8,
        {"unfilled_set": 1, "bad_number": 2, "bad_date": 1},
    ),
    (
        "FitNotes_Export_kgs_comment.csv",
        "kgs_header",
        12,
        8,
        {"unknown_unit": 1, "out_of_range": 1, "wrong_field_count": 1, "missing_value": 1},
    ),
    (
        "FitNotes_Export_unit_column.csv",
        "unit_column",
        17,
        13,
        {"unknown_unit": 1, "wrong_field_count": 2, "unfilled_set": 1},
    ),
]


@pytest.mark.parametrize(
    ("name", "layout", "rows_read", "accepted", "quarantined_by_reason"),
    ACCOUNTING,
    ids=[a[0] for a in ACCOUNTING],
)
def test_fixture_accounting(name, layout, rows_read, accepted, quarantined_by_reason):
    result = read(FITNOTES / name, contract=SET_INPUT)
    assert (result.format, result.kind, result.layout) == ("fitnotes", "workout", layout)
    assert_accounting(result, rows_read, accepted, quarantined_by_reason)
    data = result.data
    assert not data["time_known"].any()  # dates only
    assert data["ts_utc"].null_count() == accepted
    assert (data["ts_local"].dt.time() == dt.time(0, 0)).all()
    assert data["set_index"].null_count() == accepted  # FitNotes does not number sets
    assert (data["set_type"] == "working").all()


def test_quarantine_lines_and_columns():
    assert quarantined(read(FITNOTES / "FitNotes_Export_lbs.csv")) == {
        8: ("unfilled_set", None),  # Side Plank,Abs,,,0.0,kg,0:00:00
        11: ("bad_number", "Weight (lbs)"),
        12: ("bad_date", "Date"),
        13: ("bad_number", "Time"),
    }
    assert quarantined(read(FITNOTES / "FitNotes_Export_kgs_comment.csv")) == {
        9: ("out_of_range", "Weight (kgs)"),
        10: ("unknown_unit", "Distance Unit"),
        11: ("missing_value", "Exercise"),
        12: ("wrong_field_count", None),
    }
    assert quarantined(read(FITNOTES / "FitNotes_Export_unit_column.csv")) == {
        12: ("unknown_unit", "Weight Unit"),
        13: ("unfilled_set", None),
        15: ("wrong_field_count", None),  # 'Weird, Row' with Weight 'x': no reading fits
        16: ("wrong_field_count", None),  # 6 of 9 fields
    }


# ----------------------------------------------------------------------------- repairs


def test_unquoted_commas_in_exercise_names_are_repaired():
    result = read(FITNOTES / "FitNotes_Export_unit_column.csv")
    names = {n: row(result, n)["exercise_raw"] for n in (3, 4, 5, 9, 14, 17, 18)}
    assert names == {
        3: "Overhead Press (Each Side, Dumbbells)",
        4: "Overhead Press (Each Side, Dumbbells)",
        5: "Overhead Press (Each Side, Dumbbells)",
        9: "Cable Fly (Low, High, Mid)",  # two surplus fields
        14: "Glute Bridge (Hold, Banded)",
        17: "Bench Press (With Bar, Each Side)",
        18: "Rear Delt Pulling (Each Side, Cable In Front Of Eyes Area)",
    }
    press = row(result, 5)
    assert (press["weight_kg"], press["weight_unit_original"], press["reps"]) == (10.0, "kg", 3.0)
    assert row(result, 14)["duration_s"] == 45.0
    assert row(result, 14)["weight_kg"] is None
    assert (
        "repaired 7 row(s) whose exercise name contained unquoted commas, joining the surplus "
        "fields back into 'Exercise' (lines 3, 4, 5, 9, 14, 17, 18)"
    ) in result.warnings
    failed = result.quarantine.filter(pl.col("_line") == 15)["message"].item()
    assert "10 fields" in failed and "could not be joined back" in failed


def test_unquoted_commas_in_comment_are_repaired():
    result = read(FITNOTES / "FitNotes_Export_kgs_comment.csv")
    hip = row(result, 8)
    assert hip["exercise_raw"] == "Hip Thrust"
    assert hip["notes"] == "left hip sore, stopped early"
    assert (hip["weight_kg"], hip["reps"]) == (60.0, 8.0)
    assert any("whose comment contained unquoted commas" in w and "(line 8)" in w for w in result.warnings)
    assert row(result, 6)["notes"] == "slow, controlled, no pain"  # quoted: no repair needed
    assert row(result, 2)["notes"] == "Felt strong"
    assert row(result, 3)["notes"] is None


def test_many_repairs_are_listed_with_a_cap():
    header = "Date,Exercise,Category,Weight,Weight Unit,Reps,Distance,Distance Unit,Time\n"
    body = "2025-04-29,Overhead Press (Each Side, Dumbbells),Shoulders,8.0,kgs,5,,,\n" * 14
    result = read_data((header + body).encode(), "FitNotes_Export.csv")
    assert result.data.height == 14
    assert result.data["exercise_raw"].unique().to_list() == ["Overhead Press (Each Side, Dumbbells)"]
    assert any("repaired 14 row(s)" in w and "… (14 in all)" in w for w in result.warnings)


# ---------------------------------------------------------------------- units and time


def test_pounds_times_and_distances():
    result = read(FITNOTES / "FitNotes_Export_lbs.csv")
    dead = row(result, 4)
    assert dead["ts_local"] == dt.datetime(2018, 8, 15)
    assert dead["weight_kg"] == 52.163  # 115 lb
    assert (dead["weight_original"], dead["weight_unit_original"]) == (115.0, "lb")
    assert row(result, 3)["weight_kg"] == 47.627  # 105 lb
    back = row(result, 2)  # 0.0 lb: bodyweight, not missing
    assert (back["weight_kg"], back["weight_original"], back["reps"]) == (None, None, 10.0)
    run = row(result, 6)
    assert run["duration_s"] == 561.0  # 0:09:21
    assert run["distance_m"] == pytest.approx(1979.49312)  # 1.23 mi
    assert (run["distance_original"], run["distance_unit_original"]) == (1.23, "mi")
    assert run["reps"] is None
    plank = row(result, 7)
    assert (plank["distance_m"], plank["duration_s"]) == (10.0, 60.0)
    assert row(result, 10)["reps"] == 1.0  # 'Wall Sit 1:00': time in the name, reps 1
    assert any("3 weights in pounds were converted to kg" in w for w in result.warnings)
    assert any("1 sets of assisted exercises (Assisted Pull Up)" in w for w in result.warnings)

    per_row = read(FITNOTES / "FitNotes_Export_unit_column.csv")
    assert row(per_row, 8)["weight_kg"] == 52.163  # 115 lbs on a per-row unit
    assert row(per_row, 8)["weight_unit_original"] == "lb"
    assert row(per_row, 2)["weight_unit_original"] == "kg"
    walk = row(per_row, 10)
    assert (walk["distance_m"], walk["duration_s"]) == (2500.0, 1800.0)


def test_weight_unit_in_distance_unit_is_read_as_load():
    result = read(FITNOTES / "FitNotes_Export_lbs.csv")
    side_plank = row(result, 9)  # Side Plank,Abs,,,5.0,kg,0:00:45
    assert (side_plank["weight_kg"], side_plank["weight_unit_original"]) == (5.0, "kg")
    assert side_plank["distance_m"] is None
    assert side_plank["duration_s"] == 45.0
    warning = next(w for w in result.warnings if "'Distance Unit'" in w)
    assert warning.startswith("2 row(s) have a weight unit in 'Distance Unit' (lines 8, 9)")
    assert "unverified" in warning


def test_kgs_header_and_timed_sets():
    result = read(FITNOTES / "FitNotes_Export_kgs_comment.csv")
    assert row(result, 2)["weight_kg"] == 150.0
    assert row(result, 4)["weight_kg"] is None  # Pull Up 0.0 kg
    row_machine = row(result, 5)
    assert (row_machine["distance_m"], row_machine["duration_s"]) == (200.0, 108.0)
    plank = row(result, 7)  # Plank,Abs,0.0,0,,,0:01:30
    assert (plank["reps"], plank["duration_s"], plank["weight_kg"]) == (None, 90.0, None)


# ---------------------------------------------------------------------------- detection


def test_detection():
    assert fitnotes.detect(["Date", "Exercise", "Category", "Weight (lbs)", "Reps"]) == "lbs_header"
    assert fitnotes.detect(["date", "exercise", "category", "WEIGHT(KGS)", "reps"]) == "kgs_header"
    per_row = ["Reps", "Weight Unit", "Weight", "Category", "Exercise", "Date"]
    assert fitnotes.detect(per_row) == "unit_column"
    fitbod = ["Date", "Exercise", "Reps", "Weight(kg)", "Duration(s)", "multiplier"]
    assert fitnotes.detect(fitbod) is None
    strong = ["Date", "Workout Name", "Exercise Name", "Set Order", "Weight", "Weight Unit"]
    assert fitnotes.detect(strong) is None


def test_forced_format_names_missing_column():
    text = "Date,Exercise,Weight (lbs),Reps\n2018-08-16,Back Extension,0.0,10\n"
    with pytest.raises(IngestError, match="Category") as info:
        read_data(text.encode(), "FitNotes_Export.csv", ReadOptions(format="fitnotes"))
    assert info.value.reason is Reason.MISSING_COLUMN
    assert info.value.column == "Category"
