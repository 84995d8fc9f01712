"""The `claims` view as the view writer sees it while it applies events: where a claim's
new row goes, and where its current state, a metric's claims and a source's metrics are
read back from.

`ClaimsTable` is the projection's own: the `claims` table, with this batch's pending
rows written first. `verify`'s views half has another (`claims_check.ClaimsInVersions`)
that writes nothing and reads the stored claim versions it has already checked.
"""

from __future__ import annotations

from typing import Protocol

from projections.storage.sql import SqlCursor
from projections.writer.claim_state import ClaimState
from projections.writer.pending_rows import PendingRows

# (id, metric, origin, reported_by, status, version, position, state): a `claims` row.
ClaimRow = tuple[str, str, str, str, str, int, int, str]
# A claim's state (JSON) and the position of its recording.
StateAt = tuple[str, int]


class Claims(Protocol):
    def put(self, row: ClaimRow, previous: ClaimState | None) -> None:
        """The claim's new row; `previous` is its state before (None for a new claim)."""

    def state(self, c: SqlCursor, claim: str) -> StateAt:
        """The claim's current state, with every earlier event applied."""

    def of_metric(self, c: SqlCursor, metric: str, origin: str | None = None) -> list[StateAt]:
        """The current states of the metric's claims (from `origin` only, if given),
        the current event's included."""

    def metrics_from(self, c: SqlCursor, origin: str) -> list[str]:
        """The metrics that have claims whose origin is `origin`, in name order."""


class ClaimsTable:
    """The `claims` table: rows upserted once per batch, read after what is pending."""

    def __init__(self, pending: PendingRows) -> None:
        self.pending = pending

    def put(self, row: ClaimRow, previous: ClaimState | None) -> None:
        self.pending.put_claim(row)

    def state(self, c: SqlCursor, claim: str) -> StateAt:
        # Nothing to flush: the writer asks only for claims it no longer holds in memory,
        # and it holds every claim of the batch.
        row = c.execute("SELECT state, position FROM claims WHERE id=?", (claim,)).fetchone()
        return str(row[0]), int(row[1])

    def of_metric(self, c: SqlCursor, metric: str, origin: str | None = None) -> list[StateAt]:
        self.pending.flush(c)
        if origin is None:
            rows = c.execute("SELECT state, position FROM claims WHERE metric=?", (metric,))
        else:
            rows = c.execute(
                "SELECT state, position FROM claims WHERE metric=? AND origin=?", (metric, origin)
            )
        return [(str(state), int(position)) for state, position in rows.fetchall()]

    def metrics_from(self, c: SqlCursor, origin: str) -> list[str]:
        self.pending.flush(c)
        rows = c.execute(
            "SELECT DISTINCT metric FROM claims WHERE origin=? ORDER BY metric", (origin,)
        )
        return [str(metric) for (metric,) in rows.fetchall()]
