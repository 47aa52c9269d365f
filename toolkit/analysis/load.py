"""Training load from the canonical ``sets`` and ``sessions`` tables.

Every function is pure: it accepts polars or pandas frames, never modifies them, and
returns a new polars frame with one documented row grain. Every patient is processed
at once (all rolling and exponential windows run ``.over("patient_id")``).

=====================  =======================================================
Function               One row per
=====================  =======================================================
:func:`session_load`   session: sets, volume load, sRPE (Foster 1998)
:func:`daily_load`     patient × calendar day: training / rest / unlogged days
:func:`weekly_load`    patient × week: weekly load, change %, monotony, strain
:func:`acwr`           patient × day: acute:chronic workload ratio (3 variants)
:func:`exercise_frequency`  patient × exercise × week
:func:`e1rm`           loaded working set: estimated one-repetition maximum
:func:`weekly_top_load`  patient × exercise × week: top load and top e1RM
:func:`progression`    patient × heavy lift: kg per week with a 95 % CI
:func:`adherence`      patient: sessions per week against the prescription
:func:`weekly_adherence`  patient × week
=====================  =======================================================

Conventions shared by all functions
-----------------------------------
* **Counted sets** are ``working``, ``drop`` and ``failure`` sets. Warm-up sets are
  excluded from set counts, volume, timed seconds, RPE and exercise counts: they are
  preparation, not training stimulus, and apps disagree on whether to log them.
* **Effective load** of a repetition set (kg; the "Volume load" row of
  ``DOMAIN.md``, effective load ``BW × factor + external − assistance``, after
  intrvl.app training analytics):

  - exercise with a catalogue ``bodyweight_factor`` *f* and a known body mass *BW*:
    ``f·BW + weight_kg`` (weight 0 when null: push-ups, pull-ups, a weighted back
    extension adds its plate);
  - *assisted* variants (``assist``/``assisted`` in ``exercise_raw`` or
    ``equipment``, or a negative weight): the recorded weight is the assistance,
    so ``max(f·BW − |weight_kg|, 0)``;
  - machine/cable/Smith variants of a bodyweight exercise (``Crunch (Machine)``)
    count the recorded weight only, as the catalogue asks; an exercise whose
    catalogue default equipment is itself a machine (reverse hyperextension) keeps
    its factor;
  - otherwise ``weight_kg``. A bodyweight exercise with an external weight but
    unknown body mass counts the external weight only (a lower bound).

  A repetition set whose effective load is unknown or ≤ 0 (bodyweight exercise
  without a factor or body mass, an assisted set without body mass) contributes 0 kg
  to the volume and is counted in ``unloaded_sets``.
* **Timed sets** (``duration_s`` > 0 and no repetitions) add to ``timed_s``, never to
  the volume. Fitbod's ``multiplier`` is not applied (other apps record the weight of
  one dumbbell as well).
* **Missing ≠ zero** (``DOMAIN.md`` pitfall 4): a logged rest day has load 0, a day
  inside a long logging gap has load null, and windows over it stay null.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from scipy import stats

from toolkit.analysis._frames import as_polars, cast_columns, require_columns, sorted_by
from toolkit.analysis._options import int_option, week_start_day, week_start_of
from toolkit.exceptions import OptionError

if TYPE_CHECKING:
    import pandas as pd

    Frame = pl.DataFrame | pd.DataFrame
else:
    Frame = Any

__all__ = [
    "acwr",
    "adherence",
    "daily_load",
    "e1rm",
    "exercise_frequency",
    "heavy_lifts",
    "progression",
    "session_load",
    "weekly_adherence",
    "weekly_load",
    "weekly_top_load",
]

# Vocabularies of the canonical tables (not tunables).
_COUNTED_SET_TYPES = ("working", "drop", "failure")
_STRENGTH_SET_TYPES = ("working", "failure")
_MAX_REPS = 10  # default rep ceiling of e1RM estimates and weekly tops
_HEAVY_PATTERNS = (
    "hinge",
    "squat",
    "lunge",
    "horizontal_push",
    "vertical_push",
    "horizontal_pull",
    "vertical_pull",
)
_NAME_COLUMNS = ("exercise", "exercise_raw", "equipment")
_ASSIST = r"(?i)\bassist(ed)?\b"
_MACHINE = r"(?i)\b(machine|cable|smith|lever|plate loaded|selectorized)\b"
_E1RM_FORMULAS = ("epley", "brzycki", "lombardi", "oconner", "mayhew", "wathan")
_ACWR_VARIANTS = {
    "ewma": "ewma (Williams 2017, λ=2/(N+1))",
    "coupled": "rolling coupled",
    "rolling coupled": "rolling coupled",
    "rolling_coupled": "rolling coupled",
    "uncoupled": "rolling uncoupled",
    "rolling uncoupled": "rolling uncoupled",
    "rolling_uncoupled": "rolling uncoupled",
}

# Column contracts at the boundary: name -> dtype.
_SETS_REQUIRED = {
    "patient_id": pl.String,
    "session_id": pl.String,
    "local_date": pl.Date,
    "exercise_raw": pl.String,
    "set_type": pl.String,
    "reps": pl.Float64,
    "weight_kg": pl.Float64,
}
_SETS_OPTIONAL = {
    "exercise": pl.String,
    "equipment": pl.String,
    "duration_s": pl.Float64,
    "rpe": pl.Float64,
}
_SESSIONS_REQUIRED = {
    "session_id": pl.String,
    "patient_id": pl.String,
    "local_date": pl.Date,
    "duration_s": pl.Float64,
}

_SESSION_SCHEMA = {
    "patient_id": pl.String,
    "session_id": pl.String,
    "date": pl.Date,
    "sets": pl.Int64,
    "volume_kg": pl.Float64,
    "timed_s": pl.Float64,
    "duration_min": pl.Float64,
    "rpe_session": pl.Float64,
    "srpe_au": pl.Float64,
    "exercises": pl.Int64,
    "unloaded_sets": pl.Int64,
}
_SESSION_LOAD_REQUIRED = {
    "patient_id": pl.String,
    "date": pl.Date,
    "sets": pl.Int64,
    "volume_kg": pl.Float64,
    "timed_s": pl.Float64,
    "srpe_au": pl.Float64,
    "unloaded_sets": pl.Int64,
}

# --------------------------------------------------------------------------------------
# Boundary helpers
# --------------------------------------------------------------------------------------


def _frame(
    frame: Frame, required: dict[str, Any], name: str, optional: dict[str, Any] | None = None
) -> pl.DataFrame:
    df = as_polars(frame, name)
    require_columns(df, list(required), name)
    optional = optional or {}
    missing = {c: t for c, t in optional.items() if c not in df.columns}
    if missing:
        df = df.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in missing.items())
    return cast_columns(df, {**required, **optional}, name)


def _bodyweight_frame(bodyweight_kg: Any) -> pl.DataFrame | float | None:
    """``None``, a validated scalar, or a frame ``patient_id → __bw``."""
    if bodyweight_kg is None:
        return None
    if isinstance(bodyweight_kg, int | float | np.number) and not isinstance(bodyweight_kg, bool):
        value = float(bodyweight_kg)
        if not math.isfinite(value) or value <= 0:
            raise OptionError(f"bodyweight_kg must be a positive number of kg, got {bodyweight_kg!r}")
        return value
    try:
        df = as_polars(bodyweight_kg, "bodyweight_kg")
    except OptionError:
        raise OptionError(
            "bodyweight_kg must be a number, a frame with patient_id and bodyweight_kg, or None, "
            f"got {type(bodyweight_kg).__name__}"
        ) from None
    df = _frame(df, {"patient_id": pl.String, "bodyweight_kg": pl.Float64}, "bodyweight_kg")
    df = df.select("patient_id", "bodyweight_kg").drop_nulls().unique()
    if df.filter(pl.col("bodyweight_kg") <= 0).height:
        raise OptionError("bodyweight_kg frame must hold positive masses in kg, got a value ≤ 0")
    dup = df.filter(pl.len().over("patient_id") > 1)
    if dup.height:
        raise OptionError(
            "bodyweight_kg frame must give one body mass per patient, got several for "
            + ", ".join(sorted(dup["patient_id"].unique().to_list())[:5])
        )
    return df.rename({"bodyweight_kg": "__bw"})


def _catalogue_frame(catalogue: Any) -> pl.DataFrame:
    """Catalogue reduced to ``__exercise, __factor, __cat_equipment, __category, __pattern``."""
    if catalogue is None:
        from toolkit.ingest.catalogue import load_catalogue

        cat = load_catalogue()
    else:
        cat = as_polars(catalogue, "catalogue")
    cat = _frame(
        cat,
        {"canonical_name": pl.String, "bodyweight_factor": pl.Float64},
        "catalogue",
        optional={"equipment": pl.String, "category": pl.String, "movement_pattern": pl.String},
    )
    return cat.select(
        pl.col("canonical_name").alias("__exercise"),
        pl.col("bodyweight_factor").alias("__factor"),
        pl.col("equipment").alias("__cat_equipment"),
        pl.col("category").str.to_lowercase().alias("__category"),
        pl.col("movement_pattern").str.to_lowercase().alias("__pattern"),
    ).unique("__exercise", keep="first", maintain_order=True)


def _distinct_names(df: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """Index of every set's ``(exercise, exercise_raw, equipment)`` into the table of the
    distinct triples, and that table.

    The string work on names (catalogue join, regexes) is then done once per distinct
    triple and gathered back by index, not repeated on every set. Distinct triples are
    found through a 64-bit hash of the three columns (seeded hashes of each column,
    combined: cheaper than hashing a struct of them); every set's triple is then checked
    against the one its index points to by a second, independently seeded 64-bit hash
    (comparing integers, not gathering and comparing 3 strings per set). A mismatch (a
    collision of the first hash) falls back to an exact join on the strings; a collision
    of both hashes at once (odds about 2^-128 per pair of distinct triples) would go
    unseen.
    """
    cols = list(_NAME_COLUMNS)

    def hashed(seed: int) -> pl.Expr:
        return pl.col(cols[0]).hash(seed) ^ pl.col(cols[1]).hash(seed + 1) ^ pl.col(cols[2]).hash(seed + 2)

    h, h2 = df.select(hashed(1).alias("__h"), hashed(7).alias("__h2"))
    first = h.is_first_distinct()
    names = df.select(cols).filter(first).with_columns(h.filter(first), h2.filter(first)).sort("__h")
    index = names["__h"].search_sorted(h).rename("__k")
    same = (names["__h2"].gather(index) == h2).all()
    if not same:  # pragma: no cover - hash collision
        names = df.select(cols).unique(maintain_order=True).with_row_index("__k")
        index = (
            df.select(cols)
            .join(names, on=cols, how="left", nulls_equal=True, maintain_order="left")
            .get_column("__k")
        )
    return index, names.select(cols)


def _name_rules(names: pl.DataFrame, catalogue: Any) -> pl.DataFrame:
    """Per distinct name triple (row order kept): ``__factor`` (catalogue bodyweight factor),
    ``__assist_text`` (``assist(ed)`` in ``exercise_raw`` or ``equipment``; null when
    ``exercise_raw`` is null and the equipment says nothing), ``__machine`` (a machine
    variant of an exercise whose catalogue equipment is not a machine), ``__name``
    (canonical name, else the raw name) and ``__nid`` (an integer id of ``__name``)."""
    cat = _catalogue_frame(catalogue)
    df = names.join(cat, left_on="exercise", right_on="__exercise", how="left", maintain_order="left")
    return df.select(
        "__factor",
        (
            pl.col("exercise_raw").str.contains(_ASSIST)
            | pl.col("equipment").str.contains(_ASSIST).fill_null(False)
        ).alias("__assist_text"),
        (
            pl.col("equipment").str.contains(_MACHINE).fill_null(False)
            & ~pl.col("__cat_equipment").str.contains(_MACHINE).fill_null(False)
        ).alias("__machine"),
        pl.coalesce("exercise", "exercise_raw").alias("__name"),
        pl.coalesce("exercise", "exercise_raw").rank("dense").fill_null(0).cast(pl.UInt32).alias("__nid"),
    )


def _sets_frame(sets: Frame, name: str = "sets") -> pl.DataFrame:
    """The ``sets`` contract: required columns checked and cast, optional ones added."""
    return _frame(sets, _SETS_REQUIRED, name, optional=_SETS_OPTIONAL)


def _prepared_sets(
    sets: Frame,
    *,
    bodyweight_kg: Any,
    catalogue: Any,
    name: str = "sets",
    runs: tuple[pl.Series, pl.Series] | None = None,
    extra: Sequence[pl.Expr] = (),
    names: tuple[pl.Series, pl.DataFrame] | None = None,
) -> pl.LazyFrame:
    """Sets (lazy) with the private columns ``__counted, __rep, __timed, __assisted,
    __load, __load_kg, __volume_kg, __unloaded, __name, __nid`` (see the module docstring
    for the rules; ``__nid`` is an integer id of ``__name``).

    The name rules are evaluated once per distinct name (:func:`_distinct_names`) and
    the body mass is looked up only when some exercise has a bodyweight factor: per
    set, or once per run of sets of one patient when ``runs`` gives the run of every
    set and the patient of every run (:func:`_session_runs`). ``extra`` expressions are
    evaluated on all sets, in their order, before any caller's filter; ``names`` is
    :func:`_distinct_names` of the same sets when already computed. The frame is lazy
    so that callers select the columns they use and collect once.
    """
    df = _sets_frame(sets, name)
    bw = _bodyweight_frame(bodyweight_kg)
    index, distinct = _distinct_names(df) if names is None else names
    rules = _name_rules(distinct, catalogue)

    def per_set(col: str) -> pl.Expr:
        return pl.lit(rules[col]).gather(pl.col("__k")).alias(col)

    has_factor = rules["__factor"].is_not_null().any()
    if not has_factor:
        body = pl.lit(None, dtype=pl.Float64)
    elif isinstance(bw, pl.DataFrame):
        if runs is None:
            body = pl.col("patient_id").replace_strict(
                bw["patient_id"], bw["__bw"], default=None, return_dtype=pl.Float64
            )
        else:
            run_index, run_patient = runs
            per_run = run_patient.replace_strict(
                bw["patient_id"], bw["__bw"], default=None, return_dtype=pl.Float64
            )
            body = pl.lit(per_run).gather(pl.lit(run_index))
    else:
        body = pl.lit(bw, dtype=pl.Float64)

    w = pl.col("weight_kg")
    factor = pl.col("__factor")
    body_col = pl.col("__bw")
    assisted = pl.col("__assist_text") | (w < 0).fill_null(False)
    load = (
        pl.when(assisted)
        .then((factor * body_col - w.abs().fill_null(0.0)).clip(lower_bound=0.0))
        .when(factor.is_not_null() & body_col.is_not_null() & ~pl.col("__machine"))
        .then(factor * body_col + w.fill_null(0.0))
        .otherwise(w)
    )
    reps = pl.col("reps")
    return (
        df.lazy()
        .with_columns(index, *extra)
        .with_columns(
            *(per_set(c) for c in ("__factor", "__assist_text", "__machine", "__name", "__nid")),
            body.alias("__bw"),
        )
        .with_columns(
            __counted=pl.col("set_type").fill_null("working").is_in(_COUNTED_SET_TYPES),
            __rep=(reps > 0).fill_null(False),
            __timed=((reps.is_null() | (reps == 0)) & (pl.col("duration_s") > 0)).fill_null(False),
            __assisted=assisted,
            __load=load,
        )
        .with_columns(__load_kg=pl.when(pl.col("__load") > 0).then(pl.col("__load")))
        .with_columns(
            __volume_kg=pl.when(pl.col("__rep")).then(reps * pl.col("__load_kg")).fill_null(0.0),
            __unloaded=pl.col("__rep") & pl.col("__load_kg").is_null(),
        )
    )


# --------------------------------------------------------------------------------------
# Sessions and days
# --------------------------------------------------------------------------------------


def _patient_rank_table(df: pl.DataFrame) -> tuple[pl.Expr, pl.Series]:
    """``__pr``: the rank of every set's ``patient_id`` among the sorted distinct ids (an
    integer that groups and sorts like the string; null for a null id), as an expression
    on ``df`` in its row order, and the sorted distinct non-null ids (rank *r* is
    ``ids[r - 1]``). The ids are ranked once per run of consecutive sets of one
    patient, not once per set."""
    run = pl.col("patient_id").rle_id()
    head = df.select((run != run.shift(1)).fill_null(True).alias("__head")).to_series()
    heads = df.get_column("patient_id").filter(head)
    rank = heads.rank("dense")
    ids = heads.drop_nulls().unique().sort()
    return pl.lit(rank).gather(run).alias("__pr"), ids


def _nid_names(rules: pl.DataFrame) -> pl.Series:
    """The ``__name`` of every ``__nid`` of :func:`_name_rules`, indexed by ``__nid``
    (null at 0 when no name is null)."""
    by_id = rules.select("__nid", "__name").unique("__nid")
    size = int(by_id["__nid"].max() or 0) + 1
    return (
        pl.DataFrame({"__nid": pl.arange(0, size, dtype=pl.UInt32, eager=True)})
        .join(by_id, on="__nid", how="left", maintain_order="left")
        .get_column("__name")
    )


def _session_runs(df: pl.DataFrame) -> tuple[pl.Series, pl.DataFrame]:
    """Run id of every set (consecutive sets of one ``patient_id, session_id``) and the
    ``patient_id, session_id`` of every run, in run order."""
    run = df.select(pl.struct("patient_id", "session_id").rle_id().alias("__r")).to_series()
    head = (run != run.shift(1)).fill_null(True)
    return run, df.select("patient_id", "session_id").filter(head)


def _session_sets(
    sets: Frame,
    *,
    bodyweight_kg: Any,
    catalogue: Any,
    exercises: bool = True,
) -> pl.DataFrame:
    """The sets aggregated per ``patient_id, session_id`` (any order): ``__first``
    (first set date), ``sets, volume_kg, timed_s, rpe_session, unloaded_sets`` over
    counted sets, and ``exercises`` when asked.

    Exports list the sets of a session together, so the sets are first aggregated per
    run of consecutive sets of one session (an integer key, :func:`_session_runs`),
    then the runs of a session that was split into several are merged.
    """
    df = _sets_frame(sets)
    run, runs = _session_runs(df)
    # Per set, the values that count (null or 0 for uncounted sets), then plain sums.
    counted = pl.col("__counted")
    values = [
        run.set_sorted(),
        "local_date",
        counted.cast(pl.Int64).alias("sets"),
        pl.when(counted).then(pl.col("__volume_kg")).alias("volume_kg"),
        pl.when(counted & pl.col("__timed")).then(pl.col("duration_s")).alias("timed_s"),
        pl.when(counted).then(pl.col("rpe")).alias("__rpe"),
        (counted & pl.col("__unloaded")).cast(pl.Int64).alias("unloaded_sets"),
    ]
    aggs = [
        pl.col("local_date").min().alias("__first"),
        pl.col("sets", "volume_kg", "timed_s", "unloaded_sets").sum(),
        pl.col("__rpe").mean().alias("rpe_session"),
        pl.col("__rpe").count().alias("__rpe_n"),
    ]
    if exercises:
        values += [pl.when(counted).then(pl.col("__nid")).alias("__nid"), (~counted).alias("__uncounted")]
        # n_unique counts the null of the uncounted sets as one more value: take it off.
        aggs.append(
            (pl.col("__nid").n_unique() - pl.col("__uncounted").any().cast(pl.UInt32))
            .cast(pl.Int64)
            .alias("exercises")
        )
    lf = _prepared_sets(df, bodyweight_kg=bodyweight_kg, catalogue=catalogue, runs=(run, runs["patient_id"]))
    per_run = lf.select(values).group_by("__r").agg(aggs).sort("__r").collect()
    per_run = pl.concat([runs, per_run.drop("__r")], how="horizontal")
    if not runs.select(pl.struct("patient_id", "session_id").is_duplicated().any()).item():
        return per_run.drop("__rpe_n")
    # Some session is split into several runs: merge them (the mean RPE weighted by the
    # number of ratings; distinct exercises counted again over the session's sets).
    n_rpe = pl.col("__rpe_n")
    merged = per_run.group_by("patient_id", "session_id").agg(
        pl.col("__first").min(),
        pl.col("sets", "volume_kg", "timed_s", "unloaded_sets").sum(),
        pl.when(n_rpe.sum() > 0)
        .then((pl.col("rpe_session") * n_rpe).sum() / n_rpe.sum())
        .alias("rpe_session"),
    )
    if exercises:
        distinct = (
            lf.filter(counted)
            .group_by("patient_id", "session_id")
            .agg(pl.col("__nid").n_unique().cast(pl.Int64).alias("exercises"))
            .collect()
        )
        merged = merged.join(distinct, on=["patient_id", "session_id"], how="left").with_columns(
            pl.col("exercises").fill_null(0)
        )
    return merged


def _session_rows(per_set: pl.DataFrame, sessions: Frame | None) -> pl.DataFrame:
    """Sessions of the ``sessions`` table and of the sets (:func:`_session_sets`), with
    their date, duration and set aggregates (zero when they have no counted set); any
    order, every column of :data:`_SESSION_SCHEMA` (``exercises`` when ``per_set`` has it)
    plus ``__first``."""
    keys = per_set.select(
        "patient_id",
        "session_id",
        pl.col("__first").alias("date"),
        pl.lit(None, dtype=pl.Float64).alias("duration_s"),
    )
    if sessions is not None:
        ses = _frame(sessions, _SESSIONS_REQUIRED, "sessions").select(
            "patient_id", "session_id", pl.col("local_date").alias("date"), "duration_s"
        )
        keys = pl.concat([ses, keys], how="vertical")
    # keep="first" keeps the sessions table's row; the order of the rows does not matter.
    keys = keys.filter(pl.col("date").is_not_null()).unique(["patient_id", "session_id"], keep="first")
    counts = [c for c in ("sets", "exercises", "unloaded_sets") if c in per_set.columns]
    out = keys.join(per_set, on=["patient_id", "session_id"], how="left").with_columns(
        pl.col(counts).fill_null(0),
        pl.col("volume_kg", "timed_s").fill_null(0.0),
        (pl.col("duration_s") / 60.0).alias("duration_min"),
    )
    return out.with_columns((pl.col("rpe_session") * pl.col("duration_min")).alias("srpe_au"))


def session_load(
    sets: Frame,
    sessions: Frame | None,
    *,
    bodyweight_kg: float | pl.DataFrame | None = None,
    catalogue: Frame | None = None,
) -> pl.DataFrame:
    """Training load of every session.

    Parameters
    ----------
    sets
        Canonical ``sets`` table (polars or pandas). Required columns: ``patient_id``,
        ``session_id``, ``local_date``, ``exercise_raw``, ``set_type``, ``reps``,
        ``weight_kg``; ``exercise``, ``equipment``, ``duration_s`` and ``rpe`` are used
        when present.
    sessions
        Canonical ``sessions`` table with ``session_id``, ``patient_id``, ``local_date``
        and ``duration_s``; ``None`` when there is none (durations then unknown).
        Sessions that appear in only one of the two tables are kept.
    bodyweight_kg
        Body mass for the effective load of bodyweight exercises: one number for every
        patient, a frame with ``patient_id`` and ``bodyweight_kg`` (the ``patients``
        table works), or ``None`` (default: unknown, such sets count in
        ``unloaded_sets``).
    catalogue
        Exercise catalogue with ``canonical_name`` and ``bodyweight_factor`` (and
        ``equipment``); default :func:`toolkit.ingest.load_catalogue`.

    Returns
    -------
    polars.DataFrame
        One row per session, sorted by ``patient_id, date, session_id``:

        - ``patient_id`` (str)
        - ``session_id`` (str)
        - ``date`` (Date): the session's ``local_date``.
        - ``sets`` (int): counted sets (working + drop + failure; warm-ups excluded).
        - ``volume_kg`` (float, kg): volume load Σ reps × effective load over counted
          repetition sets.
        - ``timed_s`` (float, s): Σ ``duration_s`` of counted timed sets (no reps).
        - ``duration_min`` (float, min): session duration; null when unknown.
        - ``rpe_session`` (float, CR-10): mean RPE of the counted sets that have one;
          null when none has.
        - ``srpe_au`` (float, AU): session-RPE load ``rpe_session × duration_min``;
          null when either is missing.
        - ``exercises`` (int): distinct exercises among counted sets (canonical name,
          else the raw name).
        - ``unloaded_sets`` (int): counted repetition sets whose effective load is
          unknown or 0 (they add 0 kg to ``volume_kg``).

    Raises
    ------
    OptionError
        A required column is missing or has the wrong type, or ``bodyweight_kg`` is
        not a positive number / valid frame.

    Notes
    -----
    Volume load (tonnage) = Σ sets × reps × load, with the effective load of
    bodyweight moves ``BW × factor + external − assistance`` (``DOMAIN.md``, "Volume
    load"; intrvl.app training analytics). The rules are in the module docstring.

    Session-RPE load (Foster et al. 1998, Med Sci Sports Exerc 30(7):1164) is
    ``RPE(CR-10) × duration_min``, where the RPE is *one* rating of the whole session
    collected ≈ 30 min after it. Workout apps record RPE per set instead, so
    ``rpe_session`` is the mean set RPE — an approximation: set RPE describes
    proximity to failure of one set, and tends to be higher than a whole-session
    rating that includes rest periods.

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> sets = pl.DataFrame({
    ...     "patient_id": ["p1"] * 3, "session_id": ["s1"] * 3,
    ...     "local_date": [dt.date(2024, 1, 1)] * 3, "exercise": ["Deadlift"] * 3,
    ...     "exercise_raw": ["Deadlift (Barbell)"] * 3,
    ...     "set_type": ["warmup", "working", "working"],
    ...     "reps": [5.0, 5.0, 5.0], "weight_kg": [40.0, 100.0, 100.0],
    ...     "rpe": [None, 7.0, 8.0]})
    >>> sessions = pl.DataFrame({"session_id": ["s1"], "patient_id": ["p1"],
    ...     "local_date": [dt.date(2024, 1, 1)], "duration_s": [3600.0]})
    >>> session_load(sets, sessions).select("sets", "volume_kg", "srpe_au").row(0)
    (2, 1000.0, 450.0)
    """
    per_set = _session_sets(sets, bodyweight_kg=bodyweight_kg, catalogue=catalogue)
    out = _session_rows(per_set, sessions)
    return out.select(pl.col(c).cast(t) for c, t in _SESSION_SCHEMA.items()).sort(
        "patient_id", "date", "session_id"
    )


def daily_load(
    sets: Frame | None,
    sessions: Frame | None,
    *,
    bodyweight_kg: float | pl.DataFrame | None = None,
    catalogue: Frame | None = None,
    max_gap_days: int = 14,
    session_load: Frame | None = None,
) -> pl.DataFrame:
    """Daily training load on a complete calendar, telling rest days from unlogged days.

    Parameters
    ----------
    sets, sessions, bodyweight_kg, catalogue
        As in :func:`session_load`.
    max_gap_days
        Longest run of days without a session still read as rest days (default 14).
        A longer run is a *logging gap*: its days are unlogged (loads null), because
        a day with no log is not automatically a rest day when the log has a gap of
        weeks.
    session_load
        :func:`session_load` output of the same tables, when it is already computed
        (e.g. for :func:`toolkit.analysis.flags.load_spikes`): the days are then
        summed from it and ``sets``, ``sessions``, ``bodyweight_kg`` and ``catalogue``
        are not read (pass ``None``). Needs ``patient_id, date, sets, volume_kg,
        timed_s, srpe_au, unloaded_sets``. Default ``None``: computed from ``sets``
        and ``sessions`` (the result is the same).

    Returns
    -------
    polars.DataFrame
        One row per patient per calendar day from the patient's first to last session
        day, sorted by ``patient_id, date``:

        - ``patient_id`` (str), ``date`` (Date)
        - ``sessions`` (int): sessions that day; 0 on rest days, null when unlogged.
        - ``sets`` (int): counted sets (warm-ups excluded); 0 / null as above.
        - ``volume_kg`` (float, kg): Σ session volume load; 0 on rest days, null when
          unlogged.
        - ``timed_s`` (float, s): Σ timed-set seconds; 0 / null as above.
        - ``srpe_au`` (float, AU): Σ session-RPE load; 0 on rest days; null when
          unlogged or when any session that day has no sRPE.
        - ``training_day`` (bool): at least one session logged (False on unlogged days).
        - ``logged`` (bool): False inside a run of more than ``max_gap_days`` days
          without a session.
        - ``rest_day`` (bool): ``logged`` and not ``training_day``.
        - ``streak_days`` (int): consecutive training days ending this day; 0 on rest
          days; null when unlogged.
        - ``unloaded_sets`` (int): counted repetition sets without a known load.

    Raises
    ------
    OptionError
        As :func:`session_load`, or ``max_gap_days`` is not an int ≥ 0.

    Notes
    -----
    Weekly and rolling loads need explicit zeros for confirmed rest days only; an
    unlogged day is missing, not zero (``DOMAIN.md`` pitfall 4; Moussa et al. 2019,
    BMJ Open SEM 5:e000573 on missing days in load indices).
    """
    max_gap_days = int_option("max_gap_days", max_gap_days, low=0)
    if session_load is not None:
        per_session = _frame(session_load, _SESSION_LOAD_REQUIRED, "session_load")
    elif sets is None:
        raise OptionError("daily_load needs sets (or a session_load frame), got None")
    else:
        per_set = _session_sets(sets, bodyweight_kg=bodyweight_kg, catalogue=catalogue, exercises=False)
        per_session = _session_rows(per_set, sessions)
    return _days_from_sessions(per_session, max_gap_days)


def _days_from_sessions(per_session: pl.DataFrame, max_gap_days: int) -> pl.DataFrame:
    """The calendar of :func:`daily_load` from one row per session (any order).

    Days are numbered 0..N−1 along the calendar sorted by ``patient_id, date`` (patient
    *p*'s day *d* is ``offset_p + d``), so the session days are placed with an integer
    join and the runs (logging gaps, streaks) are found on integer keys. Every
    patient's calendar starts and ends on a training day, so a run of days without a
    session never crosses two patients.
    """
    aggs = [
        pl.len().cast(pl.Int64).alias("sessions"),
        pl.col("sets", "volume_kg", "timed_s", "unloaded_sets").sum(),
        pl.when(pl.col("srpe_au").null_count() == 0).then(pl.col("srpe_au").sum()).alias("srpe_au"),
    ]
    if sorted_by(per_session, "patient_id", "date"):
        # Already in patient, date order (session_load output): the sessions of a day are
        # consecutive, grouped by an integer run id; the keys are those of the run heads.
        pid, day = pl.col("patient_id"), pl.col("date")
        head = per_session.select(
            ((pid != pid.shift(1)) | (day != day.shift(1))).fill_null(True).alias("__head")
        ).to_series()
        runs = (
            per_session.lazy()
            .with_columns(__day=head.cum_sum())
            .group_by("__day")
            .agg(aggs)
            .sort("__day")
            .drop("__day")
            .collect()
        )
        per_day = pl.concat([per_session.select("patient_id", "date").filter(head), runs], how="horizontal")
    else:
        per_day = (
            per_session.filter(pl.col("patient_id").is_not_null() & pl.col("date").is_not_null())
            .group_by("patient_id", "date")
            .agg(aggs)
            .sort("patient_id", "date")
        )
    per_day = per_day.with_columns(__p=pl.col("patient_id").rle_id())
    patients = (
        per_day.group_by("__p")
        .agg(
            pl.col("patient_id").first(),
            pl.col("date").first().alias("__first"),
            pl.col("date").last().alias("__last"),
        )
        .sort("__p")
        .with_columns(__days=(pl.col("__last") - pl.col("__first")).dt.total_days() + 1)
        .with_columns(__offset=pl.col("__days").cum_sum() - pl.col("__days"))
    )
    first, offset = (pl.lit(patients[c]).gather(pl.col("__p")) for c in ("__first", "__offset"))
    per_day = per_day.select(
        (offset + (pl.col("date") - first).dt.total_days()).alias("__g"),
        "sessions",
        "sets",
        "volume_kg",
        "timed_s",
        "srpe_au",
        "unloaded_sets",
    )
    calendar = (
        patients.select(
            "patient_id",
            "__first",
            "__offset",
            pl.int_ranges(0, pl.col("__days"), dtype=pl.Int64).alias("__d"),
        )
        .explode("__d")
        .select(
            "patient_id",
            (pl.col("__first") + pl.duration(days=pl.col("__d"))).alias("date"),
            (pl.col("__offset") + pl.col("__d")).alias("__g"),
            (pl.col("__d") == 0).alias("__start"),
        )
    )
    # Calendar order: __g is the row number.
    day = calendar.join(per_day, on="__g", how="left", maintain_order="left")
    train = pl.col("sessions").fill_null(0) > 0
    day = day.with_columns(training_day=train, __run=train.cast(pl.Int64).cum_sum()).with_columns(
        # __run: a training day and the days without a session after it; those days are
        # a logging gap when there are more than max_gap_days of them.
        logged=pl.col("training_day") | (pl.len().over("__run") - 1 <= max_gap_days),
        # __break: the last day without a session (or the day before the patient's
        # first day), where the current streak of training days started.
        __break=pl.when(~pl.col("training_day"))
        .then(pl.col("__g"))
        .when(pl.col("__start"))
        .then(pl.col("__g") - 1),
    )
    logged, train = pl.col("logged"), pl.col("training_day")
    counts = ["sessions", "sets", "unloaded_sets"]
    loads = ["volume_kg", "timed_s", "srpe_au"]
    return day.select(
        "patient_id",
        "date",
        *(pl.when(train).then(pl.col(c)).when(logged).then(0).cast(pl.Int64).alias(c) for c in counts[:2]),
        *(pl.when(train).then(pl.col(c)).when(logged).then(0.0).cast(pl.Float64).alias(c) for c in loads),
        "training_day",
        "logged",
        (logged & ~train).alias("rest_day"),
        pl.when(logged).then(pl.col("__g") - pl.col("__break").forward_fill()).alias("streak_days"),
        pl.when(train)
        .then(pl.col("unloaded_sets"))
        .when(logged)
        .then(0)
        .cast(pl.Int64)
        .alias("unloaded_sets"),
    )


# --------------------------------------------------------------------------------------
# Weeks
# --------------------------------------------------------------------------------------

_DAILY_REQUIRED = {
    "patient_id": pl.String,
    "date": pl.Date,
    "sessions": pl.Float64,
    "training_day": pl.Boolean,
    "logged": pl.Boolean,
}


def _is_calendar(df: pl.DataFrame) -> bool:
    """Whether ``df`` (``patient_id, date``) is already a complete calendar, as
    :func:`daily_load` returns it: sorted by patient and date, every patient's days
    consecutive, no null or repeated key. Then it needs no re-sorting or filling."""
    if df.is_empty() or df.select(pl.any_horizontal(pl.col("patient_id", "date").is_null().any())).item():
        return False
    pid, date = pl.col("patient_id"), pl.col("date")
    new_patient = (pid != pid.shift(1)).fill_null(True)
    return bool(
        df.select(
            (
                pl.when(new_patient)
                .then((pid > pid.shift(1)).fill_null(True))
                .otherwise(date == date.shift(1) + pl.duration(days=1))
            ).all()
        ).item()
    )


def _on_logged(col: str) -> pl.Expr:
    """``col`` on logged days, null on the others (masked rather than filtered, which
    keeps group-by aggregations on their fast path)."""
    return pl.when(pl.col("logged")).then(pl.col(col))


def _strict_sum(col: str) -> pl.Expr:
    """Σ over logged days; null when no day is logged or a logged day lacks a value."""
    missing = (pl.col("logged") & pl.col(col).is_null()).sum()
    return pl.when(pl.col("logged").any() & (missing == 0)).then(_on_logged(col).sum())


def weekly_load(
    daily: Frame,
    *,
    week_start: str = "monday",
    load: str = "volume_kg",
    ddof: int = 1,
) -> pl.DataFrame:
    """Weekly load, week-over-week change, monotony and strain (Foster 1998).

    Parameters
    ----------
    daily
        Output of :func:`daily_load` (needs ``patient_id, date, sessions,
        training_day, logged``, the ``load`` column, and uses ``volume_kg`` and
        ``srpe_au`` when present).
    week_start
        Day a week starts on, ``"monday"`` (default, ISO) … ``"sunday"``.
    load
        Daily load column for ``change_pct``, ``monotony`` and ``strain`` (default
        ``"volume_kg"``; ``"srpe_au"`` gives Foster's original AU).
    ddof
        Delta degrees of freedom of the SD in monotony (default 1, the sample SD as a
        spreadsheet's ``STDEV``; 0 gives the population SD).

    Returns
    -------
    polars.DataFrame
        One row per patient per week that has at least one calendar day in
        ``daily``, sorted by ``patient_id, week_start``:

        - ``patient_id`` (str), ``week_start`` (Date): first day of the week.
        - ``sessions`` (int): Σ sessions over logged days (null when none logged).
        - ``training_days``, ``rest_days``, ``logged_days`` (int): day counts.
        - ``volume_kg`` (float, kg), ``srpe_au`` (float, AU): Σ over logged days
          (rest days 0); null when no day is logged or a logged day has no value.
        - ``change_pct`` (float, %): ``(W_t − W_{t−1}) / W_{t−1} × 100`` of the
          weekly ``load``; null when the previous calendar week is missing, 0 or
          null, or either week is incomplete (fewer than 7 logged days), so partial
          first/last weeks and gaps do not look like spikes or drops.
        - ``monotony`` (float): mean / SD of the 7 daily loads (rest days 0); null
          when the week is incomplete, a day's load is null, or SD = 0.
        - ``strain`` (float, load unit): weekly ``load`` × ``monotony``.
        - ``complete_week`` (bool): all 7 days of the week logged.
        - the ``load`` column itself when it is not ``volume_kg`` or ``srpe_au``.

    Raises
    ------
    OptionError
        Missing column, unknown ``week_start``, ``ddof`` not 0 or 1.

    Notes
    -----
    Weekly load = Σ daily loads with rest days = 0 (``DOMAIN.md``, "Weekly load").
    Weekly change % = ``(W_t − W_{t−1}) / W_{t−1} × 100`` (``DOMAIN.md``, "Weekly
    change %"; the "10 % rule" behind it has weak evidence: Buist 2008, Nielsen
    2014). Training monotony = mean(daily load) / SD(daily load) over the 7 days,
    training strain = weekly load × monotony (Foster 1998, Med Sci Sports Exerc
    30(7):1164). Thresholds (monotony > 2; strain 4500/6000) are heuristics and
    scale-dependent: Foster found individually identifiable thresholds.
    """
    wd = week_start_day(week_start)
    ddof = int_option("ddof", ddof, low=0, high=1)
    if not isinstance(load, str):
        raise OptionError(f"load must be a column name (str), got {load!r}")
    df = as_polars(daily, "daily")
    extra = {c: pl.Float64 for c in ("volume_kg", "srpe_au") if c != load}
    df = _frame(df, {**_DAILY_REQUIRED, load: pl.Float64}, "daily", optional=extra)
    if not _is_calendar(df.select("patient_id", "date")):
        df = df.sort("patient_id", "date")
    # Sorted by patient: an integer run id groups and orders like the string.
    df = df.with_columns(week_start=week_start_of(pl.col("date"), wd), __p=pl.col("patient_id").rle_id())
    value = _on_logged(load)
    missing = (pl.col("logged") & pl.col(load).is_null()).sum()
    weeks = df.group_by("__p", "week_start").agg(
        pl.col("patient_id").first(),
        pl.when(pl.col("logged").any()).then(_on_logged("sessions").sum()).cast(pl.Int64).alias("sessions"),
        (pl.col("training_day") & pl.col("logged")).sum().cast(pl.Int64).alias("training_days"),
        (~pl.col("training_day") & pl.col("logged")).sum().cast(pl.Int64).alias("rest_days"),
        pl.col("logged").sum().cast(pl.Int64).alias("logged_days"),
        *(_strict_sum(c).alias(c) for c in {"volume_kg", "srpe_au", load}),
        pl.when((pl.col("logged").sum() == 7) & (missing == 0))
        .then(value.mean() / value.std(ddof=ddof))
        .alias("__monotony"),
    )
    complete = pl.col("logged_days") == 7
    prev = pl.col(load).shift(1).over("__p")
    prev_ok = (pl.col("week_start").shift(1).over("__p") == pl.col("week_start") - pl.duration(days=7)) & (
        complete.shift(1).over("__p")
    )
    weeks = (
        weeks.sort("__p", "week_start")
        .with_columns(complete_week=complete)
        .with_columns(
            change_pct=pl.when(prev_ok & complete & (prev != 0)).then((pl.col(load) - prev) / prev * 100.0),
            monotony=pl.when(complete & pl.col("__monotony").is_finite()).then(pl.col("__monotony")),
        )
        .with_columns(strain=pl.col(load) * pl.col("monotony"))
    )
    cols = [
        "patient_id",
        "week_start",
        "sessions",
        "training_days",
        "rest_days",
        "logged_days",
        "volume_kg",
        "srpe_au",
        "change_pct",
        "monotony",
        "strain",
        "complete_week",
    ]
    if load not in cols:
        cols.append(load)
    return weeks.select(cols)


def exercise_frequency(
    sets: Frame,
    *,
    week_start: str = "monday",
    bodyweight_kg: float | pl.DataFrame | None = None,
    catalogue: Frame | None = None,
) -> pl.DataFrame:
    """How often and how much each exercise was trained, per week.

    Parameters
    ----------
    sets
        Canonical ``sets`` table (see :func:`session_load`).
    week_start
        Day a week starts on (default ``"monday"``).
    bodyweight_kg, catalogue
        For the effective load, as in :func:`session_load`.

    Returns
    -------
    polars.DataFrame
        One row per patient × exercise × week with at least one counted set, sorted
        by ``patient_id, exercise, week_start``:

        - ``patient_id`` (str)
        - ``exercise`` (str): canonical name, else ``exercise_raw``.
        - ``week_start`` (Date)
        - ``sessions`` (int): distinct sessions with the exercise.
        - ``sets`` (int): counted sets (working + drop + failure).
        - ``volume_kg`` (float, kg): Σ reps × effective load.
        - ``unloaded_sets`` (int): repetition sets without a known load.

        Sessions per week over all exercises are ``sessions`` of :func:`weekly_load`.

    Notes
    -----
    Hard sets and frequency per exercise/week (``DOMAIN.md``, "Hard sets per
    muscle/week, frequency"); volume load as in :func:`session_load`.
    """
    wd = week_start_day(week_start)
    df = _prepared_sets(sets, bodyweight_kg=bodyweight_kg, catalogue=catalogue).filter(pl.col("__counted"))
    return (
        df.with_columns(week_start=week_start_of(pl.col("local_date"), wd))
        .group_by("patient_id", "__nid", "week_start")
        .agg(
            pl.col("__name").first().alias("exercise"),
            pl.col("session_id").n_unique().cast(pl.Int64).alias("sessions"),
            pl.len().cast(pl.Int64).alias("sets"),
            pl.col("__volume_kg").sum().alias("volume_kg"),
            pl.col("__unloaded").sum().cast(pl.Int64).alias("unloaded_sets"),
        )
        .select("patient_id", "exercise", "week_start", "sessions", "sets", "volume_kg", "unloaded_sets")
        .sort("patient_id", "exercise", "week_start")
        .collect()
    )


# --------------------------------------------------------------------------------------
# Acute:chronic workload ratio
# --------------------------------------------------------------------------------------


def acwr(
    daily: Frame,
    *,
    load: str = "volume_kg",
    variant: str = "ewma",
    acute_days: int = 7,
    chronic_days: int = 28,
) -> pl.DataFrame:
    """Acute:chronic workload ratio, a *descriptive spike detector*.

    Parameters
    ----------
    daily
        Output of :func:`daily_load` (needs ``patient_id``, ``date`` and ``load``;
        ``logged`` is used when present). Missing calendar days are added as
        unlogged.
    load
        Daily load column (default ``"volume_kg"``).
    variant
        ``"ewma"`` (default; Williams et al. 2017), ``"coupled"`` or ``"uncoupled"``
        (rolling averages; ``"rolling_coupled"`` / ``"rolling_uncoupled"`` also
        accepted).
    acute_days, chronic_days
        Window lengths N in days (defaults 7 and 28; ``acute_days < chronic_days``).

    Returns
    -------
    polars.DataFrame
        One row per patient per calendar day, sorted by ``patient_id, date``:

        - ``patient_id`` (str), ``date`` (Date)
        - ``acute`` (float, load unit per day): acute average.
        - ``chronic`` (float, load unit per day): chronic average.
        - ``acwr`` (float): ``acute / chronic``; null when withheld, on unlogged
          days, when a window is incomplete, or when ``chronic`` = 0.
        - ``variant`` (str): ``"ewma (Williams 2017, λ=2/(N+1))"``,
          ``"rolling coupled"`` or ``"rolling uncoupled"`` — values are not
          comparable across variants.
        - ``withheld`` (bool): the first ``chronic_days`` calendar days of each
          patient (warm-up), where ``acwr`` is null.

    Raises
    ------
    OptionError
        Unknown ``variant``, bad window lengths, missing column.

    Notes
    -----
    * EWMA (Williams et al. 2017, BJSM 51(3):209): ``EWMA_t = λ·load_t +
      (1 − λ)·EWMA_{t−1}``, ``λ = 2/(N + 1)`` (0.25 for N = 7, 2/29 ≈ 0.069 for
      N = 28), seeded with the first day's load; ratio ``EWMA_a / EWMA_c``.
    * Rolling coupled (Windt & Gabbett 2018): ``mean(t−6…t) / mean(t−27…t)``.
    * Rolling uncoupled: ``mean(t−6…t) / mean(t−27…t−7)``, which removes the
      mathematical coupling of the acute week inside the chronic window (Lolli et
      al. 2019, BJSM 53(15):921).

    **Unlogged days** (missing ≠ zero, ``DOMAIN.md`` pitfall 4): the EWMA skips
    them — its state is carried unchanged over the gap, neither updated nor decayed
    with invented zeros — and ``acute``/``chronic``/``acwr`` are null on them. A
    rolling window containing an unlogged day is null. Logged rest days count as 0.

    The 0.8–1.3 "sweet spot" and ≥ 1.5 "danger zone" (Gabbett 2016) are not
    supported once load is treated as continuous (Impellizzeri et al. 2020); the
    ratio describes spikes in load, it is not a risk verdict.
    """
    if not isinstance(variant, str) or variant.lower() not in _ACWR_VARIANTS:
        raise OptionError(f"variant must be one of 'ewma', 'coupled', 'uncoupled', got {variant!r}")
    label = _ACWR_VARIANTS[variant.lower()]
    acute_days = int_option("acute_days", acute_days, low=1)
    chronic_days = int_option("chronic_days", chronic_days, low=2)
    if acute_days >= chronic_days:
        raise OptionError(f"acute_days must be < chronic_days ({chronic_days}), got {acute_days}")
    if not isinstance(load, str):
        raise OptionError(f"load must be a column name (str), got {load!r}")
    df = _frame(daily, {"patient_id": pl.String, "date": pl.Date, load: pl.Float64}, "daily")
    df = df.filter(pl.col("date").is_not_null())
    value = pl.col(load)
    if "logged" in df.columns:
        value = pl.when(pl.col("logged").fill_null(False)).then(value)
    df = df.select("patient_id", "date", value.alias("__x"))
    if not _is_calendar(df):
        df = df.unique(["patient_id", "date"], keep="first", maintain_order=True)
        calendar = (
            df.group_by("patient_id")
            .agg(pl.date_ranges(pl.col("date").min(), pl.col("date").max()).first().alias("date"))
            .explode("date")
        )
        df = calendar.join(df, on=["patient_id", "date"], how="left").sort("patient_id", "date")
    # Rows are sorted by patient: an integer run id partitions them like the string.
    df = df.with_columns(__p=pl.col("patient_id").rle_id())
    x = pl.col("__x")
    if label.startswith("ewma"):
        acute = x.ewm_mean(alpha=2 / (acute_days + 1), adjust=False, ignore_nulls=True)
        chronic = x.ewm_mean(alpha=2 / (chronic_days + 1), adjust=False, ignore_nulls=True)
    elif label == "rolling coupled":
        acute = x.rolling_mean(acute_days)
        chronic = x.rolling_mean(chronic_days)
    else:
        acute = x.rolling_mean(acute_days)
        chronic = x.rolling_mean(chronic_days - acute_days).shift(acute_days)
    df = df.with_columns(
        acute=acute.over("__p"),
        chronic=chronic.over("__p"),
        withheld=pl.int_range(pl.len()).over("__p") < chronic_days,
    ).with_columns(
        # ewm_mean leaves skipped days null; rolling windows are null over any gap.
        acute=pl.when(x.is_not_null()).then(pl.col("acute")),
        chronic=pl.when(x.is_not_null()).then(pl.col("chronic")),
    )
    ratio = pl.col("acute") / pl.col("chronic")
    return df.select(
        "patient_id",
        "date",
        "acute",
        "chronic",
        pl.when(~pl.col("withheld") & (pl.col("chronic") > 0)).then(ratio).alias("acwr"),
        pl.lit(label).alias("variant"),
        "withheld",
    )


# --------------------------------------------------------------------------------------
# Strength: e1RM and progression
# --------------------------------------------------------------------------------------


def _e1rm_exprs(w: pl.Expr, r: pl.Expr) -> dict[str, pl.Expr]:
    return {
        "epley": w * (1 + r / 30),
        "brzycki": w * 36 / (37 - r),
        "lombardi": w * r.pow(0.10),
        "oconner": w * (1 + 0.025 * r),
        "mayhew": 100 * w / (52.2 + 41.9 * (-0.055 * r).exp()),
        "wathan": 100 * w / (48.8 + 53.8 * (-0.075 * r).exp()),
    }


def _strength_sets(
    sets: Frame,
    *,
    max_reps: int | None,
    extra: Sequence[pl.Expr] = (),
    names: tuple[pl.Series, pl.DataFrame] | None = None,
) -> pl.LazyFrame:
    """Working/failure sets with reps ≥ 1 (≤ max_reps) and an external load > 0, not
    assisted (``extra``: as in :func:`_prepared_sets`)."""
    df = _prepared_sets(sets, bodyweight_kg=None, catalogue=None, extra=extra, names=names)
    keep = (
        pl.col("set_type").fill_null("working").is_in(_STRENGTH_SET_TYPES)
        & (pl.col("reps") >= 1)
        & (pl.col("weight_kg") > 0)
        & ~pl.col("__assisted")
    )
    if max_reps is not None:
        keep = keep & (pl.col("reps") <= max_reps)
    return df.filter(keep.fill_null(False))


def e1rm(
    sets: Frame,
    *,
    max_reps: int = _MAX_REPS,
    formulas: Sequence[str] = _E1RM_FORMULAS,
) -> pl.DataFrame:
    """Estimated one-repetition maximum of every loaded working set.

    Parameters
    ----------
    sets
        Canonical ``sets`` table (see :func:`session_load`).
    max_reps
        Highest repetition count used (default 10). Sets with more repetitions are
        excluded: every formula overestimates beyond about 10–12 repetitions, and
        Brzycki's is best at ≤ 5–10.
    formulas
        Formulas spanning ``e1rm_low_kg``–``e1rm_high_kg`` (default all six:
        ``epley, brzycki, lombardi, oconner, mayhew, wathan``).

    Returns
    -------
    polars.DataFrame
        The input rows of working and failure sets with 1 ≤ ``reps`` ≤ ``max_reps``
        and ``weight_kg`` > 0 (warm-up, drop and assisted sets excluded; the weight of
        an assisted set is the assistance), all input columns, plus:

        - ``e1rm_epley_kg`` (float, kg): ``w·(1 + r/30)``.
        - ``e1rm_brzycki_kg`` (float, kg): ``w·36/(37 − r)``.
        - ``e1rm_low_kg``, ``e1rm_high_kg`` (float, kg): lowest and highest estimate
          across ``formulas`` — the estimate is a range, not a number.

    Raises
    ------
    OptionError
        ``max_reps`` not an int in 1..36, unknown formula, missing column.

    Notes
    -----
    Epley ``w(1 + r/30)``; Brzycki ``w·36/(37 − r)``; Lombardi ``w·r^0.10``;
    O'Conner ``w(1 + 0.025r)``; Mayhew ``100w/(52.2 + 41.9e^{−0.055r})``; Wathan
    ``100w/(48.8 + 53.8e^{−0.075r})`` (``DOMAIN.md``, "e1RM" rows; presentation as
    a range after github watt-mind/coach#593). ``w`` is the external load
    ``weight_kg``, so bodyweight moves are not estimated. The formulas are applied as
    published also at r = 1 (Epley then gives 1.033·w).

    Examples
    --------
    >>> import datetime as dt
    >>> import polars as pl
    >>> sets = pl.DataFrame({"patient_id": ["p1"], "session_id": ["s1"],
    ...     "local_date": [dt.date(2024, 1, 1)], "exercise": ["Squat"],
    ...     "exercise_raw": ["Squat"], "set_type": ["working"],
    ...     "reps": [5.0], "weight_kg": [100.0]})
    >>> e1rm(sets).select("e1rm_epley_kg", "e1rm_brzycki_kg").row(0)
    (116.66666666666667, 112.5)
    """
    max_reps = int_option("max_reps", max_reps, low=1, high=36)
    chosen = [formulas] if isinstance(formulas, str) else list(formulas)
    unknown = [f for f in chosen if f not in _E1RM_FORMULAS]
    if not chosen or unknown:
        raise OptionError(
            f"formulas must be a non-empty subset of {', '.join(_E1RM_FORMULAS)}, got {formulas!r}"
        )
    original = _frame(sets, _SETS_REQUIRED, "sets").columns
    df = _strength_sets(sets, max_reps=max_reps)
    ex = _e1rm_exprs(pl.col("weight_kg"), pl.col("reps"))
    return df.select(
        *original,
        ex["epley"].alias("e1rm_epley_kg"),
        ex["brzycki"].alias("e1rm_brzycki_kg"),
        pl.min_horizontal(ex[f] for f in chosen).alias("e1rm_low_kg"),
        pl.max_horizontal(ex[f] for f in chosen).alias("e1rm_high_kg"),
    ).collect()


def weekly_top_load(
    sets: Frame,
    *,
    week_start: str = "monday",
    max_reps: int = _MAX_REPS,
) -> pl.DataFrame:
    """Heaviest working load and best e1RM of every exercise per week.

    Parameters
    ----------
    sets
        Canonical ``sets`` table (see :func:`session_load`).
    week_start
        Day a week starts on (default ``"monday"``).
    max_reps
        Highest repetition count for ``top_e1rm_kg`` (default 10, see :func:`e1rm`).

    Returns
    -------
    polars.DataFrame
        One row per patient × exercise × week with a loaded working or failure set
        (reps ≥ 1, ``weight_kg`` > 0, not assisted), sorted by ``patient_id,
        exercise, week_start``:

        - ``patient_id`` (str)
        - ``exercise`` (str): canonical name, else ``exercise_raw``.
        - ``week_start`` (Date)
        - ``top_kg`` (float, kg): highest ``weight_kg`` of the week.
        - ``top_e1rm_kg`` (float, kg): highest Epley e1RM over sets with
          ≤ ``max_reps`` reps; null when there is none.
        - ``change_pct`` (float, %): ``(top_t − top_{t−1}) / top_{t−1} × 100`` against
          the previous *calendar* week; null when that week has no data. Input of
          the "too fast progression" flag (> 10 %/week).
        - ``weeks_since_previous`` (int): weeks since the previous week with data
          for this exercise (null on the first).

    Notes
    -----
    Weekly change % (``DOMAIN.md``, "Weekly change %") applied to the top load;
    Epley ``w(1 + r/30)`` (``DOMAIN.md``, "e1RM Epley").
    """
    wd = week_start_day(week_start)
    max_reps = int_option("max_reps", max_reps, low=1, high=36)
    return _weekly_top_load(sets, weekday=wd, max_reps=max_reps)


def _weekly_top_load(sets: Frame, *, weekday: int, max_reps: int) -> pl.DataFrame:
    """:func:`weekly_top_load` with validated options."""
    wd = weekday
    df = _sets_frame(sets)
    names = _distinct_names(df)
    rank, patient_ids = _patient_rank_table(df)
    rules = _name_rules(names[1], None)
    exercise = _nid_names(rules)
    strength = _strength_sets(df, max_reps=None, extra=[rank], names=names).select(
        "__pr",
        "__nid",
        week_start_of(pl.col("local_date"), wd).alias("week_start"),
        "weight_kg",
        pl.when(pl.col("reps") <= max_reps)
        .then(_e1rm_exprs(pl.col("weight_kg"), pl.col("reps"))["epley"])
        .alias("__e1rm"),
    )
    aggs = [pl.col("weight_kg").max().alias("top_kg"), pl.col("__e1rm").max().alias("top_e1rm_kg")]
    # Grouped and sorted by integer ranks of the patient and of the exercise name, which
    # order like the strings and are cheaper; the strings are gathered back per group
    # (not per set) afterwards. When the ranks and the dates fit, the three keys are
    # packed into one 63-bit integer (patient rank, 0 for a null id | name id | day
    # number of the week start + 2^24, 0 for a null date) that groups and sorts alike.
    lo, hi = df.select(pl.col("local_date").min().alias("lo"), pl.col("local_date").max().alias("hi")).row(0)
    fits = (
        patient_ids.len() < 2**23
        and exercise.len() <= 2**15
        and (lo is None or (abs(_days(lo)) < 2**24 - 7 and abs(_days(hi)) < 2**24 - 7))
    )
    if fits:
        key = (
            pl.col("__pr").fill_null(0).cast(pl.Int64) * 2**40
            + pl.col("__nid").cast(pl.Int64) * 2**25
            + (pl.col("week_start").cast(pl.Int32).cast(pl.Int64) + 2**24).fill_null(0)
        )
        weeks = (
            strength.group_by(key.alias("__key"))
            .agg(pl.col("__pr", "__nid", "week_start").first(), *aggs)
            .sort("__key")
            .drop("__key")
            .collect()
        )
    else:  # pragma: no cover - more than 8 M patients, 32 k names or dates beyond ±45 k years
        weeks = (
            strength.group_by("__pr", "__nid", "week_start")
            .agg(aggs)
            .sort("__pr", "__nid", "week_start")
            .collect()
        )
    weeks = weeks.with_columns(
        pl.lit(patient_ids).gather(pl.col("__pr") - 1).alias("patient_id"),
        pl.lit(exercise).gather(pl.col("__nid")).alias("exercise"),
    )
    # Rows sorted by patient, name, week: the previous row is the previous week with
    # data of the same patient and exercise when both ranks match.
    same = (pl.col("__pr").eq_missing(pl.col("__pr").shift(1))) & (
        pl.col("__nid") == pl.col("__nid").shift(1)
    )
    gap = pl.when(same).then((pl.col("week_start") - pl.col("week_start").shift(1)).dt.total_days() // 7)
    prev = pl.col("top_kg").shift(1)
    return weeks.with_columns(weeks_since_previous=gap.cast(pl.Int64)).select(
        "patient_id",
        "exercise",
        "week_start",
        "top_kg",
        "top_e1rm_kg",
        pl.when(pl.col("weeks_since_previous") == 1)
        .then((pl.col("top_kg") - prev) / prev * 100.0)
        .alias("change_pct"),
        "weeks_since_previous",
    )


def _days(day: Any) -> int:
    """Days from 1970-01-01 to a date."""
    return (day - dt.date(1970, 1, 1)).days


def heavy_lifts(catalogue: Any = None) -> list[str]:
    """Canonical names of the heavy lifts: catalogue category ``strength`` with a
    compound movement pattern (hinge, squat, lunge, pushes and pulls).

    These are the lifts the "start light" rule and :func:`progression` look at;
    isolation exercises (curls, raises) are left out.
    """
    cat = _catalogue_frame(catalogue).filter(
        (pl.col("__category") == "strength") & pl.col("__pattern").is_in(_HEAVY_PATTERNS)
    )
    return sorted(cat["__exercise"].to_list())


def _ols_by_group(
    df: pl.DataFrame, keys: list[str], x: str, y: str, *, min_n: int, level: float = 0.95
) -> pl.DataFrame:
    """Closed-form OLS ``y = a + b·x`` per group: ``n, slope, ci_low, ci_high``.

    ``b = Sxy/Sxx``; ``SE(b) = sqrt(SSE/(n − 2) / Sxx)`` with ``SSE = Syy − b·Sxy``
    (centred sums); CI ``b ± t_{(1+level)/2, n−2}·SE(b)``.
    """
    data = df.filter(pl.col(y).is_not_null() & pl.col(x).is_not_null())
    dx = pl.col(x) - pl.col(x).mean()
    dy = pl.col(y) - pl.col(y).mean()
    g = data.group_by(keys).agg(
        pl.len().alias("n"),
        (dx * dx).sum().alias("sxx"),
        (dx * dy).sum().alias("sxy"),
        (dy * dy).sum().alias("syy"),
    )
    n = g["n"].to_numpy().astype(float)
    sxx = g["sxx"].to_numpy()
    sxy = g["sxy"].to_numpy()
    syy = g["syy"].to_numpy()
    ok = (n >= min_n) & (sxx > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(ok, sxy / sxx, np.nan)
        dof = n - 2
        sse = np.clip(syy - slope * sxy, 0.0, None)
        se = np.sqrt(sse / dof / sxx)
        tq = stats.t.ppf((1 + level) / 2, np.where(dof > 0, dof, 1))
        half = np.where(ok & (dof > 0), tq * se, np.nan)
    return g.select(keys).with_columns(
        pl.Series("n", n.astype(np.int64)),
        pl.Series("slope", slope).fill_nan(None),
        pl.Series("ci_low", slope - half).fill_nan(None),
        pl.Series("ci_high", slope + half).fill_nan(None),
    )


def progression(
    sets: Frame,
    *,
    min_weeks: int = 3,
    lifts: list[str] | None = None,
    week_start: str = "monday",
    catalogue: Frame | None = None,
) -> pl.DataFrame:
    """Linear load progression of the heavy lifts, in kg per week with a 95 % CI.

    Parameters
    ----------
    sets
        Canonical ``sets`` table (see :func:`session_load`).
    min_weeks
        Fewest weeks with data for a slope (default 3; at least 2, and a CI needs 3).
    lifts
        Canonical exercise names to analyse. Default ``None``: every catalogue
        exercise of category ``strength`` with movement pattern hinge, squat, lunge,
        horizontal/vertical push or pull that has loaded sets.
    week_start
        Day a week starts on (default ``"monday"``).
    catalogue
        Exercise catalogue for the default lift selection (default
        :func:`toolkit.ingest.load_catalogue`).

    Returns
    -------
    polars.DataFrame
        One row per patient × lift with loaded working sets, sorted by
        ``patient_id, exercise``; slopes are null when fewer than ``min_weeks``:

        - ``patient_id`` (str), ``exercise`` (str, canonical name)
        - ``weeks`` (int): weeks with data.
        - ``first_week``, ``last_week`` (Date): first days of the first/last such week.
        - ``kg_per_week`` (float, kg/week): OLS slope of the weekly top load
          (:func:`weekly_top_load` ``top_kg``) on time in weeks (gaps kept).
        - ``kg_per_week_ci_low``, ``kg_per_week_ci_high`` (float, kg/week): 95 %
          confidence interval of the slope (t distribution, n − 2 df); null for 2
          weeks.
        - ``e1rm_kg_per_week`` (float, kg/week): OLS slope of the weekly top Epley
          e1RM.
        - ``pct_per_week`` (float, %/week): ``kg_per_week / first-week top load × 100``.
        - ``first_top_kg`` (float, kg): top load of the first week.

    Notes
    -----
    Ordinary least squares ``top_kg_w = a + b·t_w + ε`` with ``t_w`` the weeks since
    the first week, solved in closed form for all groups at once (``b = Sxy/Sxx``,
    ``SE(b) = sqrt(SSE/(n − 2)/Sxx)``, CI ``b ± t_{0.975, n−2}·SE(b)``); identical to
    ``statsmodels`` OLS ``conf_int()`` (checked in the tests). Weekly tops are
    autocorrelated, so the CI is optimistic; read it as descriptive. The ">10 % per
    week" progression heuristic is in ``DOMAIN.md`` ("Weekly change %").
    """
    min_weeks = int_option("min_weeks", min_weeks, low=2)
    if lifts is not None and (isinstance(lifts, str) or not all(isinstance(v, str) for v in lifts)):
        raise OptionError(f"lifts must be a list of canonical exercise names or None, got {lifts!r}")
    weeks = weekly_top_load(sets, week_start=week_start)
    chosen = heavy_lifts(catalogue) if lifts is None else list(lifts)
    weeks = weeks.filter(pl.col("exercise").is_in(chosen))
    by = ["patient_id", "exercise"]
    weeks = weeks.with_columns(
        __t=(pl.col("week_start") - pl.col("week_start").min().over(by)).dt.total_days() / 7.0
    )
    summary = weeks.group_by(by).agg(
        pl.len().cast(pl.Int64).alias("weeks"),
        pl.col("week_start").min().alias("first_week"),
        pl.col("week_start").max().alias("last_week"),
        pl.col("top_kg").sort_by("week_start").first().alias("first_top_kg"),
    )
    kg = _ols_by_group(weeks, by, "__t", "top_kg", min_n=min_weeks).select(
        *by,
        pl.col("slope").alias("kg_per_week"),
        pl.col("ci_low").alias("kg_per_week_ci_low"),
        pl.col("ci_high").alias("kg_per_week_ci_high"),
    )
    e1 = _ols_by_group(weeks, by, "__t", "top_e1rm_kg", min_n=min_weeks).select(
        *by, pl.col("slope").alias("e1rm_kg_per_week")
    )
    out = summary.join(kg, on=by, how="left").join(e1, on=by, how="left")
    return out.select(
        *by,
        "weeks",
        "first_week",
        "last_week",
        "kg_per_week",
        "kg_per_week_ci_low",
        "kg_per_week_ci_high",
        "e1rm_kg_per_week",
        (pl.col("kg_per_week") / pl.col("first_top_kg") * 100.0).alias("pct_per_week"),
        "first_top_kg",
    ).sort(by)


# --------------------------------------------------------------------------------------
# Adherence
# --------------------------------------------------------------------------------------


def _weeks_and_plans(
    daily_or_weekly: Frame, patients: Frame, week_start: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    df = as_polars(daily_or_weekly, "daily_or_weekly")
    if "week_start" in df.columns:
        weeks = _frame(
            df,
            {
                "patient_id": pl.String,
                "week_start": pl.Date,
                "sessions": pl.Float64,
                "logged_days": pl.Float64,
            },
            "weekly",
        )
    elif "date" in df.columns:
        weeks = weekly_load(df, week_start=week_start)
    else:
        raise OptionError(
            "daily_or_weekly must be daily_load output (with date) or weekly_load output (with week_start), "
            f"got columns {', '.join(df.columns) or 'none'}"
        )
    plans = (
        _frame(patients, {"patient_id": pl.String, "planned_sessions_per_week": pl.Float64}, "patients")
        .select("patient_id", "planned_sessions_per_week")
        .unique("patient_id", keep="first", maintain_order=True)
    )
    return weeks.select("patient_id", "week_start", "sessions", "logged_days"), plans


def _pct(done: pl.Expr, planned: pl.Expr) -> pl.Expr:
    return pl.when(planned > 0).then(done / planned * 100.0)


def adherence(daily_or_weekly: Frame, patients: Frame, *, week_start: str = "monday") -> pl.DataFrame:
    """Sessions per week against the prescribed number, per patient.

    Parameters
    ----------
    daily_or_weekly
        Output of :func:`daily_load` or :func:`weekly_load`.
    patients
        ``patients`` table with ``patient_id`` and ``planned_sessions_per_week``.
    week_start
        Day a week starts on, when ``daily_or_weekly`` is daily (default ``"monday"``).

    Returns
    -------
    polars.DataFrame
        One row per patient with training data, sorted by ``patient_id``:

        - ``patient_id`` (str)
        - ``planned_sessions_per_week`` (float, sessions/week): from ``patients``;
          null when none is prescribed.
        - ``sessions_per_week`` (float, sessions/week): Σ sessions ÷ Σ logged days
          × 7 — the mean over logged weeks, each weighted by its logged days, so
          partial first/last weeks and weeks cut by a logging gap do not drag it
          down. Null when no day is logged.
        - ``adherence_pct`` (float, %): ``sessions_per_week /
          planned_sessions_per_week × 100``; null when nothing (or 0) is planned.
        - ``logged_weeks`` (float, weeks): Σ logged days ÷ 7, the exposure.

    Notes
    -----
    Adherence % = completed / prescribed sessions × 100 (``DOMAIN.md``, physio report:
    "Adherence %"; HEP non-adherence 50–70 % in low back pain, physio-pedia.com
    Adherence to Home Exercise Programs). Unlogged days are not counted as missed
    sessions: a logging gap is not non-adherence (it may be, but the log cannot tell).
    """
    week_start_day(week_start)
    weeks, plans = _weeks_and_plans(daily_or_weekly, patients, week_start)
    per = weeks.group_by("patient_id").agg(
        pl.col("sessions").sum().cast(pl.Float64).alias("__done"),
        pl.col("logged_days").sum().cast(pl.Float64).alias("__days"),
    )
    out = per.join(plans, on="patient_id", how="left").with_columns(
        sessions_per_week=pl.when(pl.col("__days") > 0).then(pl.col("__done") / pl.col("__days") * 7.0),
        logged_weeks=pl.col("__days") / 7.0,
    )
    return out.select(
        "patient_id",
        "planned_sessions_per_week",
        "sessions_per_week",
        _pct(pl.col("sessions_per_week"), pl.col("planned_sessions_per_week")).alias("adherence_pct"),
        "logged_weeks",
    ).sort("patient_id")


def weekly_adherence(daily_or_weekly: Frame, patients: Frame, *, week_start: str = "monday") -> pl.DataFrame:
    """Sessions done against sessions planned, per patient and week.

    Parameters
    ----------
    daily_or_weekly, patients, week_start
        As in :func:`adherence`.

    Returns
    -------
    polars.DataFrame
        One row per patient × week, sorted by ``patient_id, week_start``:

        - ``patient_id`` (str), ``week_start`` (Date)
        - ``sessions`` (int): sessions done (null when no day is logged).
        - ``logged_days`` (int): logged days of the week (0–7).
        - ``planned_sessions`` (float, sessions): ``planned_sessions_per_week ×
          logged_days / 7`` (prorated for partial weeks).
        - ``adherence_pct`` (float, %): ``sessions / planned_sessions × 100``; null
          when nothing is planned or no day is logged.

    Notes
    -----
    As :func:`adherence`; see its Notes for the source and the treatment of gaps.
    """
    week_start_day(week_start)
    weeks, plans = _weeks_and_plans(daily_or_weekly, patients, week_start)
    out = weeks.join(plans, on="patient_id", how="left").with_columns(
        planned_sessions=pl.col("planned_sessions_per_week") * pl.col("logged_days") / 7.0
    )
    return out.select(
        "patient_id",
        "week_start",
        pl.col("sessions").cast(pl.Int64),
        pl.col("logged_days").cast(pl.Int64),
        "planned_sessions",
        _pct(pl.col("sessions").cast(pl.Float64), pl.col("planned_sessions")).alias("adherence_pct"),
    ).sort("patient_id", "week_start")
