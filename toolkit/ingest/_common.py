"""Steps several readers share: finding columns, refusing a file, quarantining rows, warnings.

A CSV reader runs the same steps in the same order: find its columns (refusing the
file when one it needs is missing), quarantine rows with the wrong number of fields,
parse the cells, quarantine what did not parse, build the contract's columns and
explain every assumption in a warning. Where two readers do a step the same way, the
step is here; whatever is particular to one app stays in its module.

Columns
    App exports have fixed header names (:func:`app_columns`, :func:`canonical_frame`,
    :func:`missing_column`). Generic CSVs are matched through alias tables and
    ``--map`` (:func:`resolve_columns`, :func:`select_inputs`, :func:`input_col`,
    :func:`missing_columns`, :func:`unused_columns_warning`).
Rows
    Each ``pull_*`` function moves the rows with one kind of problem into the
    :class:`~toolkit.ingest._base.Rejects` and returns the rest; its message is the
    quarantine's text, so it is passed in (or is the default) where readers word it
    differently. :func:`with_timestamps` adds the contract's time columns that
    :func:`pull_bad_dates` checks; :func:`row_units` reads a per-row unit column;
    :func:`with_raw` gives JSON/XML quarantines their ``raw`` text.
Warnings
    :func:`plural`, :func:`date_only_warning`, :func:`pounds_warning`,
    :func:`assisted_warning`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import polars as pl

from toolkit._polars import format_str
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest._base import QUARANTINE_INPUT, Rejects
from toolkit.ingest._parse import (
    LB_TO_KG,
    find_column,
    header_key,
    headers_matching,
    timestamp_parts,
    unparsed,
    zero_as_null,
)
from toolkit.ingest._text import CsvTable

__all__ = [
    "DATE_KEYS",
    "IN",
    "app_columns",
    "assisted_warning",
    "canonical_frame",
    "date_only_warning",
    "input_col",
    "missing_column",
    "missing_columns",
    "plural",
    "pounds_warning",
    "pull_bad_dates",
    "pull_empty",
    "pull_field_count",
    "pull_negative",
    "pull_unfilled_sets",
    "pull_unparsed",
    "resolve_columns",
    "row_units",
    "select_inputs",
    "unused_columns_warning",
    "with_raw",
    "with_timestamps",
]

# ------------------------------------------------------------- columns of app exports

MAX_SET_INDEX = 2**31 - 1
"""The largest set number the store holds (``set_index`` is a 32-bit integer); a larger
one is quarantined ``out_of_range`` by the readers, never cast."""


def missing_column(table: CsvTable, app: str, column: str, shown: str | None = None) -> IngestError:
    """The ``MISSING_COLUMN`` refusal of a file forced to be (or looking like) ``app``'s export.

    Parameters
    ----------
    table
        The parsed file.
    app
        The app's name as users know it (``"Hevy"``).
    column
        The missing column's header name (the error's ``column``).
    shown
        How the message names it when there are alternatives; default ``repr(column)``.

    Returns
    -------
    IngestError
        To be raised by the caller: ``not a Hevy export: the required column
        'exercise_title' is missing``.
    """
    return IngestError(
        table.file,
        Reason.MISSING_COLUMN,
        f"not a {app} export: the required column {shown or repr(column)} is missing",
        column=column,
        row=1,
    )


def app_columns(
    table: CsvTable, app: str, names: Mapping[str, str], required: Iterable[str]
) -> dict[str, str | None]:
    """Canonical name → header name (``None`` when absent) of an export with fixed headers.

    Header names match case- and whitespace-insensitively
    (:func:`~toolkit.ingest._parse.find_column`).

    Parameters
    ----------
    table
        The parsed file.
    app
        The app's name, for the refusal (see :func:`missing_column`).
    names
        Canonical name → the header name the app writes.
    required
        Canonical names the file must have, in the order they are checked.

    Raises
    ------
    IngestError
        ``MISSING_COLUMN`` naming the first of ``required`` that is absent.
    """
    cols = {canon: find_column(table.header, name) for canon, name in names.items()}
    for canon in required:
        if cols[canon] is None:
            raise missing_column(table, app, names[canon])
    return cols


def canonical_frame(rows: pl.DataFrame, cols: Mapping[str, str | None], names: Iterable[str]) -> pl.DataFrame:
    """``_line``, ``_fields`` and one String column per canonical name in ``names``.

    Each is the header's column ``cols[name]`` renamed, or nulls when the file lacks it
    (``cols[name]`` is ``None`` or not given), so a reader can refer to every column.
    """
    return rows.select(
        "_line",
        "_fields",
        *((pl.col(cols[n]) if cols.get(n) else pl.lit(None, dtype=pl.String)).alias(n) for n in names),
    )


# ------------------------------------------------------------- columns of generic CSVs

DATE_KEYS = (
    "date", "day", "datetime", "date/time", "timestamp", "recordedat", "recorded",
    "recordedon", "when", "entrydate", "start", "starttime", "dateandtime",
)  # fmt: skip
"""Header keys (:func:`~toolkit.ingest._parse.header_key`) of a date(-time) column, in
order of preference."""

IN = "_in_"
"""Prefix of the input columns a generic reader works on (``_in_date`` ...): the file's
own header names are only used in messages, so a header called ``notes`` or
``set_type`` can never collide with a column the reader creates."""


def _found(header: list[str]) -> str:
    return ", ".join(header) if header else "(none)"


def resolve_columns(
    table: CsvTable,
    column_map: dict[str, str],
    keys: dict[str, tuple[str, ...]],
    *,
    canonical: tuple[str, ...],
    skip: frozenset[str] = frozenset(),
) -> dict[str, str | None]:
    """Canonical name → header name, from ``column_map`` first, then the alias table.

    Parameters
    ----------
    table
        The parsed CSV.
    column_map
        The user's ``--map`` (canonical → header name); it always wins.
    keys
        Canonical name → header keys that name it, most specific first.
    canonical
        The canonical names to resolve, in order (a header already taken by one is not
        offered to a later one).
    skip
        Canonical names the caller resolves itself when they are not in ``column_map``.

    Returns
    -------
    dict
        Every name of ``canonical`` (except skipped ones the map does not name) → its
        header name, or ``None`` when the file has no such column.

    Raises
    ------
    IngestError
        ``MISSING_COLUMN`` when the map names a column that is not in the file.
    """
    by_key = {header_key(h): h for h in reversed(table.header)}
    out: dict[str, str | None] = {}
    taken: set[str] = set()
    for name in canonical:
        if name in column_map:
            wanted = column_map[name]
            hit = by_key.get(header_key(wanted))
            if hit is None:
                raise IngestError(
                    table.file,
                    Reason.MISSING_COLUMN,
                    f"the column map names {wanted!r} for {name}, but the file has no such "
                    f"column (columns found: {_found(table.header)})",
                    row=1,
                    column=wanted,
                )
            out[name] = hit
            taken.add(hit)
    for name in canonical:
        if name in out or name in skip:
            continue
        hits = [h for h in headers_matching(table.header, frozenset(keys[name])) if h not in taken]
        hits.sort(key=lambda h: keys[name].index(header_key(h)))
        out[name] = hits[0] if hits else None
        if hits:
            taken.add(hits[0])
    return out


def missing_columns(table: CsvTable, needs: str, missing: list[str], hint: str = "") -> IngestError:
    """The ``MISSING_COLUMN`` refusal of a generic CSV: what it needs, lacks and has.

    Returns
    -------
    IngestError
        To be raised by the caller: ``{needs}; missing: date, pain (columns found: a,
        b){hint}``, e.g. ``needs`` = ``"a pain diary needs a date and a pain column"``
        and ``hint`` = ``"; name them with --map"``.
    """
    return IngestError(
        table.file,
        Reason.MISSING_COLUMN,
        f"{needs}; missing: {', '.join(missing)} (columns found: {_found(table.header)}){hint}",
        row=1,
    )


def select_inputs(table: CsvTable, label: dict[str, str | None]) -> pl.DataFrame:
    """``_line``, ``_fields`` and each resolved column renamed to ``_in_<canonical>``."""
    return table.rows.select(
        "_line",
        "_fields",
        *(pl.col(header).alias(IN + name) for name, header in label.items() if header),
    )


def input_col(label: dict[str, str | None], name: str) -> pl.Expr:
    """The input column of canonical ``name``, or a null String when the file lacks it."""
    return pl.col(IN + name) if label.get(name) else pl.lit(None, dtype=pl.String)


def unused_columns_warning(
    header: list[str], label: Mapping[str, str | None], warnings: list[str], reader: str
) -> None:
    """Append a warning naming the header's columns no canonical name resolved to."""
    used = {h for h in label.values() if h}
    ignored = [h for h in header if h and h not in used]
    if ignored:
        warnings.append(f"Columns not used by the {reader} reader: {', '.join(ignored)}.")


# ------------------------------------------------------------------------------- rows


def pull_field_count(
    rej: Rejects, df: pl.DataFrame, width: int, *, surplus_only: bool = False
) -> pl.DataFrame:
    """Quarantine ``WRONG_FIELD_COUNT`` the rows whose field count is not the header's ``width``.

    App exports always write every field, so their readers refuse any other count. The
    generic readers (``surplus_only``) accept a short row, whose missing trailing cells
    read as empty, and refuse only rows with more fields than the header.
    """
    if surplus_only:
        bad, text = pl.col("_fields") > width, "the row has {} fields but the header has {}"
    else:
        bad, text = pl.col("_fields") != width, "the row has {} fields, the header has {}"
    return rej.pull(df, bad, Reason.FIELD_COUNT, None, format_str(text, pl.col("_fields"), pl.lit(width)))


def pull_empty(rej: Rejects, df: pl.DataFrame, cell: str, column: str | None, message: str) -> pl.DataFrame:
    """Quarantine ``MISSING_VALUE`` the rows whose ``cell`` is empty (``column``: its header name)."""
    return rej.pull(df, pl.col(cell).is_null(), Reason.MISSING_VALUE, column, message)


def with_timestamps(df: pl.DataFrame, date: str, time: str | None = None) -> pl.DataFrame:
    """Add ``ts_local``, ``ts_utc`` and ``time_known`` read from the ``date`` column and an
    optional ``time`` column by :func:`~toolkit.ingest._parse.timestamp_parts`."""
    parts = timestamp_parts(pl.col(date), pl.col(time) if time else None)
    return df.with_columns(parts.alias("_ts")).unnest("_ts")


def pull_bad_dates(
    rej: Rejects, df: pl.DataFrame, column: str | None, message: str | pl.Expr
) -> pl.DataFrame:
    """Quarantine ``BAD_DATE`` the rows where neither ``ts_local`` nor ``ts_utc`` was read
    (run :func:`pull_empty` on the date first, so an empty date is ``MISSING_VALUE``)."""
    return rej.pull(
        df, pl.col("ts_local").is_null() & pl.col("ts_utc").is_null(), Reason.BAD_DATE, column, message
    )


def _pull_cells(
    rej: Rejects,
    df: pl.DataFrame,
    cells: Iterable[tuple[str, str, str | None]],
    bad: Callable[[str, str], pl.Expr],
    reason: Reason,
    message: str,
) -> pl.DataFrame:
    for raw, parsed, column in cells:
        df = rej.pull(df, bad(raw, parsed), reason, column, format_str(message, pl.col(raw)))
    return df


def pull_unparsed(
    rej: Rejects,
    df: pl.DataFrame,
    cells: Iterable[tuple[str, str, str | None]],
    message: str = "'{}' is not a number",
) -> pl.DataFrame:
    """Quarantine ``BAD_NUMBER`` the rows where a cell holds text its parser did not read.

    Parameters
    ----------
    rej, df
        The quarantine and the frame being filtered.
    cells
        ``(raw, parsed, column)`` per cell, checked in order: the raw text column, the
        parsed value's column, and the header name the quarantine reports.
    message
        :func:`polars.format` template; its ``{}`` is the raw cell.
    """
    return _pull_cells(
        rej, df, cells, lambda raw, parsed: unparsed(raw, pl.col(parsed)), Reason.BAD_NUMBER, message
    )


def pull_negative(
    rej: Rejects,
    df: pl.DataFrame,
    cells: Iterable[tuple[str, str, str | None]],
    message: str = "negative value '{}'",
) -> pl.DataFrame:
    """Quarantine ``OUT_OF_RANGE`` the rows where a parsed value is below 0 (``cells`` and
    ``message`` as in :func:`pull_unparsed`)."""
    return _pull_cells(rej, df, cells, lambda _raw, parsed: pl.col(parsed) < 0, Reason.OUT_OF_RANGE, message)


def pull_unfilled_sets(
    rej: Rejects,
    df: pl.DataFrame,
    message: str,
    *,
    reps: str = "_reps",
    weight: str = "_weight",
    distance: str = "_distance",
    duration: str = "_duration",
) -> pl.DataFrame:
    """Read zeros as "not recorded", then quarantine the sets with nothing recorded.

    A zero weight (bodyweight), distance or duration becomes null, and so do zero reps
    on a timed or distance set (apps write ``0`` reps there); zero reps on any other set
    are kept. A set whose reps are then empty or zero and whose weight, distance and
    duration are empty is quarantined ``INFO_UNFILLED_SET`` with ``message``. The four
    arguments name the parsed (Float64) columns.
    """
    df = df.with_columns(zero_as_null(c).alias(c) for c in (weight, distance, duration))
    timed = pl.col(duration).is_not_null() | pl.col(distance).is_not_null()
    df = df.with_columns(pl.when((pl.col(reps) == 0) & timed).then(None).otherwise(pl.col(reps)).alias(reps))
    nothing = (
        pl.col(reps).fill_null(0).eq(0)
        & pl.col(weight).is_null()
        & pl.col(distance).is_null()
        & pl.col(duration).is_null()
    )
    return rej.pull(df, nothing, Reason.INFO_UNFILLED_SET, None, message)


def row_units(
    rej: Rejects,
    df: pl.DataFrame,
    *,
    value: str,
    cell: str,
    parse: Callable[[str], pl.Expr],
    into: str,
    column: str | None,
    unknown: str | pl.Expr,
    mixed: str | None,
    every_row: bool = False,
) -> tuple[pl.DataFrame, int, list[str]]:
    """Read a per-row unit column (Strong Android, generic CSVs) and say what is left to fill.

    Parameters
    ----------
    rej, df
        The quarantine and the frame.
    value
        The parsed value's column (``"_w"``); rows where it is null need no unit.
    cell, parse, into
        The unit cell's column, its parser (:func:`~toolkit.ingest._parse.weight_unit`
        or :func:`~toolkit.ingest._parse.distance_unit`) and the column that receives
        the normalised unit (null for an empty cell or text that is not a unit).
    column
        The unit column's header name, for the quarantine.
    unknown
        Message for ``UNKNOWN_UNIT`` rows whose cell is not a unit.
    mixed
        Message for ``UNKNOWN_UNIT`` rows with a value but no unit in a file whose rows
        use more than one unit (which one was meant cannot be known); ``None`` keeps them.
    every_row
        Check the cells and count the units of every row, not only of rows with a value.

    Returns
    -------
    tuple
        The frame; how many values are left without a unit (0 once ``mixed`` rows were
        quarantined); the units the file's rows use, sorted.
    """
    has_value = pl.col(value).is_not_null()
    scope = pl.lit(True) if every_row else has_value
    df = df.with_columns(parse(cell).alias(into))
    not_a_unit = pl.col(cell).is_not_null() & pl.col(into).is_null()
    df = rej.pull(df, scope & not_a_unit, Reason.UNKNOWN_UNIT, column, unknown)
    no_unit = has_value & pl.col(into).is_null()
    n_missing = int(df.select(no_unit.sum()).item())
    used = sorted(df.filter(scope & pl.col(into).is_not_null())[into].unique().to_list())
    if n_missing and len(used) > 1 and mixed is not None:
        df = rej.pull(df, no_unit, Reason.UNKNOWN_UNIT, column, mixed)
        n_missing = 0
    return df, n_missing, used


def with_raw(quarantine: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """``QUARANTINE_INPUT`` plus the ``raw`` text of each row, from ``frame``'s ``_line``
    and ``raw`` (JSON and XML readers, whose rows are not lines of a CsvTable).

    Several records can share a line (an export written without line breaks): the raw
    text is then the line's first record's, and each quarantined row stays one row.
    """
    raw = frame.select("_line", "raw").unique("_line", keep="first", maintain_order=True)
    joined = quarantine.join(raw, on="_line", how="left", maintain_order="left")
    return joined.select(*QUARANTINE_INPUT, "raw")


# --------------------------------------------------------------------------- warnings


def plural(n: int, word: str, words: str | None = None) -> str:
    """``"1 row"`` / ``"3 rows"``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def date_only_warning(df: pl.DataFrame, warnings: list[str], what: str, whats: str) -> None:
    """Append a warning counting the date-only rows (``what``/``whats``: singular/plural)."""
    n = int((~df["time_known"]).sum()) if df.height else 0
    if n:
        warnings.append(
            f"Date only, no time of day (kept at midnight, time_known=False): {plural(n, what, whats)}."
        )


def pounds_warning(n: int, column: str) -> str:
    """The warning that ``n`` weights in the pound column ``column`` were converted to kg."""
    return (
        f"{n} weights in {column} are pounds, converted to kg (1 lb = {LB_TO_KG} kg); "
        "the pound values are kept as weight_original"
    )


def assisted_warning(df: pl.DataFrame, exercise: str, weight: str) -> str | None:
    """A warning that sets of assisted exercises (``Assisted Pull Up``) record the
    assistance, not the load; ``None`` when no such set has a weight."""
    assisted = df.filter(pl.col(exercise).str.contains(r"(?i)\bassist(ed)?\b") & pl.col(weight).is_not_null())
    if not assisted.height:
        return None
    names = ", ".join(sorted(assisted[exercise].unique().to_list())[:5])
    return (
        f"{assisted.height} sets of assisted exercises ({names}) record the assistance, "
        "not the load lifted; the weight is kept as recorded"
    )
