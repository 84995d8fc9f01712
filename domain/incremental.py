"""The default estimate kept up to date one change at a time.

`weighted_median()` in `domain.estimates` re-reads every claim of a metric; a projection
that calls it on each event does work proportional to the metric's size per event. This
keeps the same answer incrementally, holding per origin only its latest eligible claims
(its winner and up to `RUNNERS_UP` before it) and across origins the included points
sorted with their weights, so its memory grows with the origins, not the claims. A
change that leaves every winner in place costs O(1); one that moves a winner O(log n)
comparisons, list inserts and a short walk of the median. When a winner itself changes
(corrected, retracted, judged improbable, moved to another origin) the next kept claim
takes over; only once an origin's kept claims run out are its claims asked for again
through `candidates`, which the caller answers from its store. Property tests check
that it always equals the pure method, also with no claim kept besides the winner.

A projection calls `put` and `point` on every claim event it applies, so both are kept
cheap: each kept claim's recency is computed once, when it is kept, and a winner's
sorted entries when it is crowned;
weights are whole hundredths (`WEIGHTS`), summed as integers; the median is walked to
from where it was; and `point` is kept until something included changes.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from domain.estimates import (
    CREDIBILITY_WEIGHT,
    DEFAULT_METHOD,
    RELIABILITY_WEIGHT,
    ClaimAsKnown,
    Estimate,
    Evidence,
)
from domain.values import ClaimStatus, Credibility, Reliability

# An origin's claims (current states) as the caller's store holds them now.
Candidates = Callable[[str], Iterable[ClaimAsKnown]]
# An origin's reliability now, asked once per origin (later changes come through `rate`).
ReliabilityOf = Callable[[str], Reliability]
# (low, best, high, included): what a timeline point holds.
Point = tuple[Decimal | None, Decimal | None, Decimal | None, int]
Recency = tuple[date, date, int]
# A kept claim with what orders it: its recency, then its id (so claims never compare).
Ranked = tuple[Recency, str, ClaimAsKnown]
# Eligible claims kept per origin besides its winner: when a winner is retracted,
# corrected or judged improbable, the next one is at hand, and the origin's claims are
# read again only once these run out (decision 0006: reading them each time a winner
# went made a catch-up several times slower).
RUNNERS_UP = 3
NOTHING_INCLUDED: Point = (None, None, None, 0)


def in_hundredths(weight: Decimal) -> int:
    """A weight as a whole number of hundredths. The median depends only on the weights'
    ratios and the pure method's Decimal sums are exact, so integer sums of hundredths
    pick the same point; a weight that is not whole hundredths would break that."""
    scaled = weight * 100
    if scaled != scaled.to_integral_value():
        raise ValueError(f"weight {weight} is not a whole number of hundredths")
    return int(scaled)


# `weight_of(claim, reliability)` in hundredths, by (reliability, credibility).
WEIGHTS: Mapping[tuple[Reliability, int], int] = {
    (reliability, credibility): in_hundredths(r_weight * c_weight)
    for reliability, r_weight in RELIABILITY_WEIGHT.items()
    for credibility, c_weight in CREDIBILITY_WEIGHT.items()
}


def unrated(origin: str) -> Reliability:
    return Reliability.F


def eligible(claim: ClaimAsKnown) -> bool:
    return claim.status == ClaimStatus.ACTIVE and claim.credibility != Credibility.IMPROBABLE


class Included(NamedTuple):
    """An included winner's entries in the sorted lists, kept to take them out again."""

    point: tuple[Decimal, str, int]  # (point, claim id, weight in hundredths)
    low: Decimal  # the interval's lower end, the point where open below
    high: Decimal  # its upper end, the point where open above
    confirmed: bool
    open_below: bool
    open_above: bool


def included(claim: ClaimAsKnown, weight: int) -> Included:
    interval = claim.interval
    low = interval.point if interval.low is None else interval.low
    high = interval.point if interval.high is None else interval.high
    return Included(
        (interval.point, claim.id, weight),
        low,
        high,
        claim.credibility == Credibility.CONFIRMED,
        interval.low is None,
        interval.high is None,
    )


class WeightedPoints:
    """Points sorted with their weights, and their lower weighted median (§4 step 5)
    kept as points come and go. A change usually moves the median a place or two, so it
    is walked to from where it was rather than found again by summing every weight."""

    def __init__(self) -> None:
        self.entries: list[tuple[Decimal, str, int]] = []  # (point, claim id, weight)
        self.total = 0
        # The median's index and the weight of entries[:_at]: each change keeps the pair
        # true, then `_settle` walks the index to where the median is now.
        self._at = 0
        self._before = 0

    def add(self, entry: tuple[Decimal, str, int]) -> None:
        at = bisect.bisect_left(self.entries, entry)
        self.entries.insert(at, entry)
        self.total += entry[2]
        if at < self._at:  # it went in before the median, shifting it on: follow it
            self._at += 1
            self._before += entry[2]
        self._settle()

    def remove(self, entry: tuple[Decimal, str, int]) -> None:
        at = bisect.bisect_left(self.entries, entry)
        del self.entries[at]
        self.total -= entry[2]
        if at < self._at:  # it was before the median, which shifted back: follow it
            self._at -= 1
            self._before -= entry[2]
        # Otherwise entries[:_at] are unchanged (`_at` may be past the end now: `_settle`
        # walks back from there).
        self._settle()

    def median(self) -> Decimal:
        """The first point at which the cumulative weight reaches half the total."""
        if self.total == 0:  # as `lower_weighted_median`: the plain lower median
            return self.entries[(len(self.entries) - 1) // 2][0]
        return self.entries[self._at][0]

    def _settle(self) -> None:
        """Walk the median to the first index whose cumulative weight reaches half."""
        entries = self.entries
        if not entries:
            self._at = self._before = 0
            return
        # Back while the entries before it already reach half...
        while self._at > 0 and 2 * self._before >= self.total:
            self._at -= 1
            self._before -= entries[self._at][2]
        # ...then forward while they, with it, fall short.
        while 2 * (self._before + entries[self._at][2]) < self.total:
            self._before += entries[self._at][2]
            self._at += 1


class IncrementalEstimate:
    """The default (`weighted-median`, no `valid_at`) estimate of one metric."""

    def __init__(self, candidates: Candidates, reliability_of: ReliabilityOf = unrated) -> None:
        self.candidates = candidates
        self.reliability_of = reliability_of
        self.considered = 0  # claims of the metric
        self.winners: dict[str, ClaimAsKnown] = {}  # origin -> its latest eligible claim
        self.ratings: dict[str, Reliability] = {}  # each origin seen: its reliability
        # Origin -> its latest eligible claims (the winner and up to RUNNERS_UP before
        # it), oldest first, each with its recency: always the origin's true latest ones.
        self._ranked: dict[str, list[Ranked]] = {}
        self._partial: set[str] = set()  # origins with eligible claims beyond their list
        self.kept = 0  # claims kept in those lists, all origins together
        self._included: dict[str, Included] = {}  # origin -> its winner, if it counts now
        self._points = WeightedPoints()
        # The included lower and upper ends, sorted: equal ends are interchangeable, so
        # they are bare decimals (one comparison per step of a search, not two).
        self._lows: list[Decimal] = []
        self._highs: list[Decimal] = []
        self._confirmed = 0
        # How many included claims open below (above) end at each value: whether the
        # estimate's low (high) is open is one look-up.
        self._open_lows: dict[Decimal, int] = {}
        self._open_highs: dict[Decimal, int] = {}
        self._point: Point | None = None  # None once something included changed

    @property
    def weight(self) -> int:
        """What the estimate holds in memory, in units of about half a kilobyte: each
        origin seen (its rating, its place in the sorted points) and each kept claim."""
        return len(self.ratings) + self.kept

    @property
    def origins(self) -> set[str]:
        """Origins with a winner: those whose rating can move the estimate."""
        return set(self.winners)

    def put(self, claim: ClaimAsKnown, previous: ClaimAsKnown | None = None) -> None:
        """A claim was recorded (`previous` None) or changed from `previous`; the
        candidates already hold its new state."""
        if previous is None:  # the common case, kept short: a new claim, maybe the latest
            self.considered += 1
            if eligible(claim) and self._rank(claim):
                self._crown(claim.origin, claim)
            return
        self._unrank(previous)
        if eligible(claim):
            self._rank(claim)
        if previous.origin != claim.origin:
            self._settle(previous.origin)
        self._settle(claim.origin)

    def rate(self, origin: str, reliability: Reliability) -> None:
        """The origin's reliability changed."""
        self.ratings[origin] = reliability
        self._crown(origin, self.winners.get(origin))

    def _rank(self, claim: ClaimAsKnown) -> bool:
        """Place an eligible claim among its origin's latest, if it is one of them; True
        when it is the latest of all."""
        origin = claim.origin
        ranked = self._ranked.get(origin)
        if ranked is None:
            ranked = self._ranked[origin] = []
        entry = (claim.recency, claim.id, claim)
        if origin in self._partial and (not ranked or entry < ranked[0]):
            return False  # older than every kept one: claims not kept may come between
        if not ranked or entry > ranked[-1]:
            ranked.append(entry)
        else:
            bisect.insort(ranked, entry)
        if len(ranked) > 1 + RUNNERS_UP:
            del ranked[0]
            self._partial.add(origin)
        else:
            self.kept += 1
        return ranked[-1] is entry

    def _unrank(self, claim: ClaimAsKnown) -> None:
        """Take a claim's former state out of its origin's latest (the rest stay the
        latest of what remains)."""
        ranked = self._ranked.get(claim.origin, [])
        for i, (_, claim_id, _) in enumerate(ranked):
            if claim_id == claim.id:
                del ranked[i]
                self.kept -= 1
                return

    def _settle(self, origin: str) -> None:
        """Crown the origin's latest eligible claim, if it is not its winner already;
        only when its kept claims ran out are its claims asked for again."""
        ranked = self._ranked.get(origin)
        if not ranked and origin in self._partial:
            ranked = self._rank_anew(origin)
        winner = ranked[-1][2] if ranked else None
        if self.winners.get(origin) is not winner:
            self._crown(origin, winner)

    def _rank_anew(self, origin: str) -> list[Ranked]:
        found = sorted(
            (c.recency, c.id, c)
            for c in self.candidates(origin)
            if c.origin == origin and eligible(c)
        )
        ranked = found[-(1 + RUNNERS_UP) :]
        self.kept += len(ranked) - len(self._ranked.get(origin, ()))
        self._ranked[origin] = ranked
        if len(found) > len(ranked):
            self._partial.add(origin)
        else:
            self._partial.discard(origin)
        return ranked

    def _crown(self, origin: str, winner: ClaimAsKnown | None) -> None:
        """Make `winner` the origin's winner, included unless the origin is rated E."""
        if self.winners.pop(origin, None) is not None:
            standing = self._included.pop(origin, None)
            if standing is not None:
                self._exclude(standing)
        if winner is None:
            return
        self.winners[origin] = winner
        if origin not in self.ratings:
            self.ratings[origin] = self.reliability_of(origin)
        reliability = self.ratings[origin]
        if reliability is not Reliability.E:
            standing = included(winner, WEIGHTS[reliability, winner.credibility])
            self._include(standing)
            self._included[origin] = standing

    def point(self) -> Point:
        """(low, best, high, included) of `summary()`, without building it: what a
        timeline point holds, cheap enough to compare after every change (the same
        tuple until something included changes)."""
        if self._point is None:
            self._point = self._computed_point()
        return self._point

    def _computed_point(self) -> Point:
        if not self._points.entries:
            return NOTHING_INCLUDED
        return (
            self._lows[0],
            self._points.median(),
            self._highs[-1],
            len(self._points.entries),
        )

    def summary(self) -> Estimate:
        """The estimate now, without explanation lines (a projection keeps no explanation)."""
        low, best, high, count = self.point()
        if not count:
            return Estimate(
                DEFAULT_METHOD, None, None, None, self.considered, 0, 0, Evidence.NONE, ()
            )
        smallest, largest = self._points.entries[0][0], self._points.entries[-1][0]
        if self._confirmed:
            evidence = Evidence.CONFIRMED
        elif count >= 2 and largest > 2 * smallest:
            evidence = Evidence.CONTESTED
        elif count >= 2:
            evidence = Evidence.FAIR
        else:
            evidence = Evidence.WEAK
        assert low is not None and high is not None  # something is included
        return Estimate(
            DEFAULT_METHOD,
            low,
            best,
            high,
            self.considered,
            count,
            count,
            evidence,
            (),
            low_open=self._open_lows.get(low, 0) > 0,
            high_open=self._open_highs.get(high, 0) > 0,
        )

    def _include(self, standing: Included) -> None:
        self._points.add(standing.point)
        bisect.insort(self._lows, standing.low)
        bisect.insort(self._highs, standing.high)
        self._confirmed += standing.confirmed
        if standing.open_below:
            self._open_lows[standing.low] = self._open_lows.get(standing.low, 0) + 1
        if standing.open_above:
            self._open_highs[standing.high] = self._open_highs.get(standing.high, 0) + 1
        self._point = None

    def _exclude(self, standing: Included) -> None:
        self._points.remove(standing.point)
        del self._lows[bisect.bisect_left(self._lows, standing.low)]
        del self._highs[bisect.bisect_left(self._highs, standing.high)]
        self._confirmed -= standing.confirmed
        if standing.open_below:
            uncount(self._open_lows, standing.low)
        if standing.open_above:
            uncount(self._open_highs, standing.high)
        self._point = None


def uncount(counts: dict[Decimal, int], value: Decimal) -> None:
    left = counts[value] - 1
    if left:
        counts[value] = left
    else:
        del counts[value]
