"""Audit: the global event feed, and every metric's estimate as known at a moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.deps import Reader, ServicesDep, still_authorised
from api.presenters import estimate_public
from api.responses import AuditEventPublic, AuditPagePublic, SnapshotPublic
from api.times import now_text, parse_known_at

router = APIRouter(prefix="/v1/audit", tags=["audit"])

MAX_POSITION = 2**63 - 1  # SQLite INTEGER: a larger `after` is not a position


@router.get("/events", response_model=AuditPagePublic)
def list_events(
    services: ServicesDep,
    _: Reader,
    after: Annotated[
        int,
        Query(ge=0, le=MAX_POSITION, description="Exclusive start position; 0 is the start."),
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPagePublic:
    """Every event in position order, with what a client needs to recompute its leaf hash."""
    events, next_after = services.store.queries.audit_events(after, limit)
    return AuditPagePublic(events=[AuditEventPublic(**e) for e in events], next_after=next_after)


HEARTBEAT_SECONDS = 15.0
# Characters JSON leaves raw but many SSE clients (str.splitlines, httpx) take for line
# breaks, cutting an event's data in two; inside JSON strings their escapes mean the same.
LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})
POLL_SECONDS = 0.2


@router.get(
    "/events/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}},
)
async def stream_events(
    request: Request,
    services: ServicesDep,
    principal: Reader,
    after: Annotated[
        int, Query(ge=0, le=MAX_POSITION, description="Exclusive start position.")
    ] = 0,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", description="Resume after this position.")
    ] = None,
) -> StreamingResponse:
    """The audit feed as Server-Sent Events, live; each event's `id` is its position. The
    stream ends when its key is revoked, before the next event."""
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses (a 500).
    if (
        last_event_id is not None
        and last_event_id.strip().isascii()
        and last_event_id.strip().isdigit()
    ):
        after = max(after, min(int(last_event_id.strip()), MAX_POSITION))
    queries = services.store.queries

    async def events() -> AsyncIterator[str]:
        position, idle = after, 0.0
        yield "retry: 1000\n\n"
        while not await request.is_disconnected():
            page, _more = await run_in_threadpool(queries.audit_events, position, 500)
            # Before each batch and heartbeat: a key revoked meanwhile gets nothing more.
            if page and not await still_authorised(services, principal):
                return
            for event in page:
                body = AuditEventPublic(**event).model_dump_json().translate(LINE_BREAKS)
                yield f"id: {event['position']}\nevent: {event['type']}\ndata: {body}\n\n"
                position = event["position"]
            if page:
                idle = 0.0
                continue
            await asyncio.sleep(POLL_SECONDS)
            idle += POLL_SECONDS
            if idle >= HEARTBEAT_SECONDS:
                if not await still_authorised(services, principal):
                    return
                idle = 0.0
                yield ": keep-alive\n\n"

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


SNAPSHOT_LIMIT = 100


@router.get("/snapshot", response_model=SnapshotPublic)
def get_snapshot(
    services: ServicesDep,
    _: Reader,
    known_at: Annotated[
        str | None,
        Query(description="RFC 3339 time or date; default now (with a cursor: the cursor's)."),
    ] = None,
    cursor: Annotated[
        str | None,
        Query(description="The `next_cursor` of the page before: the same moment and position."),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=1000, description=f"Metrics per page (default {SNAPSHOT_LIMIT}).")
    ] = SNAPSHOT_LIMIT,
) -> SnapshotPublic:
    """Every metric's default estimate as the ledger knew it at `known_at`, a page of
    metrics at a time; every page answers as of the first page's moment and position."""
    moment = parse_known_at(known_at)
    cursor = cursor or None  # an empty one asks for the first page
    if moment is None and cursor is None:
        moment = now_text()
    snapshot = services.store.queries.snapshot_page(moment, cursor, limit)
    return SnapshotPublic(
        known_at=snapshot.known_at,
        position=snapshot.position,
        estimates=[estimate_public(a) for a in snapshot.estimates],
        next_cursor=snapshot.next_cursor,
    )
