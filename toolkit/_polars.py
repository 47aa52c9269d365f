"""Small polars helpers shared by ingest and analysis.

:func:`format_str` stands in for ``pl.format``: polars 2.1's ``format`` kernel panics
(``assertion failed: i < self.len()``, a ``PanicException`` that is not an
``Exception``) on a string column whose chunks include an empty one — which a filter
of a multi-chunk frame produces, e.g. the quarantined rows of a large CSV
(pola-rs/polars#25339, open). ``pl.concat_str`` computes the same text without that
kernel.
"""

from __future__ import annotations

import re

import polars as pl

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{\}|[{}]")


def format_str(template: str, *args: object) -> pl.Expr:
    """``pl.format(template, *args)`` built from ``pl.concat_str``.

    Each ``{}`` takes the next argument (an expression, a column name, or any other
    value as a literal, as ``pl.format`` reads its arguments); ``{{`` and
    ``}}`` are literal braces. As with ``pl.format``, a row is null when any argument
    is null, and the result is named after the first argument.

    Examples
    --------
    >>> df = pl.DataFrame({"w": ["lbs", None], "n": [2, 3]})
    >>> df.select(format_str("unit '{}' on line {}", "w", pl.col("n"))).to_series().to_list()
    ["unit 'lbs' on line 2", None]
    """
    exprs = [_expr(arg) for arg in args]
    parts: list[pl.Expr] = []
    literal: list[str] = []
    remaining = iter(exprs)
    pos = 0
    for match in _PLACEHOLDER.finditer(template):
        literal.append(template[pos : match.start()])
        pos = match.end()
        token = match.group()
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        if token != "{}":
            raise ValueError(f"format_str: only '{{}}' placeholders are supported: {template!r}")
        arg = next(remaining, None)
        if arg is None:
            raise ValueError(f"format_str: more placeholders than arguments in {template!r}")
        if "".join(literal):
            parts.append(pl.lit("".join(literal), dtype=pl.String))
        literal = []
        parts.append(arg)
    if next(remaining, None) is not None:
        raise ValueError(f"format_str: more arguments than placeholders in {template!r}")
    literal.append(template[pos:])
    if "".join(literal):
        parts.append(pl.lit("".join(literal), dtype=pl.String))
    if not exprs:
        return pl.lit("".join(literal), dtype=pl.String)
    name = exprs[0].meta.output_name(raise_if_undetermined=False) or "literal"
    return pl.concat_str(parts).alias(name)


def _expr(arg: object) -> pl.Expr:
    if isinstance(arg, pl.Expr):
        return arg
    if isinstance(arg, str):
        return pl.col(arg)
    return pl.lit(arg)
