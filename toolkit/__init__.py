"""recovery-toolkit: relate training logs and pain diaries to recovery outcomes.

The public API, in the order data flows::

    from toolkit import Store, ReadOptions, read_file

    store = Store("clinic.duckdb")
    reports = store.ingest(["strong.csv", "pain.csv"], patient_id="p001")
    sets = store.table("sets", patient_id="p001")

Subpackages: :mod:`toolkit.ingest` (readers), :mod:`toolkit.store` (DuckDB workspace),
:mod:`toolkit.schema` (the canonical tables).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.exceptions import (
    IngestError,
    OptionError,
    Reason,
    StoreBusyError,
    StoreError,
    ToolkitError,
)

if TYPE_CHECKING:
    from toolkit.ingest import ReadOptions, ReadResult, load_catalogue, map_exercises, read_file
    from toolkit.store import IngestReport, Store

# Imported on first use, so that ``import toolkit`` (and the ``recovery`` command's
# start-up) does not load polars, DuckDB and pandera before a command needs them.
_LAZY = {
    "IngestReport": "toolkit.store",
    "Store": "toolkit.store",
    "ReadOptions": "toolkit.ingest",
    "ReadResult": "toolkit.ingest",
    "load_catalogue": "toolkit.ingest",
    "map_exercises": "toolkit.ingest",
    "read_file": "toolkit.ingest",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


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
