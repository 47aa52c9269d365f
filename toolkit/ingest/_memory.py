"""Give memory that DuckDB has freed back to the operating system.

DuckDB allocates through its own copy of jemalloc, which keeps freed pages for reuse
(and keeps them counted in the process's resident size) until they decay. After a
large statement — an upload's bytes (several copies while a blob is inserted), a
million rows — that is hundreds of MiB that nothing uses any more, held while the
rest of the ingest runs. :func:`release_duckdb_memory` asks DuckDB's allocator to
purge them now. Nothing stored or cached is touched: only pages already freed.
"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

__all__ = ["release_duckdb_memory"]

_ALL_ARENAS = 4096  # jemalloc's MALLCTL_ARENAS_ALL


@functools.cache
def _mallctl() -> Any:
    """DuckDB's ``mallctl``, or None when this DuckDB build has no jemalloc of its own."""
    try:
        import _duckdb  # the compiled module of the duckdb package

        lib = ctypes.CDLL(_duckdb.__file__)  # the loaded library itself (same allocator)
        fn = lib.duckdb_je_mallctl
    except (ImportError, OSError, AttributeError, TypeError):
        return None
    fn.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn


def release_duckdb_memory() -> None:
    """Purge the freed (dirty) pages of every DuckDB allocator arena; a no-op without one."""
    fn = _mallctl()
    if fn is not None:
        fn(f"arena.{_ALL_ARENAS}.purge".encode(), None, None, None, 0)
