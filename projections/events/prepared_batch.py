"""What the catch-up's preparing process (`projections.runner.prepared_feed`) hands the runner:
a batch of events with their feed rows and Merkle nodes already made."""

from __future__ import annotations

from typing import Any, NamedTuple

from projections.events.feed_event import FeedEvent


class PreparedBatch(NamedTuple):
    first_leaf: int  # the leaf index of the first event
    events: list[FeedEvent]  # as `applied_from_stored` reads them, in position order
    index_rows: list[tuple[Any, ...]]  # their `event_index` rows
    nodes: list[tuple[int, int, bytes]]  # the `merkle_nodes` rows they complete
