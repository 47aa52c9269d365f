"""The fast paths of the ingest (issue 8) give exactly what the plain ways give."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import polars as pl

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
