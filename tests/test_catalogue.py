"""Tests of the exercise catalogue and the name mapping (toolkit.ingest.catalogue)."""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl
import pytest

from toolkit.exceptions import OptionError
from toolkit.ingest.catalogue import (
    BODY_REGIONS,
    CATALOGUE_COLUMNS,
    CATEGORIES,
    MOVEMENT_PATTERNS,
    load_catalogue,
    map_exercises,
    normalise_name,
)

PACKAGED = Path(__file__).resolve().parents[1] / "toolkit" / "data" / "exercise_catalogue.csv"
HEADER = "canonical_name,aliases,equipment,movement_pattern,category,body_region,bodyweight_factor"

# Names from the real exports that are deliberately left unmapped, with the reason.
DELIBERATELY_UNMAPPED: dict[str, str] = {}

OUTPUT_SCHEMA = {
    "exercise_raw": pl.String,
    "exercise": pl.String,
    "exercise_mapped": pl.Boolean,
    "equipment": pl.String,
    "movement_pattern": pl.String,
    "category": pl.String,
    "body_region": pl.String,
    "bodyweight_factor": pl.Float64,
}


def _real_exercise_names(real_dir: Path) -> list[str]:
    """Every distinct exercise name in the genuine exports (Strong and Hevy)."""
    names: set[str] = set()
    files = sorted(real_dir.glob("*.csv"))
    assert files, f"no real fixtures found in {real_dir}"
    for path in files:
        header = path.read_text(encoding="utf-8-sig").splitlines()[0]
        separator = ";" if header.count(";") > header.count(",") else ","
        df = pl.read_csv(path, separator=separator, infer_schema=False)
        column = "exercise_title" if "exercise_title" in df.columns else "Exercise Name"
        names.update(df[column].drop_nulls().unique().to_list())
    return sorted(names)


def _write(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "cat.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


# --- the packaged catalogue ----------------------------------------------------------------


def test_packaged_catalogue_header_is_exact() -> None:
    assert PACKAGED.read_text(encoding="utf-8").splitlines()[0] == HEADER


def test_packaged_catalogue_loads_and_is_valid() -> None:
    cat = load_catalogue()
    assert tuple(cat.columns) == CATALOGUE_COLUMNS
    assert cat.schema["bodyweight_factor"] == pl.Float64
    assert cat.height >= 150
    assert cat["canonical_name"].is_unique().all()
    assert set(cat["category"]) <= CATEGORIES
    assert set(cat["movement_pattern"].drop_nulls()) <= MOVEMENT_PATTERNS
    assert set(cat["body_region"].drop_nulls()) <= BODY_REGIONS
    factors = cat["bodyweight_factor"].drop_nulls()
    assert ((factors > 0) & (factors <= 1)).all()
    # Stretches and cardio carry no bodyweight factor.
    assert cat.filter(pl.col("category").is_in(["stretch", "cardio"]))["bodyweight_factor"].is_null().all()


def test_packaged_catalogue_is_the_same_through_a_path() -> None:
    assert load_catalogue(PACKAGED).equals(load_catalogue())


def test_loaded_catalogue_is_a_copy() -> None:
    first = load_catalogue()
    first.drop_in_place("aliases")
    assert "aliases" in load_catalogue().columns


@pytest.mark.parametrize(
    ("exercise", "factor"),
    [
        # Ebben et al. 2011, J Strength Cond Res 25(10):2891: peak vertical force at the
        # hands as a fraction of body mass.
        ("Push-Up", 0.64),
        ("Knee Push-Up", 0.49),
        # Whole body hangs from / is supported on the hands.
        ("Pull-Up", 1.0),
        ("Chin-Up", 1.0),
        ("Dip", 1.0),
        # Winter 2009 (Dempster): HAT 0.678 × cos 45° ≈ 0.48, rounded.
        ("Back Extension", 0.5),
        # Melrose & Dawes 2015: 0.53 at 45°, 0.68 at 60° from vertical.
        ("Inverted Row", 0.6),
    ],
)
def test_bodyweight_factors_match_their_sources(exercise: str, factor: float) -> None:
    cat = load_catalogue()
    value = cat.filter(pl.col("canonical_name") == exercise)["bodyweight_factor"].item()
    assert value == pytest.approx(factor)


@pytest.mark.parametrize("exercise", ["Deadlift", "Bench Press", "Squat", "Pectoral Stretch"])
def test_external_load_and_stretches_have_no_factor(exercise: str) -> None:
    cat = load_catalogue()
    assert cat.filter(pl.col("canonical_name") == exercise)["bodyweight_factor"].item() is None


# --- real exports --------------------------------------------------------------------------


def test_every_name_in_the_real_exports_maps(real_dir: Path) -> None:
    names = _real_exercise_names(real_dir)
    assert len(names) > 100
    out = map_exercises(names)
    unmapped = set(out.filter(~pl.col("exercise_mapped"))["exercise_raw"])
    assert unmapped == set(DELIBERATELY_UNMAPPED), sorted(unmapped - set(DELIBERATELY_UNMAPPED))
    assert out.filter(pl.col("exercise_mapped"))["category"].is_not_null().all()


# --- seed exercises and aliases ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Deadlift (Barbell)", "Deadlift"),
        ("Conventional Deadlift", "Deadlift"),
        ("Sumo Deadlift (Barbell)", "Sumo Deadlift"),
        ("Romanian Deadlift (Dumbbell)", "Romanian Deadlift"),
        ("Romanian Deadlift (Barbell)", "Romanian Deadlift"),
        ("RDL", "Romanian Deadlift"),
        ("Stiff Leg Deadlift", "Stiff-Leg Deadlift"),
        ("Straight Leg Deadlift (Barbell)", "Stiff-Leg Deadlift"),
        ("Trap Bar Deadlift", "Trap Bar Deadlift"),
        ("Deadlift (Trap Bar)", "Trap Bar Deadlift"),
        ("Single Leg Romanian Deadlift (Dumbbell)", "Single-Leg Romanian Deadlift"),
        ("Deficit Deadlift", "Deficit Deadlift"),
        ("Rack Pull (Barbell)", "Rack Pull"),
        ("Back Extension (Machine)", "Back Extension"),
        ("Back Extension (Weighted Hyperextension)", "Back Extension"),
        ("Hyperextension", "Back Extension"),
        ("45 Degree Back Extension", "Back Extension"),
        ("GHD Back Extension", "Back Extension"),
        ("Reverse Hyperextension", "Reverse Hyperextension"),
        ("Hip Extension", "Hip Extension"),
        ("Press-Up", "Push-Up"),
        ("Push Up", "Push-Up"),
        ("Press Up", "Push-Up"),
        ("Pushup", "Push-Up"),
        ("Push Up (Knees)", "Knee Push-Up"),
        ("Incline Push-Up", "Incline Push-Up"),
        ("Decline Push Up", "Decline Push-Up"),
        ("Pectoral Stretch", "Pectoral Stretch"),
        ("Doorway Pec Stretch", "Pectoral Stretch"),
        ("Chest Stretch", "Pectoral Stretch"),
        ("Side Bending", "Side Bend"),
        ("Lateral Flexion", "Side Bend"),
        ("Pancake Side Bend", "Side Bend"),
        ("Dumbbell Side Bend", "Side Bend"),
        ("Side Bend (Dumbbell)", "Side Bend"),
        ("Backward Bending", "Backward Bending"),
        ("Cobra", "Backward Bending"),
        ("Prone Press-Up", "Backward Bending"),
        ("McKenzie Extension", "Backward Bending"),
        ("Standing Back Extension", "Backward Bending"),
        ("Side Bridge", "Side Plank"),
        ("Supermans", "Superman"),
        ("Bird Dog", "Bird Dog"),
        ("Dead Bug", "Dead Bug"),
        ("Glute Bridge", "Glute Bridge"),
        ("Plank", "Plank"),
        ("Cat Cow", "Cat-Cow"),
        ("Child\u2019s Pose", "Child's Pose"),
        ("Hamstring Stretch", "Hamstring Stretch"),
        ("Kneeling Hip Flexor Stretch", "Hip Flexor Stretch"),
        ("Piriformis Stretch", "Piriformis Stretch"),
        ("Knee-to-Chest", "Knee to Chest Stretch"),
        ("Pelvic Tilt", "Pelvic Tilt"),
        ("Clamshell", "Clamshell"),
        ("Running (Treadmill)", "Running"),
        ("Walking", "Walking"),
        ("Cycling", "Cycling"),
        ("Rowing (Machine)", "Rowing Machine"),
        ("Elliptical Trainer", "Elliptical"),
        ("Swimming", "Swimming"),
        ("Overhead Press (Each Side, Dumbbells)", "Overhead Press"),
        ("Lat Pulldown - Close Grip (Cable)", "Lat Pulldown"),
        ("Calf Press on Seated Leg Press", "Calf Press"),
    ],
)
def test_seed_and_app_names_map(raw: str, expected: str) -> None:
    out = map_exercises([raw])
    assert out["exercise"].to_list() == [expected]
    assert out["exercise_mapped"].to_list() == [True]


@pytest.mark.parametrize("raw", ["PUSH-UP", "  push   up ", "push_up", "Push/Up", "Push\u2013Up", "Push.Up"])
def test_spelling_variants_map(raw: str) -> None:
    assert map_exercises([raw])["exercise"].item() == "Push-Up"


def test_attributes_come_from_the_catalogue() -> None:
    row = map_exercises(["Romanian Deadlift (Dumbbell)"]).row(0, named=True)
    assert row == {
        "exercise_raw": "Romanian Deadlift (Dumbbell)",
        "exercise": "Romanian Deadlift",
        "exercise_mapped": True,
        "equipment": "dumbbell",
        "movement_pattern": "hinge",
        "category": "strength",
        "body_region": "lower_back",
        "bodyweight_factor": None,
    }
    stretch = map_exercises(["Pectoral Stretch"]).row(0, named=True)
    assert (stretch["category"], stretch["movement_pattern"]) == ("stretch", "stretch")


# --- unknown names, equipment, order and nulls -----------------------------------------------


def test_unknown_names_are_kept_verbatim() -> None:
    raw = ["  Zercher Lunge Hold ", "Biceps Curl To Shoulder Press", "Latzug Eng (Band)"]
    out = map_exercises(raw)
    assert out["exercise_raw"].to_list() == raw
    assert out["exercise"].to_list() == [None, None, None]
    assert out["exercise_mapped"].to_list() == [False, False, False]
    assert out["category"].to_list() == [None, None, None]
    # The bracket of an unknown name still tells the equipment.
    assert out["equipment"].to_list() == [None, None, "band"]


@pytest.mark.parametrize(
    ("raw", "equipment"),
    [
        ("Deadlift (Barbell)", "barbell"),
        ("Bench Press (Dumbbell)", "dumbbell"),
        ("Squat (Smith Machine)", "smith machine"),
        ("Shoulder Press (Machine Plates)", "machine plates"),
        ("Pull Up (Assisted)", "assisted"),
        ("Back Extension ( MACHINE )", "machine"),
        # no bracket: an equipment word in the name, else the catalogue default
        ("Dumbbell Side Bend", "dumbbell"),
        ("Meadows Incline DB Lateral Raise", "dumbbell"),
        ("Kettlebell Carry", "kettlebell"),
        ("Deadlift", "barbell"),
        ("Push Up", "bodyweight"),
        ("Pectoral Stretch", "none"),
        # a bracket that is part of an alias is not equipment
        ("Push Up (Knees)", "bodyweight"),
        ("Deadlift (Trap Bar)", "trap bar"),
    ],
)
def test_equipment(raw: str, equipment: str) -> None:
    assert map_exercises([raw])["equipment"].item() == equipment


def test_order_duplicates_and_nulls_are_preserved() -> None:
    raw = ["Squat (Barbell)", None, "No Such Exercise", "Squat (Barbell)", "Push Up", None]
    out = map_exercises(pl.Series("whatever", raw))
    assert out.schema == OUTPUT_SCHEMA
    assert out.height == len(raw)
    assert out["exercise_raw"].to_list() == raw
    assert out["exercise"].to_list() == ["Squat", None, None, "Squat", "Push-Up", None]
    assert out["exercise_mapped"].to_list() == [True, False, False, True, True, False]
    assert out["equipment"].to_list() == ["barbell", None, None, "barbell", "bodyweight", None]


def test_empty_and_all_null_input() -> None:
    empty = map_exercises([])
    assert empty.height == 0
    assert empty.schema == OUTPUT_SCHEMA
    nulls = map_exercises(pl.Series([None, None]))
    assert nulls.schema == OUTPUT_SCHEMA
    assert nulls["exercise_mapped"].to_list() == [False, False]


@pytest.mark.parametrize("bad", ["Deadlift", 42, pl.Series([1, 2]), [1, "Squat"]])
def test_bad_names_argument_raises(bad: object) -> None:
    with pytest.raises(OptionError, match="names must"):
        map_exercises(bad)  # type: ignore[arg-type]


def test_input_is_not_modified() -> None:
    series = pl.Series("exercise_name", ["Deadlift (Barbell)", None])
    before = series.clone()
    map_exercises(series)
    assert series.equals(before)
    assert series.name == "exercise_name"


def test_million_rows_are_mapped_quickly() -> None:
    names = pl.Series(load_catalogue()["canonical_name"].head(200))
    rows = (names + " (Barbell)").append(names).sample(1_000_000, with_replacement=True, seed=0)
    start = time.perf_counter()
    out = map_exercises(rows)
    elapsed = time.perf_counter() - start
    assert out.height == 1_000_000
    assert out["exercise_mapped"].all()
    assert out["exercise_raw"].equals(rows.rename("exercise_raw"))
    # Typically well under 0.2 s; a per-row Python loop would take many seconds.
    assert elapsed < 3.0


# --- normalisation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("  Push-Up  ", "push up"),
        ("Clean & Jerk", "clean and jerk"),
        ("C&J", "c and j"),
        ("Cat/Cow", "cat cow"),
        ("hip_flexor_stretch", "hip flexor stretch"),
        ("Child\u2019s Pose", "childs pose"),
        ("Child's  Pose", "childs pose"),
        ("St. Louis Row", "st louis row"),
        ("Deadlift(Barbell)", "deadlift (barbell)"),
        ("Deadlift ( Barbell )", "deadlift (barbell)"),
        ("Lat Pulldown - Close Grip (Cable)", "lat pulldown close grip (cable)"),
        (None, None),
    ],
)
def test_normalise_name(raw: str | None, normalised: str | None) -> None:
    df = pl.DataFrame({"n": [raw]}, schema={"n": pl.String})
    assert df.select(normalise_name(pl.col("n")))["n"].item() == normalised


# --- user catalogues and their validation ---------------------------------------------------


def test_user_catalogue_is_used(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Hip Hinge Drill,Dowel Hinge|Broomstick Hinge,dowel,Hinge,Mobility,LOWER_BACK,",
        "Push-Up,Press-Up,bodyweight,horizontal_push,strength,chest, 0.64 ",
    )
    cat = load_catalogue(path)
    assert cat.row(0, named=True)["category"] == "mobility"  # read case-insensitively
    assert cat["bodyweight_factor"].to_list() == [None, 0.64]
    out = map_exercises(["Broomstick Hinge", "Press Up", "Deadlift"], cat)
    assert out["exercise"].to_list() == ["Hip Hinge Drill", "Push-Up", None]
    assert out["equipment"].to_list() == ["dowel", "bodyweight", None]


def test_utf8_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    text = HEADER + "\r\n" + "Side Bend,Side Bending,,core_lateral,strength,core,\r\n"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert load_catalogue(path)["canonical_name"].to_list() == ["Side Bend"]


def test_duplicate_alias_raises(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Push-Up,Press-Up|Press Up,bodyweight,horizontal_push,strength,chest,0.64",
        "Backward Bending,Cobra|press up,none,core_extension,mobility,lower_back,",
    )
    with pytest.raises(OptionError, match=r"cat\.csv, row 2 \(line 3\): alias 'press up'") as err:
        load_catalogue(path)
    assert "'Push-Up' (row 1) and 'Backward Bending' (row 2)" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_alias_equal_to_another_canonical_name_raises(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Side Plank,Side Bridge,bodyweight,core_lateral,strength,core,",
        "Plank,Side-Plank,bodyweight,core_anti_extension,strength,core,",
    )
    with pytest.raises(OptionError, match=r"row 2 .*alias 'Side-Plank'.*claimed by"):
        load_catalogue(path)


def test_duplicate_canonical_name_raises(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Plank,,bodyweight,core_anti_extension,strength,core,",
        "Squat,,barbell,squat,strength,legs,",
        "plank,Front Plank,bodyweight,core_anti_extension,strength,core,",
    )
    with pytest.raises(
        OptionError, match=r"cat\.csv, row 3 \(line 4\): canonical_name 'plank' repeats 'Plank'"
    ):
        load_catalogue(path)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("Plank,,bodyweight,core_anti_extension,strenght,core,", r"unknown category 'strenght'"),
        ("Plank,,bodyweight,core_anti_extension,,core,", r"category is empty for 'Plank'"),
        ("Plank,,bodyweight,anti_extension,strength,core,", r"unknown movement_pattern"),
        ("Plank,,bodyweight,core_anti_extension,strength,abs,", r"unknown body_region 'abs'"),
        (
            "Plank,,bodyweight,core_anti_extension,strength,core,0.5.1",
            r"bodyweight_factor '0\.5\.1' is not a number",
        ),
        (
            'Plank,,bodyweight,core_anti_extension,strength,core,"0,6"',
            r"bodyweight_factor '0,6' is not a number",
        ),
        (
            "Plank,,bodyweight,core_anti_extension,strength,core,1.5",
            r"bodyweight_factor 1\.5 is out of range",
        ),
        ("Plank,,bodyweight,core_anti_extension,strength,core,0", r"bodyweight_factor 0\.0 is out of range"),
        (",Plank,bodyweight,core_anti_extension,strength,core,", r"canonical_name is empty"),
    ],
)
def test_invalid_values_raise(tmp_path: Path, row: str, message: str) -> None:
    path = _write(tmp_path, "Squat,,barbell,squat,strength,legs,", row)
    with pytest.raises(OptionError, match=r"cat\.csv, row 2 \(line 3\): " + message):
        load_catalogue(path)


def test_wrong_header_raises(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "Plank,,bodyweight,core_anti_extension,strength,core",
        header="canonical_name,aliases,equipment,movement_pattern,category,region",
    )
    with pytest.raises(OptionError, match=r"missing column\(s\) body_region, bodyweight_factor"):
        load_catalogue(path)


def test_semicolon_file_raises(tmp_path: Path) -> None:
    path = _write(tmp_path, "Plank;;bodyweight;plank;strength;core;", header=HEADER.replace(",", ";"))
    with pytest.raises(OptionError, match="missing column"):
        load_catalogue(path)


def test_missing_empty_and_non_utf8_files_raise(tmp_path: Path) -> None:
    with pytest.raises(OptionError, match="not found"):
        load_catalogue(tmp_path / "nope.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(OptionError, match="empty"):
        load_catalogue(empty)
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "\nCaf\xe9 Squat,,,squat,strength,legs,\n").encode("latin-1"))
    with pytest.raises(OptionError, match=r"latin\.csv: not UTF-8"):
        load_catalogue(latin)


def test_ragged_row_raises(tmp_path: Path) -> None:
    path = _write(tmp_path, "Plank,,bodyweight,core_anti_extension,strength,core,,extra,more")
    with pytest.raises(OptionError, match=r"cat\.csv"):
        load_catalogue(path)


def test_invalid_catalogue_frame_raises() -> None:
    cat = load_catalogue()
    bad = pl.concat([cat, cat.head(1)])
    with pytest.raises(OptionError, match="catalogue frame, row"):
        map_exercises(["Deadlift"], bad)
    with pytest.raises(OptionError, match="missing column"):
        map_exercises(["Deadlift"], cat.drop("category"))
