"""Checks: each live relation's consistency, now or as known at a moment (§9)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import Reader, ServicesDep
from api.presenters import check_public, json_response
from api.related_responses import ChecksPagePublic
from api.times import parse_known_at

router = APIRouter(prefix="/v1/checks", tags=["checks"])

CHECKS_LIMIT = 100
MAX_LIMIT = 1000
Status = Literal["consistent", "tension", "inconsistent", "not_evaluable"]


@router.get("", response_model=ChecksPagePublic)
async def list_checks(
    services: ServicesDep,
    _: Reader,
    known_at: Annotated[
        str | None,
        Query(
            description="RFC 3339 time or date: the checks as known then, from the relations "
            "and estimates as known then. Without it, the checks now."
        ),
    ] = None,
    status: Annotated[Status | None, Query(description="Only checks with this status.")] = None,
    metric: Annotated[
        str | None, Query(description="Only the relations that tie this metric.")
    ] = None,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the page before.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Checks per page (default {CHECKS_LIMIT}).")
    ] = CHECKS_LIMIT,
) -> Response:
    """The checks of the live relations by relation, a page at a time: consistent, tension
    (the best values break the relation, the ranges do not), inconsistent (no values in
    the ranges satisfy it) or not_evaluable. A failed check never refuses a write."""
    moment = parse_known_at(known_at)
    # Now: kept rows; at a moment: computed from the claims then. Either off the event loop.
    page = await run_in_threadpool(
        services.store.queries.checks_page, moment, status, metric, cursor, limit
    )
    body = ChecksPagePublic(
        known_at=page.known_at,
        position=page.position,
        items=[check_public(c) for c in page.items],
        next_cursor=page.next_cursor,
    )
    return json_response(body)
