"""Read what the apps really export, normalise it, account for every row.

The public face of the ingest layer:

* :func:`read_file` / :func:`read_bytes` — detect the format from the header and read
  one export into input frames plus a quarantine and warnings (no store needed);
* :class:`ReadOptions` — weight unit for unit-less files, time zone, day start, ...;
* :func:`readers` — the registered readers (Strong, Hevy, FitNotes, Fitbod, generic
  workout CSV, pain CSV, Bearable, FHIR, Apple Health, PROMs);
* :func:`map_exercises` / :func:`load_catalogue` — the editable exercise catalogue.

Storing is :meth:`toolkit.store.Store.ingest`, which calls these.
"""

from __future__ import annotations

from pathlib import Path

from toolkit.ingest._base import ReadOptions, ReadResult
from toolkit.ingest._read import detect_format, read_bytes, readers
from toolkit.ingest._text import read_text_file
from toolkit.ingest.catalogue import load_catalogue, map_exercises

__all__ = [
    "ReadOptions",
    "ReadResult",
    "detect_format",
    "load_catalogue",
    "map_exercises",
    "read_bytes",
    "read_file",
    "readers",
]


def read_file(path: str | Path, options: ReadOptions | None = None) -> ReadResult:
    """Detect and read one export file (no store involved).

    Returns the reader's :class:`ReadResult`; the quarantine carries a ``raw`` column
    with each refused row's text.

    Raises
    ------
    toolkit.exceptions.IngestError
        The file was refused as a whole (unknown format, binary, truncated, ...).
    """
    from toolkit.ingest._read import attach_raw

    path = Path(path)
    result, table = read_bytes(read_text_file(path), path.name, options)
    result.quarantine = attach_raw(result, table)
    return result
