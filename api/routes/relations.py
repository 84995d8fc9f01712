"""Relations (§9): define, list, read, update, remove. How metrics hang on each other."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import Editor, IdempotencyKey, IfMatch, Reader, ServicesDep
from api.idempotency import body_hash, idempotent
from api.presenters import json_response, write_headers
from api.replays import REPLAYED, stored_relation
from api.requests import DefineRelationRequest, UpdateRelationRequest
from api.responses import RelationPagePublic, RelationPublic
from api.times import parse_known_at
from domain.errors import AlreadyExists
from domain.event_data import rfc3339
from domain.relations import Relation
from domain.saved import Saved
from projections.reads.pages import Row

router = APIRouter(prefix="/v1/relations", tags=["relations"])

KnownAt = Annotated[
    str | None,
    Query(description="RFC 3339 time or date: the relations as known then (default: now)."),
]


def relation_public(row: Row) -> RelationPublic:
    """A relation's row of the views as its answer."""
    fields = {k: v for k, v in row.items() if k != "terms"}
    return RelationPublic(**fields, **row["terms"])


def saved_public(saved: Saved[Relation]) -> RelationPublic:
    """A relation just written (the views may not have it yet), as its answer."""
    relation = saved.aggregate
    return RelationPublic(
        id=relation.slug,
        kind=relation.kind,
        **relation.terms_data,
        note=relation.note,
        removed=relation.removed,
        version=relation.version,
        position=saved.position,
        recorded_at=rfc3339(relation.modified_on),
        defined_at=rfc3339(relation.created_on),
    )


def written(saved: Saved[Relation], status: int = 200) -> Response:
    headers = write_headers(saved.position, saved.aggregate.version)
    return json_response(saved_public(saved), status, headers)


@router.post("", status_code=201, response_model=RelationPublic)
def define_relation(
    body: DefineRelationRequest,
    services: ServicesDep,
    principal: Editor,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Define a relation between metrics: `sum` (total = or ≥ Σ parts), `share` (share =
    100 × part ÷ whole, share in percent) or `at_most` (lesser ≤ greater). Refused (422)
    when a metric is unknown, units do not fit, a metric appears twice, or a metric would
    depend on itself through any chain of live relations."""

    def act() -> Response:
        ledger = services.store.ledger
        fields = body.terms_fields()
        replayed: dict[str, str] = {}
        try:
            saved = ledger.define_relation(body.id, body.kind, fields, body.note, principal.actor)
        except AlreadyExists:
            # A retry after a crash between the commit and the answer: the same principal's
            # same definition is answered as the first; anything else stays refused.
            stored = None
            if idempotency_key is not None:
                stored = stored_relation(
                    ledger, body.id, body.kind, fields, body.note, principal.actor
                )
            if stored is None:
                raise
            saved, replayed = stored, REPLAYED
        response = written(saved, 201)
        response.headers["Location"] = f"/v1/relations/{body.id}"
        response.headers.update(replayed)
        return response

    return idempotent(
        services, principal, "POST /v1/relations", idempotency_key, body_hash(body), act
    )


@router.get("", response_model=RelationPagePublic)
def list_relations(
    services: ServicesDep,
    _: Reader,
    metric: Annotated[
        str | None, Query(max_length=200, description="Only the relations that tie this metric.")
    ] = None,
    known_at: KnownAt = None,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the page before.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> RelationPagePublic:
    """The live (not removed) relations by id, now or as known at `known_at`."""
    page = services.store.queries.relations(metric, parse_known_at(known_at), cursor, limit)
    return RelationPagePublic(
        items=[relation_public(row) for row in page.items], next_cursor=page.next_cursor
    )


@router.get("/{relation_id:path}", response_model=RelationPublic)
def get_relation(
    relation_id: str, services: ServicesDep, _: Reader, known_at: KnownAt = None
) -> Response:
    """One relation (a removed one too, with `removed: true`), now or as known at
    `known_at` (404 before it was defined)."""
    row, _position = services.store.queries.relation(relation_id, parse_known_at(known_at))
    return json_response(relation_public(row), headers={"ETag": f'"{row["version"]}"'})


@router.put("/{relation_id:path}", response_model=RelationPublic)
def update_relation(
    relation_id: str,
    body: UpdateRelationRequest,
    services: ServicesDep,
    principal: Editor,
    version: IfMatch,
) -> Response:
    """Change the metrics a relation ties, or its note; needs If-Match. Its kind is fixed,
    and the checks of a definition apply (422)."""
    saved = services.store.ledger.update_relation(
        relation_id,
        body.kind,
        body.terms_fields(),
        body.note,
        version,
        principal.actor,
        body.reason,
    )
    return written(saved)


@router.delete("/{relation_id:path}", response_model=RelationPublic)
def remove_relation(
    relation_id: str,
    services: ServicesDep,
    principal: Editor,
    version: IfMatch,
    reason: Annotated[
        str | None, Query(min_length=1, max_length=10_000, description="Why it is removed.")
    ] = None,
) -> Response:
    """Remove a relation; needs If-Match. It stays in the log, and as known before."""
    saved = services.store.ledger.remove_relation(relation_id, version, principal.actor, reason)
    return written(saved)
