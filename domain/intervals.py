"""Interval arithmetic on Decimal for related figures (§9).

A figure enters arithmetic as `Bounds`: its low and high ends, `None` where the end is
open (unbounded). An operation on an open end gives an open end: nothing is invented.
Division by bounds that hold zero has no answer (`NotEvaluable`). Results are exact
Decimals; `outward` rounds them to a unit's quantum only at the end, low down and high
up, so the rounded bounds always hold the exact ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal

from domain.values import PERCENT_UNIT

# Enough digits that sums and products of reported values never round; a quotient that
# cannot be exact is rounded away from the inside (low down, high up), so the bounds
# still hold every exact result.
EXACT = Context(prec=60)
DOWN = Context(prec=60, rounding=ROUND_FLOOR)
UP = Context(prec=60, rounding=ROUND_CEILING)
HUNDRED = Decimal(100)
PEOPLE_QUANTUM = Decimal(1)
PERCENT_QUANTUM = Decimal("0.01")


class NotEvaluable(Exception):
    """The arithmetic has no answer (a divisor's bounds hold zero)."""


@dataclass(frozen=True)
class Bounds:
    """A closed interval whose ends may be open (`None`: unbounded on that side)."""

    low: Decimal | None
    high: Decimal | None

    @staticmethod
    def point(value: Decimal) -> Bounds:
        return Bounds(value, value)

    def holds(self, value: Decimal) -> bool:
        return (self.low is None or self.low <= value) and (self.high is None or value <= self.high)

    def meets(self, other: Bounds) -> bool:
        """Whether some value lies in both."""
        low = maximum(self.low, other.low)
        high = minimum(self.high, other.high)
        return low is None or high is None or low <= high

    def holds_zero(self) -> bool:
        return self.holds(Decimal(0))


def maximum(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """The larger of two lower ends, where None is unbounded below."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def minimum(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """The smaller of two upper ends, where None is unbounded above."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def add_ends(ends: Iterable[Decimal | None]) -> Decimal | None:
    total = Decimal(0)
    for end in ends:
        if end is None:
            return None
        total = EXACT.add(total, end)
    return total


def total(terms: Iterable[Bounds]) -> Bounds:
    """Σ: [Σ low, Σ high]."""
    listed = list(terms)
    return Bounds(add_ends(t.low for t in listed), add_ends(t.high for t in listed))


def difference(a: Bounds, b: Bounds) -> Bounds:
    """a − b: [a.low − b.high, a.high − b.low]."""
    low = None if a.low is None or b.high is None else EXACT.subtract(a.low, b.high)
    high = None if a.high is None or b.low is None else EXACT.subtract(a.high, b.low)
    return Bounds(low, high)


def product(a: Bounds, b: Bounds) -> Bounds:
    """a × b for non-negative bounds: [a.low × b.low, a.high × b.high]."""
    low = None if a.low is None or b.low is None else EXACT.multiply(a.low, b.low)
    high = None if a.high is None or b.high is None else EXACT.multiply(a.high, b.high)
    return Bounds(low, high)


def quotient(a: Bounds, b: Bounds) -> Bounds:
    """a ÷ b for non-negative bounds: [a.low ÷ b.high, a.high ÷ b.low]; b must not hold 0."""
    if b.holds_zero():
        raise NotEvaluable("a divisor's range includes zero")
    low = None if a.low is None or b.high is None else DOWN.divide(a.low, b.high)
    high = None if a.high is None or b.low is None else UP.divide(a.high, b.low)
    return Bounds(low, high)


def scaled(a: Bounds, factor: Decimal) -> Bounds:
    """a × factor, for a positive factor."""
    low = None if a.low is None else EXACT.multiply(a.low, factor)
    high = None if a.high is None else EXACT.multiply(a.high, factor)
    return Bounds(low, high)


def at_least_zero(a: Bounds) -> Bounds:
    """Every reported value is non-negative (§2), so a derived low below zero says 0."""
    if a.low is not None and a.low < 0:
        return Bounds(Decimal(0), a.high)
    return a


def quantum_of(unit: str) -> Decimal:
    """The step a unit's derived figures are rounded to: whole units, percent to 0.01."""
    return PERCENT_QUANTUM if unit == PERCENT_UNIT else PEOPLE_QUANTUM


def outward(a: Bounds, quantum: Decimal) -> Bounds:
    """Round low down and high up to the quantum: the result holds the exact bounds."""
    low = None if a.low is None else a.low.quantize(quantum, rounding=ROUND_FLOOR, context=EXACT)
    high = (
        None if a.high is None else a.high.quantize(quantum, rounding=ROUND_CEILING, context=EXACT)
    )
    return Bounds(low, high)


def nearest(value: Decimal, quantum: Decimal) -> Decimal:
    """A best value rounded half-even to the quantum."""
    return value.quantize(quantum, rounding=ROUND_HALF_EVEN, context=EXACT)
