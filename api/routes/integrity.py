"""The public face of the Merkle log (§6): anyone may check it, no key needed.

The handlers are `async def` and read through `views_read`: on SQLite a root or proof is
two indexed reads in this process (a fifth of a millisecond at a million leaves), less
than the hop to a worker thread and back; on PostgreSQL the reads go to the threadpool.
Answers are serialised by pydantic in one step (`json_response`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ServicesDep, views_read
from api.openapi import problem_response
from api.presenters import json_response
from api.problems import ApiProblem
from api.responses import (
    ConsistencyProofPublic,
    InclusionProofPublic,
    PublicKeyPublic,
    TreeHeadPublic,
)
from projections.reads.audit_log import OutOfRange
from projections.storage.signed_heads import record_signed, recorded_already

router = APIRouter(prefix="/v1/audit", tags=["audit"])


def out_of_range(error: OutOfRange, field: str) -> ApiProblem:
    return ApiProblem(
        422,
        "validation",
        "Validation failed",
        str(error),
        errors=[{"field": field, "message": str(error)}],
    )


@router.get("/public-key", response_model=PublicKeyPublic)
async def get_public_key(services: ServicesDep) -> Response:
    """The Ed25519 key that signs tree heads (raw 32 bytes, base64)."""
    signer = services.signer
    return json_response(
        PublicKeyPublic(
            key_id=signer.key_id, algorithm="Ed25519", public_key=signer.public_key_base64()
        )
    )


SIGNED_ROOT_CHANGED = {
    **problem_response(503),
    "description": "This server signed that size before with another root: tamper evidence. "
    "Writes are refused until an admin clears the alarm (`claimledger verify`).",
}


@router.get("/tree-head", response_model=TreeHeadPublic, responses={503: SIGNED_ROOT_CHANGED})
async def get_tree_head(
    services: ServicesDep,
    tree_size: Annotated[
        int | None, Query(ge=0, description="An earlier size; default the latest.")
    ] = None,
) -> Response:
    """The signed head of the log: its size and RFC 9162 root, signed now (503 if this
    server signed that size before with another root)."""
    try:
        size, root = await views_read(services, services.log.root, tree_size)
    except OutOfRange as error:
        raise out_of_range(error, "tree_size") from None
    head = services.signer.sign(size, root.hex())
    store = services.store
    # The server's record of what it signed: written the first time a size is signed.
    if not recorded_already(store.signed_heads, store.alarm, head):
        await asyncio.to_thread(record_signed, store.signed_heads, store.alarm, head)
    return json_response(
        TreeHeadPublic(
            tree_size=head.tree_size,
            root_hash=head.root_hash,
            timestamp=head.timestamp,
            signature=head.signature,
            key_id=head.key_id,
        )
    )


@router.get("/proofs/inclusion", response_model=InclusionProofPublic)
async def get_inclusion_proof(
    services: ServicesDep,
    leaf_index: Annotated[int, Query(ge=0)],
    tree_size: Annotated[int, Query(ge=1)],
) -> Response:
    """The audit path proving a leaf is in the tree of that size (RFC 9162 §2.1.3)."""
    try:
        proof = await views_read(services, services.log.inclusion, leaf_index, tree_size)
    except OutOfRange as error:
        raise out_of_range(error, "leaf_index") from None
    return json_response(
        InclusionProofPublic(
            leaf_index=proof.leaf_index,
            tree_size=proof.tree_size,
            leaf_hash=proof.leaf_hash.hex(),
            audit_path=[h.hex() for h in proof.audit_path],
        )
    )


@router.get("/proofs/consistency", response_model=ConsistencyProofPublic)
async def get_consistency_proof(
    services: ServicesDep,
    first: Annotated[int, Query(ge=0)],
    second: Annotated[int, Query(ge=0)],
) -> Response:
    """The path proving the tree of size `second` extends the one of size `first` (§2.1.4)."""
    try:
        path = await views_read(services, services.log.consistency, first, second)
    except OutOfRange as error:
        raise out_of_range(error, "second") from None
    return json_response(
        ConsistencyProofPublic(first=first, second=second, consistency_path=[h.hex() for h in path])
    )
