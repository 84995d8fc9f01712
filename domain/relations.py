"""The Relation aggregate: how figures hang on each other (§9).

A relation's terms name metrics only; no formula text is ever parsed or evaluated. Each
kind says which metric rests on which (`edges`), so a chain of relations that makes a
metric rest on itself can be refused before it is recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition, ValidationFailed
from domain.values import PERCENT_UNIT, slug_problem

RELATION_NAMESPACE = uuid5(NAMESPACE_URL, "https://claimledger.example/relations/")
MAX_PARTS = 50


class RelationKind(StrEnum):
    SUM = "sum"
    SHARE = "share"
    AT_MOST = "at_most"


@dataclass(frozen=True)
class SumTerms:
    """total = Σ parts (exhaustive), or total ≥ Σ parts."""

    total: str
    parts: tuple[str, ...]
    exhaustive: bool

    kind = RelationKind.SUM

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.total, *self.parts)

    def edges(self) -> list[tuple[str, str]]:
        return [(self.total, part) for part in self.parts]

    def as_data(self) -> dict[str, Any]:
        return {"total": self.total, "parts": list(self.parts), "exhaustive": self.exhaustive}


@dataclass(frozen=True)
class ShareTerms:
    """share (percent) = 100 × part ÷ whole."""

    share: str
    part: str
    whole: str

    kind = RelationKind.SHARE

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.share, self.part, self.whole)

    def edges(self) -> list[tuple[str, str]]:
        return [(self.share, self.part), (self.share, self.whole)]

    def as_data(self) -> dict[str, Any]:
        return {"share": self.share, "part": self.part, "whole": self.whole}


@dataclass(frozen=True)
class AtMostTerms:
    """lesser ≤ greater."""

    lesser: str
    greater: str

    kind = RelationKind.AT_MOST

    @property
    def metrics(self) -> tuple[str, ...]:
        return (self.lesser, self.greater)

    def edges(self) -> list[tuple[str, str]]:
        return [(self.greater, self.lesser)]

    def as_data(self) -> dict[str, Any]:
        return {"lesser": self.lesser, "greater": self.greater}


Terms = SumTerms | ShareTerms | AtMostTerms
FIELDS: Mapping[RelationKind, tuple[str, ...]] = {
    RelationKind.SUM: ("total", "parts", "exhaustive"),
    RelationKind.SHARE: ("share", "part", "whole"),
    RelationKind.AT_MOST: ("lesser", "greater"),
}


def relation_stream(slug: str) -> UUID:
    """One slug is always one stream."""
    return uuid5(RELATION_NAMESPACE, slug)


def terms_from(kind: str, fields: Mapping[str, Any]) -> Terms:
    """A relation's terms from its kind and fields; a malformed shape is ValidationFailed."""
    try:
        known = RelationKind(kind)
    except ValueError:
        raise ValidationFailed([("kind", "must be one of sum, share, at_most")]) from None
    problems = [
        (name, "is required")
        for name in FIELDS[known]
        if name != "exhaustive" and name not in fields
    ]
    problems += [
        (name, "is not a field of this kind") for name in fields if name not in FIELDS[known]
    ]
    if problems:
        raise ValidationFailed(problems)
    names = [n for n in FIELDS[known] if n not in ("parts", "exhaustive")]
    for name in names:
        problems += [(name, p) for p in [slug_problem(fields[name])] if p]
    if known is RelationKind.SUM:
        parts = fields["parts"]
        if not isinstance(parts, list | tuple) or not parts:
            problems.append(("parts", "must be a non-empty list of metric ids"))
        elif len(parts) > MAX_PARTS:
            problems.append(("parts", f"must have at most {MAX_PARTS} metrics"))
        else:
            problems += [
                (f"parts.{i}", p) for i, s in enumerate(parts) for p in [slug_problem(s)] if p
            ]
        exhaustive = fields.get("exhaustive", False)
        if not isinstance(exhaustive, bool):
            problems.append(("exhaustive", "must be true or false"))
    if problems:
        raise ValidationFailed(problems)
    if known is RelationKind.SUM:
        return SumTerms(fields["total"], tuple(fields["parts"]), fields.get("exhaustive", False))
    if known is RelationKind.SHARE:
        return ShareTerms(fields["share"], fields["part"], fields["whole"])
    return AtMostTerms(fields["lesser"], fields["greater"])


def relation_problems(
    terms: Terms, units: Mapping[str, str | None], others: Iterable[Terms]
) -> list[tuple[str, str]]:
    """Why these terms cannot be recorded beside the other live relations: a metric that
    does not exist (its unit is None), units that do not fit, or a metric that would rest
    on itself through a chain of relations."""
    problems = [
        (field, f"unknown metric {slug!r}")
        for field, slug in named_metrics(terms)
        if units.get(slug) is None
    ]
    if problems:
        return problems
    problems += unit_problems(terms, units)
    if len(set(terms.metrics)) != len(terms.metrics):
        problems.append(("", "a metric may appear only once in a relation"))
    elif rests_on_itself(terms, others):
        problems.append(("", "a metric would depend on itself through a chain of relations"))
    return problems


def named_metrics(terms: Terms) -> list[tuple[str, str]]:
    if isinstance(terms, SumTerms):
        return [("total", terms.total)] + [(f"parts.{i}", p) for i, p in enumerate(terms.parts)]
    if isinstance(terms, ShareTerms):
        return [("share", terms.share), ("part", terms.part), ("whole", terms.whole)]
    return [("lesser", terms.lesser), ("greater", terms.greater)]


def unit_problems(terms: Terms, units: Mapping[str, str | None]) -> list[tuple[str, str]]:
    if isinstance(terms, ShareTerms):
        problems = []
        if units[terms.share] != PERCENT_UNIT:
            problems.append(("share", f"must be a metric in {PERCENT_UNIT}"))
        if units[terms.part] != units[terms.whole]:
            problems.append(("whole", "must have the unit of part"))
        return problems
    first, *rest = named_metrics(terms)
    unit = units[first[1]]
    return [
        (field, f"must have the unit of {first[0]} ({unit})")
        for field, slug in rest
        if units[slug] != unit
    ]


def rests_on_itself(terms: Terms, others: Iterable[Terms]) -> bool:
    """Whether, with these terms added, some metric depends on itself."""
    graph: dict[str, set[str]] = {}
    for relation in [*others, terms]:
        for dependent, basis in relation.edges():
            graph.setdefault(dependent, set()).add(basis)
    start = {dependent for dependent, _ in terms.edges()}
    return any(reaches(graph, metric, metric) for metric in start)


def reaches(graph: Mapping[str, set[str]], start: str, goal: str) -> bool:
    seen: set[str] = set()
    frontier = list(graph.get(start, ()))
    while frontier:
        metric = frontier.pop()
        if metric == goal:
            return True
        if metric not in seen:
            seen.add(metric)
            frontier.extend(graph.get(metric, ()))
    return False


class Relation(Aggregate):
    """A named tie between metrics; removed relations stay in the log."""

    @staticmethod
    def create_id(slug: str) -> UUID:
        return relation_stream(slug)

    @event("Defined")
    def __init__(
        self,
        slug: str,
        kind: str,
        terms: dict[str, Any],
        note: str | None,
        actor: str,
        reason: str | None,
    ) -> None:
        self.slug = slug
        self.kind = kind
        self.terms_data = terms
        self.note = note
        self.removed = False

    @property
    def terms(self) -> Terms:
        return terms_from(self.kind, self.terms_data)

    def update(self, terms: Terms, note: str | None, actor: str, reason: str | None) -> None:
        """Change the metrics a relation ties, or its note; its kind is fixed."""
        if self.removed:
            raise InvalidTransition("the relation is removed")
        if terms.kind != self.kind:
            raise ValidationFailed([("kind", f"a {self.kind} relation stays one")])
        if terms.as_data() == self.terms_data and note == self.note:
            raise InvalidTransition("the update changes nothing")
        self._updated(terms=terms.as_data(), note=note, actor=actor, reason=reason)

    @event("Updated")
    def _updated(
        self, terms: dict[str, Any], note: str | None, actor: str, reason: str | None
    ) -> None:
        self.terms_data = terms
        self.note = note

    def remove(self, actor: str, reason: str | None) -> None:
        """Withdraw the relation; its checks and derived figures end with it."""
        if self.removed:
            raise InvalidTransition("the relation is already removed")
        self._removed(actor=actor, reason=reason)

    @event("Removed")
    def _removed(self, actor: str, reason: str | None) -> None:
        self.removed = True
