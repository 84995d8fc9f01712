"""The default estimate kept up to date one change at a time.

`weighted_median()` in `domain.estimates` re-reads every claim of a metric; a projection
that calls it on each event does work proportional to the metric's size per event. This
keeps the same answer incrementally, holding per origin only its winner (its latest
eligible claim) and across origins the included points sorted with their weights, so
its memory grows with the origins, not the claims. A change that leaves every winner
in place costs O(log n); when a winner itself changes (corrected, retracted, judged
improbable, moved to another origin), the origin's claims are asked for again through
`candidates`, which the caller answers from its store. Property tests check that it
always equals the pure method.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from decimal import Decimal

from domain.estimates import DEFAULT_METHOD, ClaimAsKnown, Estimate, Evidence, weight_of
from domain.values import ClaimStatus, Credibility, Reliability

# An origin's claims (current states) as the caller's store holds them now.
Candidates = Callable[[str], Iterable[ClaimAsKnown]]
# An origin's reliability now, asked once per origin (later changes come through `rate`).
ReliabilityOf = Callable[[str], Reliability]


def unrated(origin: str) -> Reliability:
    return Reliability.F


def eligible(claim: ClaimAsKnown) -> bool:
    return claim.status == ClaimStatus.ACTIVE and claim.credibility != Credibility.IMPROBABLE


class IncrementalEstimate:
    """The default (`weighted-median`, no `valid_at`) estimate of one metric."""

    def __init__(self, candidates: Candidates, reliability_of: ReliabilityOf = unrated) -> None:
        self.candidates = candidates
        self.reliability_of = reliability_of
        self.considered = 0  # claims of the metric
        self.winners: dict[str, ClaimAsKnown] = {}  # origin -> its latest eligible claim
        self.ratings: dict[str, Reliability] = {}  # each origin seen: its reliability
        self._included: set[str] = set()  # origins whose winner counts now
        # Included winners: (point, id, weight), (low end, id), (high end, id), sorted.
        self._points: list[tuple[Decimal, str, Decimal]] = []
        self._lows: list[tuple[Decimal, str]] = []
        self._highs: list[tuple[Decimal, str]] = []
        self._confirmed = 0

    @property
    def origins(self) -> set[str]:
        """Origins with a winner: those whose rating can move the estimate."""
        return set(self.winners)

    def put(self, claim: ClaimAsKnown, previous: ClaimAsKnown | None = None) -> None:
        """A claim was recorded (`previous` None) or changed from `previous`; the
        candidates already hold its new state."""
        if previous is None:
            self.considered += 1
        winner = self.winners.get(previous.origin) if previous is not None else None
        if previous is not None and winner is not None and winner.id == previous.id:
            self._crown(previous.origin, self._latest(previous.origin))
            if claim.origin == previous.origin:
                return
        self._challenge(claim)

    def rate(self, origin: str, reliability: Reliability) -> None:
        """The origin's reliability changed."""
        self.ratings[origin] = reliability
        self._crown(origin, self.winners.get(origin))

    def _challenge(self, claim: ClaimAsKnown) -> None:
        """The claim wins its origin if it is eligible and the latest."""
        if not eligible(claim):
            return
        current = self.winners.get(claim.origin)
        if current is None or claim.recency > current.recency:
            self._crown(claim.origin, claim)

    def _latest(self, origin: str) -> ClaimAsKnown | None:
        found = [c for c in self.candidates(origin) if c.origin == origin and eligible(c)]
        return max(found, key=lambda c: c.recency) if found else None

    def _crown(self, origin: str, winner: ClaimAsKnown | None) -> None:
        """Make `winner` the origin's winner, included unless the origin is rated E."""
        current = self.winners.pop(origin, None)
        if current is not None and origin in self._included:
            self._exclude(current)
            self._included.discard(origin)
        if winner is None:
            return
        self.winners[origin] = winner
        if origin not in self.ratings:
            self.ratings[origin] = self.reliability_of(origin)
        reliability = self.ratings[origin]
        if reliability is not Reliability.E:
            self._include(winner, weight_of(winner, reliability))
            self._included.add(origin)

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
                DEFAULT_METHOD, None, None, None, self.considered, 0, 0, Evidence.NONE, ()
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
            self.considered,
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
