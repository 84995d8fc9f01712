"""The default estimate kept up to date one change at a time.

`weighted_median()` in `domain.estimates` re-reads every claim of a metric; a projection
that calls it on each event does work proportional to the metric's size per event. This
keeps the same answer incrementally: per origin, its eligible claims sorted by recency
(so the winner is the last one); across origins, the included points sorted with their
weights. A change touches one origin, so it costs O(log n) searches plus a walk over the
included points (one per origin) for the median. Property tests check that it always
equals the pure method.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from decimal import Decimal

from domain.estimates import DEFAULT_METHOD, ClaimAsKnown, Estimate, Evidence, weight_of
from domain.values import ClaimStatus, Credibility, Reliability

RecencyKey = tuple[object, object, int]


@dataclass
class _Origin:
    reliability: Reliability = Reliability.F
    # Eligible claims (active, not improbable), sorted by recency; the last one wins.
    ranked: list[tuple[RecencyKey, str]] = field(default_factory=list)


def eligible(claim: ClaimAsKnown) -> bool:
    return claim.status == ClaimStatus.ACTIVE and claim.credibility != Credibility.IMPROBABLE


class IncrementalEstimate:
    """The default (`weighted-median`, no `valid_at`) estimate of one metric."""

    def __init__(self) -> None:
        self.claims: dict[str, ClaimAsKnown] = {}
        self.origins: dict[str, _Origin] = {}
        self.winners: dict[str, ClaimAsKnown] = {}
        # Included claims: (point, id, weight), (low end, id), (high end, id), sorted.
        self._points: list[tuple[Decimal, str, Decimal]] = []
        self._lows: list[tuple[Decimal, str]] = []
        self._highs: list[tuple[Decimal, str]] = []
        self._confirmed = 0

    def put(self, claim: ClaimAsKnown) -> None:
        """Add a claim, or replace the state of one already here."""
        old = self.claims.get(claim.id)
        if old is not None:
            self._unrank(old)
        self.claims[claim.id] = claim
        if eligible(claim):
            origin = self._origin(claim.origin)
            bisect.insort(origin.ranked, (claim.recency, claim.id))
        self._crown(claim.origin)
        if old is not None and old.origin != claim.origin:
            self._crown(old.origin)

    def rate(self, origin: str, reliability: Reliability) -> None:
        """The origin's reliability changed."""
        self._origin(origin).reliability = reliability
        self._crown(origin)

    def point(self) -> tuple[Decimal | None, Decimal | None, Decimal | None, int]:
        """(low, best, high, included) of `summary()`, without building it: what a
        timeline point holds, cheap enough to compare after every change."""
        if not self._points:
            return None, None, None, 0
        return self._lows[0][0], self._median(), self._highs[-1][0], len(self._points)

    def summary(self) -> Estimate:
        """The estimate now, without explanation lines (a projection keeps no explanation)."""
        included = len(self._points)
        if not included:
            return Estimate(
                DEFAULT_METHOD, None, None, None, len(self.claims), 0, 0, Evidence.NONE, ()
            )
        low, high = self._lows[0][0], self._highs[-1][0]
        smallest, largest = self._points[0][0], self._points[-1][0]
        if self._confirmed:
            evidence = Evidence.CONFIRMED
        elif included >= 2 and largest > 2 * smallest:
            evidence = Evidence.CONTESTED
        elif included >= 2:
            evidence = Evidence.FAIR
        else:
            evidence = Evidence.WEAK
        return Estimate(
            DEFAULT_METHOD,
            low,
            self._median(),
            high,
            len(self.claims),
            included,
            included,
            evidence,
            (),
        )

    def _median(self) -> Decimal:
        total = sum((weight for _, _, weight in self._points), Decimal(0))
        if total == 0:
            return self._points[(len(self._points) - 1) // 2][0]
        half, running = total / 2, Decimal(0)
        for point, _, weight in self._points:
            running += weight
            if running >= half:
                return point
        return self._points[-1][0]

    def _origin(self, name: str) -> _Origin:
        if name not in self.origins:
            self.origins[name] = _Origin()
        return self.origins[name]

    def _unrank(self, claim: ClaimAsKnown) -> None:
        ranked = self._origin(claim.origin).ranked
        entry = (claim.recency, claim.id)
        index = bisect.bisect_left(ranked, entry)
        if index < len(ranked) and ranked[index] == entry:
            del ranked[index]

    def _crown(self, origin_name: str) -> None:
        """Make the origin's included claim (if any) its latest eligible one."""
        origin = self._origin(origin_name)
        current = self.winners.pop(origin_name, None)
        if current is not None:
            self._exclude(current)
        if not origin.ranked or origin.reliability is Reliability.E:
            return
        winner = self.claims[origin.ranked[-1][1]]
        self.winners[origin_name] = winner
        self._include(winner, weight_of(winner, origin.reliability))

    def _include(self, claim: ClaimAsKnown, weight: Decimal) -> None:
        interval = claim.interval
        bisect.insort(self._points, (interval.point, claim.id, weight))
        low = interval.point if interval.low is None else interval.low
        high = interval.point if interval.high is None else interval.high
        bisect.insort(self._lows, (low, claim.id))
        bisect.insort(self._highs, (high, claim.id))
        self._confirmed += claim.credibility == Credibility.CONFIRMED

    def _exclude(self, claim: ClaimAsKnown) -> None:
        interval = claim.interval
        point_at = bisect.bisect_left(self._points, (interval.point, claim.id))
        del self._points[point_at]
        low = interval.point if interval.low is None else interval.low
        high = interval.point if interval.high is None else interval.high
        del self._lows[bisect.bisect_left(self._lows, (low, claim.id))]
        del self._highs[bisect.bisect_left(self._highs, (high, claim.id))]
        self._confirmed -= claim.credibility == Credibility.CONFIRMED
