"""Genuine exports shipped with the toolkit (MIT-licensed, see ``toolkit/data/demo/NOTICE.md``).

The notebooks and the demo read them from here, so they run from any working
directory: ``$RECOVERY_SHARED/fixtures/real`` when set, else ``../shared/fixtures/real``
beside the repository, else the copies shipped inside the package.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from toolkit.exceptions import OptionError

__all__ = ["genuine_export", "genuine_exports"]

_PACKAGED = Path(str(resources.files("toolkit") / "data" / "demo"))


def _folders() -> list[Path]:
    folders = []
    if env := os.environ.get("RECOVERY_SHARED"):
        folders.append(Path(env) / "fixtures" / "real")
    folders.append(Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "real")
    folders.append(_PACKAGED)
    return folders


def genuine_exports() -> list[str]:
    """Names of the genuine exports and hand-made companion diaries available."""
    return sorted(p.name for p in _PACKAGED.glob("*.csv"))


def genuine_export(name: str) -> Path:
    """Path of a genuine export (e.g. ``"strong_ios_v1_2020-2021.csv"``) or of the
    hand-made pain diary that accompanies it (``"strong_v1_patient_pain.csv"``).

    Raises
    ------
    OptionError
        The name is not one of :func:`genuine_exports`.
    """
    for folder in _folders():
        if (folder / name).is_file():
            return folder / name
    raise OptionError(f"no genuine export named {name!r}; available: {', '.join(genuine_exports())}")
