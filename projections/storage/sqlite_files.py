"""Where a store's SQLite files are, and the URIs that open them (read-only where asked)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eventsourcing.application import Application


def sqlite_file_of_events(app: Application[Any]) -> str | None:
    """The file of a SQLite event store (None in memory or on PostgreSQL)."""
    pool = getattr(getattr(app.recorder, "datastore", None), "pool", None)
    name = getattr(pool, "db_name", None)
    if not isinstance(name, str) or getattr(pool, "is_sqlite_memory_mode", True):
        return None
    return name


def as_uri(path: str, read_only: bool = False) -> str:
    if path.startswith("file:"):
        return path
    uri = Path(path).resolve().as_uri()
    return uri + "?mode=ro" if read_only else uri
