"""Derived figures and consistency checks over relations (§9): pure functions of the
metrics' estimates as known at one moment.

A metric enters as its `Figure`: the estimate's low, best and high, with an end open
where the claims leave it open. Its *range* is [low, high] with open ends unbounded; its
*best range* is the single best value, widened to the open end when best sits on it
("more than 10,000" is best 10,000, and any value above it agrees with that best).

A relation is checked through one metric of it (the total, the share, the greater): what
the others imply for it is derived and compared with what was reported for it.
- `inconsistent`: the range derived from the others' ranges misses its range;
- `tension`: the ranges meet, but what the best values imply misses its best range;
- `consistent`: both meet;
- `not_evaluable`: a metric has no estimate, or a divisor's range holds zero.
Derived figures sit beside a metric's estimate; they never move it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from domain.intervals import (
    HUNDRED,
    Bounds,
    NotEvaluable,
    at_least_zero,
    difference,
    nearest,
    outward,
    product,
    quantum_of,
    quotient,
    scaled,
    total,
)
from domain.relations import AtMostTerms, ShareTerms, SumTerms, Terms

ONE_HUNDREDTH = Decimal("0.01")


class CheckStatus(StrEnum):
    CONSISTENT = "consistent"
    TENSION = "tension"
    INCONSISTENT = "inconsistent"
    NOT_EVALUABLE = "not_evaluable"


@dataclass(frozen=True)
class Figure:
    """A metric's estimate as relations see it."""

    best: Decimal
    low: Decimal
    high: Decimal
    low_open: bool = False
    high_open: bool = False

    @property
    def range(self) -> Bounds:
        return Bounds(None if self.low_open else self.low, None if self.high_open else self.high)

    @property
    def best_range(self) -> Bounds:
        low = None if self.low_open and self.low == self.best else self.best
        high = None if self.high_open and self.high == self.best else self.best
        return Bounds(low, high)


@dataclass(frozen=True)
class Derived:
    """A metric as a relation computes it from the other metrics' estimates."""

    metric: str
    best: Decimal | None
    low: Decimal | None
    high: Decimal | None
    inputs: tuple[str, ...]


@dataclass(frozen=True)
class Check:
    status: CheckStatus
    message: str


def implied(terms: Terms, target: str, ranges: Mapping[str, Bounds]) -> Bounds:
    """What the other metrics' ranges imply for `target`, exactly (not rounded)."""
    if isinstance(terms, SumTerms):
        return implied_by_sum(terms, target, ranges)
    if isinstance(terms, ShareTerms):
        return implied_by_share(terms, target, ranges)
    return implied_by_order(terms, target, ranges)


def implied_by_sum(terms: SumTerms, target: str, ranges: Mapping[str, Bounds]) -> Bounds:
    if target == terms.total:
        parts = total(ranges[p] for p in terms.parts)
        return parts if terms.exhaustive else Bounds(parts.low, None)
    others = list(terms.parts)
    others.remove(target)
    rest = difference(ranges[terms.total], total(ranges[p] for p in others))
    return at_least_zero(rest if terms.exhaustive else Bounds(None, rest.high))


def implied_by_share(terms: ShareTerms, target: str, ranges: Mapping[str, Bounds]) -> Bounds:
    if target == terms.share:
        return scaled(quotient(ranges[terms.part], ranges[terms.whole]), HUNDRED)
    if target == terms.whole:
        return quotient(scaled(ranges[terms.part], HUNDRED), ranges[terms.share])
    return scaled(product(ranges[terms.share], ranges[terms.whole]), ONE_HUNDREDTH)


def implied_by_order(terms: AtMostTerms, target: str, ranges: Mapping[str, Bounds]) -> Bounds:
    if target == terms.greater:
        return Bounds(ranges[terms.lesser].low, None)
    return Bounds(None, ranges[terms.greater].high)


def derive(terms: Terms, target: str, figures: Mapping[str, Figure], unit: str) -> Derived | None:
    """`target` as the relation computes it from the others' estimates, rounded outward to
    its unit (best half-even); None when an input has no estimate or a divisor holds 0."""
    inputs = tuple(m for m in terms.metrics if m != target)
    if any(m not in figures for m in inputs):
        return None
    try:
        exact = implied(terms, target, {m: figures[m].range for m in inputs})
        from_best = implied(terms, target, {m: Bounds.point(figures[m].best) for m in inputs})
    except NotEvaluable:
        return None
    quantum = quantum_of(unit)
    rounded = outward(exact, quantum)
    best = representative(from_best)
    return Derived(
        metric=target,
        best=None if best is None else nearest(best, quantum),
        low=rounded.low,
        high=rounded.high,
        inputs=inputs,
    )


def representative(implied_by_best: Bounds) -> Decimal | None:
    """The one value the best inputs imply: the point, or the bound an inequality gives."""
    if implied_by_best.low is not None and implied_by_best.high is not None:
        if implied_by_best.low == implied_by_best.high:
            return implied_by_best.low
        return (implied_by_best.low + implied_by_best.high) / 2
    return implied_by_best.low if implied_by_best.low is not None else implied_by_best.high


def checked_metric(terms: Terms) -> str:
    """The metric a relation is checked through."""
    if isinstance(terms, SumTerms):
        return terms.total
    if isinstance(terms, ShareTerms):
        return terms.share
    return terms.greater


def check(terms: Terms, figures: Mapping[str, Figure], unit_of: Callable[[str], str]) -> Check:
    """The relation's status given every metric's estimate (§9 Checks): checked through
    each of its metrics in turn (its checked metric first), the worst status found, so a
    derived figure that misses its metric's reported range always shows in the check."""
    missing = [m for m in terms.metrics if m not in figures]
    if missing:
        return Check(CheckStatus.NOT_EVALUABLE, f"no estimate for {', '.join(missing)}")
    first = checked_metric(terms)
    order = [first, *(m for m in terms.metrics if m != first)]
    results = [check_through(terms, m, figures, unit_of(m)) for m in order]
    return max(results, key=lambda r: SEVERITY[r.status])  # max keeps the first of a tie


# How bad a status is: the check of a relation is its worst status through any metric.
SEVERITY = {
    CheckStatus.NOT_EVALUABLE: 0,
    CheckStatus.CONSISTENT: 1,
    CheckStatus.TENSION: 2,
    CheckStatus.INCONSISTENT: 3,
}


def check_through(terms: Terms, target: str, figures: Mapping[str, Figure], unit: str) -> Check:
    """`target`'s reported estimate against what the other metrics imply for it; every
    metric of the relation must have a figure."""
    inputs = [m for m in terms.metrics if m != target]
    quantum = quantum_of(unit)
    try:
        from_ranges = outward(
            implied(terms, target, {m: figures[m].range for m in inputs}), quantum
        )
        from_best = outward(
            implied(terms, target, {m: figures[m].best_range for m in inputs}), quantum
        )
    except NotEvaluable as error:
        return Check(CheckStatus.NOT_EVALUABLE, f"{target}: {error}")
    reported = figures[target]
    if not from_ranges.meets(reported.range):
        return Check(
            CheckStatus.INCONSISTENT,
            f"{target}: reported {describe(reported.range)}, the others imply "
            f"{describe(from_ranges)}; no values in their ranges agree",
        )
    if not from_best.meets(reported.best_range):
        return Check(
            CheckStatus.TENSION,
            f"{target}: best {describe(reported.best_range)}, the others' best values imply "
            f"{describe(from_best)}; their ranges still agree",
        )
    return Check(
        CheckStatus.CONSISTENT,
        f"{target}: reported {describe(reported.best_range)}, the others imply "
        f"{describe(from_best)}",
    )


def describe(bounds: Bounds) -> str:
    """A range in words: "4000", "at least 3002", "at most 40", "300 to 1000"."""
    low = None if bounds.low is None else plain(bounds.low)
    high = None if bounds.high is None else plain(bounds.high)
    if low is not None and low == high:
        return low
    if low is None and high is None:
        return "any value"
    if high is None:
        return f"at least {low}"
    if low is None:
        return f"at most {high}"
    return f"{low} to {high}"


def plain(value: Decimal) -> str:
    return format(value.normalize(), "f")
