"""Fitbod reader: current kg/lbs layouts and the old Sets/isWarmup form, pounds stored
as kg, leading spaces, blank lines, exact row accounting."""

from __future__ import annotations

import datetime as dt

import pytest

from tests._helpers import assert_accounting, read, read_data, row
from tests.conftest import FIXTURES
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest import fitbod
from toolkit.ingest._base import SET_INPUT, ReadOptions
from toolkit.ingest._text import decode, parse_csv

FITBOD = FIXTURES / "fitbod"
UTC = dt.UTC


# ------------------------------------------------------------------- row accounting

ACCOUNTING = [
    # file, layout, rows_read, accepted, quarantined by reason
    (
        "WorkoutExport_kg.csv",
        "current_kg",
        14,
        9,
        {
            "unfilled_set": 1,
            "bad_date": 1,
            "bad_number": 1,
            "unknown_value": 1,
            "wrong_field_count": 1,
        },
    ),
    ("WorkoutExport_lbs.csv", "current_lbs", 6, 5, {"out_of_range": 1}),
    ("workouts_old.csv", "old", 11, 8, {"unfilled_set": 2, "bad_date": 1}),
]


@pytest.mark.parametrize(
    ("name", "layout", "rows_read", "accepted", "quarantined"),
    ACCOUNTING,
    ids=[a[0] for a in ACCOUNTING],
)
def test_fixture_accounting(name, layout, rows_read, accepted, quarantined):
    result = read(FITBOD / name, contract=SET_INPUT)
    assert (result.format, result.kind, result.layout) == ("fitbod", "workout", layout)
    assert_accounting(result, rows_read, accepted, quarantined)
    assert result.data["set_index"].null_count() == accepted


def test_blank_lines_are_not_rows():
    data = (FITBOD / "WorkoutExport_kg.csv").read_bytes()
    table = parse_csv(decode(data, "WorkoutExport.csv"), "WorkoutExport.csv")
    assert table.blank_lines == 3
    assert read_data(data, "WorkoutExport.csv").rows_read == table.rows.height == 14


def test_quarantine_lines_and_columns():
    q = read(FITBOD / "WorkoutExport_kg.csv").quarantine
    got = {r["_line"]: (r["reason"], r["column"]) for r in q.iter_rows(named=True)}
    assert got == {
        14: ("unfilled_set", None),  # Bird Dog, 0 reps, all zero
        15: ("bad_date", "Date"),  # 25:03:15
        16: ("bad_number", "Reps"),  # ' ten'
        17: ("unknown_value", "isWarmup"),  # 'maybe'
        18: ("wrong_field_count", None),  # 9 of 11 fields
    }
    old = read(FITBOD / "workouts_old.csv").quarantine
    got = {r["_line"]: (r["reason"], r["column"]) for r in old.iter_rows(named=True)}
    assert got == {8: ("unfilled_set", None), 11: ("unfilled_set", None), 12: ("bad_date", "Date")}


# ------------------------------------------------------------------------ current form


def test_current_form_instants_spaces_and_multiplier():
    result = read(FITBOD / "WorkoutExport_kg.csv")
    first = row(result, 2)
    assert first["ts_utc"] == dt.datetime(2025, 8, 20, 1, 49, 39, tzinfo=UTC)
    assert first["ts_local"] is None
    assert first["time_known"] is True
    assert first["exercise_raw"] == "Incline Dumbbell Row"
    assert (first["reps"], first["multiplier"], first["set_type"]) == (10.0, 2.0, "working")
    assert row(result, 4)["set_type"] == "warmup"  # isWarmup true
    assert row(result, 5)["weight_kg"] is None  # Dead Bug 0.0 kg = bodyweight
    assert row(result, 7)["multiplier"] == 1.0


def test_pounds_stored_as_kg_are_kept_exact_and_reported():
    result = read(FITBOD / "WorkoutExport_kg.csv")
    first = row(result, 2)
    assert first["weight_original"] == 20.41168092460379
    assert first["weight_kg"] == 20.412  # 45 lb, rounded to 1 g
    assert (first["weight_unit_original"], first["weight_unit_assumed"]) == ("kg", False)
    assert row(result, 4)["weight_kg"] == 13.608  # 30 lb
    assert row(result, 7)["weight_kg"] == 42.5  # a real kg value
    assert (
        "4 of 5 weights in Weight(kg) look like pounds converted to kg "
        "(e.g. 20.41168092460379 kg = 45 lb); kept exact as weight_original, weight_kg "
        "rounded to 1 g"
    ) in result.warnings


def test_timed_and_cardio_sets():
    result = read(FITBOD / "WorkoutExport_kg.csv")
    plank = row(result, 8)  # Side Plank, 0 reps, 30 s
    assert (plank["reps"], plank["duration_s"], plank["weight_kg"]) == (None, 30.0, None)
    assert plank["multiplier"] == 0.0
    bridge = row(result, 9)  # weighted hold
    assert (bridge["weight_kg"], bridge["duration_s"]) == (13.608, 60.0)
    ride = row(result, 12)
    assert ride["duration_s"] == 415.53359162807465
    assert ride["distance_m"] == 2243.079150167874
    assert (ride["distance_original"], ride["distance_unit_original"]) == (2243.079150167874, "m")
    assert ride["ts_utc"] == dt.datetime(2022, 11, 22, 4, 3, 15, tzinfo=UTC)
    walk = row(result, 13)
    assert walk["notes"] == "Knee ok\nincline 2.0"
    assert "1 row(s) have a non-zero Incline or Resistance (line 13); kept in their notes" in (
        result.warnings
    )


def test_weight_lbs_header_is_converted():
    result = read(FITBOD / "WorkoutExport_lbs.csv")
    bench = row(result, 2)
    assert bench["weight_kg"] == 52.163  # 115 lb
    assert (bench["weight_original"], bench["weight_unit_original"]) == (115.0, "lb")
    assert row(result, 3)["weight_kg"] == 20.412  # 45 lb
    assert row(result, 3)["set_type"] == "warmup"
    assert row(result, 5)["weight_kg"] == 15.876  # 35 lb
    assert row(result, 5)["notes"] == "Felt easy"
    assert any("4 weights in Weight(lbs) are pounds, converted to kg" in w for w in result.warnings)
    assert not any("look like pounds" in w for w in result.warnings)


# ---------------------------------------------------------------------------- old form


def test_old_form_dates_units_and_warmups():
    result = read(FITBOD / "workouts_old.csv")
    curl = row(result, 3)
    assert curl["ts_local"] == dt.datetime(2019, 2, 13)
    assert curl["ts_utc"] is None
    assert curl["time_known"] is False
    assert curl["weight_kg"] == 6.804  # 6.803893642 kg = 15 lb (Fitbod used 2.20462 lb/kg)
    assert curl["weight_original"] == 6.803893642
    assert (curl["weight_unit_original"], curl["weight_unit_assumed"]) == ("kg", True)
    assert row(result, 5)["set_type"] == "warmup"  # TRUE
    assert row(result, 6)["set_type"] == "working"  # empty
    assert row(result, 2)["weight_kg"] is None  # Chin Up, 0 = bodyweight
    assert row(result, 10)["notes"] == "felt it in lower back"
    assert result.assumptions["weight_unit"] == "kg"
    warning = next(w for w in result.warnings if "has no unit" in w)
    assert "read as kg (assumed)" in warning
    assert "6 of 6 values look like pounds converted to kg" in warning


def test_old_form_sets_above_one_are_one_row_with_a_note():
    result = read(FITBOD / "workouts_old.csv")
    row_3 = row(result, 9)  # Dumbbell Row, Sets 3
    assert row_3["notes"] == "Fitbod recorded 3 identical sets in this row; stored as one"
    assert row_3["reps"] == 10.0
    assert any(
        w.startswith("1 row(s) record Sets > 1 (line 9)") and "undercounted" in w for w in result.warnings
    )
    assert result.data.height + result.quarantine.height == result.rows_read


def test_old_form_user_unit_choice():
    options = ReadOptions(weight_unit="lb", weight_unit_given=True)
    result = read(FITBOD / "workouts_old.csv", options)
    curl = row(result, 3)
    assert curl["weight_unit_original"] == "lb"
    assert curl["weight_kg"] == 3.086  # 6.803893642 lb
    assert result.assumptions["weight_unit"] == "lb"
    assert any("read as lb (as you chose)" in w for w in result.warnings)


# ---------------------------------------------------------------------------- detection


def test_detection():
    current = (
        "Date,Exercise,Reps,Weight(kg),Duration(s),Distance(m),Incline,Resistance,isWarmup,Note,multiplier"
    )
    header = current.split(",")
    assert fitbod.detect(header) == "current_kg"
    assert fitbod.detect(list(reversed(header))) == "current_kg"
    assert fitbod.detect([h.replace("Weight(kg)", "Weight (lbs)") for h in header]) == "current_lbs"
    assert fitbod.detect(["Date", "Exercise", "Sets", "Reps", "Weight", "isWarmup", "Note"]) == "old"
    fitnotes = ["Date", "Exercise", "Category", "Weight (kgs)", "Reps"]
    assert fitbod.detect(fitnotes) is None
    hevy = ["title", "start_time", "exercise_title", "set_index", "weight_kg", "reps"]
    assert fitbod.detect(hevy) is None


def test_missing_reps_column_is_named():
    text = "Date,Exercise,Weight(kg),multiplier\n2025-08-20 01:49:39 +0000,Dead Bug,0.0, 2.0\n"
    with pytest.raises(IngestError, match="Reps") as info:
        read_data(text.encode(), "WorkoutExport.csv")
    assert info.value.reason is Reason.MISSING_COLUMN


def test_forced_format_names_missing_column():
    text = "Date,Exercise,Weight\n2019-02-13,Chin Up,0\n"
    with pytest.raises(IngestError, match="Reps") as info:
        read_data(text.encode(), "workouts.csv", ReadOptions(format="fitbod"))
    assert info.value.reason is Reason.MISSING_COLUMN
    assert info.value.column == "Reps"
