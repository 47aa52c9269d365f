"""Boundary helpers shared by the analysis modules."""

from __future__ import annotations

from typing import Any

import polars as pl

from toolkit.exceptions import OptionError

__all__ = ["as_polars", "require_columns"]


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
