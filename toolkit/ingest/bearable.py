"""Bearable (symptom and mood tracker) "long format" CSV export.

One row per logged item (FORMATS.md §2.1). Two header variants are handled, matched
by name, case- and space-insensitively:

``long`` — seen in a real 2020–21 export (andrewmiller0728/BearableDataProcessing,
``Bearable_Export_20210728.csv``) and in the OmegaJak/bearable-csv-analyzer tests::

    date,weekday,time of day,category,rating/amount,detail,notes
    "22nd Sep 2020","Tuesday","pm","Symptom","1","Back (lower) pain (Mild)",""

``long_date_formatted`` — later exports, as reconstructed from parsers
(abocha/streamlit_bearable_dashboard, rhermanek/bearable_viewer)::

    date, date formatted, weekday, time of day, category, rating/amount, detail, notes

Detection needs ``category``, ``detail``, ``rating/amount`` (or ``rating`` /
``amount``) and ``date`` (or ``date formatted``).

What becomes a pain entry
    A ``Symptom`` row whose symptom name (the ``detail`` without its severity suffix)
    contains *pain*, *ache*, *sciatica*, *stiff* or *sore* (``Back (lower) pain``,
    ``Headache``, ``Neck stiffness``). The symptom name becomes ``location``. Every
    other row — moods, factors, meds, sleep, gratitudes, and symptoms such as
    ``Anxiety (Mild)`` — is quarantined ``not_a_pain_entry`` (accounted for, not an
    error).

Severity
    From the ``detail`` suffix ``(None|Mild|Moderate|Severe|Unbearable|Extreme)`` when
    present, else from ``rating/amount``, read as Bearable's severity code 0–4: 0 none,
    1 mild, 2 moderate, 3 severe, 4 unbearable (the real export writes 1/2/3 with
    Mild/Moderate/Severe; 0 and 4 are inferred from the app's five levels and are
    UNVERIFIED). When both are present and disagree, the suffix (what the user saw)
    wins and a warning counts the rows. The category is then placed on the 0–10 scale
    by :data:`toolkit.ingest.pain_csv.ORDINAL_TO_NRS` (Serlin et al. 1995 cut-points:
    mild 2, moderate 5, severe 8, unbearable/extreme 10, none 0).
    ``pain_original`` is the 0–4 code used, ``scale_original`` is
    ``bearable_severity``.

Time
    ``date formatted`` is used when it is an unambiguous date, else ``date``
    (``22nd Sep 2020``; ordinal suffixes are accepted). ``time of day`` is either a
    clock time (``03:00``, ``3:04`` → ``time_known = True``) or a part of the day
    (``pre``, ``am``, ``mid``, ``pm``, ``all day``): the latter is not turned into an
    invented clock time — the entry is date-only (``time_known = False``) and the part
    of the day is kept at the start of ``notes`` as ``[pm]``. Times have no offset:
    ``ts_local``.
"""

from __future__ import annotations

import polars as pl

from toolkit._polars import format_str
from toolkit.exceptions import Reason
from toolkit.ingest._base import PAIN_INPUT, ReaderSpec, ReadOptions, ReadResult, Rejects, finish
from toolkit.ingest._common import (
    IN,
    date_only_warning,
    missing_columns,
    plural,
    pull_bad_dates,
    pull_field_count,
    resolve_columns,
    select_inputs,
)
from toolkit.ingest._parse import clock_time, header_key, number, timestamp_parts
from toolkit.ingest._text import CsvTable
from toolkit.ingest.pain_csv import ordinal_nrs, ordinal_rank

__all__ = ["PAIN_SYMPTOM", "SPEC", "detect", "read"]

PAIN_SYMPTOM = r"(?i)pain|ache|sciatica|stiff|sore"
"""A symptom whose name matches this regular expression is a pain entry."""

_SEVERITY_SUFFIX = r"(?i)\s*\((none|mild|moderate|severe|unbearable|extreme)\)\s*$"
_CODE_TO_CATEGORY = {0: "not present", 1: "mild", 2: "moderate", 3: "severe", 4: "unbearable"}
_WORD_TO_CATEGORY = {
    "none": "not present",
    "mild": "mild",
    "moderate": "moderate",
    "severe": "severe",
    "unbearable": "unbearable",
    "extreme": "extreme",
}

_KEYS: dict[str, tuple[str, ...]] = {
    "date": ("date",),
    "date_formatted": ("dateformatted",),
    "time": ("timeofday", "time"),
    "category": ("category",),
    "rating": ("rating/amount", "rating", "amount", "ratingamount"),
    "detail": ("detail", "details"),
    "notes": ("notes", "note"),
}
_CANONICAL = tuple(_KEYS)


def detect(header: list[str]) -> str | None:
    """``long`` / ``long_date_formatted`` for a Bearable export header, else ``None``."""
    keys = {header_key(h) for h in header}
    if not {"category", "detail"} <= keys and not {"category", "details"} <= keys:
        return None
    if not keys & set(_KEYS["rating"]):
        return None
    if "dateformatted" in keys:
        return "long_date_formatted"
    if "date" in keys:
        return "long"
    return None


def read(table: CsvTable, layout: str, options: ReadOptions) -> ReadResult:
    """Read a Bearable long-format export; pain symptoms become ``PAIN_INPUT`` rows.

    Parameters
    ----------
    table
        The parsed CSV.
    layout
        From :func:`detect`, or ``"forced"``.
    options
        ``column_map`` may name any of ``date``, ``date_formatted``, ``time``,
        ``category``, ``rating``, ``detail``, ``notes``.

    Returns
    -------
    ReadResult
        ``data`` in ``PAIN_INPUT``: ``pain_nrs`` (0–10 via ``ORDINAL_TO_NRS``),
        ``pain_original`` (Bearable code 0–4), ``scale_original`` = ``bearable_severity``,
        ``location`` = symptom name, ``notes`` = ``[part of day]`` + the row's notes.
        Quarantine: ``not_a_pain_entry`` for every other row; ``wrong_field_count``,
        ``missing_value`` (no date / no severity), ``bad_date``, ``bad_number`` and
        ``out_of_range`` (a rating that is not a 0–4 code) for pain rows.

    Raises
    ------
    IngestError
        ``MISSING_COLUMN`` when ``category``, ``detail`` or a date column is missing.
    """
    label = resolve_columns(table, options.column_map, _KEYS, canonical=_CANONICAL)
    missing = [n for n in ("category", "detail") if label[n] is None]
    if label["date"] is None and label["date_formatted"] is None:
        missing.append("date")
    if missing:
        raise missing_columns(
            table, "a Bearable export needs date, category, rating/amount and detail columns", missing
        )
    cols = {name: (IN + name if header else None) for name, header in label.items()}
    cat, detail = IN + "category", IN + "detail"
    rej = Rejects()
    warnings: list[str] = []
    df = select_inputs(table, label)
    rows_read = df.height

    df = pull_field_count(rej, df, len(table.header), surplus_only=True)
    name = pl.col(detail).str.replace(_SEVERITY_SUFFIX, "").str.strip_chars()
    df = df.with_columns(
        pl.col(cat).str.to_lowercase().alias("_cat"),
        name.alias("_name"),
        pl.col(detail).str.extract(_SEVERITY_SUFFIX, 1).str.to_lowercase().alias("_word"),
    )
    is_symptom = pl.col("_cat").is_in(["symptom", "symptoms"])
    non_pain = df.filter(~is_symptom | ~pl.col("_name").str.contains(PAIN_SYMPTOM).fill_null(False))
    df = rej.pull(
        df,
        ~is_symptom,
        Reason.INFO_NOT_PAIN,
        label["category"],
        format_str("a Bearable '{}' entry, not a pain rating", pl.col(cat).fill_null("(no category)")),
    )
    df = rej.pull(
        df,
        ~pl.col("_name").str.contains(PAIN_SYMPTOM).fill_null(False),
        Reason.INFO_NOT_PAIN,
        label["detail"],
        format_str("symptom '{}' is not a pain", pl.col("_name").fill_null("")),
    )

    # --- time: date formatted (if readable) else date; clock time or a part of the day
    time_col = cols["time"]
    clock = clock_time(time_col) if time_col else pl.lit(None, dtype=pl.String)
    tod = pl.col(time_col) if time_col else None
    parts = [timestamp_parts(pl.col(c), tod) for c in (cols["date_formatted"], cols["date"]) if c]
    ok0 = parts[0].struct.field("ts_local").is_not_null() | parts[0].struct.field("ts_utc").is_not_null()
    chosen = parts[0] if len(parts) == 1 else pl.when(ok0).then(parts[0]).otherwise(parts[1])
    df = df.with_columns(chosen.alias("_ts")).unnest("_ts")
    date_cols = [c for c in (cols["date_formatted"], cols["date"]) if c]
    first_date = date_cols[-1]
    date_label = label["date"] or label["date_formatted"]
    df = rej.pull(
        df,
        pl.all_horizontal(pl.col(c).is_null() for c in date_cols),
        Reason.MISSING_VALUE,
        date_label,
        "the date is empty",
    )
    df = pull_bad_dates(
        rej,
        df,
        date_label,
        format_str("'{}' is not a date (expected '22nd Sep 2020' or 2020-09-22)", pl.col(first_date)),
    )

    # --- severity: suffix word, else the 0–4 rating code
    rating = cols["rating"]
    code = number(rating) if rating else pl.lit(None, dtype=pl.Float64)
    df = df.with_columns(code.alias("_code"))
    no_word = pl.col("_word").is_null()
    if rating:
        df = rej.pull(
            df,
            no_word & pl.col(rating).is_null(),
            Reason.MISSING_VALUE,
            label["rating"],
            format_str("pain symptom '{}' has no severity", pl.col("_name")),
        )
        df = rej.pull(
            df,
            no_word & pl.col("_code").is_null(),
            Reason.BAD_NUMBER,
            label["rating"],
            format_str("severity '{}' is not a number", pl.col(rating)),
        )
        df = rej.pull(
            df,
            no_word & ~pl.col("_code").is_in([float(c) for c in _CODE_TO_CATEGORY]),
            Reason.OUT_OF_RANGE,
            label["rating"],
            format_str("severity {} is not a Bearable severity code 0–4", pl.col(rating)),
        )
    else:
        df = rej.pull(df, no_word, Reason.MISSING_VALUE, label["detail"], "the pain symptom has no severity")
    from_word = pl.col("_word").replace_strict(_WORD_TO_CATEGORY, default=None, return_dtype=pl.String)
    from_code = (
        pl.col("_code")
        .cast(pl.Int64, strict=False)
        .replace_strict(_CODE_TO_CATEGORY, default=None, return_dtype=pl.String)
    )
    category = pl.coalesce(from_word, from_code)
    word_rank = ordinal_rank(from_word)
    disagree = from_word.is_not_null() & pl.col("_code").is_not_null() & (word_rank != pl.col("_code"))
    part_of_day = pl.when(tod.is_not_null() & clock.is_null()).then(tod) if tod is not None else pl.lit(None)
    user_notes = pl.col(cols["notes"]) if cols["notes"] else pl.lit(None, dtype=pl.String)
    notes = pl.concat_str(
        [format_str("[{}]", part_of_day.cast(pl.String)), user_notes], separator=" ", ignore_nulls=True
    )
    df = df.with_columns(
        ordinal_nrs(category).alias("pain_nrs"),
        ordinal_rank(category).alias("pain_original"),
        pl.lit("bearable_severity").alias("scale_original"),
        pl.col("_name").alias("location"),
        pl.when(notes != "").then(notes).alias("notes"),
        disagree.alias("_disagree"),
    )

    data = finish(df, PAIN_INPUT)
    if data.height:
        warnings.append(
            "Bearable severities mapped to the 0–10 scale (none 0, mild 2, moderate 5, "
            "severe 8, unbearable/extreme 10; Serlin et al. 1995 cut-points): "
            f"{plural(data.height, 'pain symptom')}."
        )
    n_disagree = int(df["_disagree"].sum())
    if n_disagree:
        warnings.append(
            "The severity word in the detail was used where the rating disagreed with it: "
            f"{plural(n_disagree, 'row')}."
        )
    if non_pain.height:
        counts = (
            non_pain.with_columns(
                pl.when(is_symptom)
                .then(pl.lit("non-pain symptoms"))
                .otherwise(pl.col(cat).fill_null("(no category)"))
                .alias("_what")
            )
            .group_by("_what")
            .len()
            .sort(["len", "_what"], descending=[True, False])
        )
        listed = ", ".join(f"{w} {n}" for w, n in counts.iter_rows())
        warnings.append(
            f"Set aside as not_a_pain_entry (not pain ratings): {plural(non_pain.height, 'row')} ({listed})."
        )
    date_only_warning(df, warnings, "pain entry", "pain entries")
    return ReadResult(
        format="bearable",
        layout=layout,
        kind="pain",
        rows_read=rows_read,
        data=data,
        quarantine=rej.frame(),
        warnings=warnings,
    )


SPEC = ReaderSpec(
    name="bearable",
    kind="pain",
    description="Bearable long-format export (pain symptoms; other rows set aside)",
    read=read,
    detect=detect,
)
