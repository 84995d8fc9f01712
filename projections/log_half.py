"""The log half of `verify`'s fast path on SQLite (`projections.ordered_check`, decision
0008): every stored event recomputed into its feed row and leaf, appended to a Merkle
log, and compared in write order with the stored feed and Merkle nodes. It runs in a
second process (`projections.log_half_process`) beside the views half.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from contextlib import closing
from typing import Any

from eventsourcing.application import Application

from domain.ledger import Ledger
from projections.feed_log import FeedLog
from projections.merkle import NodeStoreTree, tree_root
from projections.ordered_check import LOG_TABLES, ComparedRows, StoredInOrder, log_size
from projections.replay import REBUILD_BATCH, as_uri, stored_notifications
from projections.store import sqlite_env
from projections.stored_events import applied_from_stored
from projections.view_writer import Applied


class LogInOrder:
    """The log half: each stored event's feed row and leaf, recomputed, and the Merkle log
    they make, compared in write order with the stored feed and nodes up to `until`."""

    def __init__(self, db: sqlite3.Connection, until: int) -> None:
        self.stored = StoredInOrder(db, LOG_TABLES, until=until, leaves=log_size(db, until))
        self.log = FeedLog(ComparedRows(self.stored))
        self.leaves = 0

    def check(self, records: Sequence[Applied]) -> None:
        """The next events, in position order; raises RowsDiffer at a difference."""
        for record in records:
            self.log.index_and_seal(None, record, self.leaves)
            self.leaves += 1
        self.log.pending.flush(None)

    def root(self) -> bytes | None:
        """The root of the recomputed log, if every stored row was seen; else None.
        From the last node of each level (the Merkle log's edge): exactly the
        subtrees a root at this size reads."""
        if not self.stored.all_seen():
            return None
        frontier = self.log.frontier

        def node(level: int, start: int) -> bytes:
            known_start, hash_ = frontier[level]
            if known_start != start:
                raise LookupError(f"node ({level}, {start}) is not on the log's edge")
            return hash_

        return tree_root(NodeStoreTree(node), self.leaves)


def log_half(app: Application[Any], db: sqlite3.Connection, until: int) -> tuple[int, str] | None:
    """Every stored event up to `until` recomputed into its feed row and leaf, equal to the
    stored feed and Merkle nodes in write order: the log's size and root, else None."""
    log = LogInOrder(db, until)
    batch: list[Applied] = []
    try:
        for notification in stored_notifications(app, until):
            batch.append(applied_from_stored(notification, app.mapper))
            if len(batch) == REBUILD_BATCH:
                log.check(batch)
                batch = []
        log.check(batch)
    except Exception:  # a difference, an event that does not decode: the full rebuild names it
        return None
    root = log.root()
    return (log.leaves, root.hex()) if root is not None else None


def log_half_of_files(events_file: str, stored_file: str, until: int) -> tuple[int, str] | None:
    """`log_half` opening the events and the stored views itself (in another process)."""
    ledger = Ledger(env=sqlite_env(events_file, lock_timeout=5))
    try:
        with closing(sqlite3.connect(":memory:", isolation_level=None)) as db:
            db.execute("ATTACH DATABASE ? AS stored", (as_uri(stored_file, read_only=True),))
            db.execute("BEGIN")
            return log_half(ledger, db, until)
    finally:
        ledger.close()
