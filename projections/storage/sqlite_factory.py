"""The library's SQLite infrastructure, with a prepared-statement cache that holds more
than one statement.

`eventsourcing.sqlite` opens its connections with `cached_statements=True`, which
`sqlite3` reads as a cache of *one* statement: any two statements used in turn (a
tracking read and a view read, the size of the Merkle log and its nodes, an insert and
its select) are parsed and planned again on every call (decision 0007). This
factory is the library's `SQLiteFactory` with two differences: its pool opens
connections with a cache of `STATEMENT_CACHE` statements, and new files with pages of
`PAGE_SIZE` bytes. Select it with
`PERSISTENCE_MODULE=projections.storage.sqlite_factory:Factory`.
"""

from __future__ import annotations

import sqlite3

from eventsourcing.persistence import InterfaceError
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteFactory,
)
from eventsourcing.utils import Environment

STATEMENT_CACHE = 256
# Pages twice SQLite's default for new files: a claim's rows (in each of several views)
# split pages half as often, and the B-trees are shallower (decision 0007). Existing
# files keep their page size.
PAGE_SIZE = 8192
TOPIC = "projections.storage.sqlite_factory:Factory"
# The ledger's recorder on SQLite: the library's, with a subscription that polls.
RECORDER_TOPIC = "projections.runner.subscription:PollingSQLiteApplicationRecorder"


class CachingConnectionPool(SQLiteConnectionPool):
    def _create_connection(self) -> SQLiteConnection:
        # The library's own steps (9.5.6), the statement cache aside.
        try:
            c = sqlite3.connect(
                database=self.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,
                cached_statements=STATEMENT_CACHE,
                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
            )
        except (sqlite3.Error, TypeError) as e:
            raise InterfaceError(e) from e
        # Only a new file takes it (before WAL mode is set, which fixes the page size).
        c.execute(f"PRAGMA page_size={PAGE_SIZE}")
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            cursor = c.cursor()
            cursor.execute("PRAGMA journal_mode;")
            if cursor.fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL;")
                self.journal_mode_was_changed_to_wal = True
            self.is_journal_mode_wal = True
        c.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=c, max_age=self.max_age)


class Factory(SQLiteFactory):
    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        library = self.datastore.pool  # no connection opened yet
        self.datastore.pool = CachingConnectionPool(
            db_name=library.db_name,
            lock_timeout=library.lock_timeout,
            pool_size=library.pool_size,
            max_overflow=library.max_overflow,
            pool_timeout=library.pool_timeout,
            max_age=library.max_age,
            pre_ping=library.pre_ping,
        )
        library.close()


def sqlite_env(path: str, lock_timeout: int) -> dict[str, str]:
    """The library's environment for a SQLite file (events or views) of claimledger."""
    return {
        "PERSISTENCE_MODULE": TOPIC,
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": str(lock_timeout),
        "APPLICATION_RECORDER_TOPIC": RECORDER_TOPIC,
    }
