"""The DuckDB workspace store: patients, uploads (with raw bytes), canonical tables.

:class:`Store`, :class:`IngestReport` and :class:`PreparedUpload` are imported on first
use (DuckDB and pandera are not needed to know where the store is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from toolkit.store._paths import DEFAULT_STORE, default_store_path, local_zone

if TYPE_CHECKING:
    from toolkit.store._duckdb import IngestReport, PreparedUpload, Store

__all__ = [
    "DEFAULT_STORE",
    "IngestReport",
    "PreparedUpload",
    "Store",
    "default_store_path",
    "local_zone",
]


def __getattr__(name: str) -> Any:
    if name in ("IngestReport", "PreparedUpload", "Store"):
        from toolkit.store import _duckdb

        value = getattr(_duckdb, name)
        globals()[name] = value  # looked up once
        return value
    raise AttributeError(f"module 'toolkit.store' has no attribute {name!r}")
