"""Answers to a create retried under its `Idempotency-Key` after the first attempt wrote
but never answered (its process died in between): built from what the event store
holds, as the first answer was, or refused as a reused key when what is stored is not
what the retry asks for.

Claims created under a key get ids derived from the principal, route and key, so the
retry's save meets the event store's uniqueness (`AlreadyExists`) instead of writing a
second time; sources, metrics and relations have ids derived from their slugs already.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.claims import Claim, ClaimFields
from domain.errors import ClaimNotFound, NotFound, ValidationFailed
from domain.ledger import INITIAL_RATING, Ledger
from domain.metrics import Metric, metric_stream
from domain.relations import Relation, terms_from
from domain.saved import Saved
from domain.sources import Source
from domain.values import Reliability
from projections.events.event_positions import position_of
from projections.reads.idempotency import KeyReused

REPLAYED = {"Idempotent-Replayed": "true"}


def stored_claims(
    ledger: Ledger,
    ids: Sequence[UUID],
    batch_fields: Sequence[ClaimFields],
    actor: str,
    next_id: UUID | None = None,
) -> list[Saved[Claim]]:
    """The claims recorded under these ids, as recorded, each with its event's position;
    KeyReused unless each one holds the fields asked for, recorded by `actor` (and, for a
    batch, the batch held no further claim: `next_id`, the id one past its end, is free)."""
    saved = []
    for claim_id, fields in zip(ids, batch_fields, strict=True):
        try:
            claim = ledger.get_claim(claim_id, version=Claim.INITIAL_VERSION)
        except ClaimNotFound:
            raise KeyReused(str(claim_id)) from None
        if claim.fields != fields or claim.recorded_by != actor:
            raise KeyReused(str(claim_id))
        saved.append(Saved(claim, stored_position(ledger, claim_id, claim.version)))
    if next_id is not None and position_of(ledger, next_id, Claim.INITIAL_VERSION) is not None:
        raise KeyReused(str(next_id))
    return saved


def stored_source(
    ledger: Ledger, slug: str, fields: dict[str, Any], reliability: Reliability | None, actor: str
) -> Saved[Source] | None:
    """The source as its registration left it, if `actor` registered it with these fields
    (and this first rating); None when the slug is simply taken."""
    rated = reliability is not None and reliability is not Reliability.F
    version = Source.INITIAL_VERSION + (1 if rated else 0)
    try:
        source = ledger.get_source(slug, version=version)
    except NotFound:
        return None
    wanted = {**fields, "registered_by": actor, "reliability": (reliability or Reliability.F).value}
    if any(getattr(source, name) != value for name, value in wanted.items()):
        return None
    if not rated and rated_when_registered(ledger, source):
        return None
    return Saved(source, stored_position(ledger, source.id, version))


def rated_when_registered(ledger: Ledger, source: Source) -> bool:
    """Whether the source's registration rated it too (its second event)."""
    second = ledger.repository.event_store.get(source.id, gt=1, lte=2)
    return any(
        type(e).__qualname__ == "Source.Rated" and getattr(e, "reason", None) == INITIAL_RATING
        for e in second
    )


def stored_metric(
    ledger: Ledger, slug: str, fields: dict[str, Any], actor: str
) -> Saved[Metric] | None:
    """The metric as defined, if `actor` defined it with these fields; None when the slug
    is simply taken."""
    stream = metric_stream(slug)
    try:
        metric: object = ledger.repository.get(stream, version=Metric.INITIAL_VERSION)
    except AggregateNotFoundError:
        return None
    if not isinstance(metric, Metric) or ledger.created_by(stream) != actor:
        return None
    if any(getattr(metric, name) != value for name, value in fields.items()):
        return None
    return Saved(metric, stored_position(ledger, stream, Metric.INITIAL_VERSION))


def stored_position(ledger: Ledger, stream: UUID, version: int) -> int:
    position = position_of(ledger, stream, version)
    if position is None:  # pragma: no cover - the event was just read
        raise LookupError(f"no stored event {stream} v{version}")
    return position


def stored_relation(
    ledger: Ledger, slug: str, kind: str, fields: dict[str, Any], note: str | None, actor: str
) -> Saved[Relation] | None:
    """The relation as defined, if `actor` defined it with these terms and note; None when
    the slug is simply taken (or the terms are not valid: the define names why)."""
    try:
        terms = terms_from(kind, fields)
        relation = ledger.get_relation(slug, version=Relation.INITIAL_VERSION)
    except (NotFound, ValidationFailed):
        return None
    if ledger.created_by(relation.id) != actor:
        return None
    if (relation.kind, relation.terms_data, relation.note) != (kind, terms.as_data(), note):
        return None
    return Saved(relation, stored_position(ledger, relation.id, Relation.INITIAL_VERSION))
