"""Errors raised by the toolkit, and the reason codes they carry.

Hierarchy::

    ToolkitError
    ├── IngestError (ValueError)        an input file was refused as a whole
    ├── StoreError
    │   └── StoreBusyError (TimeoutError)  another process holds the store's write lock
    └── OptionError (ValueError)        a caller passed an invalid option

Errors carry data, not only text: an :class:`IngestError` names the file, the row
and column where there is one, a machine-readable :class:`Reason` and the raw text.
Code (the CLI, the dashboard, tests) branches on ``error.reason``, never on the message.
Row-level problems are not exceptions: they become quarantined rows with the same
:class:`Reason` codes (see :mod:`toolkit.ingest`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

__all__ = [
    "IngestError",
    "OptionError",
    "Reason",
    "StoreBusyError",
    "StoreError",
    "ToolkitError",
]


class Reason(StrEnum):
    """Why a file was refused or a row was quarantined.

    Codes ending in a file-level refusal are raised in :class:`IngestError`; the others
    label quarantined rows. ``INFO_*`` codes are rows that are not data by design
    (Strong's rest-timer rows, unfilled sets, non-pain items of a symptom diary): they
    are accounted for like every other row, but are not errors.
    """

    # --- file-level refusals ---------------------------------------------------------
    EMPTY_FILE = "empty_file"
    BINARY_FILE = "binary_file"
    ENCODING = "encoding"
    TRUNCATED = "truncated_file"
    UNKNOWN_FORMAT = "unknown_format"
    MISSING_COLUMN = "missing_column"
    MALFORMED = "malformed_file"
    UNREADABLE = "unreadable_file"
    TOO_LARGE = "file_too_large"
    # --- row-level quarantine ----------------------------------------------------------
    FIELD_COUNT = "wrong_field_count"
    BAD_DATE = "bad_date"
    BAD_NUMBER = "bad_number"  # not a number, or not a finite one (nan, inf, 1e400)
    MISSING_VALUE = "missing_value"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_UNIT = "unknown_unit"
    UNKNOWN_VALUE = "unknown_value"
    ENTERED_IN_ERROR = "entered_in_error"
    # --- informational rows: accounted for, not data -------------------------------
    INFO_REST_TIMER = "rest_timer_row"
    INFO_NOTE_ROW = "note_row"
    INFO_UNFILLED_SET = "unfilled_set"
    INFO_NOT_PAIN = "not_a_pain_entry"
    INFO_NO_SEVERITY = "no_severity"

    @property
    def is_info(self) -> bool:
        """True for rows that are not data by design (not an error in the input)."""
        return self.value in _INFO


_INFO = {
    "rest_timer_row",
    "note_row",
    "unfilled_set",
    "not_a_pain_entry",
    "no_severity",
}


class ToolkitError(Exception):
    """Base class of every error the toolkit raises on purpose."""


class OptionError(ToolkitError, ValueError):
    """An option had an invalid value: says what was expected and what came."""


class IngestError(ToolkitError, ValueError):
    """An input file was refused as a whole; nothing of it was written.

    Parameters
    ----------
    file
        The file's name or path.
    reason
        Machine-readable reason code.
    message
        Human explanation, one line, without the file name (added by ``str()``).
    row
        1-based line number in the file (the header is line 1), when one applies.
    column
        Column name, when one applies.
    raw
        The offending raw text, shortened.
    """

    def __init__(
        self,
        file: str | Path,
        reason: Reason,
        message: str,
        *,
        row: int | None = None,
        column: str | None = None,
        raw: str | None = None,
    ) -> None:
        self.file = str(file)
        self.reason = reason
        self.message = message
        self.row = row
        self.column = column
        self.raw = None if raw is None else raw[:200]
        super().__init__(self.one_line())

    def one_line(self) -> str:
        """``file: row N, column 'C': message [reason]`` on a single line."""
        where = [self.file]
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        text = f"{', '.join(where)}: {self.message} [{self.reason.value}]"
        return " ".join(text.split())


class StoreError(ToolkitError):
    """The store could not be opened or written."""


class StoreBusyError(StoreError, TimeoutError):
    """Another process is writing to the store; try again when it has finished."""
