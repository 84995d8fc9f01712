"""What the relations say about a metric, as its estimate answers show it (§9): one
derived figure per relation touching it and one check per relation, each a pure function
of the relations and the metrics' estimates as known at one moment.

A derived figure always has an entry, so a reader sees every relation touching the metric:
its numbers are None and its status `not_evaluable` when an input has no estimate or a
divisor's range holds zero. Its status compares it with the metric's own reported
estimate (`not_evaluable` when the metric has none); a relation's check is the worst of
those comparisons over its metrics (`domain.checks.check`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from domain.checks import (
    CheckStatus,
    Figure,
    check,
    check_through,
    derive,
)
from domain.estimates import Estimate
from domain.relations import Terms

Figures = Mapping[str, Figure]


@dataclass(frozen=True)
class Shown:
    """A metric's figure as a derived figure or a check shows it: open ends are None."""

    metric: str
    best: Decimal | None
    low: Decimal | None
    high: Decimal | None


@dataclass(frozen=True)
class DerivedFigure:
    relation: str
    status: CheckStatus
    best: Decimal | None
    low: Decimal | None
    high: Decimal | None
    inputs: tuple[Shown, ...]
    message: str


@dataclass(frozen=True)
class RelationCheck:
    relation: str
    kind: str
    status: CheckStatus
    metrics: tuple[Shown, ...]
    message: str


@dataclass(frozen=True)
class Related:
    """A metric's derived figures and the checks of the relations that touch it."""

    derived: tuple[DerivedFigure, ...] = ()
    checks: tuple[RelationCheck, ...] = ()


NOTHING = Related()


def figure_of(estimate: Estimate) -> Figure | None:
    """The estimate as relations see it; None when no claim is included."""
    if estimate.best is None or estimate.low is None or estimate.high is None:
        return None
    return Figure(
        best=estimate.best,
        low=estimate.low,
        high=estimate.high,
        low_open=estimate.low_open,
        high_open=estimate.high_open,
    )


def shown(metric: str, figure: Figure | None) -> Shown:
    if figure is None:
        return Shown(metric, None, None, None)
    bounds = figure.range
    return Shown(metric, figure.best, bounds.low, bounds.high)


def derived_figure(
    relation: str, terms: Terms, metric: str, figures: Figures, units: Mapping[str, str]
) -> DerivedFigure:
    """`metric` as `relation` computes it from the other metrics' figures."""
    inputs = tuple(shown(m, figures.get(m)) for m in terms.metrics if m != metric)
    missing = [i.metric for i in inputs if i.metric not in figures]
    if missing:
        message = f"no estimate for {', '.join(missing)}"
        return DerivedFigure(relation, CheckStatus.NOT_EVALUABLE, None, None, None, inputs, message)
    # A metric with no unit is not defined (only a damaged log ties one): whole units.
    unit = units.get(metric, "")
    result = derive(terms, metric, figures, unit)
    if result is None:
        message = "a divisor's range includes zero"
        return DerivedFigure(relation, CheckStatus.NOT_EVALUABLE, None, None, None, inputs, message)
    if metric not in figures:
        status, message = CheckStatus.NOT_EVALUABLE, f"no estimate of {metric} to compare with"
    else:
        compared = check_through(terms, metric, figures, unit)
        status, message = compared.status, compared.message
    return DerivedFigure(relation, status, result.best, result.low, result.high, inputs, message)


def relation_check(
    relation: str, terms: Terms, figures: Figures, units: Mapping[str, str]
) -> RelationCheck:
    """The relation's check with every metric's figure as it entered."""
    result = check(terms, figures, units.__getitem__)
    metrics = tuple(shown(m, figures.get(m)) for m in terms.metrics)
    return RelationCheck(relation, terms.kind.value, result.status, metrics, result.message)


def related(
    metric: str,
    relations: Iterable[tuple[str, Terms]],
    figures: Figures,
    units: Mapping[str, str],
) -> Related:
    """What the relations touching `metric` (others are skipped) say about it, by relation."""
    touching = sorted(
        ((slug, t) for slug, t in relations if metric in t.metrics), key=lambda r: r[0]
    )
    return Related(
        derived=tuple(derived_figure(s, t, metric, figures, units) for s, t in touching),
        checks=tuple(relation_check(s, t, figures, units) for s, t in touching),
    )


def metrics_of(relations: Iterable[tuple[str, Terms]]) -> set[str]:
    """Every metric the relations tie: the estimates they need."""
    return {m for _, terms in relations for m in terms.metrics}
