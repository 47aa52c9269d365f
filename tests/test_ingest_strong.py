"""Strong reader: every layout, exact row accounting on hand-made and genuine exports."""

from __future__ import annotations

import polars as pl
import pytest

from tests._helpers import assert_accounting, read, read_data, row
from tests.conftest import FIXTURES, REAL
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest import strong
from toolkit.ingest._base import SET_INPUT, ReadOptions

STRONG = FIXTURES / "strong"
LB = ReadOptions(weight_unit="lb", weight_unit_given=True)


# ------------------------------------------------------------------- row accounting

ACCOUNTING = [
    # file, options, layout, rows_read, accepted, quarantined by reason
    ("v0_2016_crlf.csv", None, "v0_2016", 8, 8, {}),
    ("v0_lbs_mi.csv", None, "v0_2016", 3, 3, {}),
    ("v0b.csv", None, "v0b", 5, 5, {}),
    ("v1_rest_timer.csv", None, "v1_classic", 13, 8, {"rest_timer_row": 5}),
    ("v1_lbs_user.csv", LB, "v1_classic", 4, 4, {}),
    ("v1_german.csv", None, "v1_classic", 2, 2, {}),
    (
        "v1_quirks.csv",
        None,
        "v1_classic",
        19,
        8,
        {
            "note_row": 2,
            "unfilled_set": 1,
            "bad_date": 1,
            "bad_number": 1,
            "wrong_field_count": 2,
            "out_of_range": 2,
            "missing_value": 1,
            "unknown_value": 1,
        },
    ),
    ("v2a_android_lbs.csv", None, "v2a_android", 5, 5, {}),
    ("v2a_mixed_units.csv", None, "v2a_android", 4, 2, {"unknown_unit": 2}),
    ("v2b_android_kg.csv", None, "v2b_android", 8, 6, {"unfilled_set": 1, "unknown_unit": 1}),
    ("v3_lbs_bom_crlf.csv", None, "v3_workout_number", 6, 5, {"unfilled_set": 1}),
    (
        "v3_comma_rest_timer.csv",
        None,
        "v3_workout_number",
        7,
        4,
        {"rest_timer_row": 2, "unfilled_set": 1},
    ),
]

REAL_ACCOUNTING = [
    ("strong_ios_v1_2020-2021.csv", "v1_classic", 1903, 1903, {}),
    ("strong_v3_workout_number_2025-09.csv", "v3_workout_number", 166, 159, {"unfilled_set": 7}),
    ("strong_v4_2025-10.csv", "v4_2025_10", 250, 250, {}),
    ("strong_v4_small.csv", "v4_2025_10", 6, 6, {}),
]


@pytest.mark.parametrize(
    ("name", "options", "layout", "rows_read", "accepted", "quarantined"),
    ACCOUNTING,
    ids=[a[0] for a in ACCOUNTING],
)
def test_fixture_accounting(name, options, layout, rows_read, accepted, quarantined):
    result = read(STRONG / name, options, contract=SET_INPUT)
    assert (result.format, result.kind, result.layout) == ("strong", "workout", layout)
    assert_accounting(result, rows_read, accepted, quarantined)


@pytest.mark.parametrize(
    ("name", "layout", "rows_read", "accepted", "quarantined"),
    REAL_ACCOUNTING,
    ids=[a[0] for a in REAL_ACCOUNTING],
)
def test_real_export_accounting(name, layout, rows_read, accepted, quarantined):
    result = read(REAL / name)
    assert result.layout == layout
    assert_accounting(result, rows_read, accepted, quarantined)
    assert result.data["ts_local"].null_count() == 0
    assert result.data["ts_utc"].null_count() == accepted
    assert result.data["time_known"].all()
    assert result.data["exercise_raw"].null_count() == 0


# ---------------------------------------------------------------------------- detection


def test_detection_uses_names_not_positions():
    v1 = [
        "Date",
        "Workout Name",
        "Duration",
        "Exercise Name",
        "Set Order",
        "Weight",
        "Reps",
        "Distance",
        "Seconds",
        "Notes",
        "Workout Notes",
        "RPE",
    ]
    assert strong.detect(v1) == "v1_classic"
    assert strong.detect(list(reversed(v1))) == "v1_classic"
    assert strong.detect([h for h in v1 if h not in ("Notes", "Workout Notes")]) == "v4_2025_10"
    assert strong.detect([h for h in v1 if h != "Duration"]) == "v0b"
    hevy = ["title", "start_time", "exercise_title", "set_index", "weight_kg", "reps"]
    assert strong.detect(hevy) is None
    fitnotes = ["Date", "Exercise", "Category", "Weight (kg)", "Reps"]
    assert strong.detect(fitnotes) is None


def test_v3_bom_crlf_and_semicolons():
    result = read(STRONG / "v3_lbs_bom_crlf.csv")
    assert result.layout == "v3_workout_number"
    assert row(result, 2)["workout_name"] == "Push"
    assert row(result, 2)["session_duration_s"] == 2700.0
    assert row(result, 2)["set_index"] == 1


def test_german_headers_are_mapped():
    result = read(STRONG / "v1_german.csv")
    first = row(result, 2)
    assert first["exercise_raw"] == "Kreuzheben (Langhantel)"
    assert first["workout_name"] == "Rücken"
    assert first["weight_kg"] == 80.0
    assert first["session_duration_s"] == 52 * 60
    assert any("German column names" in w for w in result.warnings)


# -------------------------------------------------------------------------------- units


def test_lb_to_kg_from_per_row_unit():
    result = read(STRONG / "v2a_android_lbs.csv")
    first = row(result, 2)
    assert first["weight_kg"] == 52.163
    assert first["weight_original"] == 115.0
    assert first["weight_unit_original"] == "lb"
    assert first["weight_unit_assumed"] is False
    assert row(result, 4)["weight_kg"] == 20.412  # 45 lb
    assert row(result, 6)["weight_unit_original"] == "kg"  # a kg row in the same file
    run = row(result, 5)
    assert (run["distance_original"], run["distance_unit_original"]) == (1.5, "mi")
    assert run["distance_m"] == pytest.approx(2414.016)
    assert run["weight_kg"] is None
    assert result.warnings == []
    assert result.assumptions == {}


def test_v1_unit_is_an_assumption():
    result = read(REAL / "strong_ios_v1_2020-2021.csv")
    assert result.assumptions == {"weight_unit": "kg", "distance_unit": "km"}
    assert (
        "weights read as kg: this Strong layout carries no unit (assumed — pass "
        "--weight-unit lb if the app was set to pounds)"
    ) in result.warnings
    weighted = result.data.filter(pl.col("weight_kg").is_not_null())
    assert weighted["weight_unit_assumed"].all()
    assert (weighted["weight_unit_original"] == "kg").all()
    # Bodyweight: weight 0.0 is no external load, not an assumed or missing weight.
    push_up = row(result, 1322)
    assert push_up["exercise_raw"] == "Push Up"
    assert (push_up["weight_kg"], push_up["weight_original"], push_up["reps"]) == (None, None, 10)
    assert push_up["weight_unit_assumed"] is False


def test_v1_lbs_user_with_weight_unit_option():
    result = read(STRONG / "v1_lbs_user.csv", LB)
    first = row(result, 2)
    assert first["weight_kg"] == 52.163
    assert (first["weight_original"], first["weight_unit_original"]) == (115.0, "lb")
    assert first["weight_unit_assumed"] is True
    assert result.assumptions == {"weight_unit": "lb", "distance_unit": "mi"}
    assert any(w.startswith("weights read as lb") and "--weight-unit lb" in w for w in result.warnings)
    treadmill = row(result, 5)
    assert (treadmill["distance_unit_original"], treadmill["distance_m"]) == ("mi", 1609.344)
    assert treadmill["duration_s"] == 600


def test_v4_unit_is_an_assumption():
    result = read(REAL / "strong_v4_2025-10.csv")
    assert result.assumptions == {"weight_unit": "kg"}
    assert result.data.filter(pl.col("weight_kg").is_not_null())["weight_unit_assumed"].all()
    assert result.data["notes"].null_count() == result.data.height


def test_v0_units_from_column_names():
    kg = read(STRONG / "v0_2016_crlf.csv")
    assert kg.assumptions == {} and kg.warnings == []
    assert row(kg, 9)["distance_m"] == 2500.0
    lbs = read(STRONG / "v0_lbs_mi.csv")
    assert row(lbs, 2)["weight_kg"] == 61.235  # 135 lb
    assert row(lbs, 2)["weight_unit_assumed"] is False
    assert row(lbs, 4)["distance_unit_original"] == "mi"


def test_v0b_reads_converted_floats_as_assumed_kg():
    result = read(STRONG / "v0b.csv")
    first = row(result, 2)
    assert first["weight_kg"] == 6.804
    assert first["weight_original"] == 6.80388555
    assert first["weight_unit_assumed"] is True
    assert row(result, 4)["workout_notes"] == "easy day"
    assert row(result, 4)["rpe"] == 7.5
    assert row(result, 5)["weight_kg"] is None  # push-up, weight 0
    assert result.assumptions == {"weight_unit": "kg"}


def test_v2b_units_missing_on_some_rows():
    result = read(STRONG / "v2b_android_kg.csv")
    with_unit, without = row(result, 2), row(result, 3)
    assert (with_unit["weight_kg"], with_unit["weight_unit_assumed"]) == (39.0, False)
    assert (without["weight_kg"], without["weight_unit_assumed"]) == (39.0, True)
    assert any("1 weight(s) had no unit: read as kg" in w for w in result.warnings)
    plank = row(result, 4)  # 'km' written although there is no distance
    assert (plank["duration_s"], plank["distance_m"], plank["distance_unit_original"]) == (
        30.0,
        None,
        None,
    )
    assert row(result, 5)["notes"] == "Don't go up knee hurty"
    assert row(result, 7)["distance_m"] == 1000.0
    assert row(result, 8)["distance_m"] == 800.0
    assert row(result, 2)["session_duration_s"] == 43 * 60
    assert row(result, 7)["workout_notes"] == "Easy pace"
    quarantined = result.quarantine.row(by_predicate=pl.col("_line") == 9, named=True)
    assert quarantined["reason"] == Reason.UNKNOWN_UNIT  # km and m used: ambiguous
    unfilled = result.quarantine.row(by_predicate=pl.col("_line") == 6, named=True)
    assert unfilled["reason"] == Reason.INFO_UNFILLED_SET


def test_v2_unitless_weight_in_mixed_file_is_quarantined():
    result = read(STRONG / "v2a_mixed_units.csv")
    q = result.quarantine.sort("_line")
    assert q["_line"].to_list() == [4, 5]
    assert set(q["reason"]) == {Reason.UNKNOWN_UNIT}
    assert "stone" in q["message"][1]


def test_v3_weight_suffix_and_float_artefacts():
    result = read(REAL / "strong_v3_workout_number_2025-09.csv")
    assert result.assumptions == {} and result.warnings == []
    assisted = row(result, 80)
    assert assisted["weight_kg"] == 12.9
    assert assisted["weight_original"] == 12.900000000000034
    assert assisted["weight_unit_assumed"] is False
    assert row(result, 118)["weight_kg"] == 15.8
    assert row(result, 2)["session_duration_s"] == 2134.0
    assert row(result, 2)["session_duration_raw"] == "2134"
    unfilled = result.quarantine.filter(pl.col("reason") == Reason.INFO_UNFILLED_SET)
    assert unfilled["_line"].to_list() == [15, 27, 82, 96, 123, 124, 126]

    lbs = read(STRONG / "v3_lbs_bom_crlf.csv")
    assert row(lbs, 3)["weight_kg"] == 52.163
    assert row(lbs, 3)["weight_unit_original"] == "lb"
    assert row(lbs, 4)["weight_kg"] is None  # blank = bodyweight
    assert row(lbs, 5)["duration_s"] == 45.0
    assert row(lbs, 6)["distance_m"] == 5000.0


# ------------------------------------------------------------------------ set semantics


def test_v0_set_order_is_zero_based():
    result = read(STRONG / "v0_2016_crlf.csv")
    assert result.data["set_index"].to_list() == [1, 2, 3, 1, 2, 1, 2, 1]
    plank = row(result, 5)
    assert (plank["weight_kg"], plank["reps"], plank["duration_s"]) == (None, None, 60.0)
    assert row(result, 4)["notes"] == "felt the lower back"
    assert row(result, 2)["notes"] is None  # "" is no note


def test_rest_timer_rows_attach_to_previous_set():
    result = read(STRONG / "v1_rest_timer.csv")
    rest = dict(zip(result.data["_line"], result.data["rest_after_s"], strict=True))
    assert rest == {2: 120.0, 4: 90.0, 6: 60.0, 8: None, 9: None, 10: None, 11: None, 12: 180.0}
    q = result.quarantine
    assert q["_line"].to_list() == [3, 5, 7, 13, 14]
    assert set(q["reason"]) == {Reason.INFO_REST_TIMER}
    assert Reason(q["reason"][0]).is_info
    assert "line 2" in q["message"][0]
    assert "no preceding set" in q["message"][4]  # Side Plank timer after a Deadlift set

    v3 = read(STRONG / "v3_comma_rest_timer.csv")
    assert row(v3, 2)["rest_after_s"] == 90.0
    assert row(v3, 4)["rest_after_s"] == 90.0
    assert row(v3, 2)["weight_kg"] == 12.9
    assert row(v3, 8)["distance_m"] == 2000.0


@pytest.mark.parametrize(("seconds", "shown"), [("1e300", "1e+300"), ("1e20", "1e+20"), ("120.0", "120")])
def test_a_huge_rest_timer_is_described_not_a_crash(seconds: str, shown: str) -> None:
    """A rest timer of 1e300 s failed the whole file in the message's cast to Int64."""
    data = (STRONG / "v1_rest_timer.csv").read_bytes().replace(b",120.0,", f",{seconds},".encode(), 1)
    result = read_data(data, "v1_rest_timer.csv")
    first = result.quarantine.filter(pl.col("_line") == 3)["message"][0]
    assert first == f"rest timer: {shown} s recorded as rest after the set on line 2"


def test_absurd_session_durations_are_flagged_not_used():
    result = read(STRONG / "v1_rest_timer.csv")
    assert (
        "2 sessions have implausible durations (up to 264h 1m): kept as text, flagged, "
        "not used as training time"
    ) in result.warnings
    absurd = row(result, 2)
    assert (absurd["session_duration_s"], absurd["session_duration_raw"]) == (None, "264h 1m")
    assert row(result, 6)["session_duration_raw"] == "240h 5m"
    assert row(result, 9)["session_duration_s"] == 38 * 60  # '38min'
    assert row(result, 12)["session_duration_s"] == 3600  # '1h'
    assert row(result, 11)["distance_m"] == 2000.0
    assert row(result, 11)["duration_s"] == 720.0
    assert row(result, 2)["reps"] == 10.0  # '10.0'

    real = read(REAL / "strong_ios_v1_2020-2021.csv")
    assert any(w.startswith("2 sessions have implausible durations (up to 83h 31m)") for w in real.warnings)
    suspect = real.data.filter(pl.col("session_duration_raw").is_in(["83h 31m", "42h 13m"]))
    assert suspect.height > 0
    assert suspect["session_duration_s"].null_count() == suspect.height
    assert row(real, 2)["session_duration_s"] == 2 * 3600 + 38 * 60

    v3 = read(STRONG / "v3_lbs_bom_crlf.csv")
    assert any("1 session has an implausible duration (up to 264h 1m)" in w for w in v3.warnings)
    assert row(v3, 6)["session_duration_s"] is None
    assert row(v3, 6)["session_duration_raw"] == "950460"


def test_set_types_notes_and_row_problems():
    result = read(STRONG / "v1_quirks.csv")
    bench = result.data.filter(pl.col("exercise_raw") == "Bench Press (Barbell)")
    assert bench["set_type"].to_list() == [
        "warmup",
        "warmup",
        "working",
        "working",
        "drop",
        "failure",
    ]
    # A letter in the exercise's Set Order: every set is indexed by its position.
    assert bench["set_index"].to_list() == [1, 2, 3, 4, 5, 6]
    assert row(result, 4)["notes"] == "Shoulder pinched on rep 6"
    assert row(result, 9)["notes"] == "slow; elbow ok"
    assert row(result, 11)["reps"] == 10.0
    assert row(result, 11)["set_index"] == 2
    q = {r["_line"]: (r["reason"], r["column"]) for r in result.quarantine.iter_rows(named=True)}
    assert q == {
        5: (Reason.INFO_NOTE_ROW, "Set Order"),
        10: (Reason.INFO_NOTE_ROW, "Set Order"),
        12: (Reason.INFO_UNFILLED_SET, None),
        13: (Reason.BAD_DATE, "Date"),
        14: (Reason.BAD_NUMBER, "Weight"),
        15: (Reason.FIELD_COUNT, None),
        16: (Reason.OUT_OF_RANGE, "Weight"),
        17: (Reason.MISSING_VALUE, "Exercise Name"),
        18: (Reason.UNKNOWN_VALUE, "Set Order"),
        19: (Reason.OUT_OF_RANGE, "RPE"),
        20: (Reason.FIELD_COUNT, None),
    }


def test_bodyweight_and_timed_sets_in_real_v1():
    result = read(REAL / "strong_ios_v1_2020-2021.csv")
    swim = row(result, 866)
    assert (swim["distance_m"], swim["duration_s"], swim["reps"], swim["weight_kg"]) == (
        1000.0,
        30.0,
        None,
        None,
    )
    # 27 cells '0.0' (bodyweight) + 21 cells '0' (cardio/timed): no external load.
    assert result.data["weight_kg"].null_count() == 48
    assert result.data["notes"].null_count() == result.data.height  # "" and empty → null


# ------------------------------------------------------------------------ refusals


def test_forced_format_names_missing_columns():
    path = STRONG / "not_strong.csv"
    options = ReadOptions(format="strong")
    with pytest.raises(IngestError, match=r"missing column\(s\) 'Workout Name'") as info:
        read(path, options)
    assert info.value.reason == Reason.MISSING_COLUMN
    assert "'Set Order'" in info.value.message
    assert "'Exercise Name'" in info.value.message


def test_set_order_nan_infinite_or_too_large_is_quarantined_not_a_crash():
    """``nan``/``inf`` parse as numbers but are no set's position, and a set order past
    32 bits does not fit the store's set_index: each row is quarantined with its reason
    (these used to stop the whole file with an internal error)."""
    header = "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,Workout Notes,RPE"
    rows = [
        '2021-01-05 18:00:00,"W",1h,"Squat (Barbell)",1,60,5,0,0,,,',
        '2021-01-05 18:00:00,"W",1h,"Squat (Barbell)",nan,60,5,0,0,,,',
        '2021-01-05 18:00:00,"W",1h,"Squat (Barbell)",inf,60,5,0,0,,,',
        '2021-01-05 18:00:00,"W",1h,"Squat (Barbell)",-inf,60,5,0,0,,,',
        '2021-01-05 18:00:00,"W",1h,"Squat (Barbell)",3000000000,60,5,0,0,,,',
        '2021-01-05 18:00:00,"W",1h,"Squat (Barbell)",2,60,5,0,0,,,',
    ]
    result = read_data(("\n".join([header, *rows]) + "\n").encode(), "strong.csv")
    assert_accounting(result, 6, 2, {"unknown_value": 3, "out_of_range": 1})
    q = {
        r["_line"]: (r["reason"], r["column"], r["message"]) for r in result.quarantine.iter_rows(named=True)
    }
    assert q[3][:2] == q[4][:2] == q[5][:2] == (Reason.UNKNOWN_VALUE, "Set Order")
    assert q[6] == (Reason.OUT_OF_RANGE, "Set Order", "set order 3000000000 is too large")
    assert result.data["set_index"].to_list() == [1, 2]
