"""toolkit.ingest._parse: parsing each distinct cell once gives what parsing every cell gives."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit.ingest._parse import _duration_seconds, duration_seconds, on_unique

# Cells as exports write them: durations in every form of FORMATS.md §5.6, junk, blanks,
# non-finite numbers; drawn from a small pool so that values repeat and come in runs.
_CELLS = st.sampled_from(
    [
        "1h 5m",
        "45m",
        "38min",
        "2h",
        "90s",
        "2134",
        "30.0",
        "0:09:21",
        "12:30.5",
        "",
        " ",
        "abc",
        "nan",
        "1e400",
        "-5",
    ]
)


def _runs(draw_runs: list[tuple[str | None, int]]) -> list[str | None]:
    return [value for value, times in draw_runs for _ in range(times)]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.none() | _CELLS, st.integers(1, 12)), max_size=40)
    | st.lists(st.tuples(st.none() | st.text(max_size=6), st.just(1)), max_size=60)
)
def test_on_unique_equals_parsing_every_cell(runs: list[tuple[str | None, int]]) -> None:
    """Long runs (run heads parsed), repeated heads (their distinct values parsed), and
    mostly distinct cells (parsed directly) all give the row-by-row result."""
    df = pl.DataFrame({"c": _runs(runs)}, schema={"c": pl.String})
    every = df.select(_duration_seconds("c").cast(pl.Float64).alias("c"))
    once = df.select(on_unique(pl.col("c"), _duration_seconds, pl.Float64()).alias("c"))
    assert once["c"].to_list() == every["c"].to_list() or (
        # NaN != NaN in list comparison: compare with NaN made equal
        once.select(pl.col("c").fill_nan(-1.0)).equals(every.select(pl.col("c").fill_nan(-1.0)))
    )


def test_duration_seconds_reads_each_form_and_refuses_non_finite() -> None:
    cells = ["1h 5m", "45m", "0:09:21", "12:30.5", "90s", "nan", "1e400", "abc", None] * 20
    got = pl.DataFrame({"c": cells}).select(duration_seconds("c"))["c"].to_list()[:9]
    assert got == [3900.0, 2700.0, 561.0, 750.5, 90.0, None, None, None, None]


@pytest.mark.parametrize("n_sessions", [1, 5, 400])
def test_a_session_duration_is_parsed_once_per_distinct_value(n_sessions: int) -> None:
    """A 1M-set Strong export repeats a few dozen durations over ~45,000 sessions: the
    parser must see each distinct text once (it once parsed every session 4 times)."""
    seen: list[int] = []

    def counting(expr: pl.Expr) -> pl.Expr:
        return expr.map_batches(lambda s: seen.append(len(s)) or s, return_dtype=pl.String).str.len_chars()

    cells = [f"{i % 7}m" for i in range(n_sessions) for _ in range(30)]
    out = pl.DataFrame({"c": cells}).select(on_unique(pl.col("c"), counting, pl.Float64()))
    assert out.height == len(cells)
    assert seen == [min(7, n_sessions)]
