"""Sources: register, list, read, rate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import Contributor, Editor, IdempotencyKey, IfMatch, Reader, ServicesDep
from api.idempotency import body_hash, idempotent
from api.presenters import json_response, source_public, write_headers
from api.replays import REPLAYED, stored_source
from api.requests import RateSourceRequest, RegisterSourceRequest
from api.responses import SourcePagePublic, SourcePublic
from domain.errors import AlreadyExists, SourceNotFound
from domain.sources import Source
from domain.values import Reliability, SourceKind

router = APIRouter(prefix="/v1/sources", tags=["sources"])


def source_answer(services: ServicesDep, source: Source) -> SourcePublic:
    try:
        claims = services.store.queries.source(source.slug)["claims"]
    except SourceNotFound:
        claims = 0
    return SourcePublic(
        id=source.slug,
        name=source.name,
        kind=SourceKind(source.kind),
        url=source.url,
        reliability=Reliability(source.reliability),
        version=source.version,
        claims=claims,
    )


@router.post("", status_code=201, response_model=SourcePublic)
def register_source(
    body: RegisterSourceRequest,
    services: ServicesDep,
    principal: Contributor,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Register a source (with an initial reliability grade if given)."""

    def act() -> Response:
        ledger = services.store.ledger
        replayed: dict[str, str] = {}
        try:
            saved = ledger.register_source(
                body.id, body.name, body.kind.value, body.url, body.reliability, principal.actor
            )
        except AlreadyExists:
            # A retry after a crash between the commit and the answer: the same principal's
            # same registration is answered as the first; anything else stays refused.
            fields = {"name": body.name, "kind": body.kind.value, "url": body.url}
            stored = None
            if idempotency_key is not None:
                stored = stored_source(ledger, body.id, fields, body.reliability, principal.actor)
            if stored is None:
                raise
            saved, replayed = stored, REPLAYED
        headers = write_headers(saved.position, saved.aggregate.version)
        headers["Location"] = f"/v1/sources/{body.id}"
        headers.update(replayed)
        return json_response(source_answer(services, saved.aggregate), 201, headers)

    return idempotent(
        services, principal, "POST /v1/sources", idempotency_key, body_hash(body), act
    )


@router.get("", response_model=SourcePagePublic)
def list_sources(
    services: ServicesDep,
    _: Reader,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> SourcePagePublic:
    """List sources by id, with claim counts."""
    page = services.store.queries.sources(cursor, limit)
    return SourcePagePublic(
        items=[SourcePublic(**r) for r in page.items], next_cursor=page.next_cursor
    )


@router.post("/{source_id:path}/ratings", response_model=SourcePublic)
def rate_source(
    source_id: str,
    body: RateSourceRequest,
    services: ServicesDep,
    principal: Editor,
    version: IfMatch,
) -> Response:
    """Grade a source's reliability (A–F); needs If-Match."""
    saved = services.store.ledger.rate_source(
        source_id, body.reliability, body.reason, version, principal.actor
    )
    headers = write_headers(saved.position, saved.aggregate.version)
    return json_response(source_answer(services, saved.aggregate), 200, headers)


@router.get("/{source_id:path}", response_model=SourcePublic)
def get_source(source_id: str, services: ServicesDep, _: Reader) -> Response:
    """One source, with how many claims it reported or originated."""
    row = services.store.queries.source(source_id)
    return json_response(source_public(row), headers={"ETag": f'"{row["version"]}"'})
