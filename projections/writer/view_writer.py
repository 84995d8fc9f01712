"""Applies ledger events to the view tables: one handler per event type.

Consumes every event type of §3 (Source.*, Metric.*, Claim.*, ApiKey.*) and §9's
Relation.* and writes `event_index`, `sources`, `source_ratings`, `metrics`, `claims`,
`claim_versions`, `timeline` (through `EstimateKeeper`), `api_keys`, `merkle_nodes` and
the relations' views (through `RelationsView`). Runs inside the
caller's transaction; it never commits.

Batch-oriented: the rows of the hot path (every event's feed row and Merkle nodes, each
claim's current and versioned state, timeline points) gather in `PendingRows` and go to
the database in one `executemany` per table when the batch finishes, so a batch costs a
handful of statements per table, whatever its number of claims. What the handlers would read
back is kept in memory (the Merkle log's compact range in `FeedLog`, recent claim states);
any other read first flushes what is pending, so it sees every earlier event of the batch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from domain.values import ClaimStatus, Credibility, Reliability
from projections.events.feed_event import Applied
from projections.log.canonical import dumps, loads
from projections.storage.sql import SqlCursor
from projections.tuning import Tuning
from projections.writer.claim_state import ClaimState, origin_of
from projections.writer.claims_view import ClaimRow, Claims, ClaimsTable
from projections.writer.estimate_keeper import EstimateKeeper
from projections.writer.feed_log import FeedLog
from projections.writer.pending_rows import PendingRows
from projections.writer.related_keeper import RelatedKeeper
from projections.writer.relations_view import RelationsView

Handler = Callable[[SqlCursor, "Applied"], None]
Row = tuple[Any, ...]

# As the states hold them, looked up once (an enum's `.value` is a descriptor call).
ACTIVE = ClaimStatus.ACTIVE.value
RETRACTED = ClaimStatus.RETRACTED.value
NOT_JUDGED = int(Credibility.CANNOT_BE_JUDGED)


class ViewWriter:
    """Writes the rows one event implies; keeps each metric's estimate and timeline current."""

    def __init__(
        self,
        pending: PendingRows | None = None,
        claims: Claims | None = None,
        tuning: Tuning | None = None,
    ) -> None:
        tuning = tuning or Tuning()
        self.pending = PendingRows() if pending is None else pending
        self.claims = ClaimsTable(self.pending) if claims is None else claims
        self.keeper = EstimateKeeper(self.pending, self.claims, tuning.max_cached_weight)
        self.max_cached_claim_states = tuning.max_cached_claim_states
        self.log = FeedLog(self.pending)
        # Claim id -> (state as JSON, position of its recording), most recent last.
        self.claim_states: OrderedDict[str, tuple[str, int]] = OrderedDict()
        self.handlers: dict[str, Handler] = {
            "Source.Registered": self.source_registered,
            "Source.Updated": self.source_updated,
            "Source.Rated": self.source_rated,
            "Metric.Defined": self.metric_defined,
            "Metric.Updated": self.metric_updated,
            "Claim.Recorded": self.claim_recorded,
            "Claim.Corrected": self.claim_corrected,
            "Claim.Retracted": self.claim_retracted,
            "Claim.Reinstated": self.claim_reinstated,
            "Claim.Assessed": self.claim_assessed,
            "ApiKey.Issued": self.key_issued,
            "ApiKey.Revoked": self.key_revoked,
        }
        self.related = RelatedKeeper()
        for name, handler in RelationsView(self.execute).handlers().items():
            self.handlers[name] = self.noting_relation(handler)

    def apply_record(self, c: SqlCursor, e: Applied, leaf_index: int) -> None:
        """Index, seal and project one event given as the feed shows it."""
        self.index_and_seal(c, e, leaf_index)
        self.project(c, e)

    def apply_prepared(
        self, c: SqlCursor, events: list[Applied], index_rows: list[Row], nodes: list[Row]
    ) -> None:
        """Apply events whose feed rows and Merkle nodes were made elsewhere (by
        `FeedLog` in the catch-up's preparing process); the log's compact range held here is then
        behind, so it is read again when next needed."""
        self.log.forget()
        self.pending.extend("event_index", index_rows)
        self.pending.extend("merkle_nodes", nodes)
        for e in events:
            self.project(c, e)
        # Written now, not when the transaction ends: while SQLite writes these, the
        # preparing process makes the next chunk (the rows, and their order, are the same).
        self.pending.flush(c)

    def project(self, c: SqlCursor, e: Applied) -> None:
        """The rows of the views other than the feed and the Merkle log."""
        handler = self.handlers.get(e.type)
        if handler is not None:
            handler(c, e)

    def index_and_seal(self, c: SqlCursor, e: Applied, leaf_index: int) -> None:
        """The event's feed row, and its leaf appended to the Merkle log."""
        self.log.index_and_seal(c, e, leaf_index)

    def execute(self, c: SqlCursor, sql: str, parameters: tuple[Any, ...]) -> Any:
        """Run a statement of the rare events (sources, metrics, keys) after what is pending."""
        self.pending.flush(c)
        return c.execute(sql, parameters)

    # Sources

    def source_registered(self, c: SqlCursor, e: Applied) -> None:
        d = e.data
        self.execute(
            c,
            "INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                d["slug"],
                e.stream,
                d["name"],
                d["kind"],
                d["url"],
                Reliability.F.value,
                e.version,
                e.position,
                e.recorded_at,
            ),
        )

    def source_updated(self, c: SqlCursor, e: Applied) -> None:
        fields = e.data["fields"]
        for name in ("name", "kind", "url"):
            if name in fields:
                self.execute(
                    c, f"UPDATE sources SET {name}=? WHERE stream=?", (fields[name], e.stream)
                )
        self.execute(c, "UPDATE sources SET version=? WHERE stream=?", (e.version, e.stream))

    def source_rated(self, c: SqlCursor, e: Applied) -> None:
        reliability = e.data["reliability"]
        self.execute(
            c,
            "UPDATE sources SET reliability=?, version=? WHERE stream=?",
            (reliability, e.version, e.stream),
        )
        slug = self.execute(c, "SELECT id FROM sources WHERE stream=?", (e.stream,)).fetchone()[0]
        self.execute(
            c,
            "INSERT INTO source_ratings VALUES (?, ?, ?, ?)",
            (slug, e.position, e.recorded_at, reliability),
        )
        self.keeper.rated(slug, Reliability(reliability))
        for metric in self.claims.metrics_from(c, slug):
            self.keeper.rate(metric, slug, Reliability(reliability))
            self.keeper.refresh(c, metric, e.position, e.recorded_at)

    # Metrics

    def metric_defined(self, c: SqlCursor, e: Applied) -> None:
        d = e.data
        # Pending like the hot rows (written before any statement on `metrics`): a
        # store of many metrics defines them in a row.
        self.pending.insert(
            "metrics",
            (
                d["slug"],
                e.stream,
                d["name"],
                d["unit"],
                d["description"],
                e.version,
                e.position,
                e.recorded_at,
                "{}",
            ),
        )
        self.keeper.defined(d["slug"])
        self.keeper.refresh(c, d["slug"], e.position, e.recorded_at)

    def metric_updated(self, c: SqlCursor, e: Applied) -> None:
        fields = e.data["fields"]
        for name in ("name", "description"):
            if name in fields:
                self.execute(
                    c, f"UPDATE metrics SET {name}=? WHERE stream=?", (fields[name], e.stream)
                )
        self.execute(c, "UPDATE metrics SET version=? WHERE stream=?", (e.version, e.stream))

    # Claims

    def claim_recorded(self, c: SqlCursor, e: Applied) -> None:
        state = recorded_state(e.stream, e.version, e.recorded_at, e.actor, e.data)
        self.put_claim(c, e, state, e.position)

    def claim_corrected(self, c: SqlCursor, e: Applied) -> None:
        self.change_claim(c, e, dict(e.data["changes"]))

    def claim_retracted(self, c: SqlCursor, e: Applied) -> None:
        self.change_claim(c, e, {"status": RETRACTED})

    def claim_reinstated(self, c: SqlCursor, e: Applied) -> None:
        self.change_claim(c, e, {"status": ACTIVE})

    def claim_assessed(self, c: SqlCursor, e: Applied) -> None:
        self.change_claim(c, e, {"credibility": e.data["credibility"]})

    def change_claim(self, c: SqlCursor, e: Applied, changes: dict[str, Any]) -> None:
        state_json, recorded_position = self.claim_state(c, e.stream)
        state: ClaimState = loads(state_json)
        state.update(changes)
        state["version"] = e.version
        state["origin"] = origin_of(state)
        self.put_claim(c, e, state, recorded_position, previous=loads(state_json))

    def put_claim(
        self,
        c: SqlCursor,
        e: Applied,
        state: ClaimState,
        recorded_position: int,
        previous: ClaimState | None = None,
    ) -> None:
        """The claim's new state (`previous`: its state before, None for a new claim):
        its current row, a version row, and its metric's estimate."""
        state_json = dumps(state)
        self.claims.put(claim_row(e.version, recorded_position, state, state_json), previous)
        self.pending.insert(
            "claim_versions",
            (
                e.stream,
                e.version,
                e.position,
                e.recorded_at,
                state["metric"],
                recorded_position,
                state_json,
            ),
        )
        self.claim_states[e.stream] = (state_json, recorded_position)
        self.claim_states.move_to_end(e.stream)
        if len(self.claim_states) > self.max_cached_claim_states:
            self.claim_states.popitem(last=False)
        self.keeper.refresh(
            c, state["metric"], e.position, e.recorded_at, state, recorded_position, previous
        )

    def claim_state(self, c: SqlCursor, claim: str) -> tuple[str, int]:
        """The claim's current state (JSON) and recording position: from memory when
        recent, else from the claims view."""
        cached = self.claim_states.get(claim)
        if cached is not None:
            return cached
        return self.claims.state(c, claim)

    # API keys

    def key_issued(self, c: SqlCursor, e: Applied) -> None:
        d = e.data
        self.execute(
            c,
            "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?)",
            (
                e.stream,
                d["name"],
                d["role"],
                d["key_hash"],
                e.recorded_at,
                e.actor,
                e.version,
                e.position,
            ),
        )

    def key_revoked(self, c: SqlCursor, e: Applied) -> None:
        self.execute(
            c,
            "UPDATE api_keys SET revoked_at=?, version=? WHERE id=?",
            (e.recorded_at, e.version, e.stream),
        )

    # Estimates

    def finish(self, c: SqlCursor) -> None:
        """Write what the batch gathered; called once, before the commit."""
        self.pending.flush(c)
        self.related.finish(c, self.keeper.finish(c))

    def noting_relation(self, handler: Handler) -> Handler:
        """The relation's handler, and the relation noted for the checks at the batch's end."""

        def handle(c: SqlCursor, e: Applied) -> None:
            handler(c, e)
            self.related.relation_changed(e.stream)

        return handle

    def rewrite_older_summaries(self, c: SqlCursor) -> int:
        """Write again the summaries stored before open ends (decision 0018); how many."""
        count = self.keeper.rewrite_older_summaries(c)
        self.finish(c)
        return count

    def forget(self) -> None:
        """Drop pending rows and cached state: after a rollback they may hold what was
        not committed."""
        self.pending.clear()
        self.keeper.forget()
        self.related.forget()
        self.log.forget()
        self.claim_states.clear()


def recorded_state(
    stream: str, version: int, recorded_at: str, actor: str, data: dict[str, Any]
) -> ClaimState:
    """A claim's state as its `Claim.Recorded` event makes it."""
    state: ClaimState = {
        "id": stream,
        "metric": data["metric"],
        "value": data["value"],
        "qualifier": data["qualifier"],
        "value_high": data["value_high"],
        "as_of": data["as_of"],
        "period_start": data["period_start"],
        "reported_by": data["reported_by"],
        "attributed_to": data["attributed_to"],
        "published_at": data["published_at"],
        "url": data["url"],
        "quote": data["quote"],
        "note": data["note"],
        "status": ACTIVE,
        "credibility": NOT_JUDGED,
        "version": version,
        "recorded_at": recorded_at,
        "recorded_by": actor,
    }
    state["origin"] = origin_of(state)
    return state


def claim_row(version: int, recorded_position: int, state: ClaimState, state_json: str) -> ClaimRow:
    """The claim's row of the `claims` view, for its state (as JSON too) at `version`."""
    return (
        state["id"],
        state["metric"],
        state["origin"],
        state["reported_by"],
        state["status"],
        version,
        recorded_position,
        state_json,
    )
