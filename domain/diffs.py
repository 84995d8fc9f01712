"""Explained diffs (§9): what one event did to a metric's estimate, and how to say it.

An effect is the difference of the default estimate's best, low and high just after an
event and just before it. A metric with no estimate (nothing included) counts as 0 in
that difference (decision 0020), so the effects of the events between two moments
always add up to the change between them, also when the estimate appears or vanishes
on the way; the figures after each event say which of those it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from domain.estimates import Estimate

CREDIBILITY_LABELS = {
    1: "confirmed",
    2: "probably true",
    3: "possibly true",
    4: "doubtful",
    5: "improbable",
    6: "cannot be judged",
}
ZERO = Decimal(0)


@dataclass(frozen=True)
class Figures:
    """An estimate's best, low and high; all None when it has none."""

    best: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None
    # Whether the claim that gives low (high) is open below (above): said, not hidden.
    low_open: bool = False
    high_open: bool = False

    @classmethod
    def of(cls, estimate: Estimate) -> Figures:
        return cls(
            estimate.best, estimate.low, estimate.high, estimate.low_open, estimate.high_open
        )

    def values(self) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
        return self.best, self.low, self.high


NONE = Figures()


@dataclass(frozen=True)
class Effect:
    """What one event (or a run of them) did to best, low and high."""

    best: Decimal
    low: Decimal
    high: Decimal


def _or_zero(value: Decimal | None) -> Decimal:
    return ZERO if value is None else value


def effect(before: Figures, after: Figures) -> Effect:
    """after − before, figure by figure, no estimate counting as 0."""
    best, low, high = (
        _or_zero(a) - _or_zero(b) for a, b in zip(after.values(), before.values(), strict=True)
    )
    return Effect(best, low, high)


def total(effects: Iterable[Effect]) -> Effect:
    """The sum of effects: what they add up to."""
    best = low = high = ZERO
    for each in effects:
        best, low, high = best + each.best, low + each.low, high + each.high
    return Effect(best, low, high)


def reason_phrase(event_type: str, data: Mapping[str, Any]) -> str:
    """The fixed phrase that says what an event did, whatever its author wrote."""
    if event_type == "Claim.Assessed":
        credibility = int(data["credibility"])
        label = CREDIBILITY_LABELS.get(credibility, "unknown grade")
        return f"claim assessed {credibility} ({label})"
    if event_type == "Source.Rated":
        return f"source rated {data['reliability']}"
    if event_type == "Source.Registered":
        return "source registered"
    aggregate, _, happened = event_type.partition(".")
    if not happened:
        return event_type.lower()
    # Claim.Recorded -> "claim recorded", Claim.Retracted -> "claim retracted", and so on.
    return f"{aggregate.lower()} {happened.lower()}"


def event_reason(event_type: str, data: Mapping[str, Any]) -> str | None:
    """The event's own words: its `reason`, or an assessment's `note`."""
    reason = data.get("reason")
    if reason is None and event_type == "Claim.Assessed":
        reason = data.get("note")
    return None if reason is None else str(reason)
