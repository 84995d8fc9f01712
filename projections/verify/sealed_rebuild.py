"""`claimledger rebuild` without laundering an edit (§6, decision 0013).

Before the views are replaced, every stored event is hashed again as the projection
hashes it (`feed_log.feed_row`, read as `verify`'s log half reads them) and compared, in
position order, with the log being replaced, and the recomputed log's root at each size
the server signed (`projections.storage.signed_heads`) with the root it signed then. The first
event that no longer hashes to its sealed leaf, a sealed event missing from the store, or
a signed root that differs stops the rebuild before anything is written.

*The log being replaced* is the views' feed (`event_index`: position, leaf index and leaf
hash of every event sealed), with the root of the stored Merkle nodes. A rebuild first
copies the sealed leaves into `sealed_leaves` in the transaction that clears the views,
and drops the copy only once the rebuilt feed has been shown equal to it. A rebuild
killed in between leaves the copy: the next one compares with it (and with the feed
rows beyond it, if a server ran meanwhile), so no kill makes the log forget what it
sealed.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application

from projections.events.event_rows import EventRows
from projections.events.feed_event import FeedEvent
from projections.events.feed_events import FeedEvents, as_feed_event
from projections.events.stored_events import applied_from_stored
from projections.log.merkle_levels import MerkleLevels
from projections.reads.audit_log import MerkleLog
from projections.storage.collector import collector_paused
from projections.storage.ledger_views import APPLICATION_NAME, BaseLedgerViews
from projections.storage.schema import VIEW_TABLES
from projections.storage.sql import POSTGRES
from projections.tuning import Tuning
from projections.verify.replay import (
    Divergence,
    Progress,
    Verified,
    describe,
    stored_notifications,
)
from projections.writer.feed_log import feed_row

# position, leaf_index, stream, version, leaf_hash
SealedRow = tuple[int, int, str, int, str]
# size, root (hex), what signed it
Head = tuple[int, str, str]


@dataclass
class SealedLog:
    """The log a rebuild replaces, read in position order."""

    views: BaseLedgerViews

    def create(self) -> None:
        big = "BIGINT" if self.views.dialect == POSTGRES else "INTEGER"
        with self.views.sql_transaction(commit=True) as c:
            c.execute(
                "CREATE TABLE IF NOT EXISTS sealed_leaves ("
                f"position {big} PRIMARY KEY, leaf_index {big} NOT NULL, stream TEXT NOT NULL, "
                "version INTEGER NOT NULL, leaf_hash TEXT NOT NULL)"
            )

    def kept_until(self) -> int:
        """The last position of the copy a rebuild keeps until it is done (0: none)."""
        with self.views.sql_transaction() as c:
            row = c.execute("SELECT COALESCE(MAX(position), 0) FROM sealed_leaves").fetchone()
        return int(row[0])

    def rows(self) -> Iterator[SealedRow]:
        """The kept copy, then the feed's rows beyond it."""
        kept = self.kept_until()
        yield from self._pages("sealed_leaves", 0, None)
        yield from self._pages("event_index", kept, None)

    def _pages(self, table: str, after: int, until: int | None) -> Iterator[SealedRow]:
        while True:
            with self.views.sql_transaction() as c:
                page = c.execute(
                    "SELECT position, leaf_index, stream, version, leaf_hash "
                    f"FROM {table} WHERE position > ? ORDER BY position LIMIT ?",
                    (after, self.views.tuning.keyset_page),
                ).fetchall()
            for r in page:
                yield int(r[0]), int(r[1]), str(r[2]), int(r[3]), str(r[4])
            if len(page) < self.views.tuning.keyset_page:
                return
            after = int(page[-1][0])

    def stored_root(self) -> Head | None:
        """The stored Merkle log's size and root, if it can give them."""
        try:
            size, root = MerkleLog(self.views).root()
        except Exception:  # damaged nodes: the leaves are still compared one by one
            return None
        return (size, root.hex(), "the stored Merkle log") if size else None

    def seal_and_clear(self) -> None:
        """Copy the feed's leaves not yet kept, and empty every view, in one transaction."""
        views = self.views
        views.writer.forget()
        with views.sql_transaction(commit=True) as c:
            c.execute(
                "INSERT INTO sealed_leaves (position, leaf_index, stream, version, leaf_hash) "
                "SELECT position, leaf_index, stream, version, leaf_hash FROM event_index "
                "WHERE position > (SELECT COALESCE(MAX(position), 0) FROM sealed_leaves)"
            )
            for table in VIEW_TABLES:
                c.execute(f"DELETE FROM {table}")
            c.execute(
                f"DELETE FROM {views.tracking_table} WHERE application_name=?", (APPLICATION_NAME,)
            )

    def first_unequal(self) -> Divergence | None:
        """The first kept leaf the rebuilt feed does not hold as it was sealed."""
        with self.views.sql_transaction() as c:
            row = c.execute(
                "SELECT s.position, s.leaf_index, s.stream, s.version, e.position "
                "FROM sealed_leaves s LEFT JOIN event_index e ON e.position = s.position "
                "WHERE e.position IS NULL OR e.leaf_hash <> s.leaf_hash "
                "OR e.leaf_index <> s.leaf_index ORDER BY s.position LIMIT 1"
            ).fetchone()
        if row is None:
            return None
        where = describe(int(row[0]), int(row[1]), str(row[2]), int(row[3]))
        if row[4] is None:
            return Divergence(f"{where}: sealed in the log but missing from the event store")
        return Divergence(f"{where}: the stored event does not hash to its sealed leaf")

    def forget_kept(self) -> None:
        with self.views.sql_transaction(commit=True) as c:
            c.execute("DELETE FROM sealed_leaves")


def recomputed(app: Application[Any], until: int, tuning: Tuning) -> Iterator[list[FeedEvent]]:
    """The stored events up to `until` as the feed shows them, in batches: a SQLite file
    read as `verify`'s log half reads it, other stores through the library's recorder."""
    rows = EventRows.of(app)
    if rows is not None:
        events = FeedEvents(rows, app.mapper)
        for stored in rows.batches(until, tuning.batch_size):
            yield [events.of(row) for row in stored]
        return
    batch: list[FeedEvent] = []
    for notification in stored_notifications(app, until, tuning.replay_page):
        batch.append(as_feed_event(applied_from_stored(notification, app.mapper)))
        if len(batch) == tuning.batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


class Mismatch(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Heads:
    """Heads the recomputed log must hold, smallest size first, read as they are reached."""

    def __init__(self, heads: Iterator[Head]) -> None:
        self.heads = heads
        self.next = next(heads, None)
        self.held = 0  # the largest size whose root was shown equal

    def size(self) -> int | None:
        return None if self.next is None else self.next[0]

    def pop(self) -> Head:
        head = self.next
        assert head is not None
        self.next = next(self.heads, None)
        return head


def heads_to_hold(signed: Iterable[Head], stored: Head | None) -> Heads:
    """The signed heads (size, root, when: smallest size first) and the stored log's."""
    signed_by = ((size, root, f"the head this server signed at {at}") for size, root, at in signed)
    merged = heapq.merge(signed_by, [stored] if stored else [], key=lambda head: head[0])
    # A head of size 0 commits to nothing (the empty log's root is a constant).
    return Heads(head for head in merged if head[0] > 0)


def check_before_rebuild(
    app: Application[Any],
    sealed: SealedLog,
    signed: Iterable[Head],
    on_progress: Progress | None = None,
) -> Verified | Divergence:
    """Every stored event hashes to the leaf the log being replaced sealed for it, and the
    recomputed log has the root of every signed head (`signed`: size, root and when it was
    signed, smallest size first) and of the stored Merkle log: the recomputed log's size
    and root, or the first divergence."""
    heads = heads_to_hold(signed, sealed.stored_root())
    until = app.recorder.max_notification_id() or 0
    tree = MerkleLevels()
    kept = sealed.rows()
    next_sealed = next(kept, None)
    try:
        tuning = sealed.views.tuning
        with collector_paused(tuning.young_limit) as collector:
            for batch in recomputed(app, until, tuning):
                leaves: list[bytes] = []
                for event in batch:
                    position, stream, version = event[0], event[1], event[2]
                    if next_sealed is not None and next_sealed[0] < position:
                        raise Mismatch(
                            f"{where_sealed(next_sealed)}: sealed in the log but missing "
                            "from the event store"
                        )
                    leaf_index = tree.size + len(leaves)
                    _, leaf = feed_row(leaf_index, *event)
                    if next_sealed is not None and next_sealed[0] == position:
                        where = describe(position, next_sealed[1], stream, version)
                        if next_sealed[4] != leaf.hex():
                            raise Mismatch(
                                f"{where}: the stored event does not hash to its sealed leaf"
                            )
                        if next_sealed[1] != leaf_index:
                            raise Mismatch(f"{where}: leaf index should be {leaf_index}")
                        next_sealed = next(kept, None)
                    leaves.append(leaf)
                    if heads.size() == leaf_index + 1:
                        tree.append(leaves)
                        leaves = []
                        check_heads(tree, heads)
                tree.append(leaves)
                collector.between_batches()
                if on_progress is not None:
                    on_progress(len(batch))
    except Mismatch as mismatch:
        return Divergence(mismatch.message)
    if next_sealed is not None:
        return Divergence(
            f"{where_sealed(next_sealed)}: sealed in the log but missing from the event store"
        )
    if heads.next is not None:
        size, _, signed_by = heads.next
        return Divergence(f"{signed_by} covers {size} events, but the store holds only {tree.size}")
    return Verified(tree.size, tree.root().hex())


def check_heads(tree: MerkleLevels, heads: Heads) -> None:
    """Compare the log's root with every head of its size (taken off `heads`)."""
    root = tree.root().hex()
    while heads.size() == tree.size:
        size, signed_root, signed_by = heads.pop()
        if signed_root != root:
            held = (
                f"; the first {heads.held} still give the roots recorded for them"
                if heads.held
                else ""
            )
            raise Mismatch(
                f"the first {size} stored events give root {root}, but {signed_by} has root "
                f"{signed_root} for that size{held}"
            )
        heads.held = size


def where_sealed(row: SealedRow) -> str:
    return describe(row[0], row[1], row[2], row[3])
