"""The DuckDB workspace store: patients, uploads (with raw bytes), canonical tables."""

from toolkit.store._duckdb import DEFAULT_STORE, IngestReport, Store, default_store_path, local_zone

__all__ = ["DEFAULT_STORE", "IngestReport", "Store", "default_store_path", "local_zone"]
