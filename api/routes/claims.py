"""Claims: record (one or a batch), list, read, history, correct, retract, reinstate, assess."""

from __future__ import annotations

import json
from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from api.deps import Contributor, Editor, IdempotencyKey, IfMatch, Reader, ServicesDep
from api.idempotency import body_hash, derived_stream_id, idempotent, idempotent_async
from api.presenters import claim_public, json_response, write_headers
from api.problems import ApiProblem, field_name
from api.replays import REPLAYED, stored_claims
from api.requests import (
    AssessClaimRequest,
    CorrectClaimRequest,
    RecordClaimRequest,
    ReinstateClaimRequest,
    RetractClaimRequest,
)
from api.responses import (
    BatchRecordedPublic,
    ClaimHistoryPublic,
    ClaimPagePublic,
    ClaimPublic,
    HistoryEventPublic,
)
from domain.claims import Claim
from domain.errors import AlreadyExists, ClaimNotFound
from domain.event_data import rfc3339
from domain.saved import Saved
from domain.values import ClaimStatus
from projections.reads.queries import ClaimFilters

router = APIRouter(prefix="/v1/claims", tags=["claims"])

MAX_BATCH = 10_000
ONE_ROUTE = "POST /v1/claims"
BATCH_ROUTE = "POST /v1/claims/batch"
CLAIMS_ADAPTER = TypeAdapter(list[RecordClaimRequest])


def claim_answer(claim: Claim) -> ClaimPublic:
    """The claim as just saved, from the aggregate (the views may not have it yet)."""
    return ClaimPublic(
        **vars(claim.fields),
        id=str(claim.id),
        origin=claim.origin,
        status=ClaimStatus(claim.status),
        credibility=claim.credibility,
        version=claim.version,
        recorded_at=rfc3339(claim.created_on),
        recorded_by=claim.recorded_by,
    )


def claim_id_of(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ClaimNotFound(text) from None


def recorded(saved: Saved[Claim], extra: dict[str, str] | None = None) -> Response:
    headers = write_headers(saved.position, saved.aggregate.version)
    headers["Location"] = f"/v1/claims/{saved.aggregate.id}"
    headers.update(extra or {})
    return json_response(claim_answer(saved.aggregate), 201, headers)


@router.post("", status_code=201, response_model=ClaimPublic)
async def record_claim(
    body: RecordClaimRequest,
    services: ServicesDep,
    principal: Contributor,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Record one reported claim; the server chooses its id."""
    ledger = services.store.ledger
    if idempotency_key is None and ledger.write_path == "group":
        # The hot path: no worker thread; the event loop awaits the group commit.
        return recorded(await ledger.record_claim_async(body.to_fields(), principal.actor))
    if idempotency_key is None:
        # The direct write path (the naive baseline: one save per request in a worker thread).
        def act() -> Response:
            return recorded(ledger.record_claim(body.to_fields(), principal.actor))

        return await run_in_threadpool(act)

    # Under an Idempotency-Key the claim's id derives from it: a retry of a request that
    # wrote but died before answering meets the stored claim and answers it.
    fields = body.to_fields()
    claim_id = derived_stream_id(principal.id, ONE_ROUTE, idempotency_key)

    async def act_once() -> Response:
        try:
            return recorded(await ledger.record_claim_async(fields, principal.actor, claim_id))
        except AlreadyExists:
            (saved,) = await run_in_threadpool(
                stored_claims, ledger, [claim_id], [fields], principal.actor
            )
            return recorded(saved, REPLAYED)

    return await idempotent_async(
        services, principal, ONE_ROUTE, idempotency_key, body_hash(body), act_once
    )


BATCH_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/RecordClaimRequest"},
                }
            },
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


class TooDeep(ValueError):
    """JSON nested deeper than any claim: refused before the standard library recurses."""


def loads(text: str) -> Any:
    """json.loads, through orjson first (faster on large bodies; decision 0003).
    Where orjson refuses (NaN, integers beyond 64 bits, malformed input) the standard
    library decides, so what is accepted and what is refused stay as they were; but not
    past orjson's depth limit, where the standard library would recurse until it fails."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        if "depth" in str(error):
            raise TooDeep(str(error)) from None
        return json.loads(text)


def parse_batch(raw: bytes) -> list[RecordClaimRequest]:
    """A JSON array, or NDJSON (one claim per line)."""
    text = raw.decode("utf-8", errors="strict").strip()
    try:
        items: Any = (
            loads(text)
            if text.startswith("[")
            else [loads(line) for line in text.splitlines() if line.strip()]
        )
    except (TooDeep, RecursionError):
        raise ApiProblem(
            400, "malformed-json", "Malformed JSON", "the body nests deeper than a claim can"
        ) from None
    except ValueError:
        raise ApiProblem(
            400, "malformed-json", "Malformed JSON", "the body is not a JSON array or NDJSON"
        ) from None
    if not isinstance(items, list) or not items:
        raise ApiProblem(
            422,
            "validation",
            "Validation failed",
            "a batch is a non-empty list of claims",
            errors=[{"field": "", "message": "must be a non-empty JSON array or NDJSON"}],
        )
    if len(items) > MAX_BATCH:
        raise ApiProblem(
            422,
            "validation",
            "Validation failed",
            f"a batch holds at most {MAX_BATCH} claims",
            errors=[{"field": "", "message": f"at most {MAX_BATCH} claims"}],
        )
    try:
        return CLAIMS_ADAPTER.validate_python(items)
    except ValidationError as error:
        errors = [
            {"field": field_name(tuple(e["loc"])), "message": e["msg"]} for e in error.errors()
        ]
        raise ApiProblem(
            422, "validation", "Validation failed", "some claims are invalid", errors=errors
        ) from None


@router.post(
    "/batch", status_code=201, response_model=BatchRecordedPublic, openapi_extra=BATCH_BODY
)
async def record_claims(
    request: Request,
    services: ServicesDep,
    principal: Contributor,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Record many claims in one transaction, all or nothing (JSON array or NDJSON)."""
    try:
        raw = await request.body()
        claims = parse_batch(raw)
    except UnicodeDecodeError:
        raise ApiProblem(400, "malformed-json", "Malformed JSON", "the body is not UTF-8") from None

    def act() -> Response:
        ledger = services.store.ledger
        batch_fields = [c.to_fields() for c in claims]
        if idempotency_key is None:
            ids = None
        else:  # ids derived from the key: a retry after a crash meets the stored batch
            ids = [
                derived_stream_id(principal.id, BATCH_ROUTE, idempotency_key, index)
                for index in range(len(claims) + 1)
            ]
        try:
            recorded = ledger.record_claims(
                batch_fields, principal.actor, ids=None if ids is None else ids[:-1]
            )
        except AlreadyExists:
            if ids is None:
                raise
            saved = stored_claims(ledger, ids[:-1], batch_fields, principal.actor, ids[-1])
            body = BatchRecordedPublic(
                ids=[str(s.aggregate.id) for s in saved], position=saved[-1].position
            )
            return json_response(body, 201, {**write_headers(saved[-1].position), **REPLAYED})
        body = BatchRecordedPublic(
            ids=[str(c.id) for c in recorded.claims], position=recorded.position
        )
        return json_response(body, 201, write_headers(recorded.position))

    digest = body_hash(claims) if idempotency_key is not None else ""
    return await run_in_threadpool(
        idempotent, services, principal, BATCH_ROUTE, idempotency_key, digest, act
    )


@router.get("", response_model=ClaimPagePublic)
def list_claims(
    services: ServicesDep,
    _: Reader,
    metric: str | None = None,
    origin: str | None = None,
    reported_by: str | None = None,
    status: ClaimStatus | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ClaimPagePublic:
    """Claims in the order they were recorded, filtered by metric, origin, reporter or status."""
    filters = ClaimFilters(metric, origin, reported_by, status.value if status else None)
    page = services.store.queries.claims(filters, cursor, limit)
    return ClaimPagePublic(
        items=[claim_public(s) for s in page.items], next_cursor=page.next_cursor
    )


@router.get("/{claim_id}", response_model=ClaimPublic)
def get_claim(
    claim_id: str,
    services: ServicesDep,
    _: Reader,
    version: Annotated[
        int | None,
        Query(ge=1, le=2**63 - 1, description="The claim as of this version."),
    ] = None,
) -> Response:
    """A claim's current state, or its state as of version N."""
    state = services.store.queries.claim(str(claim_id_of(claim_id)), version)
    return json_response(claim_public(state), headers={"ETag": f'"{state["version"]}"'})


@router.get("/{claim_id}/history", response_model=ClaimHistoryPublic)
def get_claim_history(claim_id: str, services: ServicesDep, _: Reader) -> ClaimHistoryPublic:
    """Every event of the claim, with who caused it and when."""
    rows = services.store.queries.claim_history(str(claim_id_of(claim_id)))
    return ClaimHistoryPublic(claim=claim_id, events=[HistoryEventPublic(**r) for r in rows])


def changed(saved_claim: Claim, position: int) -> Response:
    headers = write_headers(position, saved_claim.version)
    return json_response(claim_answer(saved_claim), 200, headers)


@router.post("/{claim_id}/corrections", response_model=ClaimPublic)
def correct_claim(
    claim_id: str,
    body: CorrectClaimRequest,
    services: ServicesDep,
    principal: Editor,
    version: IfMatch,
) -> Response:
    """Fix a data-entry mistake; the old values stay in the history."""
    saved = services.store.ledger.correct_claim(
        claim_id_of(claim_id), body.changes.given(), body.reason, version, principal.actor
    )
    return changed(saved.aggregate, saved.position)


@router.post("/{claim_id}/retraction", response_model=ClaimPublic)
def retract_claim(
    claim_id: str,
    body: RetractClaimRequest,
    services: ServicesDep,
    principal: Editor,
    version: IfMatch,
) -> Response:
    """Record that the source withdrew the claim."""
    saved = services.store.ledger.retract_claim(
        claim_id_of(claim_id), body.reason, version, principal.actor
    )
    return changed(saved.aggregate, saved.position)


@router.post("/{claim_id}/reinstatement", response_model=ClaimPublic)
def reinstate_claim(
    claim_id: str,
    body: ReinstateClaimRequest,
    services: ServicesDep,
    principal: Editor,
    version: IfMatch,
) -> Response:
    """Undo a retraction."""
    saved = services.store.ledger.reinstate_claim(
        claim_id_of(claim_id), body.reason, version, principal.actor
    )
    return changed(saved.aggregate, saved.position)


@router.post("/{claim_id}/assessments", response_model=ClaimPublic)
def assess_claim(
    claim_id: str,
    body: AssessClaimRequest,
    services: ServicesDep,
    principal: Editor,
    version: IfMatch,
) -> Response:
    """Grade the claim's credibility (1 confirmed … 6 cannot be judged)."""
    saved = services.store.ledger.assess_claim(
        claim_id_of(claim_id), body.credibility, body.note, version, principal.actor
    )
    return changed(saved.aggregate, saved.position)
