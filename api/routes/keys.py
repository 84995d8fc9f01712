"""API keys: issue (the secret is shown once) and revoke."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import Admin, IdempotencyKey, ServicesDep
from api.idempotency import body_hash, derived_stream_id, idempotent, remembered
from api.presenters import json_response, write_headers
from api.requests import IssueKeyRequest
from api.responses import IssuedKeyPublic, KeyPublic
from api.services import Services
from domain.errors import AlreadyExists, ApiKeyNotFound
from domain.event_data import rfc3339
from domain.values import Role
from projections.reads.idempotency import KeyReused, Remembered

router = APIRouter(prefix="/v1/keys", tags=["keys"])
ISSUE_ROUTE = "POST /v1/keys"


@router.post("", status_code=201, response_model=IssuedKeyPublic)
def issue_key(
    body: IssueKeyRequest,
    services: ServicesDep,
    principal: Admin,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Issue an API key with one role; its secret is in this answer only. A retry with the
    same `Idempotency-Key` answers the key already issued with `secret` null (even after
    a crash: the key's id derives from the Idempotency-Key); to get a usable secret,
    revoke that key and issue another."""

    def act() -> Response:
        key_id = None
        if idempotency_key is not None:
            key_id = derived_stream_id(principal.id, ISSUE_ROUTE, idempotency_key)
        try:
            issued = services.store.ledger.issue_key(body.name, body.role, principal.actor, key_id)
        except AlreadyExists:
            if key_id is None or idempotency_key is None:
                raise
            return already_issued(services, key_id, body, idempotency_key)
        answer = IssuedKeyPublic(
            id=str(issued.key.id),
            name=issued.key.name,
            role=body.role,
            secret=issued.secret,
            created_at=rfc3339(issued.key.created_on),
        )
        headers = write_headers(issued.position, issued.key.version)
        headers["Location"] = f"/v1/keys/{issued.key.id}"
        return json_response(answer, 201, headers)

    digest = body_hash(body)
    return idempotent(
        services, principal, ISSUE_ROUTE, idempotency_key, digest, act, without_secret
    )


def already_issued(
    services: Services, key_id: UUID, body: IssueKeyRequest, idempotency_key: str
) -> Response:
    """The answer for a key an earlier request with this Idempotency-Key issued (its answer
    was lost, e.g. with a process that died before answering), without its secret."""
    key = services.store.ledger.get_key(key_id)
    if key.name != body.name or key.role != body.role.value:
        raise KeyReused(idempotency_key)
    answer = IssuedKeyPublic(
        id=str(key.id),
        name=key.name,
        role=body.role,
        secret=None,
        created_at=rfc3339(key.created_on),
    )
    # The issuing event's position is not kept on the key; the log's end is at or after it.
    headers = write_headers(services.store.ledger.max_position(), key.version)
    headers["Location"] = f"/v1/keys/{key.id}"
    headers["Idempotent-Replayed"] = "true"
    return json_response(answer, 201, headers)


def without_secret(response: Response) -> Remembered:
    """A stored answer never holds a secret: a replay shows the key without it."""
    answer = remembered(response)
    issued = IssuedKeyPublic.model_validate_json(answer.body)
    return replace(
        answer, body=issued.model_copy(update={"secret": None}).model_dump_json().encode()
    )


@router.delete("/{key_id}", response_model=KeyPublic)
def revoke_key(key_id: str, services: ServicesDep, principal: Admin) -> Response:
    """Revoke a key; it stops working at once, in every process, open event streams too."""
    try:
        stream = UUID(key_id)
    except ValueError:
        raise ApiKeyNotFound(key_id) from None
    saved = services.store.ledger.revoke_key(stream, None, principal.actor)
    key = saved.aggregate
    answer = KeyPublic(id=str(key.id), name=key.name, role=Role(key.role), revoked=key.revoked)
    return json_response(answer, 200, write_headers(saved.position, key.version))
