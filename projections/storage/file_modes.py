"""Store files readable by their owner only: events and views hold who did what, and the
idempotency table holds the answers it replays."""

from __future__ import annotations

import contextlib
import os

PRIVATE = 0o600
# SQLite's companions of a database file; SQLite creates them with the mode of the
# database file itself, so a private database file makes them private too.
COMPANIONS = ("-wal", "-shm", "-journal")


def private_sqlite_file(path: str) -> None:
    """Create the SQLite file `path` (empty, which SQLite takes for a new database) with
    mode 0600 before SQLite opens it, or tighten an existing one and its companions.
    In-memory databases (`:memory:`, `file:` URIs) are left alone."""
    if path == ":memory:" or path.startswith("file:"):
        return
    if not os.path.exists(path):
        with contextlib.suppress(FileExistsError):  # another process made it first
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    for name in (path, *(path + suffix for suffix in COMPANIONS)):
        try:
            if os.stat(name).st_mode & 0o777 != PRIVATE:
                os.chmod(name, PRIVATE)
        except OSError:
            # Absent, or not ours to change (another owner, a read-only mount): SQLite
            # decides whether it can open the file at all.
            continue
