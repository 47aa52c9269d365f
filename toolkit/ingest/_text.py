"""Bytes → text → a table of strings, with the line number of every record.

This is the only place that touches raw bytes. It refuses what is not a table
(binary, wrongly encoded, truncated, empty) with an :class:`~toolkit.exceptions.IngestError`,
and otherwise hands the readers a :class:`CsvTable`: every record as strings, the
1-based line number where it starts, and its field count, so that a row with too
many or too few fields is quarantined (or repaired) rather than mis-parsed.

Record boundaries are found with vectorised NumPy over the bytes (RFC 4180: a
newline inside double quotes does not end a record; ``""`` is an escaped quote),
and the fields are parsed by polars' CSV reader. Both agree on what a record is,
which is checked.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from toolkit.exceptions import IngestError, Reason

__all__ = ["CsvTable", "decode", "parse_csv", "sniff_delimiter", "utf8_bytes"]

_BINARY_PROBE = 8192


def decode(data: bytes, file: str, *, encoding: str | None = None) -> str:
    """Decode an export's bytes to text, refusing binary or wrongly encoded input.

    UTF-8 (with or without BOM) is the default; UTF-16/32 are accepted when they
    start with their BOM. Any other encoding must be named with ``encoding`` (for
    example ``"latin-1"``): the toolkit never guesses, because a wrong guess turns
    ``é`` into ``Ã©`` in exercise names without anyone noticing.

    Raises
    ------
    IngestError
        ``EMPTY_FILE``, ``BINARY_FILE`` or ``ENCODING``.
    """
    if not data or data.isspace():  # (not data.strip(): no copy of a large file)
        raise IngestError(file, Reason.EMPTY_FILE, "the file is empty")
    if encoding is not None:
        try:
            text = data.decode(encoding)
        except (LookupError, UnicodeDecodeError) as exc:
            raise IngestError(file, Reason.ENCODING, f"cannot decode as {encoding}: {exc}") from None
        return text.removeprefix("\ufeff")
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec).removeprefix("\ufeff")
            except UnicodeDecodeError as exc:
                raise IngestError(file, Reason.ENCODING, f"invalid {codec}: {exc.reason}") from None
    if b"\x00" in data[:_BINARY_PROBE]:
        raise IngestError(file, Reason.BINARY_FILE, "this is a binary file, not a CSV/JSON/XML export")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 4]
        raise IngestError(
            file,
            Reason.ENCODING,
            f"not UTF-8 text (byte {bad[:1]!r} at offset {exc.start}); re-export as UTF-8 "
            "or pass --encoding (e.g. latin-1)",
            row=line,
        ) from None
    text = text.removeprefix("\ufeff")
    _refuse_control(text[:_BINARY_PROBE], file)
    return text


def _refuse_control(head: str, file: str) -> None:
    control = sum(head.count(ch) for ch in "\x01\x02\x03\x04\x05\x06\x07\x0e\x0f")
    if control > 8:
        raise IngestError(file, Reason.BINARY_FILE, "this looks like a binary file, not text")


def utf8_bytes(data: bytes, file: str, *, encoding: str | None = None) -> bytes:
    """:func:`decode`'s checks and refusals, returning UTF-8 bytes (no BOM) for
    :func:`parse_csv` instead of text: a UTF-8 file is passed on as it is, not decoded
    and encoded again."""
    if encoding is None and data.isascii() and data and not data.isspace():
        # ASCII is UTF-8 without a BOM: only decode's checks of the first bytes apply.
        if b"\x00" in data[:_BINARY_PROBE]:
            raise IngestError(file, Reason.BINARY_FILE, "this is a binary file, not a CSV/JSON/XML export")
        _refuse_control(data[:_BINARY_PROBE].decode("ascii"), file)
        return data
    text = decode(data, file, encoding=encoding)
    if encoding is not None or data.startswith((b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")):
        return text.encode("utf-8")
    del text
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def sniff_delimiter(header_line: str) -> str:
    """The delimiter of a header line: ``;``, tab or ``,`` — whichever splits it most."""
    counts = {d: _split_header(header_line, d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: len(counts[d]))
    return best if len(counts[best]) > 1 else ","


def _split_header(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:  # e.g. a field longer than the csv module's limit
        return line.split(delimiter)


@dataclass(frozen=True)
class CsvTable:
    """A delimited export as strings, before any interpretation.

    Attributes
    ----------
    file
        The file's display name (used in every message).
    header
        Column names as written, stripped of surrounding whitespace and quotes.
    delimiter
        The separator found in the header line.
    rows
        One row per non-blank data record: a ``String`` column per header name
        (null for an empty or whitespace-only cell, other cells stripped), plus
        ``_line`` (Int64, 1-based line where the record starts; the header is line 1)
        and ``_fields`` (Int32, how many fields the record had). Records whose field
        count differs from the header's keep their cells positionally in extra
        ``_extra_N`` columns; readers decide whether to quarantine or repair them.
    blank_lines
        How many blank lines were skipped (they are not data rows).
    """

    file: str
    header: list[str]
    delimiter: str
    rows: pl.DataFrame
    blank_lines: int
    _data: bytes
    _lines: np.ndarray
    _starts: np.ndarray
    _ends: np.ndarray

    def raw_text(self, lines: pl.Series | list[int]) -> list[str]:
        """The raw text of the records starting at ``lines`` (same order).

        Loops over the requested records only (quarantined rows), never the file.
        """
        wanted = np.asarray(pl.Series(lines, dtype=pl.Int64).to_numpy(), dtype=np.int64)
        idx = np.clip(np.searchsorted(self._lines, wanted), 0, max(len(self._lines) - 1, 0))
        return [self._data[self._starts[i] : self._ends[i]].decode("utf-8", "replace") for i in idx]


def parse_csv(text: str | bytes, file: str, *, delimiter: str | None = None) -> CsvTable:
    """Split delimited text into a :class:`CsvTable` (all cells as strings).

    ``text`` may also be UTF-8 bytes already checked by :func:`decode` (no BOM), which
    saves decoding and re-encoding a large file.

    Raises
    ------
    IngestError
        ``TRUNCATED`` when the text ends inside a quoted field or its last record is
        cut short without a line ending; ``MALFORMED`` when the header is unusable.
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    data = data.lstrip(b"\r\n")
    if b"\r" in data and b"\n" not in data:
        # Lines ended by CR alone (classic Mac, old Excel for Mac): read each as a line.
        # Same length, so byte offsets and line numbers are those of the file.
        data = data.replace(b"\r", b"\n")
    first_nl = data.find(b"\n")
    header_line = (data if first_nl < 0 else data[:first_nl]).decode("utf-8").rstrip("\r")
    sep = delimiter or sniff_delimiter(header_line)
    header = [h.strip().strip('"').strip() for h in _split_header(header_line, sep)]
    if not any(header):
        raise IngestError(file, Reason.MALFORMED, "the first line is not a header row", row=1)
    if len(header) > MAX_COLUMNS:
        raise IngestError(
            file,
            Reason.MALFORMED,
            f"the header has {len(header):,} fields (at most {MAX_COLUMNS:,} are read): not the "
            "header of a training or pain export — check the delimiter and the line endings",
            row=1,
        )

    starts, ends, fields, lines, newlines = _records(data, sep, file)
    blank = (ends - starts == 0) | (
        (ends - starts == 1)
        & (np.frombuffer(data, np.uint8)[np.minimum(starts, max(len(data) - 1, 0))] == 13)
    )
    n_header_fields = len(header)
    if len(data) and data[-1:] != b"\n" and len(starts) > 1 and fields[-1] < n_header_fields:
        raise IngestError(
            file,
            Reason.TRUNCATED,
            f"the last row has {fields[-1]} of {n_header_fields} fields and no line ending: "
            "the file looks truncated; export it again",
            row=int(lines[-1]),
        )
    # A record with more fields than the header keeps only the header's columns as cells
    # (its field count is in `_fields`, its whole text in the file): every reader
    # quarantines such a row or repairs it from its raw text. Columns for the surplus
    # fields would cost rows × widest record (one 100,000-field line in 20,000 rows: 24 GB).
    header = _unique_names(header)

    if len(starts) <= 1:
        body = pl.DataFrame(schema={n: pl.String for n in header})
    else:
        body = _read_cells(
            data,
            file,
            has_header=False,
            separator=sep,
            quote_char='"',
            schema={n: pl.String for n in header},
            missing_columns="insert",
            truncate_ragged_lines=True,
        )
        if body.height != len(starts):
            raise IngestError(
                file,
                Reason.MALFORMED,
                f"could not split the file into records consistently ({body.height} vs "
                f"{len(starts)}); check for unbalanced quotes",
            )
        body = body.slice(1)
    blank_lines = int(blank[1:].sum())
    # Whitespace-only cells are empty cells; strip every cell once here. When no cell
    # can start or end with whitespace (checked on the bytes), only quoted empty cells
    # ("") are left to turn into nulls: no copy of the other columns.
    newline_ends = len(ends) - (1 if len(data) == 0 or data[-1:] != b"\n" else 0)
    if _cells_may_need_strip(data, sep, quoted_newlines=newlines != newline_ends):
        cells = [pl.col(c).str.strip_chars().replace("", None) for c in header]
    else:
        cells = [pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in header if (body[c] == "").any()]
    meta = [
        pl.Series("_line", lines[1:], dtype=pl.Int64),
        pl.Series("_fields", fields[1:], dtype=pl.Int32),
    ]
    if blank_lines:
        keep = pl.Series(~blank[1:])
        rows = body.with_columns(meta).filter(keep).with_columns(cells)
    else:
        rows = body.with_columns(*cells, *meta)
    return CsvTable(file, header, sep, rows, blank_lines, data, lines, starts, ends)


def _is_edge(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """``np.isin(values, edges)`` for a few byte values, as plain comparisons (faster)."""
    out = values == edges[0]
    for edge in edges[1:]:
        out |= values == edge
    return out


def _cells_may_need_strip(data: bytes, sep: str, *, quoted_newlines: bool) -> bool:
    """False only when no cell of ``data`` can begin or end with whitespace: the file is
    ASCII, has no newline inside quotes, and no whitespace byte touches a delimiter, a
    quote, a line end or either end of the file (a CR before LF is a line end). A
    conservative test: True just means "strip every cell"."""
    if quoted_newlines or not data.isascii():
        return True
    b = np.frombuffer(data, dtype=np.uint8)
    n = len(b)
    edges = np.array([ord(sep), 34, 10, 13], dtype=np.uint8)
    for lo in range(0, n, _BLOCK):
        block = b[lo : lo + _BLOCK]
        ws = np.flatnonzero((block == 32) | ((block >= 9) & (block <= 13) & (block != 10))) + lo
        if not len(ws):
            continue
        after = b[np.minimum(ws + 1, n - 1)]
        line_end = (b[ws] == 13) & (after == 10) & (ws + 1 < n)
        ws, after = ws[~line_end], after[~line_end]
        before = b[np.maximum(ws - 1, 0)]
        at_edge = (ws == 0) | (ws == n - 1) | _is_edge(before, edges[:3]) | _is_edge(after, edges)
        if at_edge.any():
            return True
    return False


def _read_cells(
    data: bytes,
    file: str,
    *,
    separator: str,
    quote_char: str,
    schema: dict,
    has_header: bool,
    missing_columns: str,
    truncate_ragged_lines: bool = False,
) -> pl.DataFrame:
    """polars' CSV reader over all records, every cell a string; its refusals (a
    stray quote inside a field) become an :class:`IngestError` naming the line."""
    try:
        return pl.read_csv(
            data,
            has_header=has_header,
            separator=separator,
            quote_char=quote_char,
            schema=schema,
            missing_columns=missing_columns,  # type: ignore[arg-type]
            truncate_ragged_lines=truncate_ragged_lines,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        text = str(exc)
        offset = re.search(r"offset in the file is (\d+) bytes", text)
        row = data.count(b"\n", 0, int(offset.group(1))) + 1 if offset else None
        field = re.search(r"Field `(.{0,60})", text)
        detail = f" near {field.group(1)!r}" if field else ""
        raise IngestError(
            file,
            Reason.MALFORMED,
            f'badly quoted field{detail}: a double quote inside a field must be doubled ("")',
            row=row,
        ) from None


def _unique_names(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, h in enumerate(header):
        name = h or f"_unnamed_{i}"
        if name == "*" or (name.startswith("^") and name.endswith("$")) or name.startswith("_"):
            # polars reads "*" and "^…$" as wildcards/regexes; "_…" is ours (_line, _fields).
            name = f"col_{name}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return out


MAX_COLUMNS = 2_000
"""Header fields read at most. The apps' exports have 8-30 columns and a hand-made CSV a
few dozen; a wider "header" is another kind of file, or lines that did not split (each
column costs ~15 KB and ~65 µs in the cell expressions even without rows)."""

_BLOCK = 1 << 20
"""Bytes scanned at a time when finding records and checking whitespace (1 MiB: the
temporaries stay in the cache and are reused; with 4 MiB blocks and fresh temporaries
the scan of issue 8's 82 MB export took 0.21–0.28 s instead of 0.17–0.18 s)."""


def _records(data: bytes, sep: str, file: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Start/end byte offsets, field counts and 1-based start lines of every record
    (header included), and how many newlines the data holds in all.

    One pass over the bytes in blocks of :data:`_BLOCK`. Only the bytes that shape
    records are looked at — quotes, delimiters and newlines, in file order — so the
    running quote parity (a uint8 running sum wraps at 256 but keeps parity) and the
    count of delimiters outside quotes are sums over a short array, carried from block
    to block; lines are counted over the newlines alone.
    """
    b = np.frombuffer(data, dtype=np.uint8)
    n = len(b)
    delimiter = ord(sep)
    # The block's masks are written into two buffers made once: fresh temporaries per
    # block would be fresh pages, and a page fault costs more than the compare.
    shapes = np.empty(min(n, _BLOCK), dtype=bool)
    scratch = np.empty(min(n, _BLOCK), dtype=bool)
    ends_parts: list[np.ndarray] = []
    delims_parts: list[np.ndarray] = []
    lines_parts: list[np.ndarray] = []
    inside_at_end = 0
    delims_before = 0
    newlines_before = 0
    for lo in range(0, n, _BLOCK):
        block = b[lo : lo + _BLOCK]
        is_shape, other = shapes[: len(block)], scratch[: len(block)]
        np.equal(block, 34, out=is_shape)
        is_shape |= np.equal(block, 10, out=other)
        is_shape |= np.equal(block, delimiter, out=other)
        at = np.flatnonzero(is_shape)
        kind = block[at]
        quote = kind == 34
        inside = (np.cumsum(quote, dtype=np.uint8) + inside_at_end) & 1
        outside = inside == 0
        newline_at = np.flatnonzero(kind == 10)
        end = outside[newline_at]  # which newlines end a record
        ends_parts.append(at[newline_at[end]] + lo)
        # Newlines up to and including each record end (its rank among the newlines),
        # and delimiters outside quotes up to it (a block holds < 2**31 bytes).
        lines_parts.append(np.flatnonzero(end) + (newlines_before + 1))
        delims = np.cumsum((kind == delimiter) & outside, dtype=np.int32)
        delims_parts.append(delims[newline_at[end]] + delims_before)
        if len(at):
            newlines_before += len(newline_at)
            delims_before += int(delims[-1])
            inside_at_end = int(inside[-1])
    ends = np.concatenate(ends_parts).astype(np.int64) if ends_parts else np.zeros(0, dtype=np.int64)
    delims_at = np.concatenate(delims_parts).astype(np.int64) if delims_parts else np.zeros(0, dtype=np.int64)
    newlines_at = np.concatenate(lines_parts).astype(np.int64) if lines_parts else np.zeros(0, dtype=np.int64)
    if inside_at_end:
        start = int(ends[-1]) + 1 if len(ends) else 0
        raise IngestError(
            file,
            Reason.TRUNCATED,
            "the file ends inside a quoted field that starts on this row: it looks truncated; export it again",
            row=data.count(b"\n", 0, start) + 1,
        )
    if n == 0 or b[-1] != 10:
        ends = np.append(ends, n)
        delims_at = np.append(delims_at, delims_before)
    starts = np.concatenate(([0], ends[:-1] + 1)).astype(np.int64)
    fields = np.diff(delims_at, prepend=0) + 1
    lines = np.concatenate(([1], newlines_at[: len(ends) - 1] + 1)).astype(np.int64)
    # Exclude the '\r' of CRLF from the record's end.
    cr = (ends > starts) & (b[np.maximum(ends - 1, 0)] == 13)
    ends = ends - cr.astype(ends.dtype)
    return starts, ends, fields, lines, newlines_before


def read_text_file(path: Path) -> bytes:
    """Read a file's bytes, refusing unreadable paths with an :class:`IngestError`."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(path, Reason.UNREADABLE, exc.strerror or str(exc)) from None


def rows_from_strings(lines: list[str], delimiter: str) -> list[list[str]]:
    """Split a handful of raw records with the stdlib reader (for row repairs only)."""
    return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
