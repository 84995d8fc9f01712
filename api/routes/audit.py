"""Audit: the global event feed, and every metric's estimate as known at a moment."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import Reader, ServicesDep
from api.presenters import estimate_public
from api.responses import AuditEventPublic, AuditPagePublic, SnapshotPublic
from api.times import now_text, parse_known_at

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("/events", response_model=AuditPagePublic)
def list_events(
    services: ServicesDep,
    _: Reader,
    after: Annotated[int, Query(ge=0, description="Exclusive start position; 0 is the start.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPagePublic:
    """Every event in position order, with what a client needs to recompute its leaf hash."""
    events, next_after = services.store.queries.audit_events(after, limit)
    return AuditPagePublic(events=[AuditEventPublic(**e) for e in events], next_after=next_after)


@router.get("/snapshot", response_model=SnapshotPublic)
def get_snapshot(
    services: ServicesDep,
    _: Reader,
    known_at: Annotated[
        str | None, Query(description="RFC 3339 time or date; default now.")
    ] = None,
) -> SnapshotPublic:
    """Every metric's default estimate as the ledger knew it at `known_at`."""
    moment = parse_known_at(known_at) or now_text()
    position, answers = services.store.queries.snapshot(moment)
    return SnapshotPublic(
        known_at=moment, position=position, estimates=[estimate_public(a) for a in answers]
    )
