"""Each metric's current default estimate and timeline, kept as events are applied.

Consumes the claim and rating changes the view writer hands it, and adds `timeline`
rows to the writer's pending rows as they happen and writes `metrics.estimate` once per
batch. The incremental estimates
(`domain.incremental`) are cached in memory, bounded by the claims they hold; a metric
not in the cache is loaded from the `claims` and `sources` tables.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from decimal import Decimal
from typing import Any

from domain.estimates import Estimate
from domain.incremental import IncrementalEstimate
from domain.values import Reliability, decimal_text
from projections.claim_state import ClaimState, as_known, dumps
from projections.pending_rows import PendingRows

Cursor = Any
# How many claims the cached estimates may hold (least recently used metrics go first):
# about 100 MB; a metric is reloaded from the tables when it comes back.
MAX_CACHED_CLAIMS = 250_000

Point = tuple[Decimal | None, Decimal | None, Decimal | None, int]


class EstimateKeeper:
    """Keeps `metrics.estimate` and `timeline` in step with the claims and ratings."""

    def __init__(self, pending: PendingRows) -> None:
        self.pending = pending  # reads from the tables flush it first
        self.estimates: OrderedDict[str, IncrementalEstimate] = OrderedDict()
        self.cached_claims = 0  # claims held when their metric was loaded
        self.last_points: dict[str, Point | None] = {}  # each metric's timeline end
        self.pending_estimates: dict[str, IncrementalEstimate] = {}  # touched in this batch

    def rate(self, metric: str, origin: str, reliability: Reliability) -> None:
        """An origin of the metric's claims was re-rated (the cache only; refresh after)."""
        cached = self.estimates.get(metric)
        if cached is not None:
            cached.rate(origin, reliability)

    def refresh(
        self,
        c: Cursor,
        metric: str,
        position: int,
        recorded_at: str,
        changed: ClaimState | None = None,
        recorded_position: int = 0,
    ) -> None:
        """Bring the metric's default estimate up to date; add a timeline point if it moved."""
        estimate = self.estimate_of(c, metric)
        if changed is not None:
            estimate.put(as_known(changed, recorded_position))
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

    def finish(self, c: Cursor) -> None:
        """Write what a batch gathered: each touched metric's final estimate, once."""
        c.executemany(
            "UPDATE metrics SET estimate=? WHERE id=?",
            [
                (dumps(estimate_summary(estimate.summary())), metric)
                for metric, estimate in self.pending_estimates.items()
            ],
        )
        self.pending_estimates.clear()
        if len(self.last_points) > MAX_CACHED_CLAIMS:
            self.last_points.clear()

    def estimate_of(self, c: Cursor, metric: str) -> IncrementalEstimate:
        """The metric's incremental estimate, loaded from the tables on first use."""
        estimate = self.estimates.get(metric)
        if estimate is not None:
            self.estimates.move_to_end(metric)
            return estimate
        self.pending.flush(c)
        estimate = load_estimate(c, metric)
        self.estimates[metric] = estimate
        self.cached_claims += len(estimate.claims)
        while self.cached_claims > MAX_CACHED_CLAIMS and len(self.estimates) > 1:
            _, evicted = self.estimates.popitem(last=False)
            self.cached_claims -= len(evicted.claims)
        return estimate

    def forget(self) -> None:
        """Drop cached estimates: after a rollback they may hold what was not committed."""
        self.estimates.clear()
        self.cached_claims = 0
        self.last_points.clear()
        self.pending_estimates.clear()


def load_estimate(c: Cursor, metric: str) -> IncrementalEstimate:
    estimate = IncrementalEstimate()
    rows = c.execute("SELECT state, position FROM claims WHERE metric=?", (metric,)).fetchall()
    for state, position in rows:
        estimate.put(as_known(json.loads(state), position))
    origins = sorted(estimate.origins)
    if origins:
        marks = ",".join("?" * len(origins))
        for slug, reliability in c.execute(
            f"SELECT id, reliability FROM sources WHERE id IN ({marks})", origins
        ).fetchall():
            if reliability != Reliability.F.value:
                estimate.rate(slug, Reliability(reliability))
    return estimate


def estimate_summary(estimate: Estimate) -> dict[str, Any]:
    """The estimate without its explanation, decimals as strings: what `metrics` keeps."""
    return {
        "method": estimate.method,
        "low": text(estimate.low),
        "best": text(estimate.best),
        "high": text(estimate.high),
        "considered": estimate.considered,
        "included": estimate.included,
        "independent_origins": estimate.independent_origins,
        "evidence": estimate.evidence.value,
    }


def stored_point(row: Any) -> Point:
    """A timeline row's (low, best, high, included), as `IncrementalEstimate.point` gives it."""
    low, best, high, included = row
    return number(low), number(best), number(high), int(included)


def number(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def text(value: Decimal | None) -> str | None:
    return decimal_text(value) if value is not None else None
