"""recovery-toolkit: relate training logs and pain diaries to recovery outcomes.

The public API, in the order data flows::

    from toolkit import Store, ReadOptions, read_file

    store = Store("clinic.duckdb")
    reports = store.ingest(["strong.csv", "pain.csv"], patient_id="p001")
    sets = store.table("sets", patient_id="p001")

Subpackages: :mod:`toolkit.ingest` (readers), :mod:`toolkit.store` (DuckDB workspace),
:mod:`toolkit.schema` (the canonical tables).
"""

from toolkit.exceptions import (
    IngestError,
    OptionError,
    Reason,
    StoreBusyError,
    StoreError,
    ToolkitError,
)
from toolkit.ingest import ReadOptions, ReadResult, load_catalogue, map_exercises, read_file
from toolkit.store import IngestReport, Store

__all__ = [
    "IngestError",
    "IngestReport",
    "OptionError",
    "ReadOptions",
    "ReadResult",
    "Reason",
    "Store",
    "StoreBusyError",
    "StoreError",
    "ToolkitError",
    "load_catalogue",
    "map_exercises",
    "read_file",
]

__version__ = "0.1.0"
