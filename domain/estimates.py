"""Estimate methods (§4): pure functions of the claims and ratings as known at a moment.

Every method shares steps 1–4 (candidates, drops, supersession, weights) and differs
only in how it picks `best` from the included claims, so a new method is one function
added to `METHODS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from domain.values import (
    OPEN_ABOVE,
    OPEN_BELOW,
    ClaimStatus,
    Credibility,
    Interval,
    Qualifier,
    Reliability,
    normalise,
)

RELIABILITY_WEIGHT: Mapping[Reliability, Decimal] = {
    Reliability.A: Decimal("1.0"),
    Reliability.B: Decimal("0.8"),
    Reliability.C: Decimal("0.6"),
    Reliability.D: Decimal("0.4"),
    Reliability.E: Decimal("0"),
    Reliability.F: Decimal("0.5"),
}
CREDIBILITY_WEIGHT: Mapping[int, Decimal] = {
    1: Decimal("1.0"),
    2: Decimal("0.8"),
    3: Decimal("0.6"),
    4: Decimal("0.4"),
    5: Decimal("0"),
    6: Decimal("0.5"),
}


class LineStatus(StrEnum):
    INCLUDED = "included"
    SUPERSEDED = "superseded"
    RETRACTED = "retracted"
    EXCLUDED = "excluded"


class Evidence(StrEnum):
    NONE = "none"
    CONFIRMED = "confirmed"
    CONTESTED = "contested"
    FAIR = "fair"
    WEAK = "weak"


class ClaimAsKnown(NamedTuple):
    """A claim's state at the query's knowledge cut-off: what the methods see.

    A named tuple rather than a frozen dataclass: as immutable, but the projection
    builds one or two per event applied, and a frozen dataclass's `__init__` (one
    `object.__setattr__` per field) costs several times as much (decision 0009). A
    changed copy is `claim._replace(field=...)`."""

    id: str
    origin: str
    value: Decimal
    qualifier: Qualifier
    value_high: Decimal | None
    as_of: date
    published_at: date | None
    position: int
    status: ClaimStatus = ClaimStatus.ACTIVE
    credibility: int = Credibility.CANNOT_BE_JUDGED

    @property
    def interval(self) -> Interval:
        return normalise(self.value, self.qualifier, self.value_high)

    @property
    def recency(self) -> tuple[date, date, int]:
        """Supersession order: latest as_of, then published_at, then position."""
        return (self.as_of, self.published_at or date.min, self.position)


@dataclass(frozen=True)
class ExplanationLine:
    """One claim's line. The value as said comes from the claim the method saw; the
    reporter and a retraction's own reason are not part of `ClaimAsKnown` (kept light for
    the projection, decision 0009), so a reader fills them in for a page's lines alone
    (`domain.explanation.with_said`)."""

    claim: str
    origin: str
    point: Decimal
    weight: Decimal | None
    status: LineStatus
    reason: str
    value: Decimal
    qualifier: Qualifier
    value_high: Decimal | None
    as_of: date
    reported_by: str | None = None
    retraction_reason: str | None = None


@dataclass(frozen=True)
class Estimate:
    method: str
    low: Decimal | None
    best: Decimal | None
    high: Decimal | None
    considered: int
    included: int
    independent_origins: int
    evidence: Evidence
    explanation: tuple[ExplanationLine, ...]
    # An end the included claims leave open: the claim giving `high` is open above
    # ("more than 9,000"), or the one giving `low` open below. A tie at the end between
    # an open and a closed claim is open (decision 0018).
    low_open: bool = False
    high_open: bool = False


@dataclass(frozen=True)
class Weighted:
    claim: ClaimAsKnown
    weight: Decimal


def weight_of(claim: ClaimAsKnown, reliability: Reliability) -> Decimal:
    return RELIABILITY_WEIGHT[reliability] * CREDIBILITY_WEIGHT[claim.credibility]


def select(
    claims: Sequence[ClaimAsKnown],
    ratings: Mapping[str, Reliability],
    valid_at: date | None,
) -> tuple[int, list[Weighted], list[ExplanationLine]]:
    """Steps 1–4: (considered, included with weights, one line per candidate)."""
    candidates = [c for c in claims if valid_at is None or c.as_of <= valid_at]
    lines: list[ExplanationLine] = []
    kept: list[ClaimAsKnown] = []
    for claim in candidates:
        dropped = dropped_line(claim, ratings.get(claim.origin, Reliability.F))
        if dropped is not None:
            lines.append(dropped)
        else:
            kept.append(claim)
    latest: dict[str, ClaimAsKnown] = {}
    for claim in kept:
        current = latest.get(claim.origin)
        if current is None or claim.recency > current.recency:
            latest[claim.origin] = claim
    included: list[Weighted] = []
    for claim in kept:
        winner = latest[claim.origin]
        if winner is not claim:
            lines.append(superseded_line(claim, winner))
            continue
        weight = weight_of(claim, ratings.get(claim.origin, Reliability.F))
        included.append(Weighted(claim, weight))
        reason = f"latest claim of origin {claim.origin}; weight {weight.normalize()}"
        lines.append(line(claim, weight, LineStatus.INCLUDED, reason))
    lines.sort(key=explanation_order)
    return len(candidates), included, lines


def dropped_line(claim: ClaimAsKnown, reliability: Reliability) -> ExplanationLine | None:
    """Step 2: the line of a claim dropped before supersession, None for one kept."""
    if claim.status == ClaimStatus.RETRACTED:
        return line(claim, None, LineStatus.RETRACTED, "retracted by its source")
    if claim.credibility == Credibility.IMPROBABLE:
        return line(claim, None, LineStatus.EXCLUDED, "assessed 5 (improbable)")
    if reliability is Reliability.E:
        reason = f"origin {claim.origin} is rated E (unreliable)"
        return line(claim, None, LineStatus.EXCLUDED, reason)
    return None


def superseded_line(claim: ClaimAsKnown, winner: ClaimAsKnown) -> ExplanationLine:
    """Step 3: the line of a kept claim that its origin's latest claim replaces."""
    reason = f"superseded by claim {winner.id} from the same origin {claim.origin}"
    return line(claim, None, LineStatus.SUPERSEDED, reason)


LineKey = tuple[bool, Decimal, str]


def explanation_order(entry: ExplanationLine) -> LineKey:
    """The explanation's order: included lines first, then the rest, each by point, then
    by claim id (unique, so the order is total and a page can start after any line)."""
    return (entry.status != LineStatus.INCLUDED, entry.point, entry.claim)


def line(
    claim: ClaimAsKnown, weight: Decimal | None, status: LineStatus, reason: str
) -> ExplanationLine:
    return ExplanationLine(
        claim.id,
        claim.origin,
        claim.interval.point,
        weight,
        status,
        reason,
        claim.value,
        claim.qualifier,
        claim.value_high,
        claim.as_of,
    )


def bounds(included: Sequence[Weighted]) -> tuple[Decimal | None, Decimal | None]:
    """low: smallest lower end (point if open below); high: largest upper end."""
    if not included:
        return None, None
    lows = [w.claim.interval.low for w in included]
    highs = [w.claim.interval.high for w in included]
    points = [w.claim.interval.point for w in included]
    low = min(p if lo is None else lo for lo, p in zip(lows, points, strict=True))
    high = max(p if hi is None else hi for hi, p in zip(highs, points, strict=True))
    return low, high


def open_ends(
    included: Sequence[Weighted], low: Decimal | None, high: Decimal | None
) -> tuple[bool, bool]:
    """(low_open, high_open): whether a claim giving `low` is open below, or one giving
    `high` open above. With an open and a closed claim at the same end, the end is open:
    one included source says the figure lies beyond it (decision 0018)."""
    low_open = any(w.claim.qualifier in OPEN_BELOW and w.claim.value == low for w in included)
    high_open = any(w.claim.qualifier in OPEN_ABOVE and w.claim.value == high for w in included)
    return low_open, high_open


def evidence_of(included: Sequence[Weighted]) -> Evidence:
    if not included:
        return Evidence.NONE
    if any(w.claim.credibility == Credibility.CONFIRMED for w in included):
        return Evidence.CONFIRMED
    origins = {w.claim.origin for w in included}
    points = [w.claim.interval.point for w in included]
    if len(origins) >= 2 and max(points) > 2 * min(points):
        return Evidence.CONTESTED
    if len(origins) >= 2:
        return Evidence.FAIR
    return Evidence.WEAK


def lower_weighted_median(included: Sequence[Weighted]) -> Decimal:
    """The first point, in ascending order, at which cumulative weight reaches half."""
    ordered = sorted(included, key=lambda w: w.claim.interval.point)
    total = sum((w.weight for w in ordered), Decimal(0))
    if total == 0:
        # Every weight can be zero only in theory (no such grades today); fall back
        # to the plain lower median so `best` is still a reported figure.
        return ordered[(len(ordered) - 1) // 2].claim.interval.point
    half = total / 2
    running = Decimal(0)
    for entry in ordered:
        running += entry.weight
        if running >= half:
            return entry.claim.interval.point
    return ordered[-1].claim.interval.point


def most_reliable_latest_point(included: Sequence[Weighted]) -> Decimal:
    """The included claim with the highest weight; ties go to the latest as_of, then position."""
    chosen = max(included, key=lambda w: (w.weight, w.claim.as_of, w.claim.position))
    return chosen.claim.interval.point


def build(
    method: str,
    pick: Callable[[Sequence[Weighted]], Decimal],
    claims: Sequence[ClaimAsKnown],
    ratings: Mapping[str, Reliability],
    valid_at: date | None,
) -> Estimate:
    considered, included, lines = select(claims, ratings, valid_at)
    low, high = bounds(included)
    best = pick(included) if included else None
    low_open, high_open = open_ends(included, low, high)
    return Estimate(
        method=method,
        low=low,
        best=best,
        high=high,
        considered=considered,
        included=len(included),
        independent_origins=len({w.claim.origin for w in included}),
        evidence=evidence_of(included),
        explanation=tuple(lines),
        low_open=low_open,
        high_open=high_open,
    )


def weighted_median(
    claims: Sequence[ClaimAsKnown],
    ratings: Mapping[str, Reliability],
    valid_at: date | None = None,
) -> Estimate:
    """§4 default: the lower weighted median of the included points."""
    return build("weighted-median", lower_weighted_median, claims, ratings, valid_at)


def most_reliable_latest(
    claims: Sequence[ClaimAsKnown],
    ratings: Mapping[str, Reliability],
    valid_at: date | None = None,
) -> Estimate:
    """§4 alternative: the single most trusted included claim."""
    return build("most-reliable-latest", most_reliable_latest_point, claims, ratings, valid_at)


EstimateMethod = Callable[
    [Sequence[ClaimAsKnown], Mapping[str, Reliability], date | None], Estimate
]
DEFAULT_METHOD = "weighted-median"
METHODS: Mapping[str, EstimateMethod] = {
    "weighted-median": weighted_median,
    "most-reliable-latest": most_reliable_latest,
}
