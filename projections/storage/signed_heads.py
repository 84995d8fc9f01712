"""The server's own record of every tree head it signs (§6), and the write alarm.

Table `signed_heads` holds one row per tree size ever signed, with the first root signed
for it; `write_alarm` holds at most one row, the reason writes are refused. Neither is a
view: `rebuild` never clears them, and `verify` does not compare them.

On SQLite both live in the **events file** (decision 0013): they are commitments about
the events, not data derived from them, so they stay with the events when the views file
is deleted or restored, and they get the events file's `synchronous=FULL` (a head is on
disk before any client sees it). On PostgreSQL they live in the same database.

The **write alarm** is the one row of `write_alarm`: while it is there the ledger refuses
every write and `/readyz` answers 503 with its reason, in every process and after a
restart (each process reads it at most once a second). `claimledger verify` clears it
when it passes.

A size is written the first time this process signs it (insert-or-ignore), and its root
remembered in memory: signing the same size again costs no write. A size signed again
with another root is tamper evidence (`SignedRootChanged`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from domain.errors import StoreDisagreesWithLog
from domain.event_data import rfc3339
from projections.log.signing import TreeHead
from projections.storage.ledger_views import BaseLedgerViews
from projections.storage.sql import POSTGRES, SqlCursor
from projections.tuning import Tuning

# A transaction on the database holding the record (True: one that commits).
RecordDb = Callable[[bool], AbstractContextManager[SqlCursor]]

SIZE_TYPE = {POSTGRES: "BIGINT"}

log = logging.getLogger(__name__)


class SignedRootChanged(Exception):
    """A tree size this server signed before now has another root."""

    def __init__(self, tree_size: int, signed_root: str, signed_at: str, root: str) -> None:
        self.tree_size = tree_size
        super().__init__(
            f"the log of size {tree_size} now has root {root}, but this server signed root "
            f"{signed_root} for that size at {signed_at}"
        )


def record_db_of(events_recorder: Any, views: BaseLedgerViews) -> RecordDb:
    """Transactions on the events file (SQLite, through the library's datastore, which
    serialises its writers) or on the views' database (PostgreSQL: the same database)."""
    if views.dialect == POSTGRES:
        return views.sql_transaction
    datastore = events_recorder.datastore

    @contextmanager
    def transaction(commit: bool) -> Iterator[SqlCursor]:
        with datastore.transaction(commit=commit) as cursor:
            yield cursor.sqlite_cursor  # the raw cursor: execute() returns it

    return transaction


def create_tables(db: RecordDb, dialect: str) -> None:
    """Create the record's tables if they are missing. A store that cannot be written (a
    read-only file) still opens: the failure is logged, and recording fails later."""
    size = SIZE_TYPE.get(dialect, "INTEGER")
    statements = [
        "CREATE TABLE IF NOT EXISTS signed_heads ("
        f"tree_size {size} PRIMARY KEY, root_hash TEXT NOT NULL, timestamp TEXT NOT NULL, "
        "key_id TEXT NOT NULL, signature TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS write_alarm ("
        "id INTEGER PRIMARY KEY CHECK (id = 1), reason TEXT NOT NULL, raised_at TEXT NOT NULL)",
    ]
    try:
        if dialect != POSTGRES:  # a read-only file that has them opens without a write
            with db(False) as c:
                (present,) = c.execute(
                    "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' "
                    "AND name IN ('signed_heads', 'write_alarm')"
                ).fetchone()
            if present == 2:
                return
        with db(True) as c:
            for statement in statements:
                c.execute(statement)
    except Exception as error:
        log.warning("cannot create the signed heads' tables: %s", error)


class SignedHeads:
    """Every tree head the server signs, recorded the first time its size is signed."""

    def __init__(self, db: RecordDb, tuning: Tuning | None = None) -> None:
        self.db = db
        self.tuning = tuning or Tuning()
        self.roots: dict[int, str] = {}  # sizes recorded (or read back) by this process
        self.lock = threading.Lock()

    def is_recorded(self, head: TreeHead) -> bool:
        """This process has recorded the head's size; raises SignedRootChanged if with
        another root. No I/O: the hot read route asks this first."""
        known = self.roots.get(head.tree_size)
        if known is None:
            return False
        if known != head.root_hash:
            raise SignedRootChanged(head.tree_size, known, "an earlier request", head.root_hash)
        return True

    def record(self, head: TreeHead) -> None:
        """Record the head unless its size is recorded; raises SignedRootChanged when the
        size was signed before with another root (nothing is written then)."""
        if self.is_recorded(head):
            return
        with self.db(True) as c:
            c.execute(
                "INSERT INTO signed_heads (tree_size, root_hash, timestamp, key_id, signature) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (tree_size) DO NOTHING",
                (head.tree_size, head.root_hash, head.timestamp, head.key_id, head.signature),
            )
            row = c.execute(
                "SELECT root_hash, timestamp FROM signed_heads WHERE tree_size = ?",
                (head.tree_size,),
            ).fetchone()
        signed_root, signed_at = str(row[0]), str(row[1])
        if signed_root != head.root_hash:
            raise SignedRootChanged(head.tree_size, signed_root, signed_at, head.root_hash)
        with self.lock:
            if len(self.roots) >= self.tuning.remembered_sizes:
                self.roots.clear()
            self.roots[head.tree_size] = head.root_hash

    def recorded(self) -> Iterator[tuple[int, str, str]]:
        """Every recorded (size, root, timestamp), smallest size first, read in pages (a
        server may have signed as many sizes as it has events)."""
        after = -1
        while True:
            with self.db(False) as c:
                page = c.execute(
                    "SELECT tree_size, root_hash, timestamp FROM signed_heads "
                    "WHERE tree_size > ? ORDER BY tree_size LIMIT ?",
                    (after, self.tuning.keyset_page),
                ).fetchall()
            for r in page:
                yield int(r[0]), str(r[1]), str(r[2])
            if len(page) < self.tuning.keyset_page:
                return
            after = int(page[-1][0])


class WriteAlarm:
    """The persisted reason writes are refused, or nothing."""

    def __init__(self, db: RecordDb, tuning: Tuning | None = None) -> None:
        self.db = db
        self.trusted_for = (tuning or Tuning()).alarm_read_every_seconds
        self.lock = threading.Lock()
        self._reason: str | None = None
        self._read_at = float("-inf")

    def reason(self) -> str | None:
        """The alarm's reason, read again when the last read is over a second old."""
        now = time.monotonic()
        if now - self._read_at < self.trusted_for:
            return self._reason
        with self.db(False) as c:
            row = c.execute("SELECT reason FROM write_alarm WHERE id = 1").fetchone()
        with self.lock:
            self._reason = None if row is None else str(row[0])
            self._read_at = now
            return self._reason

    def raise_(self, reason: str) -> None:
        """Raise the alarm (the first reason stays until it is cleared)."""
        with self.db(True) as c:
            c.execute(
                "INSERT INTO write_alarm (id, reason, raised_at) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO NOTHING",
                (reason, rfc3339(datetime.now(UTC))),
            )
        with self.lock:
            self._read_at = float("-inf")  # read the stored reason next time

    def clear(self) -> str | None:
        """Clear the alarm; the reason it had, if it was raised."""
        with self.db(True) as c:
            row = c.execute("SELECT reason, raised_at FROM write_alarm WHERE id = 1").fetchone()
            c.execute("DELETE FROM write_alarm")
        with self.lock:
            self._reason, self._read_at = None, float("-inf")
        return None if row is None else f"{row[0]} (raised at {row[1]})"


def record_signed(heads: SignedHeads, alarm: WriteAlarm, head: TreeHead) -> None:
    """Record a head about to be answered; a size signed before with another root raises
    the write alarm and `StoreDisagreesWithLog` (the head must not be answered)."""
    try:
        heads.record(head)
    except SignedRootChanged as changed:
        alarm.raise_(str(changed))
        raise StoreDisagreesWithLog(str(changed)) from None


def recorded_already(heads: SignedHeads, alarm: WriteAlarm, head: TreeHead) -> bool:
    """`SignedHeads.is_recorded` without I/O unless the root changed: then as
    `record_signed` (the alarm raised, `StoreDisagreesWithLog`)."""
    try:
        return heads.is_recorded(head)
    except SignedRootChanged as changed:
        alarm.raise_(str(changed))
        raise StoreDisagreesWithLog(str(changed)) from None
