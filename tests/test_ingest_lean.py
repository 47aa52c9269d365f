"""The fast paths of the ingest (issue 8) give exactly what the plain ways give."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from toolkit.exceptions import Reason
from toolkit.ingest._base import Rejects
from toolkit.ingest._normalise import md5_hex


def _md5_reference(keys: list[str], lines: list[int] | None) -> list[str]:
    """The key definition written out: md5(key) or md5(key + chr(31) + occurrence),
    occurrences of equal keys numbered 0, 1, … in line order (then position)."""
    if lines is None:
        return [hashlib.md5(k.encode()).hexdigest() for k in keys]
    order = sorted(range(len(keys)), key=lambda i: (lines[i], i))
    seen: dict[str, int] = {}
    occurrence = [0] * len(keys)
    for i in order:
        occurrence[i] = seen.get(keys[i], 0)
        seen[keys[i]] = occurrence[i] + 1
    return [hashlib.md5(f"{k}\x1f{o}".encode()).hexdigest() for k, o in zip(keys, occurrence, strict=True)]


def test_md5_keys_match_their_definition_with_repeats_out_of_line_order() -> None:
    keys = ["a", "b", "a", "c", "a", "b", "ü\x1fx", "ü\x1fx"]
    lines = [9, 3, 2, 4, 2, 8, 7, 1]
    got = md5_hex(pl.Series("k", keys), pl.Series("l", lines)).to_list()
    assert got == _md5_reference(keys, lines)
    assert md5_hex(pl.Series("k", keys)).to_list() == _md5_reference(keys, None)


def test_md5_keys_without_repeats_and_empty() -> None:
    keys = [f"set{i}" for i in range(1000)]
    lines = list(range(2, 1002))
    assert md5_hex(pl.Series("k", keys), pl.Series("l", lines)).to_list() == _md5_reference(keys, lines)
    assert md5_hex(pl.Series("k", [], dtype=pl.String), pl.Series("l", [], dtype=pl.Int64)).len() == 0


def test_pull_without_matches_returns_the_frame_itself() -> None:
    rej = Rejects()
    df = pl.DataFrame({"_line": [2, 3], "reps": ["10", "x"]})
    assert rej.pull(df, pl.col("reps") == "y", Reason.BAD_NUMBER, "reps", "no") is df
    assert rej.pull(df, pl.lit(False), Reason.BAD_NUMBER, "reps", "no") is df
    kept = rej.pull(df, pl.col("reps") == "x", Reason.BAD_NUMBER, "reps", "not a number")
    assert kept["_line"].to_list() == [2]
    assert rej.frame()["_line"].to_list() == [3]
    everything = Rejects().pull(df, pl.lit(True), Reason.BAD_NUMBER, "reps", "all")
    assert everything.height == 0


def test_recovery_ingest_does_not_import_what_it_does_not_use(tmp_path: Path, real_dir: Path) -> None:
    """Start-up: pandas, hypothesis (pulled in by pandera), rich (no terminal) and the
    analysis stack stay unimported by ``recovery ingest``; the store is still written."""
    code = (
        "import sys\n"
        "from toolkit.cli import main\n"
        f"sys.argv = ['recovery', 'ingest', {str(real_dir / 'strong_v4_2025-10.csv')!r}, '--patient', 'p',"
        f" '--store', {str(tmp_path / 's.duckdb')!r}, '--tz', 'UTC']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "heavy = ['pandas', 'hypothesis', 'rich', 'scipy', 'statsmodels', 'sklearn', 'plotly', 'streamlit']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout + out.stderr
    assert "rows read" in out.stdout


def _records_reference(data: bytes, sep: str) -> tuple[list[int], list[int], list[int], list[int]]:
    """Record boundaries written out byte by byte (RFC 4180 quotes), for comparison."""
    starts, ends, fields, lines = [], [], [], []
    inside, start, count, line, start_line = False, 0, 1, 1, 1
    for i, ch in enumerate(data):
        if ch == 34:
            inside = not inside
        elif ch == ord(sep) and not inside:
            count += 1
        elif ch == 10:
            line += 1
            if not inside:
                end = i - 1 if i > start and data[i - 1] == 13 else i
                starts.append(start), ends.append(end), fields.append(count), lines.append(start_line)
                start, count, start_line = i + 1, 1, line
    if not data or data[-1] != 10:
        end = len(data) - 1 if len(data) > start and data[-1] == 13 else len(data)
        starts.append(start), ends.append(end), fields.append(count), lines.append(start_line)
    return starts, ends, fields, lines


def test_records_are_found_the_same_across_block_boundaries(monkeypatch) -> None:
    from toolkit.ingest import _text

    data = (
        b'Date,"Name, with comma",Notes\r\n'
        b'2024-01-01,"a ""quoted"" word","two\nlines, and a comma"\r\n'
        b"\r\n"
        b"2024-01-02,b\n"
        b'2024-01-03,"c",,,extra\n'
        b"\n"
        b'2024-01-04,"multi\n\nline",end'
    )
    expected = _records_reference(data, ",")
    for block in (1, 2, 3, 5, 7, 64, 1 << 22):
        monkeypatch.setattr(_text, "_BLOCK", block)
        *got, newlines = _text._records(data, ",", "f.csv")
        assert [a.tolist() for a in got] == [list(x) for x in expected], block
        assert newlines == data.count(b"\n"), block
    monkeypatch.setattr(_text, "_BLOCK", 3)
    small = _text.parse_csv(data, "f.csv")
    monkeypatch.setattr(_text, "_BLOCK", 1 << 22)
    assert small.rows.equals(_text.parse_csv(data.decode(), "f.csv").rows)
    assert small.raw_text([2, 5]) == [
        '2024-01-01,"a ""quoted"" word","two\nlines, and a comma"',
        "2024-01-02,b",
    ]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    data=st.lists(
        st.sampled_from([b"a", b",", b";", b'"', b"\n", b"\r", b" ", b"\xc3\xa9"]), min_size=1, max_size=80
    ).map(b"".join),
    block=st.integers(1, 70),
    sep=st.sampled_from([",", ";"]),
)
def test_records_equal_the_byte_by_byte_reference_for_any_bytes(
    monkeypatch, data: bytes, block: int, sep: str
) -> None:
    """Whatever the bytes and the block size, the vectorised scan finds the records, field
    counts and lines the byte-by-byte reference finds (or says the quotes never close).
    (Empty input never gets here: it is refused as an empty file first.)"""
    import pytest

    from toolkit.exceptions import IngestError
    from toolkit.ingest import _text

    monkeypatch.setattr(_text, "_BLOCK", block)
    if data.count(b'"') % 2:
        with pytest.raises(IngestError, match="ends inside a quoted field"):
            _text._records(data, sep, "f.csv")
        return
    *got, newlines = _text._records(data, sep, "f.csv")
    assert [a.tolist() for a in got] == [list(x) for x in _records_reference(data, sep)]
    assert newlines == data.count(b"\n")


def test_truncated_quote_is_found_in_a_later_block(monkeypatch) -> None:
    import pytest

    from toolkit.exceptions import IngestError
    from toolkit.ingest import _text

    monkeypatch.setattr(_text, "_BLOCK", 4)
    with pytest.raises(IngestError) as err:
        _text.parse_csv(b'a,b\n1,2\n3,"open\nstill open\n', "t.csv")
    assert err.value.reason == Reason.TRUNCATED and err.value.row == 3


def test_store_created_with_the_old_indexed_key_still_ingests_and_deduplicates(
    tmp_path: Path, real_dir: Path
) -> None:
    """Stores made before issue 8 have ``PRIMARY KEY (set_id)`` on sets; new ones do
    not. Both take the same ingest, re-uploads included, and keep the exact bytes."""
    import duckdb

    from toolkit.ingest import ReadOptions
    from toolkit.schema import ddl
    from toolkit.store import Store

    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute(ddl("sets").replace("\n)", ",\n    PRIMARY KEY (set_id)\n)"))
    con.close()
    export = real_dir / "strong_ios_v1_2020-2021.csv"
    for path in (old, tmp_path / "new.duckdb"):
        store = Store(path)
        first = store.ingest([export], patient_id="p", options=ReadOptions(tz="UTC"))[0]
        again = store.ingest([export], patient_id="p", options=ReadOptions(tz="UTC"))[0]
        assert first.rows_accepted > 1800 and again.rows_accepted == 0
        assert again.rows_duplicate == first.rows_accepted and again.already_ingested
        assert store.table("sets").height == first.rows_accepted
        assert store.raw_bytes(first.content_sha256) == export.read_bytes()
    con = duckdb.connect(str(old), read_only=True)
    assert con.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'sets' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone() == (1,)
    con.close()


def test_validation_through_hashes_rejects_exactly_what_the_model_rejects(real_dir: Path) -> None:
    import pandera.errors
    import pytest

    from toolkit.ingest import ReadOptions, read_file
    from toolkit.ingest._normalise import _validate, normalise, validated
    from toolkit.schema import Sessions, Sets

    result = read_file(real_dir / "strong_ios_v1_2020-2021.csv", ReadOptions(tz="UTC"))
    sets = normalise(result, patient_id="p", upload_id="u", tz="UTC").sets
    assert sets is not None
    assert validated(sets, Sets, []).equals(sets)
    bad = pl.concat([sets, sets.slice(3, 1)]).with_columns(
        rpe=pl.when(pl.col("source_line") == 10).then(11.0).otherwise(pl.col("rpe"))
    )
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        Sets.validate(bad, lazy=True)
    expected = sorted(set(exc.value.failure_cases["index"].to_list()))
    quarantine: list[pl.DataFrame] = []
    kept = validated(bad, Sets, quarantine)
    assert kept.height == bad.height - len(expected)
    lines = sorted(quarantine[0]["_line"].to_list())
    assert lines == sorted(bad["source_line"].gather(expected).to_list())
    assert 10 in lines and lines.count(int(sets["source_line"][3])) == 2
    sessions = normalise(result, patient_id="p", upload_id="u", tz="UTC").sessions
    assert sessions is not None and _validate(sessions, Sessions).equals(sessions)
    with pytest.raises(pandera.errors.SchemaError, match="session_id"):
        _validate(pl.concat([sessions, sessions.head(1)]), Sessions)


def test_cells_parsed_once_per_run_equal_the_cells_parsed_one_by_one() -> None:
    from toolkit.ingest._parse import _duration_seconds, _parse_datetime, duration_seconds, parse_datetime

    runs = [None, None, "1h 5m", "1h 5m", "45m", None, "45m", "oops", "oops", "2h", "2h", "2h"]
    scattered = ["1h", None, "2m", "x", "5s", "1h", "3m", "1h"]  # few repeats: by distinct values
    for cells in (runs * 3, scattered, [None, None], []):
        df = pl.DataFrame({"d": cells}, schema={"d": pl.String})
        assert df.select(duration_seconds("d")).equals(df.select(_duration_seconds("d")))
    stamps = ["2024-01-01 10:00:00"] * 3 + [None, "bad", "2024-01-02 09:30"] * 2
    df = pl.DataFrame({"d": stamps})
    formats = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"]
    assert df.select(parse_datetime("d", formats)).equals(df.select(_parse_datetime("d", formats)))


def test_cells_are_stripped_exactly_when_they_need_it(monkeypatch, real_dir: Path) -> None:
    from toolkit.ingest import _text

    samples = [
        b'a,b,c\n1,"",x\n2,"in side",y\n',  # nothing to strip; a quoted empty cell
        b"a,b,c\n1, 2,x\n",  # leading space
        b"a,b,c\n1,2 ,x\r\n3,4,5 \r\n",  # trailing space before a delimiter / CRLF
        b'a,b,c\n1," q",x\n',  # space inside quotes, at the edge
        b"a;b\n1;\t\n",  # tab-only cell
        b'a,b\n1,"two\nlines "\n',  # quoted newline
        "a,b\n1,\u00a0x\n".encode(),  # non-ASCII whitespace
        (real_dir / "strong_ios_v1_2020-2021.csv").read_bytes(),
    ]
    for data in samples:
        fast = _text.parse_csv(data, "f.csv").rows
        with monkeypatch.context() as m:
            m.setattr(_text, "_cells_may_need_strip", lambda *a, **k: True)
            assert fast.equals(_text.parse_csv(data, "f.csv").rows), data[:40]
    assert not _text._cells_may_need_strip(samples[0], ",", quoted_newlines=False)
    assert all(
        _text._cells_may_need_strip(d, ",;"[b";" in d[:4]], quoted_newlines=False) for d in samples[1:5]
    )


def test_a_refusal_found_in_a_late_block_leaves_an_existing_store_unchanged(
    monkeypatch, tmp_path: Path, real_dir: Path
) -> None:
    import pytest

    from toolkit.exceptions import IngestError
    from toolkit.ingest import ReadOptions, _text
    from toolkit.store import Store

    store = Store(tmp_path / "w.duckdb")
    utc = ReadOptions(tz="UTC")
    store.ingest([real_dir / "hevy_kg_2024-2025.csv"], patient_id="p", options=utc)
    before = {t: store.table(t) for t in ("sets", "sessions", "uploads", "quarantine")}
    strong = (real_dir / "strong_ios_v1_2020-2021.csv").read_bytes()
    late = tmp_path / "late.csv"
    late.write_bytes(strong + b'2021-01-01 10:00:00,"Workout",1h,"Squat (Barbell)",1,"unterminated\n')
    monkeypatch.setattr(_text, "_BLOCK", 4096)  # the bad quote is ~40 blocks in
    with pytest.raises(IngestError) as err:
        store.ingest([real_dir / "strong_v4_2025-10.csv", late], patient_id="p", options=utc)
    assert err.value.reason is Reason.TRUNCATED and err.value.row == strong.count(b"\n") + 1
    for name, frame in before.items():
        assert store.table(name).equals(frame), name


def test_numbers_drop_one_leading_plus_as_before() -> None:
    from toolkit.ingest._parse import number

    cells = ["+1", "++2", " +3 ", "+", "1e3", " 4", "-5", "+-6", "", None, "+ 7", "2.5"]
    frame = pl.DataFrame({"v": cells})
    got = frame.select(number("v"))["v"].to_list()
    regex = pl.col("v").str.strip_chars().str.replace_all(r"^\+", "").cast(pl.Float64, strict=False)
    assert got == frame.select(regex)["v"].to_list()
    assert got == [1.0, 2.0, 3.0, None, 1000.0, 4.0, -5.0, -6.0, None, None, None, 2.5]


def test_number_cells_give_number_s_values_and_failures() -> None:
    """The CSV fast path (a plain cast of stripped cells, :func:`number` only for what the
    cast misses) gives exactly :func:`number`'s values, and :func:`unparsed_cell` flags
    exactly the cells :func:`unparsed` flags."""
    from toolkit.ingest._parse import number, number_cells, unparsed, unparsed_cell

    cells = [
        "5",
        "+5",
        "++5",
        "+-2",
        "-3",
        "1e3",
        "2.50",
        ".5",
        "5.",
        "nan",
        "inf",
        "-inf",
        "abc",
        "+ 4",
        None,
        "0",
    ]
    frame = pl.DataFrame(
        {
            "a": cells,
            "b": ["1", "2", None, "4", "5", "6", "7", "8", "9", "10", "11", "12", "13", "14", "15", "16"],
        }
    )
    fast = number_cells(frame, {"_a": "a", "_b": "b"})
    plain = frame.with_columns(number("a").alias("_a"), number("b").alias("_b"))
    for out, raw in (("_a", "a"), ("_b", "b")):
        assert fast[out].to_list() == plain[out].to_list() or (
            fast.select(pl.col(out).eq_missing(plain[out]) | (pl.col(out).is_nan() & plain[out].is_nan()))
            .to_series()
            .all()
        )
        flagged = fast.select(unparsed_cell(raw, pl.col(out))).to_series().to_list()
        assert flagged == plain.select(unparsed(raw, pl.col(out))).to_series().to_list()
    assert fast["_a"][2] == 5.0 and fast["_a"][13] is None  # "++5" as number() reads it; "+ 4" not


def test_recovery_ingest_returns_freed_memory_and_skips_the_last_collection(
    tmp_path: Path, real_dir: Path
) -> None:
    """``recovery ingest`` sets polars' allocator to give freed pages back soon before
    polars is imported — also when a parent process that imported polars passed polars'
    own defaults on, but not over a decay the user chose — and freezes the objects alive
    at exit."""
    code = (
        "import gc, os, sys\n"
        "from toolkit.cli import main\n"
        f"sys.argv = ['recovery', 'ingest', {str(real_dir / 'strong_v4_small.csv')!r}, '--patient', 'p',"
        f" '--store', {str(tmp_path / 's.duckdb')!r}, '--tz', 'UTC']\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print(os.environ.get('_RJEM_MALLOC_CONF', '').split(','), gc.get_freeze_count() > 0)\n"
    )
    ours = "'dirty_decay_ms:300', 'muzzy_decay_ms:0'] True"
    for chosen, expect_ours in (
        (None, True),
        ("dirty_decay_ms:500,muzzy_decay_ms:1000", True),  # inherited from a polars parent
        ("background_thread:true", True),
        ("dirty_decay_ms:2000", False),  # the user's choice
    ):
        env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
        if chosen is not None:
            env["_RJEM_MALLOC_CONF"] = chosen
        (tmp_path / "s.duckdb").unlink(missing_ok=True)
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
        )
        last = out.stdout.strip().splitlines()[-1]
        assert last.endswith(ours) == expect_ours, (chosen, last)
        assert last.endswith("True") and (chosen is None or chosen.split(",")[-1] in last), (chosen, last)


def test_a_forked_child_of_a_process_that_hashed_keys_exits_cleanly() -> None:
    """The md5 of keys runs in an in-memory DuckDB kept per process; it is closed before a
    fork, so a child (a pre-fork server's worker, say) neither inherits a live one — which
    crashed or hung as the child exited — nor keeps the parent from hashing again."""
    code = (
        "import os, sys, polars as pl\n"
        "from toolkit.ingest._normalise import md5_hex\n"
        "keys = pl.Series('k', ['a', 'b'])\n"
        "first = md5_hex(keys).to_list()\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    sys.exit(0)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "assert md5_hex(keys).to_list() == first\n"
        "print(os.waitstatus_to_exitcode(status))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "0", out.stdout + out.stderr
