"""Helpers the reader tests share: read an export the way the toolkit does, then look
at what was accepted and why the rest was quarantined."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import polars as pl

from toolkit.ingest._base import ReadOptions, ReadResult
from toolkit.ingest._read import read_bytes


def read_data(data: bytes, name: str, options: ReadOptions | None = None) -> ReadResult:
    """Detect and read ``data`` through the registry (``read_bytes``), checking that every
    data row is accounted for: accepted + quarantined = rows read."""
    result, _ = read_bytes(data, name, options or ReadOptions())
    assert result.data.height + result.quarantine.height == result.rows_read
    return result


def read(
    path: Path,
    options: ReadOptions | None = None,
    *,
    contract: dict[str, pl.DataType] | None = None,
    **fields: object,
) -> ReadResult:
    """Read the file at ``path`` with :func:`read_data`.

    ``fields`` (``format="generic"``, ``column_map={...}``) build the
    :class:`ReadOptions` when ``options`` is not given. With ``contract`` the accepted
    rows' schema must be exactly that input contract (``SET_INPUT``, ``PAIN_INPUT``,
    ...).
    """
    if fields:
        assert options is None, "pass either a ReadOptions or its fields"
        options = ReadOptions(**fields)  # type: ignore[arg-type]
    result = read_data(path.read_bytes(), path.name, options)
    if contract is not None:
        assert result.data.schema == pl.Schema(contract)
    return result


def reasons(result: ReadResult) -> dict[str, int]:
    """Quarantined rows counted by reason: ``{"bad_date": 2, "unfilled_set": 1}``."""
    return dict(Counter(result.quarantine["reason"].to_list()))


def assert_accounting(result: ReadResult, rows_read: int, accepted: int, quarantined: dict[str, int]) -> None:
    """``rows_read`` data rows, ``accepted`` of them accepted, the rest quarantined with
    exactly these reason counts."""
    assert result.rows_read == rows_read
    assert result.data.height == accepted
    assert reasons(result) == quarantined


def row(result: ReadResult, line: int) -> dict:
    """The accepted row that came from file line ``line`` (which must be accepted)."""
    found = result.data.filter(pl.col("_line") == line)
    assert found.height == 1, f"line {line} not accepted"
    return found.row(0, named=True)
