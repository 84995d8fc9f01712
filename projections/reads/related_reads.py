"""Derived figures and checks as known at a moment (§9), computed at query time from the
relations as known then (`relation_queries`) and the metrics' estimates as known then
(`estimate_pages`): a relation defined after the moment does not exist at it, and a claim
recorded after it does not count.

`checks_at` is the one answer to "the checks as known at a moment" (the checks route and
the diff use it). The current ones, with no moment, are kept by the projection instead
(`projections.writer.related_keeper`) and read from their views.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from domain.checks import Figure
from domain.estimates import DEFAULT_METHOD, Estimate
from domain.related import Related, RelationCheck, figure_of, metrics_of, related, relation_check
from domain.relations import Terms, terms_from
from projections.reads.estimate_pages import MetricClaims, estimate_page
from projections.reads.relation_queries import (
    NO_TIME_BOUND,
    live_relation_rows,
    relations_known_in,
)


class FiguresAt:
    """Metrics' estimates as known at one moment, each read once: `known_at` (RFC 3339 text)
    and `upto` (a position) bound what counts, None being no bound (both None: now)."""

    def __init__(
        self,
        c: Any,
        dialect: str,
        known_at: str | None,
        upto: int | None,
        valid_at: date | None = None,
        method: str = DEFAULT_METHOD,
    ) -> None:
        self.c, self.dialect = c, dialect
        # The claims' versions are read by time; a bound by position alone has no time bound.
        self.known_at = NO_TIME_BOUND if known_at is None and upto is not None else known_at
        self.upto, self.valid_at, self.method = upto, valid_at, method
        self.figures: dict[str, Figure | None] = {}
        self.units: dict[str, str] = {}

    def put(self, metric: str, estimate: Estimate) -> None:
        """An estimate the caller already has (the answer's own)."""
        self.figures[metric] = figure_of(estimate)

    def of(self, metrics: Iterable[str]) -> dict[str, Figure]:
        """The figures of those metrics that have one (an estimate with included claims)."""
        wanted = sorted(set(metrics))
        for metric in wanted:
            if metric not in self.figures:
                claims = MetricClaims(self.c, self.dialect, metric, self.known_at, self.upto)
                estimate, _ = estimate_page(claims, self.method, self.valid_at, 0, None)
                self.figures[metric] = figure_of(estimate)
        self.read_units(wanted)
        return {m: f for m in wanted if (f := self.figures[m]) is not None}

    def read_units(self, metrics: list[str]) -> None:
        unknown = [m for m in metrics if m not in self.units]
        if unknown:
            marks = ",".join("?" * len(unknown))
            rows = self.c.execute(f"SELECT id, unit FROM metrics WHERE id IN ({marks})", unknown)
            self.units.update({slug: unit for slug, unit in rows.fetchall()})

    def relations(self, metric: str | None = None) -> list[tuple[str, Terms]]:
        """The live relations as known at this moment (those touching `metric`, when given)."""
        return relations_known_in(self.c, self.known_at, self.upto, metric)


def related_at(figures: FiguresAt, metric: str, estimate: Estimate) -> Related:
    """What the relations as known at the moment say about `metric`, whose estimate then
    (by the same method, at the same valid_at) is `estimate`."""
    relations = figures.relations(metric)
    if not relations:
        return Related()
    figures.put(metric, estimate)
    known = figures.of(metrics_of(relations))
    return related(metric, relations, known, figures.units)


def checks_at(
    c: Any,
    dialect: str,
    known_at: str | None,
    upto: int | None,
    metric: str | None = None,
) -> list[RelationCheck]:
    """Every live relation's check as known at `known_at` and `upto` (None: no bound; both
    None: now, computed afresh), by relation; those touching `metric` only, when given."""
    figures = FiguresAt(c, dialect, known_at, upto)
    relations = figures.relations(metric)
    known = figures.of(metrics_of(relations))
    return [relation_check(slug, terms, known, figures.units) for slug, terms in relations]


def checks_after(
    c: Any,
    dialect: str,
    known_at: str,
    upto: int,
    metric: str | None,
    status: str | None,
    after: str,
    wanted: int,
) -> list[RelationCheck]:
    """Up to `wanted` checks as known at `known_at` and `upto` of the relations after
    `after`, by relation, with `status` only when given: relations are read and checked a
    chunk at a time, so a page costs what it shows (and what the filter passes over)."""
    figures = FiguresAt(c, dialect, known_at, upto)
    found: list[RelationCheck] = []
    while len(found) < wanted:
        rows = live_relation_rows(c, known_at, upto, metric, after, wanted)
        relations = [(row["id"], terms_from(row["kind"], row["terms"])) for row in rows]
        known = figures.of(metrics_of(relations))
        for slug, terms in relations:
            checked = relation_check(slug, terms, known, figures.units)
            if status is None or checked.status.value == status:
                found.append(checked)
        if len(rows) < wanted:
            break
        after = rows[-1]["id"]
    return found[:wanted]
