"""Shared test fixtures: where the genuine and the hand-made exports live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# The shared helpers assert; let pytest explain their failures as it does in tests.
pytest.register_assert_rewrite("tests._helpers")

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"


def _real_dir() -> Path:
    """Genuine exports: ``$RECOVERY_SHARED/fixtures/real``, else ``../shared`` beside the
    repository, else the copy shipped with the package for the demo."""
    candidates = []
    if env := os.environ.get("RECOVERY_SHARED"):
        candidates.append(Path(env) / "fixtures" / "real")
    candidates.append(ROOT.parent / "shared" / "fixtures" / "real")
    candidates.append(ROOT / "toolkit" / "data" / "demo")
    for c in candidates:
        if (c / "hevy_kg_2024-2025.csv").exists():
            return c
    raise RuntimeError("genuine fixtures not found; set RECOVERY_SHARED")


REAL = _real_dir()


@pytest.fixture
def real_dir() -> Path:
    return REAL


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture(scope="session")
def cohort_store(tmp_path_factory: pytest.TempPathFactory):
    """The synthetic demo cohort ingested through the real ingest path (built once)."""
    from toolkit.datasets import demo_cohort
    from toolkit.store import Store

    cohort = demo_cohort()
    store = Store(tmp_path_factory.mktemp("cohort") / "cohort.duckdb")
    cohort.ingest_into(store)
    return cohort, store
