"""The log part of the projection: each event's feed row (`event_index`) and its leaf
appended to the Merkle log (`merkle_nodes`), as pending rows of the caller's batch.

The view writer uses it for every event it applies; `verify`'s log half uses it alone
to recompute the feed and the log from the stored events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from projections.claim_state import canonical_envelope, dumps, leaf_hash
from projections.merkle import aligned_nodes_to_store
from projections.pending_rows import PendingRows

if TYPE_CHECKING:
    from projections.view_writer import Applied

Cursor = Any


class FeedLog:
    """Appends events to the feed and the Merkle log, keeping the log's edge in memory."""

    def __init__(self, pending: PendingRows) -> None:
        self.pending = pending
        # The last stored node of each level of the Merkle log: the left siblings the
        # next appends need (level -> (start, hash)).
        self.frontier: dict[int, tuple[int, bytes]] = {}

    def index_and_seal(self, c: Cursor, e: Applied, leaf_index: int) -> None:
        """The event's feed row, and its leaf appended to the Merkle log."""
        data_json = dumps(e.data)
        canonical = canonical_envelope(
            e.stream, e.version, e.type, e.recorded_at, e.actor, data_json
        )
        leaf = leaf_hash(canonical)
        self.pending.insert(
            "event_index",
            (
                e.position,
                leaf_index,
                e.stream,
                e.version,
                e.type,
                e.recorded_at,
                e.actor,
                data_json,
                leaf,
            ),
        )
        self.seal(c, leaf_index, bytes.fromhex(leaf))

    def seal(self, c: Cursor, leaf_index: int, leaf: bytes) -> None:
        """Append the leaf to the Merkle log, storing the subtrees it completes."""

        def stored(level: int, start: int) -> bytes:
            known = self.frontier.get(level)
            if known is not None and known[0] == start:
                return known[1]
            self.pending.flush(c)  # first append after a restart: read the log's edge
            row = c.execute(
                "SELECT hash FROM merkle_nodes WHERE level=? AND start=?", (level, start)
            ).fetchone()
            return bytes(row[0])

        for node in aligned_nodes_to_store(leaf_index, leaf, stored):
            self.pending.insert("merkle_nodes", tuple(node))
            self.frontier[node.level] = (node.start, node.hash)

    def forget(self) -> None:
        """Drop the log's edge: after a rollback it may hold what was not committed."""
        self.frontier.clear()
