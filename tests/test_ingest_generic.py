"""Generic workout CSV reader: aliases, units, column maps, detection order."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from tests._helpers import read, reasons
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest import generic_workout
from toolkit.ingest._base import SET_INPUT, ReadOptions
from toolkit.ingest._parse import LB_TO_KG
from toolkit.ingest._read import read_bytes

GENERIC = Path(__file__).parent / "fixtures" / "generic"


_read = partial(read, contract=SET_INPUT)


def test_unit_column_with_bad_rows() -> None:
    r = _read(GENERIC / "generic_unit_column.csv")
    assert (r.format, r.layout, r.kind) == ("generic", "unit_column", "workout")
    assert r.rows_read == 12
    assert r.data.height == 5
    assert reasons(r) == {
        "unknown_unit": 2,  # line 4 empty unit in a kg+lb file, line 8 'stone'
        "unfilled_set": 1,  # line 6 Plank set 2: nothing filled
        "bad_number": 1,  # line 7 weight 'x'
        "out_of_range": 1,  # line 9 RPE 11
        "bad_date": 1,  # line 10 15/09/2025
        "missing_value": 1,  # line 11 no exercise
    }
    assert r.data["_line"].to_list() == [2, 3, 5, 12, 13]
    # 220 lb × 0.45359237 = 99.790 kg (rounded to 1 g).
    assert r.data["weight_kg"].to_list()[:2] == [100.0, round(220 * LB_TO_KG, 3)]
    assert r.data["weight_unit_original"].to_list()[:2] == ["kg", "lb"]
    assert r.data["weight_unit_assumed"].to_list()[:2] == [False, False]
    assert r.data["duration_s"][2] == 90.0  # Plank "1:30"
    assert r.data["rpe"].to_list()[:2] == [8.0, 8.5]
    # Line 12: pull-up with weight 0 = bodyweight (no external load), not a missing value.
    assert r.data["weight_kg"][3] is None and r.data["reps"][3] == 8.0
    assert r.data["notes"][3] == "bodyweight"
    assert r.data["workout_name"].to_list() == ["Lower", "Lower", "Lower", "Upper", "Upper"]
    assert r.data["set_index"].to_list() == [1, 2, 1, 1, 2]
    assert r.data["ts_local"][0] == datetime(2025, 9, 15, 7, 48)


def test_kg_in_header_set_type_and_numbering() -> None:
    r = _read(GENERIC / "generic_kg_header.csv")
    assert (r.layout, r.rows_read, r.data.height) == ("unit_in_header", 9, 7)
    assert reasons(r) == {"unknown_value": 1, "out_of_range": 1}  # 'superset'; reps -10
    assert r.data["set_type"].to_list() == [
        "warmup",
        "working",
        "failure",
        "working",
        "working",
        "working",
        "working",
    ]
    assert r.data["weight_kg"].to_list()[:3] == [60.0, 100.5, 110.0]
    assert set(r.data["weight_unit_original"].drop_nulls()) == {"kg"}
    assert not r.data["weight_unit_assumed"].any()
    assert r.data["duration_s"].to_list()[3:5] == [45.0, 50.0]  # "45", "0:50"
    # Bird dog has no set numbers: numbered 1, 2 by file order.
    assert r.data["set_index"].to_list() == [1, 2, 3, 1, 2, 1, 2]
    assert r.data["ts_utc"][0] == datetime(2025, 9, 15, 16, tzinfo=UTC)
    assert any("numbered by their order" in w for w in r.warnings)


def test_lbs_in_header_distance_time_and_session() -> None:
    r = _read(GENERIC / "generic_lbs_header.csv")
    assert (r.layout, r.rows_read, r.data.height, r.quarantine.height) == ("unit_in_header", 4, 4, 0)
    assert r.data["weight_original"].to_list()[:2] == [70.0, 45.0]
    assert r.data["weight_kg"].to_list()[:2] == [round(70 * LB_TO_KG, 3), round(45 * LB_TO_KG, 3)]
    assert r.data["distance_m"].to_list() == [50.0, None, 2000.0, 5500.0]  # Distance_km
    assert r.data["duration_s"].to_list() == [None, None, 510.0, 3900.0]  # Time 8:30, 1:05:00
    assert r.data["session_duration_s"].to_list() == [2700.0, 2700.0, 2700.0, None]  # 264h 1m: suspect
    assert r.data["session_duration_raw"][3] == "264h 1m"
    assert r.data["time_known"].to_list() == [False] * 4
    assert any("read as each set's duration" in w for w in r.warnings)
    assert any("over 6 h" in w for w in r.warnings)


def test_no_unit_is_assumed_and_announced() -> None:
    r = _read(GENERIC / "generic_no_unit.csv")
    assert (r.layout, r.rows_read, r.data.height) == ("no_unit", 5, 4)
    assert reasons(r) == {"unknown_value": 1}  # line 5: sets = 3 in one row
    assert r.assumptions == {"weight_unit": "kg"}
    assert "weights read as kg: the file carries no unit (assumed; pass --weight-unit lb" in r.warnings[0]
    assert r.data["weight_unit_assumed"].to_list() == [True, True, True, False]  # last: bodyweight
    assert r.data["weight_kg"].to_list() == [40.0, 40.0, 45.0, None]


def test_no_unit_with_weight_unit_option() -> None:
    r = _read(GENERIC / "generic_no_unit.csv", weight_unit="lb", weight_unit_given=True)
    assert r.assumptions == {"weight_unit": "lb"}
    assert r.data["weight_kg"].to_list()[:3] == [round(40 * LB_TO_KG, 3)] * 2 + [round(45 * LB_TO_KG, 3)]
    assert "as set with --weight-unit lb" in r.warnings[0]


def test_column_map_with_forced_format() -> None:
    r = _read(
        GENERIC / "generic_mapped.csv",
        format="generic",
        column_map={
            "date": "Datum",
            "exercise": "Übung",
            "reps": "Wdh",
            "weight": "Gewicht (kg)",
            "duration": "Dauer (min)",
            "notes": "Bemerkung",
        },
    )
    assert (r.layout, r.rows_read, r.data.height) == ("forced", 3, 2)
    assert reasons(r) == {"bad_number": 1}
    assert r.quarantine["column"].to_list() == ["Gewicht (kg)"]
    assert r.data["exercise_raw"].to_list() == ["Kniebeuge", "Radfahren"]
    assert r.data["weight_unit_original"].to_list() == ["kg", None]  # unit from the mapped name
    assert r.data["duration_s"].to_list() == [None, 1800.0]  # 30 min
    assert r.data["notes"].to_list() == [None, "locker"]


def test_forced_format_with_missing_columns() -> None:
    path = GENERIC / "generic_forced_missing.csv"
    with pytest.raises(IngestError) as auto:
        _read(path)
    assert auto.value.reason is Reason.UNKNOWN_FORMAT
    with pytest.raises(IngestError, match=r"missing: exercise.*columns found: when, what, how many") as info:
        _read(path, format="generic")
    assert info.value.reason is Reason.MISSING_COLUMN


@pytest.mark.parametrize(
    "header",
    [
        # Strong V1 and V3, Hevy, FitNotes (old and new), Fitbod (current and old), PROMs, pain.
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
        [
            "Workout #",
            "Date",
            "Workout Name",
            "Duration (sec)",
            "Exercise Name",
            "Set Order",
            "Weight (kg)",
            "Reps",
        ],
        [
            "title",
            "start_time",
            "end_time",
            "description",
            "exercise_title",
            "superset_id",
            "exercise_notes",
            "set_index",
            "set_type",
            "weight_kg",
            "reps",
            "distance_km",
            "duration_seconds",
            "rpe",
        ],
        ["Date", "Exercise", "Category", "Weight (lbs)", "Reps", "Distance", "Distance Unit", "Time"],
        [
            "Date",
            "Exercise",
            "Category",
            "Weight",
            "Weight Unit",
            "Reps",
            "Distance",
            "Distance Unit",
            "Time",
        ],
        [
            "Date",
            "Exercise",
            "Reps",
            "Weight(kg)",
            "Duration(s)",
            "Distance(m)",
            "isWarmup",
            "Note",
            "multiplier",
        ],
        ["Date", "Exercise", "Sets", "Reps", "Weight", "isWarmup", "Note"],
        ["date", "instrument", "score"],
        ["date", "pain", "location", "notes"],
    ],
)
def test_detect_leaves_other_formats_alone(header: list[str]) -> None:
    assert generic_workout.detect(header) is None


@pytest.mark.parametrize(
    ("header", "layout"),
    [
        (["date", "exercise", "reps", "weight", "unit", "duration", "rpe", "notes"], "unit_column"),
        (["Date", "Exercise Name", "Repetitions", "Load"], "no_unit"),
        (["day", "lift", "reps", "weight_lbs"], "unit_in_header"),
        (["timestamp", "movement", "seconds"], "no_unit"),
        (["date", "exercise", "notes"], None),  # nothing measured
        (["exercise", "reps", "weight"], None),  # no date
    ],
)
def test_detect_aliases(header: list[str], layout: str | None) -> None:
    assert generic_workout.detect(header) == layout


def test_nan_and_inf_are_bad_numbers() -> None:
    data = (
        b"date,exercise,reps,weight\n2025-09-01,Squat,nan,60\n2025-09-01,Squat,5,inf\n2025-09-01,Squat,5,60\n"
    )
    result, _ = read_bytes(data, "nan.csv", ReadOptions())
    assert (result.rows_read, result.data.height) == (3, 1)
    assert result.quarantine["reason"].to_list() == ["bad_number", "bad_number"]
    assert result.quarantine["column"].to_list() == ["reps", "weight"]


def test_column_map_alone_selects_the_generic_reader(tmp_path) -> None:
    """--map without --format: the mapping itself says which generic reader is meant."""
    from typer.testing import CliRunner

    from toolkit.cli import app

    store = tmp_path / "s.duckdb"
    res = CliRunner().invoke(
        app,
        [
            "ingest",
            str(GENERIC / "generic_mapped.csv"),
            "--patient",
            "p1",
            "--store",
            str(store),
            "--json",
            "--map",
            "date=Datum,exercise=Übung,reps=Wdh",
            "--map",
            "weight=Gewicht (kg),duration=Dauer (min)",
            "--map",
            "notes=Bemerkung",
        ],
    )
    assert res.exit_code == 0, res.output
    import json

    report = json.loads(res.stdout)
    assert (report["format"], report["rows_read"], report["rows_accepted"], report["rows_quarantined"]) == (
        "generic",
        3,
        2,
        1,
    )


@pytest.mark.parametrize("value", ["0", "-5", "2147483648", "1e19", "-1e19"])
def test_a_set_number_outside_1_to_2_31_is_quarantined(value: str) -> None:
    """A set number past the 32-bit set_index once failed the whole file in a cast (found
    by fuzzing); 0 and negatives reached validation with its generic message."""
    data = (
        "Date,Exercise Name,Set,Reps,Weight,Unit\n"
        f"2025-09-15 07:48,Squat,{value},5,100,kg\n2025-09-15 07:49,Squat,2,5,100,kg\n"
    ).encode()
    r, _ = read_bytes(data, "g.csv", ReadOptions(tz="UTC"))
    assert r.quarantine.select("_line", "column", "reason", "message").rows() == [
        (2, "Set", "out_of_range", f"set number {value} is not between 1 and 2147483647")
    ]
    assert r.data["set_index"].to_list() == [2]
