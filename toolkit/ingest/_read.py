"""Find the right reader for a file and run it, checking the row accounting."""

from __future__ import annotations

import importlib
from pathlib import Path

import polars as pl

from toolkit.exceptions import IngestError, OptionError, Reason
from toolkit.ingest._base import ReaderSpec, ReadOptions, ReadResult
from toolkit.ingest._text import CsvTable, parse_csv, utf8_bytes

__all__ = ["detect_format", "read_bytes", "readers"]

# One module per source app; each defines ``SPEC: ReaderSpec``. Order matters only
# where two headers could both match: the more specific reader comes first.
_READER_MODULES = (
    "strong",
    "hevy",
    "fitnotes",
    "fitbod",
    "bearable",
    "proms",
    "pain_csv",
    "generic_workout",
    "fhir",
    "apple_health",
)

MAX_FILE_BYTES = 2 * 1024**3


def readers() -> list[ReaderSpec]:
    """Every registered reader, in detection order."""
    specs = []
    for name in _READER_MODULES:
        module = importlib.import_module(f"toolkit.ingest.{name}")
        specs.append(module.SPEC)
    return specs


def _by_name(name: str) -> ReaderSpec:
    specs = {s.name: s for s in readers()}
    if name not in specs:
        raise OptionError(f"--format must be one of {', '.join(sorted(specs))}; got {name!r}")
    return specs[name]


def _container(data: bytes) -> str | None:
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    if data[:4] == b"PK\x03\x04":
        return "zip"
    if head[:1] in (b"{", b"["):
        return "json"
    if head[:5] == b"<?xml" or head[:11] == b"<HealthData" or head[:9] == b"<!DOCTYPE":
        return "xml"
    return None


def detect_format(
    data: bytes, file: str, options: ReadOptions | None = None
) -> tuple[ReaderSpec, str, CsvTable | None]:
    """The reader, layout and (for CSV) parsed table of ``data``.

    Detection uses the header row (or the first bytes for JSON/XML/zip), never
    column positions.

    Raises
    ------
    IngestError
        ``UNKNOWN_FORMAT`` when no reader recognises the file, and the refusals of
        :func:`~toolkit.ingest._text.decode` / :func:`~toolkit.ingest._text.parse_csv`.
    """
    options = options or ReadOptions()
    if len(data) > MAX_FILE_BYTES:
        raise IngestError(file, Reason.TOO_LARGE, f"file is larger than {MAX_FILE_BYTES >> 30} GiB")
    forced = _by_name(options.format) if options.format else None
    if forced is None and options.column_map:
        # A column mapping names the generic reader it is meant for.
        keys = set(options.column_map)
        forced = _by_name("pain_csv" if "pain" in keys else "proms" if "instrument" in keys else "generic")
    container = _container(data)
    if container is not None and (forced is None or forced.sniff is not None):
        for spec in [forced] if forced else readers():
            if spec.sniff is not None and (layout := spec.sniff(data)):
                return spec, layout, None
        if forced is None:
            raise IngestError(
                file,
                Reason.UNKNOWN_FORMAT,
                f"unrecognised {container.upper()} file: expected a FHIR Observation/Bundle "
                "(JSON) or an Apple Health export (export.xml or its zip)",
            )
    table = parse_csv(utf8_bytes(data, file, encoding=options.encoding), file)
    for spec in [forced] if forced else readers():
        if spec.detect is not None and (layout := spec.detect(table.header)):
            return spec, layout, table
    if forced is not None:
        if forced.detect is not None:
            # A forced reader whose columns are missing: let it name what is missing.
            return forced, "forced", table
        raise IngestError(file, Reason.UNKNOWN_FORMAT, f"this is not a {forced.name} file")
    shown = ", ".join(table.header[:8]) + (", …" if len(table.header) > 8 else "")
    names = ", ".join(s.name for s in readers())
    raise IngestError(
        file,
        Reason.UNKNOWN_FORMAT,
        f"unrecognised header ({shown}); pass --format (one of: {names}) or a column mapping with --map",
        row=1,
    )


def read_bytes(
    data: bytes, file: str | Path, options: ReadOptions | None = None
) -> tuple[ReadResult, CsvTable | None]:
    """Detect and read one export held in memory.

    Returns the reader's result with ``raw`` text attached to every quarantined
    row, and the parsed table (``None`` for JSON/XML). Raises
    :class:`~toolkit.exceptions.IngestError` when the file is refused whole.
    """
    options = options or ReadOptions()
    name = str(file)
    spec, layout, table = detect_format(data, name, options)
    if table is not None:
        result = spec.read(table, layout, options)
    else:
        result = spec.read(data, name, layout, options)
    _check_accounting(result, name)
    return result, table


def _check_accounting(result: ReadResult, file: str) -> None:
    accepted = result.data.height
    quarantined = result.quarantine.height
    if accepted + quarantined != result.rows_read:
        raise AssertionError(
            f"{file}: reader {result.format} lost rows: read {result.rows_read}, "
            f"accepted {accepted} + quarantined {quarantined}"
        )


def attach_raw(result: ReadResult, table: CsvTable | None, raw_json: pl.Series | None = None) -> pl.DataFrame:
    """The quarantine with a ``raw`` column (the record's text) for CSV inputs."""
    q = result.quarantine
    if "raw" in q.columns:
        return q
    if table is not None and q.height:
        return q.with_columns(pl.Series("raw", table.raw_text(q["_line"]), dtype=pl.String))
    return q.with_columns(pl.lit(None, dtype=pl.String).alias("raw"))
