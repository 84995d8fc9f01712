"""API keys: issue (the secret is shown once) and revoke."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter
from fastapi.responses import Response

from api.deps import Admin, IdempotencyKey, ServicesDep
from api.idempotency import body_hash, idempotent
from api.presenters import json_response, write_headers
from api.requests import IssueKeyRequest
from api.responses import IssuedKeyPublic, KeyPublic
from domain.errors import ApiKeyNotFound
from domain.event_data import rfc3339

router = APIRouter(prefix="/v1/keys", tags=["keys"])


@router.post("", status_code=201, response_model=IssuedKeyPublic)
def issue_key(
    body: IssueKeyRequest,
    services: ServicesDep,
    principal: Admin,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Issue an API key with one role; its secret is in this answer only."""

    def act() -> Response:
        issued = services.store.ledger.issue_key(body.name, body.role, principal.actor)
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

    return idempotent(services, principal, "POST /v1/keys", idempotency_key, body_hash(body), act)


@router.delete("/{key_id}", response_model=KeyPublic)
def revoke_key(key_id: str, services: ServicesDep, principal: Admin) -> Response:
    """Revoke a key; it stops working at once."""
    try:
        stream = UUID(key_id)
    except ValueError:
        raise ApiKeyNotFound(key_id) from None
    saved = services.store.ledger.revoke_key(stream, None, principal.actor)
    key = saved.aggregate
    answer = KeyPublic(id=str(key.id), name=key.name, role=key.role, revoked=key.revoked)
    return json_response(answer, 200, write_headers(saved.position, key.version))
