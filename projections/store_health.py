"""Whether the store takes writes: the storage errors that mean "not now", and a probe that
asks the store without writing an event.

A store that refuses writes (disk full, a read-only file or database, a server in
recovery, a dropped connection) is a condition of the machine, not a bug and not bad input:
the API answers it with 503 and `Retry-After`, and `/readyz` reports it. The library wraps
the drivers' errors (`eventsourcing.persistence.OperationalError` around
`sqlite3.OperationalError`, `InternalError` around psycopg's `ReadOnlySqlTransaction`), so
the whole chain of causes is read.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import InterfaceError, OperationalError

from projections.storage.ledger_views import PostgresLedgerViews
from projections.store import Store

DISK_FULL = "disk full"
READ_ONLY = "read-only"
UNAVAILABLE = "unavailable"

# Less free space than this beside a SQLite file and the store counts as full: a batch of
# claims at the body limit writes a few MiB of events and views.
MIN_FREE_BYTES = 8 * 1024 * 1024

SQLITE_MESSAGES = (
    ("disk is full", DISK_FULL),
    ("readonly database", READ_ONLY),
    ("read-only", READ_ONLY),
    ("disk i/o error", UNAVAILABLE),
    ("unable to open database", UNAVAILABLE),
    ("database is locked", UNAVAILABLE),
)
OS_ERRORS = {
    errno.ENOSPC: DISK_FULL,
    errno.EDQUOT: DISK_FULL,
    errno.EROFS: READ_ONLY,
    errno.EIO: UNAVAILABLE,
}
# SQLSTATE: 25006 read_only_sql_transaction; class 53 insufficient resources (53100
# disk_full); class 08 connection exceptions; 57P01–57P03 the server shutting down or
# not yet accepting connections (a standby being promoted).
POSTGRES_STATES = {"25006": READ_ONLY, "53100": DISK_FULL}
POSTGRES_CLASSES = {"53": DISK_FULL, "08": UNAVAILABLE, "57": UNAVAILABLE}


class StorageRefused(Exception):
    """The store cannot take writes now: a condition to wait out, not a bug."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def refusal_of(error: BaseException) -> StorageRefused | None:
    """The storage condition behind an error, looking through its causes; None for bugs."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        reason = reason_of(current)
        if reason is not None:
            refused = StorageRefused(reason)
            refused.__cause__ = error
            return refused
        current = current.__cause__ or current.__context__
    return None


def reason_of(error: BaseException) -> str | None:
    if isinstance(error, StorageRefused):
        return error.reason
    if isinstance(error, psycopg.Error):
        state = error.sqlstate or ""
        if state in POSTGRES_STATES:
            return POSTGRES_STATES[state]
        if state[:2] in POSTGRES_CLASSES:
            return POSTGRES_CLASSES[state[:2]]
        if isinstance(error, psycopg.OperationalError | psycopg.InterfaceError):
            return UNAVAILABLE
        return None
    if isinstance(error, OperationalError | InterfaceError):  # the library's own
        # The driver's error beneath decides; without one (a pool that timed out waiting
        # for a connection) the store is unavailable.
        return None if error.__cause__ is not None else UNAVAILABLE
    if isinstance(error, sqlite3.OperationalError):
        # SQLite gives one class for a full disk and for a syntax error: the message tells.
        message = str(error).lower()
        return next((reason for text, reason in SQLITE_MESSAGES if text in message), None)
    if isinstance(error, OSError) and error.errno in OS_ERRORS:
        return OS_ERRORS[error.errno]
    return None


def write_refusal(store: Store) -> str | None:
    """Why the store would refuse a write now, or None. Writes nothing: on SQLite it checks
    the free space beside each file and takes (and gives back at once) the write lock; on
    PostgreSQL it asks whether the session is read-only or the server in recovery."""
    try:
        if isinstance(store.views, PostgresLedgerViews):
            return postgres_refusal(store)
        return sqlite_refusal(store)
    except Exception as error:
        refused = refusal_of(error)
        return refused.reason if refused else UNAVAILABLE


def sqlite_refusal(store: Store) -> str | None:
    for path in store.paths:
        if path.startswith("file:"):
            continue
        stats = os.statvfs(Path(path).parent)
        if stats.f_bavail * stats.f_frsize < MIN_FREE_BYTES:
            return DISK_FULL
    for datastore in (store.ledger.recorder.datastore, store.views.datastore):  # type: ignore[attr-defined]
        reason = sqlite_lock_refusal(datastore)
        if reason is not None:
            return reason
    return None


def sqlite_lock_refusal(datastore: Any) -> str | None:
    with datastore.get_connection(commit=False) as connection, connection.cursor() as cursor:
        table = cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name LIMIT 1"
        ).fetchone()
        if table is None:
            return None
        # A writer holding the lock is no refusal: ask without waiting for it.
        busy = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
        cursor.execute("PRAGMA busy_timeout = 0")
        try:
            cursor.execute("BEGIN IMMEDIATE")
            # Taking the lock succeeds on a read-only file; a statement that would write
            # (and here changes nothing) is refused there.
            cursor.execute(f'DELETE FROM "{table[0]}" WHERE 0')
        except sqlite3.OperationalError as error:
            if "locked" in str(error) or "busy" in str(error):
                return None
            return reason_of(error) or UNAVAILABLE
        finally:
            if connection_in_transaction(cursor):
                cursor.execute("ROLLBACK")
            cursor.execute(f"PRAGMA busy_timeout = {int(busy)}")
    return None


def connection_in_transaction(cursor: sqlite3.Cursor) -> bool:
    return bool(cursor.connection.in_transaction)


def postgres_refusal(store: Store) -> str | None:
    for datastore in (store.ledger.recorder.datastore, store.views.datastore):  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery() AS recovery, "
                "current_setting('transaction_read_only') AS read_only"
            )
            row = cursor.fetchone()
        if row["recovery"] or row["read_only"] == "on":
            return READ_ONLY
    return None
