"""Option validators shared by the analysis modules (keyword arguments, not frames).

Each validator returns the option in its canonical Python type or raises
:class:`~toolkit.exceptions.OptionError` with a message that names the option, the
accepted values and the value given (tests match on this wording).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import polars as pl

from toolkit.exceptions import OptionError

__all__ = ["WEEKDAYS", "float_option", "int_option", "week_start_day", "week_start_of"]

WEEKDAYS: dict[str, int] = {
    "monday": 1,
    "tuesday": 2,
    "wednesday": 3,
    "thursday": 4,
    "friday": 5,
    "saturday": 6,
    "sunday": 7,
}
"""Accepted ``week_start`` names → ISO weekday (1 = Monday)."""


def int_option(name: str, value: Any, *, low: int, high: int | None = None) -> int:
    """An integer option (not a bool) in ``low..high`` (``high`` None: no upper bound).

    Parameters
    ----------
    name
        Option name used in the error message.
    value
        The value given.
    low, high
        Inclusive bounds.

    Returns
    -------
    int
        ``value`` as a Python int.

    Raises
    ------
    OptionError
        "<name> must be an int ≥ <low>, got <value>" (or "in <low>..<high>").
    """
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        bound = f"≥ {low}" if high is None else f"in {low}..{high}"
        raise OptionError(f"{name} must be an int {bound}, got {value!r}")
    return int(value)


def float_option(
    name: str,
    value: Any,
    *,
    low: float,
    high: float = math.inf,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """A finite real option (not a bool) between ``low`` and ``high`` (infinite: no upper
    bound), each bound excluded when ``low_open``/``high_open``; returned as a float.

    Raises :class:`OptionError` "<name> must be a finite number > 0, got <value>" and the like.
    """
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        v = float(value)
        ok = (v > low if low_open else v >= low) and (v < high if high_open else v <= high)
    if not ok:
        lo = f"{'>' if low_open else '≥'} {low:g}"
        hi = "" if math.isinf(high) else f" and {'<' if high_open else '≤'} {high:g}"
        raise OptionError(f"{name} must be a finite number {lo}{hi}, got {value!r}")
    return float(value)


def week_start_day(week_start: Any) -> int:
    """The ISO weekday (1 = Monday) of a ``week_start`` name (case-insensitive).

    Raises
    ------
    OptionError
        When ``week_start`` is not a key of :data:`WEEKDAYS`.
    """
    key = week_start.lower() if isinstance(week_start, str) else week_start
    if key not in WEEKDAYS:
        raise OptionError(f"week_start must be one of {', '.join(WEEKDAYS)}, got {week_start!r}")
    return WEEKDAYS[key]


def week_start_of(date: pl.Expr, weekday: int) -> pl.Expr:
    """First day (ISO weekday ``weekday``, 1 = Monday) of the week containing ``date``."""
    return date - pl.duration(days=(date.dt.weekday().cast(pl.Int64) - weekday) % 7)
