"""Bytes → records: refusals, line numbers, field counts."""

from __future__ import annotations

import pytest

from toolkit.exceptions import IngestError, Reason
from toolkit.ingest._text import decode, parse_csv, sniff_delimiter


def test_empty_file_is_refused() -> None:
    with pytest.raises(IngestError, match=r"x\.csv: the file is empty \[empty_file\]") as err:
        decode(b"  \r\n", "x.csv")
    assert err.value.reason is Reason.EMPTY_FILE


def test_binary_file_is_refused() -> None:
    with pytest.raises(IngestError, match="binary file") as err:
        decode(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.csv")
    assert err.value.reason is Reason.BINARY_FILE


def test_wrong_encoding_is_refused_with_the_line() -> None:
    data = "Date,Exercise\n2025-01-01,Crunch\n2025-01-02,Élévation\n".encode("latin-1")
    with pytest.raises(IngestError, match=r"f\.csv, row 3: not UTF-8 text .* --encoding") as err:
        decode(data, "f.csv")
    assert err.value.reason is Reason.ENCODING and err.value.row == 3


def test_named_encoding_and_boms_are_honoured() -> None:
    text = "Date,Exercise\n2025-01-02,Élévation\n"
    assert decode(text.encode("latin-1"), "f", encoding="latin-1") == text
    assert decode(b"\xef\xbb\xbf" + text.encode(), "f") == text
    assert decode(text.encode("utf-16"), "f") == text


def test_line_numbers_follow_the_file_with_embedded_newlines_and_blank_lines() -> None:
    text = 'a,b,c\r\n1,"two\r\nlines",3\r\n\r\n4,5,6\r\n"7","say ""hi""",9\r\n'
    table = parse_csv(text, "t.csv")
    assert table.rows["_line"].to_list() == [2, 5, 6]
    assert table.rows["b"].to_list() == ["two\r\nlines", "5", 'say "hi"']
    assert table.blank_lines == 1
    assert table.raw_text([5]) == ["4,5,6"]


def test_field_counts_are_reported_per_record() -> None:
    table = parse_csv("a,b,c\n1,2,3\n1,2\n1,2,3,4\n", "t.csv")
    assert table.rows["_fields"].to_list() == [3, 2, 4]
    # the surplus field is not a column (every reader quarantines or repairs such a row from
    # its raw text); the short row's missing cell is null
    assert table.rows.columns[:3] == ["a", "b", "c"] and "_extra_0" not in table.rows.columns
    assert table.rows["c"].to_list() == ["3", None, "3"]
    assert table.raw_text([4]) == ["1,2,3,4"]


def test_a_very_wide_record_costs_no_columns() -> None:
    """One 100,000-field line among many rows once made a column per field for every row
    (the fuzzer's 2 MB file needed > 24 GB)."""
    rows = "\n".join(["1,2,3"] * 20_000)
    table = parse_csv(f"a,b,c\n{rows}\n" + ",".join(["9"] * 100_000) + "\n", "t.csv")
    assert table.rows.width == 5  # a, b, c, _line, _fields
    assert table.rows["_fields"].max() == 100_000 and table.rows.height == 20_001


def test_an_impossibly_wide_header_is_refused() -> None:
    with pytest.raises(IngestError, match=r"t.csv.*header has 2,001 fields \(at most 2,000 are read\)"):
        parse_csv(",".join(f"c{i}" for i in range(2_001)) + "\n" + ",".join(["1"] * 2_001) + "\n", "t.csv")


def test_lines_ended_by_cr_alone_are_lines() -> None:
    table = parse_csv(b"a,b\r1,2\r\r3,4\r", "t.csv")
    assert table.header == ["a", "b"]
    assert table.rows.select("a", "b", "_line").rows() == [("1", "2", 2), ("3", "4", 4)]
    assert table.blank_lines == 1


def test_whitespace_cells_are_stripped_and_empty_is_null() -> None:
    table = parse_csv("a,b\n 10 ,  \n", "t.csv")
    assert table.rows.select("a", "b").row(0) == ("10", None)


@pytest.mark.parametrize(
    ("text", "row"),
    [
        ('a,b,c\n1,2,3\n4,"unterminated', 3),
        ("a,b,c\n1,2,3\n4,5", 3),
    ],
)
def test_truncated_files_are_refused(text: str, row: int) -> None:
    with pytest.raises(IngestError, match="truncated") as err:
        parse_csv(text, "t.csv")
    assert err.value.reason is Reason.TRUNCATED and err.value.row == row


def test_last_row_without_newline_is_fine_when_complete() -> None:
    assert parse_csv("a,b\n1,2", "t.csv").rows.height == 1


@pytest.mark.parametrize(
    ("header", "sep"),
    [
        ("a,b,c", ","),
        ("a;b;c", ";"),
        ('"Workout #";"Date";"Weight (kg)"', ";"),
        ("a\tb", "\t"),
        ("single", ","),
    ],
)
def test_delimiter_is_sniffed_from_the_header(header: str, sep: str) -> None:
    assert sniff_delimiter(header) == sep
