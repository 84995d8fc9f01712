"""The log part of the projection: each event's feed row (`event_index`) and its leaf
appended to the Merkle log (`merkle_nodes`), as pending rows of the caller's batch.

The view writer uses it for every event it applies; the catch-up's preparing process
(`projections.runner.prepared_feed`) uses it alone, starting from the stored log's compact range;
`verify`'s log half makes the same rows with `feed_row`.
"""

from __future__ import annotations

from typing import Any

from projections.events.feed_event import Applied
from projections.log.canonical import canonical_envelope, dumps
from projections.log.compact_range import compact_range
from projections.log.merkle import StoredNode, aligned_nodes_to_store, leaf_hash
from projections.storage.sql import SqlCursor
from projections.writer.pending_rows import PendingRows


class FeedLog:
    """Appends events to the feed and the Merkle log, keeping the log's compact range in memory."""

    def __init__(self, pending: PendingRows) -> None:
        self.pending = pending
        # The last stored node of each level of the Merkle log: the left siblings the
        # next appends need.
        self.compact_range: dict[int, StoredNode] = {}
        self.cursor: SqlCursor | None = None  # the caller's, while it appends

    def index_and_seal(self, c: SqlCursor | None, e: Applied, leaf_index: int) -> None:
        """The event's feed row, and its leaf appended to the Merkle log."""
        row, leaf = feed_row(
            leaf_index, e.position, e.stream, e.version, e.type, e.recorded_at, e.actor, e.data
        )
        self.pending.insert("event_index", row)
        self.seal(c, leaf_index, leaf)

    def seal(self, c: SqlCursor | None, leaf_index: int, leaf: bytes) -> None:
        """Append the leaf to the Merkle log, storing the subtrees it completes."""
        self.cursor = c
        for node in aligned_nodes_to_store(leaf_index, leaf, self.stored):
            self.pending.insert("merkle_nodes", node)
            self.compact_range[node.level] = node

    def stored(self, level: int, start: int) -> bytes:
        """A stored node the next append needs (a left sibling in the log's compact range)."""
        known = self.compact_range.get(level)
        if known is not None and known.start == start:
            return known.hash
        c = self.cursor
        # None in the preparing process, which is given the whole compact range
        assert c is not None
        self.pending.flush(c)  # first append after a restart: read the log's compact range
        row = c.execute(
            "SELECT hash FROM merkle_nodes WHERE level=? AND start=?", (level, start)
        ).fetchone()
        return bytes(row[0])

    def forget(self) -> None:
        """Drop the log's compact range: after a rollback it may hold what was not committed."""
        self.compact_range.clear()


def stored_compact_range(c: SqlCursor, size: int) -> dict[int, StoredNode]:
    """The stored nodes appends after leaf `size - 1` can need (`compact_range`), by level:
    a `FeedLog` given them as its compact range appends without reading the database (for a
    process with no connection to it)."""
    nodes = {}
    for level, start in compact_range(size):
        row = c.execute(
            "SELECT hash FROM merkle_nodes WHERE level=? AND start=?", (level, start)
        ).fetchone()
        if row is None:
            raise LookupError(f"the Merkle log of {size} leaves has no node ({level}, {start})")
        nodes[level] = StoredNode(level, start, bytes(row[0]))
    return nodes


def feed_row(
    leaf_index: int,
    position: int,
    stream: str,
    version: int,
    type_: str,
    recorded_at: str,
    actor: str,
    data: dict[str, Any],
) -> tuple[tuple[Any, ...], bytes]:
    """An event's feed row (`event_index`) and its leaf hash."""
    data_json = dumps(data)
    leaf = leaf_hash(canonical_envelope(stream, version, type_, recorded_at, actor, data_json))
    row = (position, leaf_index, stream, version, type_, recorded_at, actor, data_json, leaf.hex())
    return row, leaf
