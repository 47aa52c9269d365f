"""toolkit._polars.format_str: pl.format's text without pl.format's panic."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from toolkit._polars import format_str

ROOT = Path(__file__).resolve().parents[1]


def _filtered_two_chunk_frame() -> pl.DataFrame:
    """A filter that empties the first chunk of a two-chunk column (pola-rs/polars#25339)."""
    df = pl.concat([pl.DataFrame({"a": ["kg"]}), pl.DataFrame({"a": ["x", None, "lbbbb"]})], rechunk=False)
    return df.filter(pl.Series([False, True, False, True]))


def test_format_str_on_the_frame_that_makes_pl_format_panic() -> None:
    df = _filtered_two_chunk_frame()
    assert df["a"].n_chunks() == 2
    out = df.select(format_str("unknown unit '{}'", pl.col("a")))
    assert out.columns == ["a"]
    assert out["a"].to_list() == ["unknown unit 'x'", "unknown unit 'lbbbb'"]


_text = st.text(st.characters(blacklist_characters="{}", blacklist_categories=("Cs",)), max_size=6)


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(_text, min_size=1, max_size=5),
    braces=st.lists(st.sampled_from(["", "{{", "}}"]), min_size=5, max_size=5),
    strings=st.lists(st.none() | st.text(max_size=8), min_size=3, max_size=3),
    ints=st.lists(st.none() | st.integers(-(2**40), 2**40), min_size=3, max_size=3),
    floats=st.lists(st.none() | st.floats(allow_nan=True), min_size=3, max_size=3),
    kinds=st.lists(st.sampled_from(["s", "i", "f", "lit"]), min_size=4, max_size=4),
)
def test_format_str_equals_pl_format(
    pieces: list[str], braces: list[str], strings: list, ints: list, floats: list, kinds: list[str]
) -> None:
    """Same text, same nulls, same name as pl.format, on frames pl.format handles."""
    df = pl.DataFrame(
        {"s": strings, "i": ints, "f": floats}, schema={"s": pl.String, "i": pl.Int64, "f": pl.Float64}
    )
    n = len(pieces) - 1
    args = [pl.lit("L") if k == "lit" else pl.col(k) for k in kinds[:n]]
    template = "".join(
        p + b + ("{}" if j < n else "") for j, (p, b) in enumerate(zip(pieces, braces, strict=False))
    )
    expected = df.select(pl.format(template, *args))
    got = df.select(format_str(template, *args))
    assert got.columns == expected.columns
    assert got.to_series().to_list() == expected.to_series().to_list()


def test_format_str_reads_arguments_as_pl_format_does() -> None:
    df = pl.DataFrame({"n": [1, 2]})
    # a string is a column name, anything else a literal
    assert df.select(format_str("{} of {}", "n", 3)).to_series().to_list() == ["1 of 3", "2 of 3"]
    assert df.select(format_str("{{}} {}", pl.col("n") * 2)).to_series().to_list() == ["{} 2", "{} 4"]


@pytest.mark.parametrize(
    ("template", "args", "message"),
    [
        ("{name}", (), r"only '\{\}' placeholders are supported"),
        ("{} {}", ("a",), "more placeholders than arguments"),
        ("{}", ("a", "b"), "more arguments than placeholders"),
        ("unbalanced } brace", (), "only '{}' placeholders"),
    ],
)
def test_format_str_refuses_what_it_cannot_mean(template: str, args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        format_str(template, *args)


def test_no_code_calls_pl_format() -> None:
    """Every message goes through format_str (the panic comes back with any new pl.format)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{i}"
        for folder in ("toolkit", "dashboards", "benchmarks", "notebooks")
        for path in sorted((ROOT / folder).rglob("*.py")) + sorted((ROOT / folder).rglob("*.ipynb"))
        if path.name != "_polars.py"
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"\bpl\.format\(", line)
    ]
    assert offenders == []
