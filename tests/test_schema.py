"""The schema module is the one source of truth for the canonical tables."""

from __future__ import annotations

import json

import duckdb
import polars as pl
import pytest

from tests.conftest import ROOT
from toolkit import schema


@pytest.mark.parametrize("name", list(schema.TABLES))
def test_data_schema_json_in_sync_with_schema_module(name: str) -> None:
    path = ROOT / "data" / "schema" / f"{name}.json"
    assert path.exists(), f"{path} missing: run `make schema`"
    committed = json.loads(path.read_text(encoding="utf-8"))
    assert committed == schema.table_schema(name), f"{path} drifted: run `make schema`"


def test_no_stray_schema_files() -> None:
    files = {p.stem for p in (ROOT / "data" / "schema").glob("*.json")}
    assert files == set(schema.TABLES)


@pytest.mark.parametrize("name", list(schema.TABLES))
def test_ddl_creates_the_same_columns(name: str) -> None:
    con = duckdb.connect()
    con.execute(schema.ddl(name))
    cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()]
    assert cols == list(schema.polars_schema(schema.TABLES[name]))


def test_units_are_in_column_names() -> None:
    sets = schema.polars_schema(schema.Sets)
    for col in ("weight_kg", "distance_m", "duration_s", "rest_after_s"):
        assert col in sets
    assert "pain_nrs" in schema.polars_schema(schema.PainEntries)


def test_frictionless_constraints_follow_the_model() -> None:
    fields = {f["name"]: f for f in schema.table_schema("pain_entries")["fields"]}
    assert fields["pain_nrs"]["constraints"] == {"required": True, "minimum": 0, "maximum": 10}
    assert schema.table_schema("sets")["primaryKey"] == ["set_id"]


def test_validation_rejects_out_of_range_pain() -> None:
    frame = pl.DataFrame({"pain_nrs": [11.0]})
    with pytest.raises(Exception, match="pain_nrs"):
        schema.PainEntries.validate(frame)
