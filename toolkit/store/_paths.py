"""Where the store lives and which zone this machine is in (no heavy imports)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_STORE", "default_store_path", "local_zone"]

DEFAULT_STORE = "$RECOVERY_STORE or ~/.local/share/recovery-toolkit/store.duckdb"


def default_store_path() -> Path:
    """``$RECOVERY_STORE``, else ``$XDG_DATA_HOME/recovery-toolkit/store.duckdb``
    (``~/.local/share/recovery-toolkit/store.duckdb``)."""
    if env := os.environ.get("RECOVERY_STORE"):
        return Path(env).expanduser()
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "recovery-toolkit" / "store.duckdb"


def local_zone() -> str:
    """This machine's IANA zone name (``UTC`` when it cannot be determined)."""
    try:
        from tzlocal import get_localzone_name

        return get_localzone_name() or "UTC"
    except Exception:  # tzlocal raises various errors on unusual systems
        return "UTC"
