"""Explained diffs: how a metric's estimate moved between two moments, event by event."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import Reader, ServicesDep
from api.diff_responses import (
    CheckChangePublic,
    DiffChangePublic,
    DiffChecksPublic,
    DiffEndPublic,
    DiffEstimatesPublic,
    DiffPublic,
    EffectPublic,
    FiguresPublic,
)
from api.times import parse_end
from domain.diffs import Figures
from projections.reads.diffs import DiffPage, End, MetricDiffs

# Its own router, included before the metrics router: that one ends in a catch-all
# `/{metric_id:path}` that would answer `…/diff` as a metric's id.
router = APIRouter(prefix="/v1/metrics", tags=["metrics"])

DIFF_LIMIT = 100
END_HELP = "an RFC 3339 time, a date (00:00:00Z) or @position"


@router.get("/{metric_id:path}/diff", response_model=DiffPublic)
async def get_diff(
    metric_id: str,
    services: ServicesDep,
    _: Reader,
    from_: Annotated[
        str | None,
        Query(alias="from", description=f"The earlier end: {END_HELP}. Required without a cursor."),
    ] = None,
    to: Annotated[str | None, Query(description=f"The later end: {END_HELP}; default now.")] = None,
    limit: Annotated[
        int,
        Query(ge=1, le=1000, description=f"Events looked at per page (default {DIFF_LIMIT})."),
    ] = DIFF_LIMIT,
    cursor: Annotated[
        str | None,
        Query(description="The `next_cursor` of the page before: the same two ends."),
    ] = None,
) -> Response:
    """The default estimate at both ends, the Merkle roots and consistency path between
    them, and the events between in log order that moved it, each with its effect on
    best, low and high and a fixed-phrase reason; a page of events at a time."""
    start, end = parse_end(from_, "from"), parse_end(to, "to")
    diffs = MetricDiffs(services.store.queries, services.log)
    # Reads the metric's claims once per event: in the threadpool, never on the event loop.
    page = await run_in_threadpool(diffs.page, metric_id, start, end, limit, cursor or None)
    body = diff_public(page).model_dump_json(by_alias=True)
    return Response(body, media_type="application/json")


def diff_public(page: DiffPage) -> DiffPublic:
    return DiffPublic(
        metric=page.metric,
        unit=page.unit,
        from_=end_public(page.start),
        to=end_public(page.end),
        estimate=DiffEstimatesPublic(
            from_=figures_public(page.estimate_from), to=figures_public(page.estimate_to)
        ),
        changes=[
            DiffChangePublic(
                position=c.position,
                recorded_at=c.recorded_at,
                type=c.type,
                claim=c.claim,
                source=c.source,
                actor=c.actor,
                effect=EffectPublic(best=c.effect.best, low=c.effect.low, high=c.effect.high),
                after=figures_public(c.after),
                reason=c.reason,
                event_reason=c.event_reason,
            )
            for c in page.changes
        ],
        unchanged_events=page.unchanged_events,
        checks=DiffChecksPublic(
            changed=[
                CheckChangePublic(
                    relation=k.relation,
                    kind=k.kind,  # type: ignore[arg-type]  # a RelationKind value
                    from_=k.before,  # type: ignore[arg-type]  # a CheckStatus value
                    to=k.after,  # type: ignore[arg-type]
                    message=k.message,
                )
                for k in page.checks_changed
            ]
        ),
        consistency_path=page.consistency_path,
        next_cursor=page.next_cursor,
    )


def end_public(end: End) -> DiffEndPublic:
    return DiffEndPublic(
        known_at=end.known_at,
        position=end.position,
        tree_size=end.tree_size,
        root_hash=end.root_hash,
    )


def figures_public(figures: Figures) -> FiguresPublic:
    return FiguresPublic(
        best=figures.best,
        low=figures.low,
        high=figures.high,
        low_open=figures.low_open,
        high_open=figures.high_open,
    )
