"""Metrics: define, list with current estimates, estimate, timeline."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.deps import Contributor, IdempotencyKey, Reader, ServicesDep, views_read
from api.idempotency import body_hash, idempotent
from api.presenters import estimate_public, json_response, metric_public, write_headers
from api.replays import REPLAYED, stored_metric
from api.requests import DefineMetricRequest
from api.responses import (
    EstimatePublic,
    MetricPagePublic,
    MetricPublic,
    TimelinePointPublic,
    TimelinePublic,
)
from api.times import parse_known_at, parse_valid_at
from domain.errors import AlreadyExists
from domain.estimates import DEFAULT_METHOD
from domain.metrics import Metric

router = APIRouter(prefix="/v1/metrics", tags=["metrics"])

Method = Literal["weighted-median", "most-reliable-latest"]


@router.post("", status_code=201, response_model=MetricPublic)
def define_metric(
    body: DefineMetricRequest,
    services: ServicesDep,
    principal: Contributor,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Define a metric (a figure to estimate) with its unit."""

    def act() -> Response:
        ledger = services.store.ledger
        replayed: dict[str, str] = {}
        try:
            saved = ledger.define_metric(
                body.id, body.name, body.unit, body.description, principal.actor
            )
        except AlreadyExists:
            # A retry after a crash between the commit and the answer: the same principal's
            # same definition is answered as the first; anything else stays refused.
            fields = {"name": body.name, "unit": body.unit, "description": body.description}
            stored = None
            if idempotency_key is not None:
                stored = stored_metric(ledger, body.id, fields, principal.actor)
            if stored is None:
                raise
            saved, replayed = stored, REPLAYED
        headers = write_headers(saved.position, saved.aggregate.version)
        headers["Location"] = f"/v1/metrics/{body.id}"
        headers.update(replayed)
        return json_response(new_metric_public(saved.aggregate, saved.position), 201, headers)

    return idempotent(
        services, principal, "POST /v1/metrics", idempotency_key, body_hash(body), act
    )


def new_metric_public(metric: Metric, position: int) -> MetricPublic:
    row = {
        "id": metric.slug,
        "name": metric.name,
        "unit": metric.unit,
        "description": metric.description,
        "version": metric.version,
        "estimate": {
            "method": DEFAULT_METHOD,
            "low": None,
            "best": None,
            "high": None,
            "considered": 0,
            "included": 0,
            "independent_origins": 0,
            "evidence": "none",
            "low_open": False,
            "high_open": False,
        },
    }
    return metric_public(row, position)


@router.get("", response_model=MetricPagePublic)
def list_metrics(
    services: ServicesDep,
    _: Reader,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MetricPagePublic:
    """List metrics by id, each with its current estimate."""
    queries = services.store.queries
    position = services.store.views.position()
    page = queries.metrics(cursor, limit)
    items = [metric_public(row, position) for row in page.items]
    return MetricPagePublic(items=items, next_cursor=page.next_cursor)


EXPLAIN_LIMIT = 100
TIMELINE_LIMIT = 1000
MAX_LIMIT = 1000


@router.get("/{metric_id:path}/estimate", response_model=EstimatePublic)
async def get_estimate(
    metric_id: str,
    services: ServicesDep,
    _: Reader,
    method: Method = "weighted-median",
    known_at: Annotated[
        str | None, Query(description="RFC 3339 time or date: the answer as known then.")
    ] = None,
    valid_at: Annotated[
        str | None,
        Query(description="A date (YYYY-MM-DD): only claims whose as_of is on or before it."),
    ] = None,
    explain: bool = False,
    limit: Annotated[
        int,
        Query(
            ge=1,
            le=MAX_LIMIT,
            description=f"With explain=true: explanation lines per page (default {EXPLAIN_LIMIT}).",
        ),
    ] = EXPLAIN_LIMIT,
    cursor: Annotated[
        str | None,
        Query(description="With explain=true: the `next_cursor` of the page before."),
    ] = None,
) -> Response:
    """The metric's low / best / high, and with explain=true why each claim counts or not,
    a page of lines at a time: included lines first, then the rest, each by point."""
    queries = services.store.queries
    cut_off = parse_known_at(known_at)
    valid = parse_valid_at(valid_at)
    if method == DEFAULT_METHOD and cut_off is None and valid is None and not explain:
        # One stored row: cheaper in line than the hop to a worker thread and back.
        stored = await views_read(services, queries.stored_estimate, metric_id)
        if stored is None:  # a summary stored before open ends: the claims answer, off the loop
            stored = await run_in_threadpool(queries.estimate, metric_id)
        answer = stored
    else:
        # Reads every claim of the metric: in the threadpool, never on the event loop.
        lines = limit if explain else 0
        answer = await run_in_threadpool(
            queries.estimate, metric_id, method, cut_off, valid, lines=lines, cursor=cursor
        )
    return json_response(estimate_public(answer, explain))


@router.get("/{metric_id:path}/timeline", response_model=TimelinePublic)
def get_timeline(
    metric_id: str,
    services: ServicesDep,
    _: Reader,
    cursor: Annotated[
        str | None, Query(description="The `next_cursor` of the page before.")
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"Points per page (default {TIMELINE_LIMIT}).")
    ] = TIMELINE_LIMIT,
) -> TimelinePublic:
    """Every moment the default estimate's low, best, high or included count changed, in
    position order, a page at a time."""
    page = services.store.queries.timeline(metric_id, cursor, limit)
    return TimelinePublic(
        metric=metric_id,
        method=DEFAULT_METHOD,
        points=[TimelinePointPublic(**row) for row in page.items],
        next_cursor=page.next_cursor,
    )


@router.get("/{metric_id:path}", response_model=MetricPublic)
def get_metric(metric_id: str, services: ServicesDep, _: Reader) -> Response:
    """One metric with its current estimate."""
    position = services.store.views.position()
    row = services.store.queries.metric(metric_id)
    return json_response(metric_public(row, position), headers={"ETag": f'"{row["version"]}"'})
