"""Boundary helpers shared by the analysis modules."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl

from toolkit.exceptions import OptionError

__all__ = [
    "as_polars",
    "between",
    "cast_columns",
    "first_row",
    "json_number",
    "json_records",
    "require_columns",
    "sorted_by",
]


def as_polars(frame: Any, name: str = "frame") -> pl.DataFrame:
    """Accept a polars or pandas DataFrame at the public boundary; return polars.

    The input is never modified (polars frames are immutable; pandas frames are
    converted, not touched).
    """
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas is a dependency
        pd = None
    if pd is not None and isinstance(frame, pd.DataFrame):
        return pl.from_pandas(frame)
    raise OptionError(f"{name} must be a polars or pandas DataFrame, got {type(frame).__name__}")


def require_columns(frame: pl.DataFrame, columns: list[str] | tuple[str, ...], name: str = "frame") -> None:
    """Raise :class:`OptionError` naming the missing columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise OptionError(
            f"{name} lacks column(s) {', '.join(missing)}; it has {', '.join(frame.columns) or 'none'}"
        )


def between(frame: pl.DataFrame, col: str, start: dt.date | None, end: dt.date | None) -> pl.DataFrame:
    """Rows of ``frame`` whose ``col`` lies in ``start … end`` (inclusive; None: open)."""
    if start is not None:
        frame = frame.filter(pl.col(col) >= start)
    if end is not None:
        frame = frame.filter(pl.col(col) <= end)
    return frame


def first_row(frame: pl.DataFrame) -> dict[str, Any]:
    """The first row of ``frame`` as a dict, or ``{}`` when it has none."""
    return frame.row(0, named=True) if frame.height else {}


def json_number(value: Any, digits: int | None = None) -> float | None:
    """``value`` as a float for JSON: None when missing or not finite, rounded to ``digits``
    decimals when given."""
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    return value if digits is None else round(value, digits)


def json_records(frame: pl.DataFrame, digits: int | None = None) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-ready dicts: dates as ISO strings, floats through
    :func:`json_number` (non-finite → None, rounded to ``digits`` when given)."""
    return [
        {
            k: (
                v.isoformat()
                if isinstance(v, dt.date)
                else json_number(v, digits)
                if isinstance(v, float)
                else v
            )
            for k, v in row.items()
        }
        for row in frame.iter_rows(named=True)
    ]


def cast_columns(df: pl.DataFrame, schema: dict[str, Any], name: str, *, loose: bool = False) -> pl.DataFrame:
    """Cast the contract columns ``schema`` (name → dtype) of ``df``, refusing dtypes that do not fit.

    Parameters
    ----------
    df
        Frame holding every column of ``schema``.
    schema
        Column name → target dtype.
    name
        Frame name used in the error message.
    loose
        Also accept integer columns as String (numeric ids) and Boolean columns as numbers.

    Returns
    -------
    polars.DataFrame
        ``df`` with the columns cast. An empty or all-null column takes any dtype (pandas
        gives such object columns to polars as String); a Datetime column becomes a Date;
        numbers become Float64/Int64; Categorical/Enum becomes String.

    Raises
    ------
    OptionError
        "<name>.<col> must be <dtype>, got <dtype>" for any other combination.
    """
    exprs = []
    for col, dtype in schema.items():
        current = df.schema[col]
        if current == dtype:
            continue
        ok = current == pl.Null or df.get_column(col).null_count() == df.height
        if dtype == pl.Date and isinstance(current, pl.Datetime) and not ok:
            exprs.append(pl.col(col).dt.date())
            continue
        if dtype in (pl.Float64, pl.Int64):
            ok = ok or current.is_numeric() or (loose and current == pl.Boolean)
        elif dtype == pl.String:
            ok = ok or isinstance(current, pl.Categorical | pl.Enum) or (loose and current.is_integer())
        if not ok:
            raise OptionError(f"{name}.{col} must be {dtype}, got {current}")
        exprs.append(pl.col(col).cast(dtype))
    return df.with_columns(exprs) if exprs else df


def sorted_by(frame: pl.DataFrame, first: str, second: str, *, strict: bool = False) -> bool:
    """Whether ``frame`` is sorted by ``first, second`` (ascending, no null in either;
    ``strict``: and no two rows share both). One vectorised comparison of every row with
    the next, cheaper than sorting: lets callers skip a sort, or a group-by that would
    only collect single rows."""
    if frame.height < 2:
        return frame.select(pl.col(first, second).null_count().sum()).sum_horizontal().item() == 0
    a, b = pl.col(first), pl.col(second)
    a1, b1 = a.shift(-1), b.shift(-1)
    ok = (a1 > a) | ((a1 == a) & ((b1 > b) if strict else (b1 >= b)))
    return bool(
        frame.select(ok.head(frame.height - 1).all() & a.is_not_null().all() & b.is_not_null().all()).item()
    )
