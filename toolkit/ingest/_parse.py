"""Vectorised cell parsers shared by the readers (polars expressions, no row loops).

Every parser returns null for an empty cell and for a cell it cannot read; pair it
with :func:`unparsed` to find cells that were *not empty* yet did not parse, which the
reader quarantines with a reason.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from toolkit._polars import format_str

__all__ = [
    "KM_TO_M",
    "LB_TO_KG",
    "MILE_TO_M",
    "SUSPECT_SESSION_S",
    "clock_time",
    "converted_pounds",
    "describe_lines",
    "distance_unit",
    "duration_seconds",
    "english_months",
    "find_column",
    "header_key",
    "headers_matching",
    "number",
    "number_cells",
    "parse_datetime",
    "timestamp_parts",
    "unparsed",
    "unparsed_cell",
    "weight_unit",
    "zero_as_null",
]

LB_TO_KG = 0.45359237
"""Kilograms per international avoirdupois pound (exact, 1959 agreement)."""
MILE_TO_M = 1609.344
"""Metres per international mile (exact)."""
KM_TO_M = 1000.0
SUSPECT_SESSION_S = 6 * 3600
"""A session longer than this is flagged as suspect (FORMATS.md §5.6: Strong's
``264h 1m`` durations are timers left running until export)."""


def number(col: str | pl.Expr) -> pl.Expr:
    """A numeric cell as Float64: strips spaces, accepts ``10``, ``10.0``, `` 2.0``,
    ``1e3``; null when empty or not a number.

    ``nan``, ``inf`` and values past Float64's range (``1e400``) are null too: they are
    text to the user, not a weight or a count, and a NaN would pass every range check
    (every comparison with it is false) into the store. With :func:`unparsed` (or
    :func:`unparsed_cell`) the reader quarantines them as bad numbers.
    """
    expr = pl.col(col) if isinstance(col, str) else col
    return _finite(expr.str.strip_chars().str.strip_prefix("+").cast(pl.Float64, strict=False))


def _finite(value: pl.Expr) -> pl.Expr:
    """``value`` where it is finite, else null (keeps the expression's name)."""
    return pl.when(value.is_finite()).then(value)


def number_cells(df: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """:func:`number` of CSV cells, added as columns ``{output: input}``, without
    stripping every cell again.

    The cells of a :class:`~toolkit.ingest._text.CsvTable` are stripped already and
    none is empty (those are null), so casting is all :func:`number` would do to most
    of them; it is done to the few a plain cast does not read (a ``+`` prefix polars
    rejects, ``++5``), so every value is :func:`number`'s. A cell that does not parse
    is then simply non-null text with a null number (see :func:`unparsed_cell`).
    """
    cast = df.with_columns(
        _finite(pl.col(c).cast(pl.Float64, strict=False)).alias(out) for out, c in columns.items()
    )
    missed = cast.select(
        (pl.col(c).is_not_null() & pl.col(out).is_null()).any().alias(out) for out, c in columns.items()
    ).row(0, named=True)
    redo = [pl.col(c).pipe(number).alias(out) for out, c in columns.items() if missed[out]]
    return cast.with_columns(redo) if redo else cast


def unparsed_cell(raw: str, parsed: pl.Expr) -> pl.Expr:
    """:func:`unparsed` for a stripped CSV cell (see :func:`number_cells`): it holds text
    but did not parse."""
    return pl.col(raw).is_not_null() & parsed.is_null()


def zero_as_null(col: str | pl.Expr) -> pl.Expr:
    """Null where a parsed number is ``0``: apps write ``0`` for "not entered" (no
    external load, no distance, no time). Keeps the column's name."""
    expr = pl.col(col) if isinstance(col, str) else col
    return pl.when(expr != 0).then(expr)


def unparsed(raw: str | pl.Expr, parsed: pl.Expr) -> pl.Expr:
    """True where ``raw`` holds text but ``parsed`` came out null."""
    expr = pl.col(raw) if isinstance(raw, str) else raw
    return expr.is_not_null() & (expr.str.strip_chars() != "") & parsed.is_null()


def on_unique(expr: pl.Expr, parse: Callable[[pl.Expr], pl.Expr], dtype: pl.DataType) -> pl.Expr:
    """Apply an expensive parser to the *distinct* values of ``expr`` only.

    Exports repeat the same date and duration text on every set of a session, so a
    1M-row file has a few thousand distinct values: parsing those and mapping back is
    an order of magnitude faster than running regexes on every row. When equal values
    come in runs (a session's rows), the first of each run is parsed and repeated;
    otherwise each distinct value is parsed and mapped back (``replace_strict``).
    Vectorised, no Python loop over rows.
    """

    def apply(series: pl.Series) -> pl.Series:
        # Exports write a session's cells on consecutive rows: parsing the first of each
        # run of equal values, then repeating it, needs no hashing of every row.
        new_run = series.ne_missing(series.shift(1))
        if len(new_run):
            new_run[0] = True  # the first row starts a run, even when it is empty
        n_runs = int(new_run.sum())
        if n_runs * 4 <= len(series):
            firsts = _parse_distinct(series.filter(new_run), parse, dtype)
            return firsts.gather(new_run.cum_sum() - 1).alias(series.name)
        return _parse_distinct(series, parse, dtype)

    return expr.map_batches(apply, return_dtype=dtype, is_elementwise=True)


def _parse_distinct(series: pl.Series, parse: Callable[[pl.Expr], pl.Expr], dtype: pl.DataType) -> pl.Series:
    """``parse`` of ``series``, run on its distinct values when they repeat (a session's
    duration is one of a few dozen values on tens of thousands of sessions), else on
    the values themselves (dates, nearly all distinct: no mapping back needed)."""
    distinct = series.unique().drop_nulls()
    if distinct.is_empty():
        return pl.Series(series.name, [None] * len(series), dtype=dtype)
    if len(distinct) * 4 > len(series):
        return pl.DataFrame({"v": series}).select(parse(pl.col("v")).cast(dtype))["v"].alias(series.name)
    parsed = pl.DataFrame({"v": distinct}).select(parse(pl.col("v")).cast(dtype))["v"]
    return series.replace_strict(distinct, parsed, default=None, return_dtype=dtype)


_DURATION_HMS = r"^(\d+):([0-5]?\d):([0-5]?\d(?:\.\d+)?)$"
_DURATION_MS = r"^(\d+):([0-5]?\d(?:\.\d+)?)$"
_DURATION_TEXT = (
    r"^(?:(\d+(?:\.\d+)?)\s*h(?:ours?|rs?)?)?\s*"
    r"(?:(\d+(?:\.\d+)?)\s*m(?:in(?:utes?|s)?)?)?\s*"
    r"(?:(\d+(?:\.\d+)?)\s*s(?:ec(?:onds?|s)?)?)?$"
)


def duration_seconds(col: str | pl.Expr) -> pl.Expr:
    """A duration cell in seconds (Float64); see :func:`_duration_seconds` for the forms.
    Null, like an unreadable cell, when not finite (``nan``, ``inf``, ``1e400``, an hour
    of 400 digits)."""
    expr = pl.col(col) if isinstance(col, str) else col
    # Finite is checked on the distinct cells too: `_finite` of the mapped column would
    # evaluate the mapping twice (polars runs a Python batch function once per use).
    return on_unique(expr, lambda e: _finite(_duration_seconds(e)), pl.Float64())


def _duration_seconds(col: str | pl.Expr) -> pl.Expr:
    """A duration cell in seconds (Float64).

    Accepts every form the apps write (FORMATS.md §5.6): ``1h 5m``, ``45m``,
    ``38min``, ``2h``, ``90s``, a bare number of seconds (``2134``, ``30.0``),
    ``H:MM:SS`` (FitNotes ``0:09:21``) and ``MM:SS(.s)``. Null when empty or
    unreadable.
    """
    expr = (pl.col(col) if isinstance(col, str) else col).str.strip_chars().str.to_lowercase()
    hms = expr.str.extract_groups(_DURATION_HMS)
    ms = expr.str.extract_groups(_DURATION_MS)
    txt = expr.str.extract_groups(_DURATION_TEXT)
    from_hms = (
        hms.struct.field("1").cast(pl.Float64) * 3600
        + hms.struct.field("2").cast(pl.Float64) * 60
        + hms.struct.field("3").cast(pl.Float64)
    )
    from_ms = ms.struct.field("1").cast(pl.Float64) * 60 + ms.struct.field("2").cast(pl.Float64)
    parts = [txt.struct.field(str(i)).cast(pl.Float64) for i in (1, 2, 3)]
    any_part = parts[0].is_not_null() | parts[1].is_not_null() | parts[2].is_not_null()
    from_text = pl.when(any_part).then(
        parts[0].fill_null(0) * 3600 + parts[1].fill_null(0) * 60 + parts[2].fill_null(0)
    )
    return pl.coalesce(expr.cast(pl.Float64, strict=False), from_hms, from_ms, from_text)


def parse_datetime(
    col: str | pl.Expr, formats: list[str], *, prepare: Callable[[pl.Expr], pl.Expr] | None = None
) -> pl.Expr:
    """First of ``formats`` that parses each cell; see :func:`_parse_datetime`.

    ``prepare`` rewrites the text first (localised month names, say); like the parse it
    runs once per distinct cell, not on every row."""
    expr = pl.col(col) if isinstance(col, str) else col
    rewrite = prepare or (lambda e: e)
    return on_unique(expr, lambda e: _parse_datetime(rewrite(e), formats), pl.Datetime("us"))


def _parse_datetime(col: str | pl.Expr, formats: list[str]) -> pl.Expr:
    """First of ``formats`` that parses each cell (naive ``Datetime('us')``).

    Formats with ``%z`` produce an aware value converted to UTC and then made naive
    (callers that use them treat the result as UTC).
    """
    expr = (pl.col(col) if isinstance(col, str) else col).str.strip_chars()
    tries = []
    for fmt in formats:
        parsed = expr.str.strptime(pl.Datetime("us"), fmt, strict=False, exact=True)
        if "%z" in fmt:
            parsed = expr.str.strptime(
                pl.Datetime("us", "UTC"), fmt, strict=False, exact=True
            ).dt.replace_time_zone(None)
        tries.append(parsed)
    return pl.coalesce(tries)


# Month names and abbreviations in the languages Hevy, Strong and others localise to.
# Keys are lower-case with dots removed; values are English three-letter abbreviations.
_MONTHS: dict[str, str] = {}
for _en, _names in {
    "Jan": "january jan januar janv janvier enero ene gennaio gen janeiro januari jänner jän tammikuu styczeń stycznia sty leden",
    "Feb": "february feb februar fév févr fevr février febrero febbraio fevereiro fev februari helmikuu luty lutego lut únor",
    "Mar": "march mar märz mär maerz mars marzo março marco maart maa maaliskuu marzec marca březen",
    "Apr": "april apr avril avr abril abr aprile huhtikuu kwiecień kwietnia kwi duben",
    "May": "may mai mayo maggio mag maio mei toukokuu maj maja květen",
    "Jun": "june jun juni juin junio giu giugno junho kesäkuu czerwiec czerwca cze červen",
    "Jul": "july jul juli juil juillet julio lug luglio julho heinäkuu lipiec lipca lip červenec",
    "Aug": "august aug août aout agosto ago augustus elokuu sierpień sierpnia sie srpen",
    "Sep": "september sep sept septembre septiembre set settembre setembro syyskuu wrzesień września wrz září",
    "Oct": "october oct oktober okt octobre octubre ott ottobre outubro out lokakuu październik października paź říjen",
    "Nov": "november nov novembre noviembre novembro marraskuu listopad listopada lis",
    "Dec": "december dec dezember dez décembre déc diciembre dic dicembre dezembro joulukuu grudzień grudnia gru prosinec",
}.items():
    for _name in _names.split():
        _MONTHS.setdefault(_name, _en)


def english_months(col: str | pl.Expr) -> pl.Expr:
    """Replace a localised month name (``25 Juli 2026``, ``3 déc. 2025``) by its English
    abbreviation so ``%d %b %Y`` parses it. Only the first alphabetic word is mapped."""
    expr = pl.col(col) if isinstance(col, str) else col
    word = expr.str.extract(r"(\p{L}+\.?)", 1)
    key = word.str.to_lowercase().str.replace_all(r"\.", "")
    english = key.replace_strict(_MONTHS, default=None, return_dtype=pl.String)
    return (
        pl.when(english.is_not_null())
        .then(expr.str.replace(r"\p{L}+\.?", english, literal=False))
        .otherwise(expr)
    )


_WEIGHT_UNITS = {
    "kg": "kg",
    "kgs": "kg",
    "kilo": "kg",
    "kilos": "kg",
    "kilogram": "kg",
    "kilograms": "kg",
    "lb": "lb",
    "lbs": "lb",
    "pound": "lb",
    "pounds": "lb",
    "#": "lb",
}
_DISTANCE_UNITS = {
    "m": "m",
    "meter": "m",
    "meters": "m",
    "metre": "m",
    "metres": "m",
    "km": "km",
    "kms": "km",
    "kilometer": "km",
    "kilometers": "km",
    "kilometre": "km",
    "kilometres": "km",
    "mi": "mi",
    "mile": "mi",
    "miles": "mi",
    "ft": "ft",
    "feet": "ft",
    "yd": "yd",
    "yard": "yd",
    "yards": "yd",
}
DISTANCE_TO_M = {"m": 1.0, "km": KM_TO_M, "mi": MILE_TO_M, "ft": 0.3048, "yd": 0.9144}


def weight_unit(col: str | pl.Expr) -> pl.Expr:
    """Normalise a weight-unit cell to ``kg`` / ``lb`` (null if empty or unknown)."""
    expr = pl.col(col) if isinstance(col, str) else col
    return (
        expr.str.strip_chars()
        .str.to_lowercase()
        .str.replace_all(r"\.", "")
        .replace_strict(_WEIGHT_UNITS, default=None, return_dtype=pl.String)
    )


def distance_unit(col: str | pl.Expr) -> pl.Expr:
    """Normalise a distance-unit cell to ``m``/``km``/``mi``/``ft``/``yd`` (null if unknown)."""
    expr = pl.col(col) if isinstance(col, str) else col
    return (
        expr.str.strip_chars()
        .str.to_lowercase()
        .str.replace_all(r"\.", "")
        .replace_strict(_DISTANCE_UNITS, default=None, return_dtype=pl.String)
    )


def find_column(header: list[str], *names: str) -> str | None:
    """The first header entry that matches one of ``names``, or None.

    Matching ignores case and whitespace, so ``Weight (lbs)`` matches
    ``weight(lbs)`` and ``WEIGHT (LBS)``. The entry is returned as written in the
    header, which is the column's name in :attr:`CsvTable.rows
    <toolkit.ingest._text.CsvTable.rows>` (for a duplicated name, its first
    occurrence).

    Examples
    --------
    >>> find_column(["Date", "Weight (lbs)"], "weight(kgs)", "weight(lbs)")
    'Weight (lbs)'
    >>> find_column(["Date"], "reps") is None
    True
    """
    wanted = {"".join(n.split()).lower() for n in names}
    for h in header:
        if h and "".join(h.split()).lower() in wanted:
            return h
    return None


def converted_pounds(
    kg: str | pl.Expr, *, step_lb: float = 0.25, tol_lb: float = 1e-4, rel_tol: float = 2e-6
) -> pl.Expr:
    """True where a kilogram value looks like a pound value converted to kg.

    Apps that store kilograms internally but let users enter pounds (Fitbod) export
    values such as ``20.41168092460379`` (= 45 lb). A value is flagged when it is not
    a whole number of grams (more than three decimals, so not typed in kg) and
    ``kg / 0.45359237`` lies within ``tol_lb + rel_tol × lb`` of a multiple of
    ``step_lb`` pounds. The relative part accepts the rounded factor older exports
    used (Fitbod 2019: 1 kg = 2.20462 lb, so 90 lb = ``40.82336185``). Null cells
    give null.

    Examples
    --------
    >>> pl.select(converted_pounds(pl.lit(20.41168092460379))).item()
    True
    >>> pl.select(converted_pounds(pl.lit(40.82336185))).item()
    True
    >>> pl.select(converted_pounds(pl.lit(42.5))).item()
    False
    """
    expr = pl.col(kg) if isinstance(kg, str) else kg
    grams = expr * 1000
    not_whole_grams = (grams - grams.round(0)).abs() > 1e-6
    lb = expr / LB_TO_KG
    steps = lb / step_lb
    on_step = (steps - steps.round(0)).abs() * step_lb < tol_lb + rel_tol * lb.abs()
    return not_whole_grams & on_step & (expr != 0)


def describe_lines(lines: list[int] | pl.Series, *, limit: int = 10) -> str:
    """``"line 5"``, ``"lines 5, 9, 12"`` or ``"lines 5, 9, … (40 in all)"`` for a warning.

    Examples
    --------
    >>> describe_lines([5, 9, 12])
    'lines 5, 9, 12'
    >>> describe_lines(list(range(2, 30)), limit=3)
    'lines 2, 3, 4, … (28 in all)'
    """
    values = sorted(int(v) for v in lines)
    if len(values) == 1:
        return f"line {values[0]}"
    shown = ", ".join(str(v) for v in values[:limit])
    if len(values) > limit:
        return f"lines {shown}, … ({len(values)} in all)"
    return f"lines {shown}"


# --- helpers added for the pain / PROM / generic readers ---------------------------------


def header_key(name: str) -> str:
    """A header name reduced for alias matching: lower case, without spaces, ``_`` or ``-``.

    ``"Pain Score"``, ``"pain_score"`` and ``" PAIN-score "`` all become ``"painscore"``;
    ``"Weight (kg)"`` becomes ``"weight(kg)"``.
    """
    return "".join(ch for ch in name.strip().lower() if not ch.isspace() and ch not in "_-")


def headers_matching(header: list[str], keys: set[str] | frozenset[str]) -> list[str]:
    """The header names (as written, in file order) whose :func:`header_key` is in ``keys``."""
    return [h for h in header if header_key(h) in keys]


_CLOCK = r"^(\d{1,2})(?::(\d{2}))?(?::(\d{2})(?:[.,](\d+))?)?\s*([ap])?\.?(?:m\.?)?$"


def clock_time(col: str | pl.Expr) -> pl.Expr:
    """A time-of-day cell as ``HH:MM:SS[.f]`` text (null when empty or not a clock time).

    Accepts ``7:48``, ``07:48:05``, ``07:48:05.250``, ``7:48 pm``, ``7pm`` and ``7 p.m.``;
    a bare number without ``:`` or am/pm is not a time. Hours must be 0–23 (1–12 with
    am/pm), minutes and seconds 0–59.
    """
    expr = (pl.col(col) if isinstance(col, str) else col).str.strip_chars().str.to_lowercase()
    g = expr.str.extract_groups(_CLOCK)
    hour = g.struct.field("1").cast(pl.Int32)
    minute = g.struct.field("2").cast(pl.Int32)
    second = g.struct.field("3").cast(pl.Int32)
    frac = g.struct.field("4")
    ampm = g.struct.field("5")
    shaped = minute.is_not_null() | ampm.is_not_null()
    hour24 = (
        pl.when(ampm.is_null())
        .then(hour)
        .when((hour < 1) | (hour > 12))
        .then(None)
        .when(ampm == "a")
        .then(hour % 12)
        .otherwise(hour % 12 + 12)
    )
    valid = (
        shaped
        & hour24.is_between(0, 23)
        & minute.fill_null(0).is_between(0, 59)
        & second.fill_null(0).is_between(0, 59)
    )
    text = format_str(
        "{}:{}:{}{}",
        hour24.cast(pl.String).str.zfill(2),
        minute.fill_null(0).cast(pl.String).str.zfill(2),
        second.fill_null(0).cast(pl.String).str.zfill(2),
        pl.when(frac.is_not_null()).then(pl.lit(".") + frac).otherwise(pl.lit("")),
    )
    return pl.when(valid).then(text)


_ISO_DATETIME = (
    r"^(\d{4}-\d{1,2}-\d{1,2})"
    r"(?:[T ](\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?))?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?$"
)
_DAY_MONTH_YEAR = r"^(\d{1,2}) ([A-Z][a-z]{2}) (\d{4})(?:,? +(\d{1,2}:\d{2}(?::\d{2})?))?$"


_TIMESTAMP_STRUCT = pl.Struct(
    {"ts_local": pl.Datetime("us"), "ts_utc": pl.Datetime("us", "UTC"), "time_known": pl.Boolean}
)


def timestamp_parts(date: str | pl.Expr, time: str | pl.Expr | None = None) -> pl.Expr:
    """Parse date(-time) cells into a struct ``{ts_local, ts_utc, time_known}``.

    Only unambiguous forms are read:

    * ISO 8601: ``2025-09-15``, ``2025-09-15 07:48``, ``2025-09-15T07:48:00.5``, each
      optionally followed by an offset ``Z``, ``+02:00``, ``+0200`` or `` -0700`` (Apple);
    * day, month name, year: ``15 Sep 2025``, ``15th September 2025``, ``3 déc. 2025``
      (localised month names, see :func:`english_months`), optionally followed by
      ``[,] HH:MM[:SS]``.

    Slash or dot dates (``15/09/2025``, ``09/15/2025``, ``15.09.2025``) are *not* read:
    day-first and month-first cannot be told apart, so they come out null and the
    caller quarantines them.

    The parsing runs once per distinct (date, time) pair — diaries and workout logs
    repeat the same cells on many rows — in staged, vectorised polars steps.

    Parameters
    ----------
    date
        The date or date-time column.
    time
        Optional separate time-of-day column (see :func:`clock_time`), used for rows
        whose ``date`` cell has no time.

    Returns
    -------
    pl.Expr
        Struct with ``ts_local`` (``Datetime('us')``, wall-clock time of a cell without
        an offset), ``ts_utc`` (``Datetime('us', 'UTC')``, the instant of a cell with an
        offset) and ``time_known`` (Boolean, False for date-only cells). All three are
        null when the cell is empty or unreadable; exactly one of the timestamps is set
        otherwise. A date-only cell gives midnight.
    """
    d = (pl.col(date) if isinstance(date, str) else date).cast(pl.String).alias("d")
    t = (pl.col(time) if isinstance(time, str) else time) if time is not None else pl.lit(None)
    return pl.struct(d, t.cast(pl.String).alias("t")).map_batches(
        _timestamps_of_batch, return_dtype=_TIMESTAMP_STRUCT
    )


def _timestamps_of_batch(cells: pl.Series) -> pl.Series:
    frame = cells.struct.unnest()
    if frame.width == 1:  # a struct of one broadcast literal
        frame = frame.with_columns(pl.lit(None, dtype=pl.String).alias("t"))
    distinct = frame.unique()
    parsed = _timestamp_frame(distinct)
    out = frame.join(parsed, on=["d", "t"], how="left", nulls_equal=True, maintain_order="left")
    return out.select(pl.struct("ts_local", "ts_utc", "time_known").alias(cells.name)).to_series()


def _timestamp_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """``d``, ``t`` (String) → the same plus ``ts_local``, ``ts_utc``, ``time_known``.

    Each step is materialised before the next uses it, so no regular expression runs
    twice on the same cell.
    """
    f = frame.with_columns(pl.col("d").str.strip_chars().alias("_d"))
    f = f.with_columns(
        pl.col("_d").str.extract_groups(_ISO_DATETIME).alias("_iso"),
        # "15th Sep 2025" → "15 Sep 2025"; then localised month names → English abbreviations.
        english_months(
            pl.col("_d").str.replace(r"^(\d{1,2})(?:st|nd|rd|th)\b\.?", "$1").str.replace_all(r"\s+", " ")
        )
        .str.extract_groups(_DAY_MONTH_YEAR)
        .alias("_dmy"),
    )
    iso, dmy = pl.col("_iso").struct, pl.col("_dmy").struct
    f = f.with_columns(
        pl.coalesce(
            iso.field("1").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
            format_str("{} {} {}", dmy.field("1"), dmy.field("2"), dmy.field("3")).str.strptime(
                pl.Date, "%d %b %Y", strict=False
            ),
        ).alias("_day"),
        pl.coalesce(iso.field("2"), dmy.field("4")).alias("_cell_time"),
        iso.field("3").alias("_offset"),
    )
    f = f.with_columns(
        clock_time("_cell_time").alias("_cell_clock"),
        clock_time("t").alias("_extra_clock"),
    )
    # A time that was written but is not a valid clock time makes the whole cell unreadable.
    bad_time = pl.col("_cell_time").is_not_null() & pl.col("_cell_clock").is_null()
    clock = pl.coalesce("_cell_clock", "_extra_clock")
    naive = format_str(
        "{} {}", pl.col("_day").dt.to_string("%Y-%m-%d"), clock.fill_null("00:00:00")
    ).str.strptime(pl.Datetime("us"), "%Y-%m-%d %H:%M:%S%.f", strict=False)
    f = f.with_columns(
        pl.when(bad_time | pl.col("_day").is_null()).then(None).otherwise(naive).alias("_naive"),
        clock.is_not_null().alias("_has_clock"),
        pl.col("_offset")
        .str.replace(r"^[Zz]$", "+00:00")
        .str.extract_groups(r"^([+-])(\d{2}):?(\d{2})$")
        .alias("_off"),
    )
    off = pl.col("_off").struct
    minutes = (off.field("2").cast(pl.Int64) * 60 + off.field("3").cast(pl.Int64)) * pl.when(
        off.field("1") == "-"
    ).then(-1).otherwise(1)
    has_offset = pl.col("_offset").is_not_null()
    return f.select(
        "d",
        "t",
        pl.when(~has_offset).then(pl.col("_naive")).alias("ts_local"),
        pl.when(has_offset)
        .then((pl.col("_naive") - pl.duration(minutes=minutes)).dt.replace_time_zone("UTC"))
        .alias("ts_utc"),
        pl.when(pl.col("_naive").is_not_null()).then(pl.col("_has_clock")).alias("time_known"),
    )
