"""Each metric's current default estimate and timeline, kept as events are applied.

Consumes the claim and rating changes the view writer hands it, and adds `timeline`
rows to the writer's pending rows as they happen and writes `metrics.estimate` once per
batch. The incremental estimates (`domain.incremental`) hold each origin's winner and a
few runners-up, not every claim, and are cached in memory for the most recently used
metrics; a metric not in the cache is loaded from the claims view
(`projections.writer.claims_view`) and the `sources` table, and an estimate whose
origin runs out of runners-up asks the claims view for that origin's claims again.
"""

from __future__ import annotations

from collections import OrderedDict
from decimal import Decimal
from typing import Any

from domain.estimates import ClaimAsKnown
from domain.incremental import IncrementalEstimate
from domain.values import Reliability
from projections.log.canonical import loads
from projections.storage.sql import SqlCursor
from projections.writer.claim_state import ClaimState, as_known
from projections.writer.claims_view import Claims
from projections.writer.estimate_summary import OLDER_SUMMARIES, encode_summary, number, text
from projections.writer.pending_rows import PendingRows

Point = tuple[Decimal | None, Decimal | None, Decimal | None, int]


class EstimateKeeper:
    """Keeps `metrics.estimate` and `timeline` in step with the claims and ratings."""

    def __init__(self, pending: PendingRows, claims: Claims, max_cached_weight: int) -> None:
        self.max_cached_weight = max_cached_weight
        self.pending = pending  # reads from the tables flush it first
        self.claims = claims
        self.estimates: OrderedDict[str, IncrementalEstimate] = OrderedDict()
        self.reliabilities: dict[str, Reliability] = {}  # sources asked for, as rated now
        self.cursor: SqlCursor | None = None  # the transaction the estimates' questions go to
        self.summaries_checked = False  # whether summaries stored before open ends were sought
        self.last_points: dict[str, Point | None] = {}  # each cached metric's timeline end
        self.weights: dict[str, int] = {}  # each cached metric's weight (see above)
        self.cached_weight = 0
        self.pending_estimates: dict[str, IncrementalEstimate] = {}  # touched in this batch

    def defined(self, metric: str) -> None:
        """A metric just defined: no claim and no timeline point can precede its
        definition (a claim names a metric that exists), so its estimate starts empty
        rather than being read back from both tables."""
        if metric not in self.estimates:
            self.estimates[metric] = self.new_estimate(metric)
            self.last_points[metric] = None

    def rated(self, origin: str, reliability: Reliability) -> None:
        """A source was re-rated (before `rate` and `refresh` of its metrics)."""
        self.reliabilities[origin] = reliability

    def rate(self, metric: str, origin: str, reliability: Reliability) -> None:
        """An origin of the metric's claims was re-rated (the cache only; refresh after)."""
        cached = self.estimates.get(metric)
        if cached is not None:
            cached.rate(origin, reliability)

    def refresh(
        self,
        c: SqlCursor,
        metric: str,
        position: int,
        recorded_at: str,
        changed: ClaimState | None = None,
        recorded_position: int = 0,
        previous: ClaimState | None = None,
    ) -> None:
        """Bring the metric's default estimate up to date; add a timeline point if it moved.

        `changed` is a claim's new state (its row already pending), `previous` its state
        before, None for a new claim."""
        self.cursor = c
        loaded = metric not in self.estimates
        estimate = self.estimate_of(c, metric)
        if changed is not None and not loaded:  # a loaded one read the change from the table
            before = as_known(previous, recorded_position) if previous is not None else None
            estimate.put(as_known(changed, recorded_position), before)
        self.weigh(metric, estimate)
        self.pending_estimates[metric] = estimate  # its summary is written in finish()
        point = estimate.point()
        if metric not in self.last_points:
            self.pending.flush(c)
            row = c.execute(
                "SELECT low, best, high, included FROM timeline WHERE metric=? "
                "ORDER BY position DESC LIMIT 1",
                (metric,),
            ).fetchone()
            self.last_points[metric] = stored_point(row) if row is not None else None
        if self.last_points[metric] != point:
            low, best, high, included = point
            self.pending.insert(
                "timeline",
                (metric, position, recorded_at, text(low), text(best), text(high), included),
            )
            self.last_points[metric] = point

    def finish(self, c: SqlCursor) -> list[str]:
        """Write what a batch gathered: each touched metric's final estimate, once; the
        metrics written."""
        if not self.summaries_checked:
            self.rewrite_older_summaries(c)
        c.executemany(
            "UPDATE metrics SET estimate=? WHERE id=?",
            [
                (encode_summary(estimate.summary()), metric)
                for metric, estimate in self.pending_estimates.items()
            ],
        )
        written = list(self.pending_estimates)
        self.pending_estimates.clear()
        return written

    def rewrite_older_summaries(self, c: SqlCursor) -> int:
        """Summaries stored before they said their open ends are written again from the
        claims (with the batch's, in `finish`), so the views equal a rebuild (decision
        0018). The caller's transaction keeps other runners from writing meanwhile (a
        batch's, after its tracking record; or the views' `rewrite_older_summaries`).
        Once per process: a fresh store has none, and pays one query. How many there were."""
        self.cursor = c
        older = c.execute(OLDER_SUMMARIES).fetchall()
        for (metric,) in older:
            if metric not in self.pending_estimates:
                estimate = self.estimate_of(c, metric)
                self.weigh(metric, estimate)
                self.pending_estimates[metric] = estimate
        self.summaries_checked = True
        return len(older)

    def estimate_of(self, c: SqlCursor, metric: str) -> IncrementalEstimate:
        """The metric's incremental estimate, loaded from the tables on first use."""
        estimate = self.estimates.get(metric)
        if estimate is not None:
            self.estimates.move_to_end(metric)
            return estimate
        estimate = self.new_estimate(metric)
        for state, position in self.claims.of_metric(c, metric):
            estimate.put(as_known(loads(state), position))
        self.estimates[metric] = estimate
        return estimate

    def new_estimate(self, metric: str) -> IncrementalEstimate:
        return IncrementalEstimate(
            lambda origin: self.candidates(metric, origin), self.reliability_of
        )

    def weigh(self, metric: str, estimate: IncrementalEstimate) -> None:
        """Count the metric's (possibly grown) weight; evict the least recently used
        others while the cache is over its budget."""
        weight = 1 + estimate.weight
        self.cached_weight += weight - self.weights.get(metric, 0)
        self.weights[metric] = weight
        while self.cached_weight > self.max_cached_weight and len(self.estimates) > 1:
            evicted, _ = self.estimates.popitem(last=False)
            self.cached_weight -= self.weights.pop(evicted)
            self.last_points.pop(evicted, None)

    def candidates(self, metric: str, origin: str) -> list[ClaimAsKnown]:
        """The metric's claims from `origin`, as the views hold them with this batch."""
        assert self.cursor is not None  # set by the batch before any question
        return [
            as_known(loads(state), position)
            for state, position in self.claims.of_metric(self.cursor, metric, origin)
        ]

    def reliability_of(self, origin: str) -> Reliability:
        known = self.reliabilities.get(origin)
        if known is None:
            assert self.cursor is not None  # set by the batch before any question
            row = self.cursor.execute(
                "SELECT reliability FROM sources WHERE id=?", (origin,)
            ).fetchone()
            known = Reliability(row[0]) if row is not None else Reliability.F
            self.reliabilities[origin] = known
        return known

    def forget(self) -> None:
        """Drop cached estimates: after a rollback they may hold what was not committed."""
        self.estimates.clear()
        self.weights.clear()
        self.cached_weight = 0
        self.reliabilities.clear()
        self.last_points.clear()
        self.pending_estimates.clear()
        self.summaries_checked = False  # the rewrite may have rolled back with the batch


def stored_point(row: Any) -> Point:
    """A timeline row's (low, best, high, included), as `IncrementalEstimate.point` gives it."""
    low, best, high, included = row
    return number(low), number(best), number(high), int(included)
