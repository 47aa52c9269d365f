"""Property-based tests: whatever bytes arrive, the outcome is a balanced report or
a clear refusal (IngestError with a reason) — never a crash, never a lost row."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import FIXTURES, REAL
from toolkit.exceptions import IngestError, ToolkitError
from toolkit.ingest import ReadOptions, read_bytes
from toolkit.ingest._normalise import normalise

SEEDS = {
    "strong_v4": (REAL / "strong_v4_small.csv").read_bytes(),
    "strong_v3": b"\n".join((REAL / "strong_v3_workout_number_2025-09.csv").read_bytes().split(b"\n")[:25]),
    "strong_v1": b"\n".join((REAL / "strong_ios_v1_2020-2021.csv").read_bytes().split(b"\n")[:25]),
    "hevy": b"\n".join((REAL / "hevy_kg_2024-2025.csv").read_bytes().split(b"\n")[:25]),
}
for _path in sorted(FIXTURES.rglob("*")):
    if _path.is_file() and _path.stat().st_size < 20_000:
        SEEDS[str(_path.relative_to(FIXTURES))] = _path.read_bytes()

OPTIONS = ReadOptions(tz="Europe/London")


def outcome(data: bytes, name: str = "mutant.csv") -> str:
    """Read and normalise; return 'ok' or 'refused'. Anything else propagates."""
    try:
        result, _ = read_bytes(data, name, OPTIONS)
        norm = normalise(result, patient_id="p", upload_id="u", tz="Europe/London")
    except IngestError as exc:
        assert exc.reason is not None
        text = str(exc)
        assert "\n" not in text and name in text
        return "refused"
    except ToolkitError:
        return "refused"
    assert result.data.height + result.quarantine.height == result.rows_read
    # the normaliser only moves rows from data to quarantine, never drops them
    assert norm.rows.height + norm.quarantine.height == result.data.height
    # no NaN or infinity reaches the canonical rows (what the store gets): every
    # comparison with NaN is false, so it would pass every range check into the store
    for frame in (norm.rows, norm.sessions if norm.sessions is not None else norm.rows):
        floats = [c for c, t in frame.schema.items() if t.is_float()]
        assert (
            not frame.select(pl.any_horizontal(~pl.col(c).is_finite() for c in floats).any()).item()
            if floats
            else True
        )
    return "ok"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes_are_read_or_refused(data: bytes) -> None:
    outcome(data)


def _mutate(seed: bytes, kind: str, pos: float, blob: bytes) -> bytes:
    i = int(pos * len(seed))
    if kind == "truncate":
        return seed[:i]
    if kind == "insert":
        return seed[:i] + blob + seed[i:]
    if kind == "delete":
        return seed[:i] + seed[i + len(blob) :]
    if kind == "huge_field":
        return seed[:i] + b"x" * 200_000 + seed[i:]
    if kind == "mixed_delimiters":
        return seed[:i] + seed[i:].replace(b",", b";", 3).replace(b";", b",", 2)
    if kind == "latin1":
        return seed.decode("utf-8", "replace").encode("latin-1", "replace") + "é".encode("latin-1")
    if kind == "utf16":
        return seed.decode("utf-8", "replace").encode("utf-16")
    if kind == "duplicate_lines":
        lines = seed.split(b"\n")
        j = max(1, int(pos * len(lines)))
        return b"\n".join(lines[:j] + lines[1:j] + lines[j:])
    if kind == "quote":
        return seed[:i] + b'"' + seed[i:]
    raise AssertionError(kind)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(sorted(SEEDS)),
    kind=st.sampled_from(
        [
            "truncate",
            "insert",
            "delete",
            "huge_field",
            "mixed_delimiters",
            "latin1",
            "utf16",
            "duplicate_lines",
            "quote",
        ]
    ),
    pos=st.floats(0, 1),
    blob=st.binary(min_size=1, max_size=40),
)
def test_mutated_exports_are_read_or_refused(seed: str, kind: str, pos: float, blob: bytes) -> None:
    outcome(_mutate(SEEDS[seed], kind, pos, blob), Path(seed).name)


def test_huge_unknown_unit_cell_is_quarantined_not_a_panic() -> None:
    """Found by the fuzzer: a 200,000-character Weight Unit cell made polars read the
    file in two chunks, the quarantine filter emptied one, and pl.format panicked on the
    message (pola-rs/polars#25339). Messages are built by toolkit._polars.format_str."""
    seed = (FIXTURES / "strong" / "v2a_mixed_units.csv").read_bytes()
    at = seed.index(b";1;25;lbs;") + len(b";1;25;lb")
    data = seed[:at] + b"x" * 200_000 + seed[at:]
    result, _ = read_bytes(data, "v2a_mixed_units.csv", OPTIONS)
    assert outcome(data, "v2a_mixed_units.csv") == "ok"
    bad = result.quarantine.filter(pl.col("reason") == "unknown_unit")
    # line 5 ("stone") is the fixture's own unknown unit
    assert bad["_line"].to_list() == [3, 5] and bad["column"].to_list() == ["Weight Unit"] * 2
    assert bad["message"][0].startswith("unknown weight unit 'lbxxx")


def test_every_genuine_export_reads_with_balanced_accounting() -> None:
    for path in sorted(REAL.glob("*.csv")):
        assert outcome(path.read_bytes(), path.name) == "ok", path


@pytest.mark.parametrize(
    "path",
    sorted(p for p in FIXTURES.rglob("*") if p.is_file()),
    ids=lambda p: str(p.relative_to(FIXTURES)),
)
def test_every_hand_made_fixture_is_read_or_clearly_refused(path: Path) -> None:
    outcome(path.read_bytes(), path.name)


# One row of a real or hand-made export per app, and the columns of its weight and reps.
_APP_ROWS = {
    "strong_v1": (REAL / "strong_ios_v1_2020-2021.csv", "Weight", "Reps"),
    "strong_v4": (REAL / "strong_v4_small.csv", "Weight", "Reps"),
    "hevy": (REAL / "hevy_kg_2024-2025.csv", "weight_kg", "reps"),
    "fitnotes": (FIXTURES / "fitnotes" / "FitNotes_Export_lbs.csv", "Weight (lbs)", "Reps"),
    "fitbod": (FIXTURES / "fitbod" / "WorkoutExport_kg.csv", "Weight(kg)", "Reps"),
    "generic": (FIXTURES / "generic" / "generic_kg_header.csv", "weight (kg)", "repetitions"),
}


def _with_cell(path: Path, column: str, value: str) -> bytes:
    """The header and second data row of ``path`` (a set with weight and reps), with
    ``column`` set to ``value``, plus the unchanged third row."""
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    header, first = rows[0], list(rows[2])
    first[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([header, first, rows[3]])
    return out.getvalue().encode()


@pytest.mark.parametrize("token", ["nan", "NaN", "inf", "-inf", "Infinity", "1e400"])
@pytest.mark.parametrize("app", ["strong_v1", "strong_v4", "hevy", "fitnotes", "fitbod", "generic"])
@pytest.mark.parametrize("which", ["weight", "reps"])
def test_non_finite_numbers_are_quarantined_as_bad_numbers(app: str, which: str, token: str) -> None:
    """``nan``, ``inf`` and numbers past Float64's range parse as floats, but are no weight
    and no count: the row is quarantined ``bad_number`` naming the column, never stored."""
    path, weight, reps = _APP_ROWS[app]
    column = weight if which == "weight" else reps
    result, _ = read_bytes(_with_cell(path, column, token), path.name, OPTIONS)
    assert result.rows_read == 2
    q = result.quarantine.row(0, named=True)
    assert (q["reason"], q["column"]) == ("bad_number", column), q
    assert token in q["message"]
    assert result.data.height == 1
    assert outcome(_with_cell(path, column, token), path.name) == "ok"


# Cells read as seconds or metres, per app: (file, column, where a bad value ends up).
_OTHER_CELLS = {
    "strong Seconds": (REAL / "strong_ios_v1_2020-2021.csv", "Seconds", "row"),
    "strong Distance": (REAL / "strong_ios_v1_2020-2021.csv", "Distance", "row"),
    "strong Duration": (REAL / "strong_ios_v1_2020-2021.csv", "Duration", "session"),
    "hevy distance_km": (REAL / "hevy_kg_2024-2025.csv", "distance_km", "row"),
    "fitnotes Time": (FIXTURES / "fitnotes" / "FitNotes_Export_lbs.csv", "Time", "row"),
    "generic Duration": (FIXTURES / "generic" / "generic_unit_column.csv", "Duration", "row"),
    "generic Time": (FIXTURES / "generic" / "generic_lbs_header.csv", "Time", "row"),
    "generic Workout Duration": (
        FIXTURES / "generic" / "generic_lbs_header.csv",
        "Workout Duration",
        "session",
    ),
}


@pytest.mark.parametrize("token", ["nan", "inf", "-inf", "1e400", "1e306", "-5"])
@pytest.mark.parametrize("cell", sorted(_OTHER_CELLS))
def test_durations_and_distances_never_store_a_non_finite_or_negative_value(cell: str, token: str) -> None:
    """A duration or distance that is not a finite, non-negative length — or one that
    overflows when converted to seconds or metres (``1e306`` km) — never reaches the
    rows or the sessions: a set's cell quarantines its row (with a reason), a session's
    length is kept as text only and said so; the import never stops on it."""
    path, column, where = _OTHER_CELLS[cell]
    data = _with_cell(path, column, token)
    result, _ = read_bytes(data, path.name, OPTIONS)
    norm = normalise(result, patient_id="p", upload_id="u", tz="Europe/London")
    assert outcome(data, path.name) == "ok"
    quarantined = pl.concat([result.quarantine.select("reason"), norm.quarantine.select("reason")])
    if where == "session":
        assert result.rows_read == 2 and norm.rows.height == 2 - quarantined.height
        assert norm.sessions is not None
        assert norm.sessions.filter(pl.col("duration_s") < 0).height == 0
        if token != "1e306":  # 1e306 s is a length, just an implausible one (flagged)
            assert any("duration" in w for w in result.warnings), result.warnings
    elif token in ("1e306",) and column in ("Seconds", "Time", "Duration"):
        pass  # a finite number of seconds: stored as it is, or flagged by the reader's range rules
    elif token == "-5" and column in ("Seconds",):
        pass  # Strong's rest-timer seconds: its own rules
    else:
        assert quarantined.height >= 1, (result.quarantine, norm.quarantine)


@pytest.mark.parametrize("path", [FIXTURES / "apple" / "export.xml", FIXTURES / "fhir" / "bundle_mixed.json"])
def test_records_sharing_a_line_are_each_accounted_once(path: Path) -> None:
    """An XML or JSON export written without line breaks puts several records on one line:
    a quarantined record is still one quarantine row (found by the fuzzer: a deleted
    newline made one quarantined Apple Health record count twice)."""
    flat = b" ".join(line.strip() for line in path.read_bytes().splitlines())
    assert outcome(flat, path.name) == "ok"
    result, _ = read_bytes(flat, path.name, OPTIONS)
    assert result.quarantine.height >= 1  # the fixtures hold records that are refused
