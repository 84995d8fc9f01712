"""The ledger's commands over relations (§9), a part of `domain.ledger.Ledger` (mixed into
it): define, update, remove.

The cycle check must see every live relation committed so far, never a lagging view (as
keys do, decision 0011): the relations are read from the event store itself, by topic,
from the last position read before (relations are few; the other events are skipped by
the recorder). Relation writes in one process are serialised (`relation_writes`, a lock
the store hands in), so two concurrent definitions cannot each pass the check against a
world without the other and together close a cycle.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, Mapper
from eventsourcing.utils import get_topic

from domain.errors import NotFound, RelationNotFound, ValidationFailed
from domain.relations import Relation, Terms, relation_problems, relation_stream, terms_from
from domain.saved import Saved, TAggregate, check_version
from domain.values import MAX_TEXT_LENGTH, slug_problem

RELATION_TOPICS = (
    get_topic(Relation.Defined),  # type: ignore[attr-defined]
    get_topic(Relation.Updated),  # type: ignore[attr-defined]
    get_topic(Relation.Removed),  # type: ignore[attr-defined]
)
READ_AT_ONCE = 500


class RelationCommands:
    """Commands over relations; the rest of the ledger (loading, saving) is `Ledger`'s."""

    if TYPE_CHECKING:
        recorder: ApplicationRecorder
        mapper: Mapper[UUID]
        repository: Repository[UUID]

        def _get(
            self, kind: type[TAggregate], stream: UUID, missing: NotFound, version: int | None
        ) -> TAggregate: ...
        def _save(self, *aggregates: Aggregate) -> int: ...
        def _save_new(self, aggregate: Aggregate, kind: str, slug: str) -> int: ...
        def _unit_of(self, slug: str) -> str | None: ...

    # Held while a relation is checked and saved; the store hands in a lock.
    relation_writes: AbstractContextManager[Any] = nullcontext()
    # Every relation read from the event store so far: stream -> (slug, terms), None once
    # removed; and the last position read.
    _relations: dict[UUID, tuple[str, Terms] | None]
    _relations_read_to: int

    def define_relation(
        self,
        slug: str,
        kind: str,
        fields: dict[str, Any],
        note: str | None,
        actor: str,
        reason: str | None = None,
    ) -> Saved[Relation]:
        """Tie metrics together; refused (ValidationFailed) when a metric is unknown, units
        do not fit, a metric appears twice or would depend on itself; AlreadyExists when
        the id is taken (also by a removed relation: its events stay)."""
        terms = checked_terms(kind, fields, [("id", p) for p in [slug_problem(slug)] if p], note)
        with self.relation_writes:
            self._check_relation(terms, relation_stream(slug))
            relation = Relation(
                slug=slug,
                kind=terms.kind.value,
                terms=terms.as_data(),
                note=note,
                actor=actor,
                reason=reason,
            )
            return Saved(relation, self._save_new(relation, "relation", slug))

    def update_relation(
        self,
        slug: str,
        kind: str,
        fields: dict[str, Any],
        note: str | None,
        expected_version: int | None,
        actor: str,
        reason: str | None = None,
    ) -> Saved[Relation]:
        """Change the metrics a relation ties, or its note; its kind is fixed, and the
        checks of `define_relation` apply to the new terms."""
        terms = checked_terms(kind, fields, [], note)
        with self.relation_writes:
            relation = self.get_relation(slug)
            check_version(relation, expected_version)
            if terms.kind != relation.kind:
                raise ValidationFailed([("kind", f"a {relation.kind} relation stays one")])
            self._check_relation(terms, relation.id)
            relation.update(terms, note, actor=actor, reason=reason)
            return Saved(relation, self._save(relation))

    def remove_relation(
        self, slug: str, expected_version: int | None, actor: str, reason: str | None = None
    ) -> Saved[Relation]:
        """Withdraw a relation; it stays in the log, and in views as known before."""
        with self.relation_writes:
            relation = self.get_relation(slug)
            check_version(relation, expected_version)
            relation.remove(actor=actor, reason=reason)
            return Saved(relation, self._save(relation))

    def get_relation(self, slug: str, version: int | None = None) -> Relation:
        return self._get(Relation, relation_stream(slug), RelationNotFound(slug), version)

    def live_relations(self) -> dict[str, Terms]:
        """Every relation committed so far and not removed, by slug, read from the event
        store (the part not read before)."""
        while True:
            read = self.recorder.select_notifications(
                self._relations_read_to,
                READ_AT_ONCE,
                topics=RELATION_TOPICS,
                inclusive_of_start=False,
            )
            for notification in read:
                self._apply_relation_event(self.mapper.to_domain_event(notification))
            if read:
                self._relations_read_to = read[-1].id
            if len(read) < READ_AT_ONCE:
                break
        return {slug: terms for slug, terms in filter(None, self._relations.values())}

    def _apply_relation_event(self, event: Any) -> None:
        stream: UUID = event.originator_id
        if isinstance(event, Relation.Removed):  # type: ignore[attr-defined]
            self._relations[stream] = None
        elif isinstance(event, Relation.Defined):  # type: ignore[attr-defined]
            self._relations[stream] = (event.slug, terms_from(event.kind, event.terms))
        else:
            known = self._relations.get(stream)
            if known is not None:
                slug, old = known
                self._relations[stream] = (slug, terms_from(old.kind.value, event.terms))

    def _check_relation(self, terms: Terms, stream: UUID) -> None:
        """ValidationFailed unless these terms fit beside every other live relation."""
        others = [t for s, t in self.live_relations().items() if relation_stream(s) != stream]
        units = {slug: self._unit_of(slug) for slug in terms.metrics}
        problems = relation_problems(terms, units, others)
        if problems:
            raise ValidationFailed(problems)


def checked_terms(
    kind: str, fields: dict[str, Any], problems: list[tuple[str, str]], note: str | None
) -> Terms:
    """The terms of these fields; ValidationFailed naming every problem of them, of the
    note, and the `problems` already found (the id's)."""
    if note is not None and len(note) > MAX_TEXT_LENGTH:
        problems = [*problems, ("note", f"must be at most {MAX_TEXT_LENGTH} characters")]
    try:
        terms = terms_from(kind, fields)
    except ValidationFailed as refused:
        raise ValidationFailed([*problems, *refused.errors]) from None
    if problems:
        raise ValidationFailed(problems)
    return terms
