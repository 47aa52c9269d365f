"""`recovery analyse`: the JSON contract, on the real fixtures and on the demo cohort."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.conftest import FIXTURES, REAL
from toolkit.cli import app

runner = CliRunner()
PAIN = FIXTURES / "pain" / "strong_v1_patient_pain.csv"


def _check_contract(obj: dict) -> None:
    assert {"patient_id", "period", "pain", "load", "relations", "flags"} <= obj.keys()
    assert set(obj["period"]) == {"start", "end"}
    assert {
        "baseline",
        "current",
        "change",
        "percent_change",
        "mcid_reached",
        "trend_per_week",
        "change_points",
    } <= obj["pain"].keys()
    assert {"sessions_per_week", "rest_days_per_week", "acwr_latest"} <= obj["load"].keys()
    assert isinstance(obj["relations"], list)
    for flag in obj["flags"]:
        assert {"date", "kind", "detail"} <= flag.keys()
        assert flag["kind"] in {"load_spike", "too_fast_progression", "no_rest", "pain_flare"}


def test_analyse_json_on_a_real_export_with_a_hand_made_pain_log(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    res = runner.invoke(
        app,
        [
            "ingest",
            str(REAL / "strong_ios_v1_2020-2021.csv"),
            str(PAIN),
            "--patient",
            "p1",
            "--store",
            store,
            "--tz",
            "UTC",
        ],
    )
    assert res.exit_code == 0, res.output
    runner.invoke(app, ["patient", "p1", "--store", store, "--bodyweight-kg", "82"])
    res = runner.invoke(app, ["analyse", "--patient", "p1", "--store", store, "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    _check_contract(obj)
    assert obj["period"] == {"start": "2020-12-30", "end": "2021-09-06"}
    assert 5.0 < obj["pain"]["baseline"] < 7.0 and obj["pain"]["current"] < obj["pain"]["baseline"]
    assert obj["load"]["sessions_per_week"] > 1 and obj["load"]["acwr_latest"] is not None
    kinds = {f["kind"] for f in obj["flags"]}
    assert {"pain_flare", "load_spike"} <= kinds
    assert not any("bodyweight" in m for m in obj["messages"])


def test_analyse_date_range_and_readable_summary(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    runner.invoke(
        app,
        ["ingest", str(REAL / "strong_ios_v1_2020-2021.csv"), str(PAIN), "--patient", "p1", "--store", store],
    )
    res = runner.invoke(
        app,
        [
            "analyse",
            "--patient",
            "p1",
            "--store",
            store,
            "--from",
            "2021-03-01",
            "--to",
            "2021-05-31",
            "--json",
        ],
    )
    obj = json.loads(res.stdout)
    assert obj["period"] == {"start": "2021-03-01", "end": "2021-05-31"}
    assert all("2021-03-01" <= f["date"] <= "2021-05-31" for f in obj["flags"])
    res = runner.invoke(app, ["analyse", "--patient", "p1", "--store", store])
    assert res.exit_code == 0
    assert "Pain: baseline" in res.stdout and "associations, not causes" in res.stdout


def test_too_little_data_says_what_is_missing(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    runner.invoke(app, ["ingest", str(REAL / "strong_v4_small.csv"), "--patient", "p1", "--store", store])
    res = runner.invoke(app, ["analyse", "--patient", "p1", "--store", store, "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    _check_contract(obj)
    assert obj["pain"]["baseline"] is None and obj["load"]["acwr_latest"] is None
    text = " ".join(obj["messages"])
    assert "no pain entries" in text and "ACWR is withheld" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--patient", "nobody"], "no patient 'nobody'"),
        (
            ["--patient", "p1", "--from", "2021-05-01", "--to", "2021-04-01"],
            "--from must be on or before --to",
        ),
        (["--patient", "p1", "--from", "May"], "--from must be a date YYYY-MM-DD"),
    ],
)
def test_analyse_refusals_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    store = str(tmp_path / "s.duckdb")
    runner.invoke(app, ["ingest", str(REAL / "strong_v4_small.csv"), "--patient", "p1", "--store", store])
    res = runner.invoke(app, ["analyse", *args, "--store", store])
    assert res.exit_code == 2 and message in res.stderr


def test_analyse_json_on_the_demo_cohort(cohort_store) -> None:
    _cohort, store = cohort_store
    res = runner.invoke(app, ["analyse", "--patient", "spike_01", "--store", str(store.path), "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    _check_contract(obj)
    assert obj["pain"]["mcid_reached"] is True
    assert "load_spike" in {f["kind"] for f in obj["flags"]}


def test_analyse_json_has_relations_in_both_directions(cohort_store) -> None:
    _cohort, store = cohort_store
    res = runner.invoke(app, ["analyse", "--patient", "reverse_01", "--store", str(store.path), "--json"])
    obj = json.loads(res.stdout)
    keys = {
        "driver",
        "lag_days",
        "effect",
        "ci_low",
        "ci_high",
        "p_value",
        "q_value",
        "significant",
        "n",
        "sentence",
    }
    assert obj["relations"] and obj["reverse_relations"]
    for rel in obj["relations"] + obj["reverse_relations"]:
        assert keys <= rel.keys()
    # pain-avoidance is reported as pain → less training, not as training → relief
    assert any(r["significant"] and r["effect"] < 0 for r in obj["reverse_relations"])
    assert not any(r["significant"] for r in obj["relations"])


def test_cohort_command_prints_table_model_and_flare_risk(cohort_store) -> None:
    cohort, store = cohort_store
    res = runner.invoke(app, ["cohort", "--store", str(store.path), "--json"])
    assert res.exit_code == 0, res.output
    obj = json.loads(res.stdout)
    assert len(obj["patients"]) == cohort.patients.height
    assert obj["model"]["fixed_effects"] and obj["model_sentences"]
    assert obj["flare_risk"]["validation"]
    text = runner.invoke(app, ["cohort", "--store", str(store.path)]).stdout
    assert "Clinic-level model" in text and "Flare-risk model" in text
