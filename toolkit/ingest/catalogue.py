"""The editable exercise catalogue: maps app exercise names to canonical exercises.

Workout apps name the same exercise in many ways: Strong writes ``Deadlift (Barbell)``,
FitNotes ``Conventional Deadlift``, Fitbod ``Deadlift``, a physio's sheet ``deadlift``.
The catalogue lists each exercise once, under one display name, with the names the apps
use for it. :func:`map_exercises` turns raw names into canonical ones; :func:`load_catalogue`
reads (and checks) the table.

The file
--------
The packaged table is ``toolkit/data/exercise_catalogue.csv``. To change it, copy it, edit
the copy in a spreadsheet or text editor, save it as UTF-8 CSV (comma-separated) and pass
its path to :func:`load_catalogue`. One row per exercise, with exactly these columns::

    canonical_name,aliases,equipment,movement_pattern,category,body_region,bodyweight_factor
    Push-Up,Push Up|Press-Up|Press Up|Pushup,bodyweight,horizontal_push,strength,chest,0.64

canonical_name
    The name shown in reports, in Title Case (``Romanian Deadlift``). Must be unique.
aliases
    Other names for the same exercise, separated by ``|``. Upper/lower case, hyphens,
    underscores, slashes, full stops and apostrophes do not matter (``Push-Up``,
    ``push up`` and ``PUSH_UP`` are the same name), so list only genuinely different
    words. A name may belong to one exercise only. There is no need to add the app's
    equipment suffix: ``Deadlift (Barbell)`` is found through ``Deadlift``. Add a name
    with brackets only when the bracket changes the exercise
    (``Push Up (Knees)`` is a Knee Push-Up, ``Deadlift (Trap Bar)`` a Trap Bar Deadlift).
equipment
    The usual equipment, lower case (``barbell``, ``dumbbell``, ``machine``, ``cable``,
    ``bodyweight``, ``kettlebell``, ``band``, ``none``, ...). May be empty. Used only when
    the raw name does not say which equipment was used (see *Equipment* below).
movement_pattern
    One of ``hinge``, ``squat``, ``lunge``, ``horizontal_push``, ``vertical_push``,
    ``horizontal_pull``, ``vertical_pull``, ``carry``, ``core_flexion``, ``core_extension``,
    ``core_lateral``, ``core_anti_extension``, ``core_anti_rotation``, ``rotation``,
    ``isolation_upper``, ``isolation_lower``, ``stretch``, ``mobility``, ``locomotion``,
    ``olympic``. May be empty.
category
    One of ``strength``, ``mobility``, ``stretch``, ``cardio``. Required.
body_region
    Main region trained: ``lower_back``, ``hips``, ``legs``, ``chest``, ``back``,
    ``shoulders``, ``arms``, ``core``, ``full_body``, ``neck``. May be empty.
bodyweight_factor
    Fraction of body mass moved in one repetition of a bodyweight exercise, a number
    greater than 0 and at most 1 (decimal point, not comma). Empty when the exercise is
    loaded externally only, is an isometric hold or short-lever rehab drill, or is a
    stretch or cardio. The factor describes the exercise in its usual bodyweight form;
    whoever computes a load decides when to use it (e.g. not for a machine variant).

Values of ``equipment``, ``movement_pattern``, ``category`` and ``body_region`` are read
case-insensitively and stored in lower case. A file that breaks a rule is refused as a
whole with :class:`~toolkit.exceptions.OptionError`, naming the file, the row and the
problem.

Matching
--------
Names are compared after :func:`normalise_name`. For each raw name:

1. the whole name is looked up among canonical names and aliases;
2. otherwise a trailing ``(…)`` group is removed (``Back Extension (Machine)`` →
   ``Back Extension``) and the rest is looked up;
3. otherwise the name stays unmapped: ``exercise`` is null, ``exercise_mapped`` False and
   the raw name is kept verbatim. Rows are never dropped.

Equipment
---------
* Matched in step 2: the text inside the removed brackets, normalised
  (``Shoulder Press (Machine Plates)`` → ``machine plates``).
* Matched in step 1: an equipment word in the name, if there is one
  (``Dumbbell Side Bend`` → ``dumbbell``, ``Meadows Incline DB Lateral Raise`` →
  ``dumbbell``; words: barbell, dumbbell/DB, kettlebell/KB, cable, machine, Smith machine,
  EZ bar, trap/hex bar, band/banded, bodyweight, assisted, landmine, TRX, treadmill);
  brackets that are part of an alias are not equipment (``Push Up (Knees)``).
* Otherwise the catalogue's default ``equipment``.
* Unmapped names: the bracket text when present, else null.

Bodyweight factors: sources
---------------------------
Push-up family
    Ebben WP, Wurm B, VanderZanden TL, et al. Kinetic analysis of several variations of
    push-ups. J Strength Cond Res 2011;25(10):2891-2894, doi:10.1519/JSC.0b013e31820c8587.
    Peak vertical ground-reaction force at the hands as a fraction of body mass:
    regular push-up 0.64; flexed-knee push-up 0.49; hands on a 30.5 cm box 0.55
    (61 cm box 0.41) → Incline Push-Up 0.55; feet on a 30.5 cm box 0.70 (61 cm box 0.74)
    → Decline Push-Up 0.70. Wall Push-Up was not measured and is left empty.
Pull-Up, Chin-Up, Muscle-Up, Dip: 1.0
    The whole body hangs from or is supported on the hands. By convention the still
    hands and forearms (about 4 % of body mass) are not subtracted.
Inverted Row: 0.6
    Melrose D, Dawes J. Resistance characteristics of the TRX suspension training system
    at different angles and distances from the hanging point. J Athl Enhancement
    2015;4(1). Load was 0.37, 0.53, 0.68 and 0.79 of body mass with the body at 30°, 45°,
    60° and 75° from vertical; 0.6 corresponds to a body at roughly 50° (bar at about
    hip height). A lower bar means more load.
Segment-mass estimates
    Dempster's segment masses as fractions of body mass, tabulated in Winter DA.
    Biomechanics and Motor Control of Human Movement, 4th ed. Wiley, 2009, Table 4.1:
    hand 0.006, forearm 0.016, upper arm 0.028 (whole arm 0.050), foot 0.0145,
    shank 0.0465, thigh 0.100 (whole leg 0.161), head and neck 0.081, thorax 0.216,
    abdomen 0.139, pelvis 0.142, head + arms + trunk (HAT) 0.678.

    * Back Extension 0.5: the HAT (0.678) pivots over the pad; on a 45° bench the
      moment of its weight at the top is reduced by cos 45°: 0.678 × 0.71 ≈ 0.48.
      (On a horizontal GHD it approaches 0.68.)
    * Reverse Hyperextension, Leg Raise, Hanging Leg Raise 0.32: both legs, 2 × 0.161.
    * Glute Ham Raise, Nordic Hamstring Curl 0.88: everything above the knees,
      1 − 2 × (0.0145 + 0.0465).
    * Air Squat, Pistol Squat, Split Squat, Bulgarian Split Squat, Lunge,
      Reverse Lunge 0.78: HAT 0.678 plus half of both thighs (0.100): the thighs'
      centre of mass travels about half as far as the hips; feet and shanks hardly move.
    * Step-Up 0.94: all but the stance foot and shank, 1 − 0.061.
    * Calf Raise 0.97: all but the feet, 1 − 2 × 0.0145.
    * Sit-Up 0.68: the HAT. Crunch 0.40: head and neck, thorax and both arms,
      0.081 + 0.216 + 2 × 0.050.

    These are approximations for an average adult; individual proportions differ by a
    few percent.

Examples
--------
>>> out = map_exercises(["Deadlift (Barbell)", "Press-Up", "Zercher Lunge Hold"])
>>> out.select("exercise_raw", "exercise", "exercise_mapped", "equipment").rows()
[('Deadlift (Barbell)', 'Deadlift', True, 'barbell'), ('Press-Up', 'Push-Up', True, \
'bodyweight'), ('Zercher Lunge Hold', None, False, None)]
"""

from __future__ import annotations

import functools
import io
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import polars as pl

from toolkit.exceptions import OptionError

__all__ = [
    "BODY_REGIONS",
    "CATALOGUE_COLUMNS",
    "CATEGORIES",
    "MOVEMENT_PATTERNS",
    "load_catalogue",
    "map_exercises",
    "normalise_name",
]

CATALOGUE_COLUMNS: tuple[str, ...] = (
    "canonical_name",
    "aliases",
    "equipment",
    "movement_pattern",
    "category",
    "body_region",
    "bodyweight_factor",
)
"""Columns of a catalogue file, in order."""

CATEGORIES: frozenset[str] = frozenset({"strength", "mobility", "stretch", "cardio"})
"""Allowed ``category`` values."""

MOVEMENT_PATTERNS: frozenset[str] = frozenset(
    {
        "hinge",
        "squat",
        "lunge",
        "horizontal_push",
        "vertical_push",
        "horizontal_pull",
        "vertical_pull",
        "carry",
        "core_flexion",
        "core_extension",
        "core_lateral",
        "core_anti_extension",
        "core_anti_rotation",
        "rotation",
        "isolation_upper",
        "isolation_lower",
        "stretch",
        "mobility",
        "locomotion",
        "olympic",
    }
)
"""Allowed ``movement_pattern`` values."""

BODY_REGIONS: frozenset[str] = frozenset(
    {
        "lower_back",
        "hips",
        "legs",
        "chest",
        "back",
        "shoulders",
        "arms",
        "core",
        "full_body",
        "neck",
    }
)
"""Allowed ``body_region`` values."""

_PACKAGED_NAME = "toolkit/data/exercise_catalogue.csv"
_ALIAS_SEP = "|"

# A trailing "(…)" group (no nested brackets) after a non-empty base, on a normalised name.
_SUFFIX_RE = r"^(.*?\S)\s*\(([^()]*)\)$"

# Equipment words recognised inside a name matched as a whole (normalised spelling → value).
_EQUIPMENT_WORDS: dict[str, str] = {
    "smith machine": "smith machine",
    "smith": "smith machine",
    "ez curl bar": "ez bar",
    "ez bar": "ez bar",
    "ez": "ez bar",
    "trap bar": "trap bar",
    "hex bar": "trap bar",
    "resistance band": "band",
    "body weight": "bodyweight",
    "bodyweight": "bodyweight",
    "barbells": "barbell",
    "barbell": "barbell",
    "dumbbells": "dumbbell",
    "dumbbell": "dumbbell",
    "dbs": "dumbbell",
    "db": "dumbbell",
    "kettlebells": "kettlebell",
    "kettlebell": "kettlebell",
    "kb": "kettlebell",
    "cables": "cable",
    "cable": "cable",
    "machine": "machine",
    "banded": "band",
    "bands": "band",
    "band": "band",
    "assisted": "assisted",
    "landmine": "landmine",
    "trx": "suspension trainer",
    "treadmill": "treadmill",
}
_EQUIPMENT_RE = r"\b(" + "|".join(sorted(_EQUIPMENT_WORDS, key=lambda w: (-len(w), w))) + r")\b"

_OUTPUT_SCHEMA: dict[str, pl.DataType] = {
    "exercise_raw": pl.String(),
    "exercise": pl.String(),
    "exercise_mapped": pl.Boolean(),
    "equipment": pl.String(),
    "movement_pattern": pl.String(),
    "category": pl.String(),
    "body_region": pl.String(),
    "bodyweight_factor": pl.Float64(),
}


def normalise_name(expr: pl.Expr) -> pl.Expr:
    """Normalise exercise names so that spelling variants compare equal.

    Lower-cases; replaces ``&`` with ``and``; turns hyphens (including en and em dashes),
    underscores and slashes into spaces; removes full stops and apostrophes (``'``, ``’``);
    puts exactly one space before ``(`` and none inside the brackets; collapses runs of
    whitespace and strips the ends. The content of brackets is kept.

    Parameters
    ----------
    expr
        String expression of exercise names.

    Returns
    -------
    pl.Expr
        String expression of normalised names; null stays null.

    Examples
    --------
    >>> import polars as pl
    >>> df = pl.DataFrame({"n": ["Cat/Cow", " Child's  Pose ", "Push-Up(Knees)", "C&J"]})
    >>> df.select(normalise_name(pl.col("n")))["n"].to_list()
    ['cat cow', 'childs pose', 'push up (knees)', 'c and j']
    """
    return (
        expr.str.to_lowercase()
        .str.replace_all("&", " and ", literal=True)
        .str.replace_all(r"[-_/\u2010-\u2015\u2212]", " ")
        .str.replace_all(r"[.'\u2018\u2019`\u00b4]", "")
        .str.replace_all(r"\s*\(\s*", " (")
        .str.replace_all(r"\s*\)", ")")
        .str.replace_all(r"\s+", " ")
        .str.strip_chars()
    )


def load_catalogue(path: str | Path | None = None) -> pl.DataFrame:
    """Read and check an exercise catalogue.

    Parameters
    ----------
    path
        A catalogue CSV (UTF-8, comma-separated, header as described in the module
        docstring). ``None`` reads the catalogue shipped with the toolkit.

    Returns
    -------
    pl.DataFrame
        One row per exercise, in file order, with columns

        - ``canonical_name`` (str): display name.
        - ``aliases`` (str): ``|``-separated alternative names, or null.
        - ``equipment`` (str): default equipment, lower case, or null.
        - ``movement_pattern`` (str): movement pattern, or null.
        - ``category`` (str): strength, mobility, stretch or cardio.
        - ``body_region`` (str): main body region, or null.
        - ``bodyweight_factor`` (Float64): fraction of body mass moved, or null.

    Raises
    ------
    OptionError
        The file is missing, unreadable, not UTF-8, has the wrong columns, or breaks a
        rule (duplicate exercise, a name claimed by two exercises, unknown category,
        movement pattern or body region, bad bodyweight factor). The message names the
        file, the row and the problem.
    """
    if path is None:
        return _packaged_catalogue().clone()
    p = Path(path)
    if not p.is_file():
        raise OptionError(f"exercise catalogue file not found: {str(p)!r}")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise OptionError(f"{p}: cannot read the exercise catalogue: {exc}") from exc
    return _parse(data, str(p))


def map_exercises(
    names: pl.Series | Sequence[str | None],
    catalogue: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Map raw exercise names to canonical exercises.

    Each distinct name is matched once (see *Matching* in the module docstring), so a
    million rows with a few hundred distinct names take milliseconds.

    Parameters
    ----------
    names
        Exercise names as exported; nulls allowed.
    catalogue
        A catalogue as returned by :func:`load_catalogue`; it is checked again.
        ``None`` uses the packaged catalogue.

    Returns
    -------
    pl.DataFrame
        One row per input name, in input order, with columns

        - ``exercise_raw`` (str): the name verbatim (null stays null).
        - ``exercise`` (str): canonical name, null when unmapped.
        - ``exercise_mapped`` (bool): True when the name matched the catalogue.
        - ``equipment`` (str): from the name's ``(…)`` suffix or an equipment word in
          it, else the catalogue default; lower case; may be null.
        - ``movement_pattern``, ``category``, ``body_region`` (str): from the catalogue,
          null when unmapped.
        - ``bodyweight_factor`` (Float64): fraction of body mass moved, from the
          catalogue; null when not applicable or unmapped.

    Raises
    ------
    OptionError
        ``names`` is not a Series or a sequence of strings, or ``catalogue`` is invalid.

    Examples
    --------
    >>> out = map_exercises(["Back Extension (Machine)", "Side Bending", None])
    >>> out.select("exercise", "equipment", "category").rows()
    [('Back Extension', 'machine', 'strength'), ('Side Bend', None, 'strength'), \
(None, None, None)]
    """
    raw = _as_series(names)
    if catalogue is None:
        lookup, attributes = _packaged_tables()
    else:
        if not isinstance(catalogue, pl.DataFrame):
            raise OptionError(f"catalogue must be a polars DataFrame or None, got {type(catalogue).__name__}")
        lookup, attributes = _tables(_validate(catalogue, "catalogue frame", file=False))

    if raw.len() == 0:
        return pl.DataFrame(schema=_OUTPUT_SCHEMA)

    distinct = (
        raw.unique()
        .to_frame()
        .with_columns(normalise_name(pl.col("exercise_raw")).alias("_norm"))
        .with_columns(
            pl.col("_norm").str.extract(_SUFFIX_RE, 1).alias("_base"),
            pl.col("_norm").str.extract(_SUFFIX_RE, 2).str.strip_chars().alias("_suffix"),
        )
        .with_columns(
            pl.when(pl.col("_suffix") != "").then(pl.col("_suffix")).alias("_suffix"),
        )
        .join(
            lookup.rename({"_key": "_norm", "canonical_name": "_whole"}),
            on="_norm",
            how="left",
        )
        .join(
            lookup.rename({"_key": "_base", "canonical_name": "_by_base"}),
            on="_base",
            how="left",
        )
        .with_columns(pl.coalesce("_whole", "_by_base").alias("exercise"))
        .join(attributes, left_on="exercise", right_on="canonical_name", how="left")
    )
    word_equipment = (
        pl.col("_norm")
        .str.extract(_EQUIPMENT_RE, 1)
        .replace_strict(_EQUIPMENT_WORDS, default=None, return_dtype=pl.String)
    )
    distinct = distinct.with_columns(
        pl.when(pl.col("_whole").is_not_null())
        .then(pl.coalesce(word_equipment, pl.col("_default_equipment")))
        .when(pl.col("_by_base").is_not_null())
        .then(pl.coalesce(pl.col("_suffix"), pl.col("_default_equipment")))
        .otherwise(pl.col("_suffix"))
        .alias("equipment"),
        pl.col("exercise").is_not_null().alias("exercise_mapped"),
    ).select(list(_OUTPUT_SCHEMA))

    return (
        raw.to_frame()
        .join(
            distinct,
            on="exercise_raw",
            how="left",
            nulls_equal=True,
            maintain_order="left",
        )
        .cast(_OUTPUT_SCHEMA)  # type: ignore[arg-type]
    )


# --- internals -------------------------------------------------------------------------


def _as_series(names: pl.Series | Sequence[str | None]) -> pl.Series:
    """Return ``names`` as a String Series named ``exercise_raw``."""
    if isinstance(names, pl.Series):
        if names.dtype not in (pl.String, pl.Null, pl.Categorical, pl.Enum):
            raise OptionError(f"names must hold strings, got a Series of {names.dtype}")
        return names.cast(pl.String).rename("exercise_raw")
    if isinstance(names, str) or not isinstance(names, Sequence):
        raise OptionError(f"names must be a polars Series or a list of strings, got {type(names).__name__}")
    try:
        return pl.Series("exercise_raw", names, dtype=pl.String, strict=True)
    except TypeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise OptionError(f"names must be strings or None: {first}") from exc


@functools.cache
def _packaged_catalogue() -> pl.DataFrame:
    """The packaged catalogue, read and checked once per process."""
    data = (resources.files("toolkit") / "data" / "exercise_catalogue.csv").read_bytes()
    return _parse(data, _PACKAGED_NAME)


@functools.cache
def _packaged_tables() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Lookup tables of the packaged catalogue, built once per process."""
    return _tables(_packaged_catalogue())


def _parse(data: bytes, source: str) -> pl.DataFrame:
    """Parse catalogue CSV bytes and check them; ``source`` names the file in errors."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OptionError(
            f"{source}: not UTF-8 text (byte {exc.start}); save the catalogue as 'CSV UTF-8'"
        ) from exc
    if not text.strip():
        raise OptionError(f"{source}: the exercise catalogue is empty")
    try:
        df = pl.read_csv(
            io.BytesIO(data),
            infer_schema=False,
            has_header=True,
            raise_if_empty=False,
        )
    except (pl.exceptions.PolarsError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise OptionError(f"{source}: not a readable CSV catalogue: {first}") from exc
    df = df.rename({c: c.strip() for c in df.columns})
    return _validate(df, source, file=True)


def _check_columns(found: Sequence[str], source: str) -> None:
    """Raise unless ``found`` holds exactly the catalogue columns."""
    missing = [c for c in CATALOGUE_COLUMNS if c not in found]
    extra = [c for c in found if c not in CATALOGUE_COLUMNS]
    duplicated = sorted({c for c in found if list(found).count(c) > 1})
    if missing or extra or duplicated:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected column(s) {', '.join(repr(c) for c in extra)}")
        if duplicated:
            parts.append(f"repeated column(s) {', '.join(duplicated)}")
        raise OptionError(f"{source}: {'; '.join(parts)}; expected the header {','.join(CATALOGUE_COLUMNS)}")


def _where(source: str, row: int, *, file: bool) -> str:
    """``source, row N (line M)`` for messages; rows count data rows from 1."""
    return f"{source}, row {row} (line {row + 1})" if file else f"{source}, row {row}"


def _validate(df: pl.DataFrame, source: str, *, file: bool) -> pl.DataFrame:
    """Check a catalogue frame and return it cleaned (stripped, lower-cased, typed)."""
    _check_columns(df.columns, source)
    text_cols = [c for c in CATALOGUE_COLUMNS if c != "bodyweight_factor"]
    for c in text_cols:
        if df.schema[c] not in (pl.String, pl.Null):
            raise OptionError(f"{source}: column {c} must hold text, got {df.schema[c]}")

    def _blank_to_null(e: pl.Expr) -> pl.Expr:
        e = e.str.strip_chars()
        return pl.when(e != "").then(e)

    factor_text = pl.col("bodyweight_factor").cast(pl.String).str.strip_chars()
    clean = (
        df.select(CATALOGUE_COLUMNS)
        .with_columns(pl.col(text_cols).cast(pl.String))
        .with_columns(
            _blank_to_null(pl.col("canonical_name")).alias("canonical_name"),
            _blank_to_null(pl.col("aliases")).alias("aliases"),
            *(
                _blank_to_null(pl.col(c)).str.to_lowercase().alias(c)
                for c in ("equipment", "movement_pattern", "category", "body_region")
            ),
            pl.when(factor_text != "").then(factor_text).alias("_factor_text"),
        )
        .with_columns(
            pl.col("_factor_text").cast(pl.Float64, strict=False).alias("bodyweight_factor"),
        )
        .with_row_index("_row", offset=1)
    )

    def _fail(mask: pl.Expr, problem: str, value: str = "canonical_name") -> None:
        bad = clean.filter(mask)
        if bad.height:
            first = bad.row(0, named=True)
            more = f" ({bad.height - 1} more row(s) with the same problem)" if bad.height > 1 else ""
            raise OptionError(
                f"{_where(source, first['_row'], file=file)}: {problem.format(value=first[value])}{more}"
            )

    _fail(pl.col("canonical_name").is_null(), "canonical_name is empty")
    _fail(
        pl.col("category").is_null(),
        "category is empty for {value!r}; use one of " + ", ".join(sorted(CATEGORIES)),
    )
    for column, allowed in (
        ("category", CATEGORIES),
        ("movement_pattern", MOVEMENT_PATTERNS),
        ("body_region", BODY_REGIONS),
    ):
        _fail(
            pl.col(column).is_not_null() & ~pl.col(column).is_in(sorted(allowed)),
            f"unknown {column} {{value!r}}; use one of " + ", ".join(sorted(allowed)),
            column,
        )
    _fail(
        pl.col("_factor_text").is_not_null() & pl.col("bodyweight_factor").is_null(),
        "bodyweight_factor {value!r} is not a number (use a decimal point, e.g. 0.64)",
        "_factor_text",
    )
    _fail(
        pl.col("bodyweight_factor").is_not_null()
        & ~((pl.col("bodyweight_factor") > 0) & (pl.col("bodyweight_factor") <= 1)),
        "bodyweight_factor {value} is out of range; it must be > 0 and <= 1",
        "bodyweight_factor",
    )

    # Every name (canonical or alias), normalised, must belong to one row only: this
    # catches a repeated exercise, an alias claimed twice and an alias that is another
    # exercise's canonical name.
    clash = (
        _keys(clean)
        .sort("_row", "_is_canonical", descending=[False, True], maintain_order=True)
        .unique(["_key", "_row"], keep="first", maintain_order=True)
        .group_by("_key", maintain_order=True)
        .agg("_row", "canonical_name", "_name", "_is_canonical")
        .filter(pl.col("_row").list.len() > 1)
        .sort(pl.col("_row").list.get(1))
    )
    if clash.height:
        first = clash.row(0, named=True)
        more = f" ({clash.height - 1} more clash(es))" if clash.height > 1 else ""
        rows = first["_row"]
        names = first["canonical_name"]
        where = _where(source, rows[1], file=file)
        if all(first["_is_canonical"]):
            problem = (
                f"canonical_name {names[1]!r} repeats {names[0]!r} (row {rows[0]}); "
                "canonical names must be unique (case, hyphens and punctuation are ignored)"
            )
        else:
            kind = "name" if first["_is_canonical"][1] else "alias"
            owners = " and ".join(f"{n!r} (row {r})" for n, r in zip(names, rows, strict=True))
            problem = (
                f"{kind} {first['_name'][1]!r} (compared as {first['_key']!r}) is claimed by "
                f"{owners}; a name may belong to one exercise only"
            )
        raise OptionError(f"{where}: {problem}{more}")

    return clean.select(
        pl.col("canonical_name", "aliases", "equipment", "movement_pattern", "category"),
        pl.col("body_region"),
        pl.col("bodyweight_factor"),
    )


def _keys(cat: pl.DataFrame) -> pl.DataFrame:
    """Every normalised name of every exercise: ``_key, canonical_name, _name, _row``."""
    canonical = cat.select(
        pl.col("canonical_name").alias("_name"),
        "canonical_name",
        "_row",
        pl.lit(True).alias("_is_canonical"),
    )
    aliases = (
        cat.select(
            pl.col("aliases").str.split(_ALIAS_SEP).alias("_name"),
            "canonical_name",
            "_row",
            pl.lit(False).alias("_is_canonical"),
        )
        .explode("_name")
        .with_columns(pl.col("_name").str.strip_chars())
    )
    return (
        pl.concat([canonical, aliases])
        .with_columns(normalise_name(pl.col("_name")).alias("_key"))
        .filter(pl.col("_key").is_not_null() & (pl.col("_key") != ""))
    )


def _tables(cat: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Return ``(lookup, attributes)`` for a checked catalogue.

    ``lookup`` has one row per normalised name: ``_key, canonical_name``. ``attributes``
    has one row per exercise with the catalogue's columns (equipment as
    ``_default_equipment``).
    """
    lookup = (
        _keys(cat.with_row_index("_row", offset=1))
        .select("_key", "canonical_name")
        .unique("_key", keep="first", maintain_order=True)
    )
    attributes = cat.select(
        "canonical_name",
        pl.col("equipment").alias("_default_equipment"),
        "movement_pattern",
        "category",
        "body_region",
        pl.col("bodyweight_factor").cast(pl.Float64),
    )
    return lookup, attributes
