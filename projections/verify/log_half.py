"""The log half of `verify`'s fast path on SQLite (`projections.verify.append_only_check`, decision
0008): every stored event recomputed into its feed row and leaf, appended to a Merkle
log, and compared in write order with the stored feed and Merkle nodes. It runs in a
second process (`projections.verify.log_half_process`) beside the views half.

Events in a SQLite file are read with plain `sqlite3` (`projections.events.event_rows`) and
decoded with orjson (`stored_events.plain_event`), each straight into the feed row's
fields; an event that is not plain goes through the library's mapper, as the projection
reads it (`stored_events.applied_from_stored`). Events elsewhere are read through the
library's recorder. The Merkle log is made a batch at a time, level by level
(`projections.log.merkle_levels`), the order in which its stored nodes are compared.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import closing
from typing import Any

from eventsourcing.application import Application

from domain.ledger import Ledger
from projections.events.event_rows import EventRows
from projections.events.feed_event import Applied, FeedEvent
from projections.events.feed_events import FeedEvents, as_feed_event
from projections.events.stored_events import applied_from_stored
from projections.log.merkle_levels import MerkleLevels
from projections.storage.collector import Paused, collector_paused
from projections.storage.sqlite_factory import sqlite_env
from projections.storage.sqlite_files import as_uri
from projections.tuning import Tuning
from projections.verify.append_only_check import LOG_TABLES, StoredInOrder, log_size
from projections.verify.replay import stored_notifications
from projections.writer.feed_log import feed_row


class LogInOrder:
    """The log half: each stored event's feed row and leaf, recomputed, and the Merkle log
    they make, compared in write order with the stored feed and nodes up to `until`."""

    def __init__(self, db: sqlite3.Connection, until: int, at_a_time: int) -> None:
        self.stored = StoredInOrder(
            db, LOG_TABLES, at_a_time, until=until, leaves=log_size(db, until)
        )
        self.tree = MerkleLevels()

    def check(self, records: Sequence[Applied]) -> None:
        """The next events, in position order; raises RowsDiffer at a difference."""
        self.check_events(as_feed_event(record) for record in records)

    def check_events(self, events: Iterable[FeedEvent]) -> None:
        """`check` of events given by their fields."""
        rows, leaves = [], []
        leaf_index = self.tree.size
        for event in events:
            row, leaf = feed_row(leaf_index, *event)
            rows.append(row)
            leaves.append(leaf)
            leaf_index += 1
        if rows:
            self.stored.expect("event_index", rows)
        for nodes in self.tree.append(leaves):
            self.stored.expect("merkle_nodes", nodes)

    def root(self) -> bytes | None:
        """The root of the recomputed log, if every stored row was seen; else None."""
        return self.tree.root() if self.stored.all_seen() else None


def log_half(
    app: Application[Any], db: sqlite3.Connection, until: int, tuning: Tuning | None = None
) -> tuple[int, str] | None:
    """Every stored event up to `until` recomputed into its feed row and leaf, equal to the
    stored feed and Merkle nodes in write order: the log's size and root, else None."""
    tuning = tuning or Tuning()
    log = LogInOrder(db, until, tuning.compared_at_a_time)
    rows = EventRows.of(app)
    try:
        with collector_paused(tuning.young_limit) as collector:
            if rows is not None:
                events = FeedEvents(rows, app.mapper)
                for batch in rows.batches(until, tuning.batch_size):
                    log.check_events(map(events.of, batch))
                    collector.between_batches()
            else:
                check_notifications(app, log, until, collector, tuning)
    except Exception:  # a difference, an event that does not decode: the full rebuild names it
        return None
    root = log.root()
    return (log.tree.size, root.hex()) if root is not None else None


def check_notifications(
    app: Application[Any], log: LogInOrder, until: int, collector: Paused, tuning: Tuning
) -> None:
    """The stored events read through the library's recorder (not a SQLite file)."""
    batch: list[Applied] = []
    for notification in stored_notifications(app, until, tuning.replay_page):
        batch.append(applied_from_stored(notification, app.mapper))
        if len(batch) == tuning.batch_size:
            log.check(batch)
            collector.between_batches()
            batch = []
    log.check(batch)


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
