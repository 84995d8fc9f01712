"""Read transactions on a SQLite views file over connections of the queries' own."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from projections.storage.ledger_views import BaseLedgerViews
from projections.storage.sql import SQLITE


class SQLiteReads:
    """Read transactions on a SQLite views file over connections of its own, one per
    thread, each opened once and kept.

    A read through the library's pool (a connection checked out and in, `tune`, BEGIN,
    ROLLBACK, each through a context manager) cost more Python before the first row than
    the indexed lookup itself, and the key lookup is on every request (decision 0007).
    Here a read is BEGIN, the statements, COMMIT on a `sqlite3` connection
    that is only ever read through (`query_only`); WAL readers never wait for the writer.
    """

    def __init__(self, database: str, cache_kib: int) -> None:
        self._database = database
        self._cache_kib = cache_kib
        self._local = threading.local()
        self._opened: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._open()
        if connection.in_transaction:  # a read inside a read: the same snapshot
            yield connection
            return
        connection.execute("BEGIN")
        try:
            yield connection
        finally:
            connection.execute("COMMIT")

    def _open(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the views are closed")
            connection = sqlite3.connect(
                self._database,
                uri=True,
                check_same_thread=False,  # closed by `close`, from whichever thread
                isolation_level=None,
                cached_statements=256,
            )
            self._opened.append(connection)
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA query_only=1")
        connection.execute(f"PRAGMA cache_size=-{self._cache_kib}")
        self._local.connection = connection
        return connection

    def close(self) -> None:
        with self._lock:
            self._closed = True
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()


def own_sqlite_reads(views: BaseLedgerViews) -> SQLiteReads | None:
    """Own connections for a SQLite views file; None for PostgreSQL and for in-memory
    databases (shared-cache readers there would take table locks against the writer)."""
    if views.dialect != SQLITE:
        return None
    pool = getattr(getattr(views, "datastore", None), "pool", None)
    database = getattr(pool, "db_name", None)
    if not isinstance(database, str) or getattr(pool, "is_sqlite_memory_mode", True):
        return None
    return SQLiteReads(database, int(getattr(views, "cache_kib", 2 * 1024)))
