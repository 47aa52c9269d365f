"""The canonical tables — one definition each, used everywhere.

Every table of the store is a pandera :class:`~pandera.polars.DataFrameModel` here.
The DuckDB DDL (:func:`ddl`), the Frictionless Table Schemas in ``data/schema/``
(:func:`table_schema`, written by ``python -m toolkit.schema``) and the validation of
what the ingest layer writes all derive from these classes; a test fails when
``data/schema/`` drifts from them.

Conventions: snake_case names that carry their unit (``weight_kg``, ``distance_m``,
``duration_s``, ``pain_nrs`` on the 0–10 numeric rating scale); instants are UTC
(``*_utc``), wall-clock times are naive local (``*_local``) with the zone in ``tz``;
``local_date`` is the calendar day a patient and physio would name (see
:class:`toolkit.ingest.ReadOptions` ``day_start_hour``). Original values and units
are kept beside every converted one.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.engines import polars_engine as pe

__all__ = [
    "TABLES",
    "OutcomeMeasures",
    "PainEntries",
    "Patients",
    "Quarantine",
    "RawFiles",
    "Sessions",
    "Sets",
    "Uploads",
    "ddl",
    "polars_schema",
    "table_schema",
    "write_table_schemas",
]

_UTC = {"time_zone": "UTC", "time_unit": "us"}
_NAIVE = {"time_unit": "us"}


def _utc(description: str, *, nullable: bool = False) -> Any:
    return pa.Field(dtype_kwargs=_UTC, nullable=nullable, description=description)


def _local(description: str, *, nullable: bool = False) -> Any:
    return pa.Field(dtype_kwargs=_NAIVE, nullable=nullable, description=description)


def _f(description: str, **kwargs: Any) -> Any:
    return pa.Field(description=description, **kwargs)


class _Table(pa.DataFrameModel):
    class Config:
        strict = True
        coerce = False


class Patients(_Table):
    """One row per patient of the workspace."""

    patient_id: str = _f("Identifier chosen by the clinic or user (e.g. 'p001').", unique=True)
    name: str = _f("Display name.", nullable=True)
    condition: str = _f("Condition being rehabilitated, free text (e.g. 'L5/S1 disc').", nullable=True)
    surgery_date: dt.date = _f("Date of surgery; recovery time is measured from it.", nullable=True)
    programme_start_date: dt.date = _f("Start of the exercise programme.", nullable=True)
    planned_sessions_per_week: float = _f(
        "Prescribed training sessions per week (for adherence).", nullable=True, ge=0, le=21
    )
    bodyweight_kg: float = _f(
        "Body mass in kg (effective load of bodyweight exercises).", nullable=True, gt=0, le=400
    )
    created_at_utc: pe.DateTime = _utc("When the record was created.")
    updated_at_utc: pe.DateTime = _utc("When the record was last changed.")

    class Config:
        metadata = {"primary_key": ["patient_id"]}


class RawFiles(_Table):
    """The bytes of every uploaded file, by content hash (raw data is immutable)."""

    content_sha256: str = _f("SHA-256 of the file's bytes (hex).", unique=True)
    size_bytes: pl.Int64 = _f("Size of the file.", ge=0)
    content: pl.Binary = _f("The file's bytes, unchanged.")
    first_seen_at_utc: pe.DateTime = _utc("When these bytes were first uploaded.")

    class Config:
        metadata = {"primary_key": ["content_sha256"]}


class Uploads(_Table):
    """One row per ingest of one file for one patient (re-uploads included)."""

    upload_id: str = _f("Unique id of this ingest event.", unique=True)
    patient_id: str = _f("Patient the file was ingested for.")
    file_name: str = _f("File name as uploaded.")
    content_sha256: str = _f("Key into raw_files.")
    size_bytes: pl.Int64 = _f("Size of the file.", ge=0)
    format: str = _f("Reader that read it (strong, hevy, fitnotes, ...).")
    layout: str = _f("Layout within the format (e.g. v3_workout_number).")
    kind: str = _f("workout, pain or measures.", isin=["workout", "pain", "measures"])
    ingested_at_utc: pe.DateTime = _utc("When the ingest committed.")
    rows_read: pl.Int64 = _f("Data rows in the file.", ge=0)
    rows_accepted: pl.Int64 = _f("Rows stored as new sets/entries.", ge=0)
    rows_duplicate: pl.Int64 = _f("Rows already in the store (same natural key).", ge=0)
    rows_quarantined: pl.Int64 = _f("Rows not stored, each with a reason.", ge=0)
    warnings_json: str = _f("JSON list of warnings shown to the user.")
    assumptions_json: str = _f("JSON object of assumptions (units, time zone).")
    options_json: str = _f("JSON object of the reading options used (to re-process the raw file).")
    tz: str = _f("Time zone used for times without an offset, and for days.")
    day_start_hour: pl.Int32 = _f("Local hour at which a new day starts.", ge=0, le=23)
    toolkit_version: str = _f("Version of recovery-toolkit that read the file.")

    class Config:
        metadata = {"primary_key": ["upload_id"]}


class Sessions(_Table):
    """One row per training session (a workout, or a calendar day for date-only apps)."""

    session_id: str = _f("Stable key: patient, app, start time, workout name.", unique=True)
    patient_id: str = _f("Patient.")
    source_app: str = _f("App the session was logged in.")
    started_at_utc: pe.DateTime = _utc("Start instant (midnight local for date-only apps).")
    started_at_local: pe.DateTime = _local("Start as local wall-clock time.")
    local_date: dt.date = _f("Training day (local, after day_start_hour).")
    time_known: bool = _f("False when the app records dates only.")
    tz: str = _f("Time zone of started_at_local.")
    workout_name: str = _f("Workout name/title as logged.", nullable=True)
    duration_s: float = _f("Session duration in seconds (null when absent or suspect).", nullable=True, ge=0)
    duration_raw: str = _f("Duration as written in the export.", nullable=True)
    duration_suspect: bool = _f("True when the export's duration was implausible (> 6 h).")
    workout_notes: str = _f("Notes on the whole workout.", nullable=True)
    upload_id: str = _f("Upload that first brought this session.")

    class Config:
        metadata = {"primary_key": ["session_id"]}


class Sets(_Table):
    """One row per performed set, in SI units with the original values beside them."""

    set_id: str = _f("Stable natural key (see toolkit.ingest._normalise.natural keys).", unique=True)
    session_id: str = _f("Session the set belongs to.")
    patient_id: str = _f("Patient.")
    source_app: str = _f("App the set was logged in.")
    local_date: dt.date = _f("Training day (local).")
    exercise_raw: str = _f("Exercise name exactly as exported.")
    exercise: str = _f("Canonical exercise name from the catalogue; null when unmapped.", nullable=True)
    exercise_mapped: bool = _f("True when exercise_raw matched the catalogue.")
    equipment: str = _f("Equipment (from the name's '(…)' or the catalogue).", nullable=True)
    movement_pattern: str = _f("Movement pattern from the catalogue.", nullable=True)
    category: str = _f("strength, mobility, stretch or cardio.", nullable=True)
    body_region: str = _f("Main body region trained.", nullable=True)
    set_index: pl.Int32 = _f(
        "1-based set number within the exercise (null when the app has none).", nullable=True, ge=1
    )
    set_type: str = _f("working, warmup, drop or failure.", isin=["working", "warmup", "drop", "failure"])
    reps: float = _f("Repetitions.", nullable=True, ge=0)
    weight_kg: float = _f("External load in kg, rounded to 1 g; null for bodyweight sets.", nullable=True)
    weight_original: float = _f("Weight as exported.", nullable=True)
    weight_unit_original: str = _f("Unit of weight_original: kg or lb.", nullable=True, isin=["kg", "lb"])
    weight_unit_assumed: bool = _f("True when the file carried no unit and one was assumed.")
    distance_m: float = _f("Distance in metres.", nullable=True, ge=0)
    distance_original: float = _f("Distance as exported.", nullable=True)
    distance_unit_original: str = _f("Unit of distance_original.", nullable=True)
    duration_s: float = _f("Duration of a timed set in seconds.", nullable=True, ge=0)
    rpe: float = _f("Rating of perceived exertion (CR-10).", nullable=True, ge=0, le=10)
    rest_after_s: float = _f("Rest after the set in seconds (Strong rest timer).", nullable=True, ge=0)
    superset_id: str = _f("Superset group id (Hevy; '0' is a valid id).", nullable=True)
    multiplier: float = _f("Fitbod multiplier (e.g. 2 for dumbbell pairs), as exported.", nullable=True)
    notes: str = _f("Set or exercise notes.", nullable=True)
    upload_id: str = _f("Upload that first brought this set.")
    source_line: pl.Int64 = _f("Line of the row in that upload (header = 1).", ge=1)

    class Config:
        # The key is enforced by the ingest (unique within a file by this model's
        # check, new against the store by an anti-join), not by a DuckDB index:
        # maintaining an ART index on a million 32-character keys doubled the time
        # to store a large export (issue 8). Stores created earlier keep theirs.
        metadata = {"primary_key": ["set_id"], "index_primary_key": False}


class PainEntries(_Table):
    """One row per pain rating, on the 0–10 numeric rating scale."""

    pain_id: str = _f("Stable natural key: patient, time, location, occurrence.", unique=True)
    patient_id: str = _f("Patient.")
    recorded_at_utc: pe.DateTime = _utc("When the rating was recorded (midnight local if date only).")
    recorded_at_local: pe.DateTime = _local("Local wall-clock time of the rating.")
    local_date: dt.date = _f("Day of the rating (local).")
    time_known: bool = _f("False for date-only entries.")
    tz: str = _f("Time zone of recorded_at_local.")
    pain_nrs: float = _f("Pain on the 0–10 numeric rating scale.", ge=0, le=10)
    pain_original: float = _f("Value as recorded.", nullable=True)
    scale_original: str = _f("Original scale (nrs_0_10, vas_0_100, apple_severity, ...).")
    location: str = _f("Body location or symptom name.", nullable=True)
    notes: str = _f("Free-text notes.", nullable=True)
    source_format: str = _f("Reader that read it.")
    upload_id: str = _f("Upload that first brought this entry.")
    source_line: pl.Int64 = _f("Line (or entry number) in that upload.", ge=1)

    class Config:
        metadata = {"primary_key": ["pain_id"]}


class OutcomeMeasures(_Table):
    """Patient-reported outcome measures (ODI, RMDQ, PSFS, NRS) over time."""

    measure_id: str = _f("Stable natural key.", unique=True)
    patient_id: str = _f("Patient.")
    measured_at_utc: pe.DateTime = _utc("When the measure was taken (midnight local if date only).")
    local_date: dt.date = _f("Day of the measure (local).")
    time_known: bool = _f("False for date-only entries.")
    instrument: str = _f(
        "ODI (0–100), RMDQ (0–24), PSFS (0–10) or NRS (0–10).", isin=["ODI", "RMDQ", "PSFS", "NRS"]
    )
    score: float = _f("Score on the instrument's own scale.", ge=0, le=100)
    higher_is_better: bool = _f("True for PSFS (ability); False for ODI, RMDQ, NRS.")
    notes: str = _f("Free-text notes.", nullable=True)
    upload_id: str = _f("Upload that first brought this measure.")
    source_line: pl.Int64 = _f("Line in that upload.", ge=1)

    class Config:
        metadata = {"primary_key": ["measure_id"]}


class Quarantine(_Table):
    """Rows that were read but not stored, each with a reason code (nothing is lost)."""

    upload_id: str = _f("Upload the row came from.")
    patient_id: str = _f("Patient of the upload.")
    file_name: str = _f("File name.")
    source_line: pl.Int64 = _f("Line (or entry number) of the row; header = 1.", ge=1)
    column_name: str = _f("Column at fault, when one is.", nullable=True)
    reason: str = _f("Reason code (toolkit.exceptions.Reason).")
    severity: str = _f(
        "'error' (bad input) or 'info' (a row that is not data by design).", isin=["error", "info"]
    )
    message: str = _f("Human explanation.")
    raw_text: str = _f("The row's raw text.", nullable=True)

    class Config:
        metadata = {"primary_key": ["upload_id", "source_line", "reason"]}


TABLES: dict[str, type[_Table]] = {
    "patients": Patients,
    "raw_files": RawFiles,
    "uploads": Uploads,
    "sessions": Sessions,
    "sets": Sets,
    "pain_entries": PainEntries,
    "outcome_measures": OutcomeMeasures,
    "quarantine": Quarantine,
}
"""Store table name → model, in creation order."""


def _columns(model: type[_Table]) -> dict[str, Any]:
    return model.to_schema().columns


def polars_schema(model: type[_Table]) -> dict[str, pl.DataType]:
    """Column name → polars dtype of a table, in order."""
    return {name: col.dtype.type for name, col in _columns(model).items()}


def _primary_key(model: type[_Table]) -> list[str]:
    return list((model.Config.metadata or {}).get("primary_key", []))


_SQL = {
    pl.String: "VARCHAR",
    pl.Float64: "DOUBLE",
    pl.Int64: "BIGINT",
    pl.Int32: "INTEGER",
    pl.Boolean: "BOOLEAN",
    pl.Date: "DATE",
    pl.Binary: "BLOB",
}


def _sql_type(dtype: pl.DataType) -> str:
    if isinstance(dtype, pl.Datetime):
        return "TIMESTAMPTZ" if dtype.time_zone else "TIMESTAMP"
    return _SQL[dtype.base_type()]


def ddl(name: str) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for store table ``name``."""
    model = TABLES[name]
    cols = []
    for col_name, col in _columns(model).items():
        null = "" if col.nullable else " NOT NULL"
        cols.append(f"    {col_name} {_sql_type(col.dtype.type)}{null}")
    pk = _primary_key(model)
    if pk and (model.Config.metadata or {}).get("index_primary_key", True):
        cols.append(f"    PRIMARY KEY ({', '.join(pk)})")
    return f"CREATE TABLE IF NOT EXISTS {name} (\n" + ",\n".join(cols) + "\n)"


_FRICTIONLESS = {
    pl.String: ("string", None),
    pl.Float64: ("number", None),
    pl.Int64: ("integer", None),
    pl.Int32: ("integer", None),
    pl.Boolean: ("boolean", None),
    pl.Date: ("date", None),
    pl.Binary: ("string", "binary"),
}


def table_schema(name: str) -> dict[str, Any]:
    """The Frictionless Table Schema (v1) of store table ``name`` as a dict."""
    model = TABLES[name]
    fields = []
    for col_name, col in _columns(model).items():
        dtype = col.dtype.type
        if isinstance(dtype, pl.Datetime):
            ftype, fmt = "datetime", None
        else:
            ftype, fmt = _FRICTIONLESS[dtype.base_type()]
        field: dict[str, Any] = {"name": col_name, "type": ftype}
        if fmt:
            field["format"] = fmt
        if col.description:
            field["description"] = col.description
        constraints: dict[str, Any] = {}
        if not col.nullable:
            constraints["required"] = True
        if col.unique:
            constraints["unique"] = True
        for check in col.checks:
            stats = check.statistics
            if check.name == "greater_than_or_equal_to":
                constraints["minimum"] = stats["min_value"]
            elif check.name == "less_than_or_equal_to":
                constraints["maximum"] = stats["max_value"]
            elif check.name == "greater_than":
                constraints["exclusiveMinimum"] = stats["min_value"]
            elif check.name == "isin":
                constraints["enum"] = sorted(stats["allowed_values"])
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    schema: dict[str, Any] = {
        "$schema": "https://frictionlessdata.io/schemas/table-schema.json",
        "name": name,
        "description": " ".join((model.__doc__ or "").split()),
        "fields": fields,
    }
    if pk := _primary_key(model):
        schema["primaryKey"] = pk
    return schema


def write_table_schemas(directory: str | Path) -> list[Path]:
    """Write ``<table>.json`` for every table into ``directory``; return the paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in TABLES:
        path = out / f"{name}.json"
        path.write_text(json.dumps(table_schema(name), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":  # python -m toolkit.schema [DIR]
    import sys

    target = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "data" / "schema"
    for p in write_table_schemas(target):
        print(p)
