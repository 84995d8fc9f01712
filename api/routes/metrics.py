"""Metrics: define, list with current estimates, estimate, timeline."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import Contributor, IdempotencyKey, Reader, ServicesDep, views_read
from api.idempotency import body_hash, idempotent
from api.presenters import estimate_public, json_response, metric_public, write_headers
from api.requests import DefineMetricRequest
from api.responses import (
    EstimatePublic,
    MetricPagePublic,
    MetricPublic,
    TimelinePointPublic,
    TimelinePublic,
)
from api.times import parse_known_at, parse_valid_at
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
        saved = services.store.ledger.define_metric(
            body.id, body.name, body.unit, body.description, principal.actor
        )
        headers = write_headers(saved.position, saved.aggregate.version)
        headers["Location"] = f"/v1/metrics/{body.id}"
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
) -> Response:
    """The metric's low / best / high, and with explain=true why each claim counts or not."""
    queries = services.store.queries
    cut_off = parse_known_at(known_at)
    valid = parse_valid_at(valid_at)
    if method == DEFAULT_METHOD and cut_off is None and valid is None and not explain:
        answer = await views_read(services, queries.current_estimate, metric_id)
    else:
        answer = await views_read(services, queries.estimate, metric_id, method, cut_off, valid)
    return json_response(estimate_public(answer, explain))


@router.get("/{metric_id:path}/timeline", response_model=TimelinePublic)
def get_timeline(metric_id: str, services: ServicesDep, _: Reader) -> TimelinePublic:
    """Every moment the default estimate's low, best, high or included count changed."""
    rows = services.store.queries.timeline(metric_id)
    return TimelinePublic(
        metric=metric_id,
        method=DEFAULT_METHOD,
        points=[TimelinePointPublic(**row) for row in rows],
    )


@router.get("/{metric_id:path}", response_model=MetricPublic)
def get_metric(metric_id: str, services: ServicesDep, _: Reader) -> Response:
    """One metric with its current estimate."""
    position = services.store.views.position()
    row = services.store.queries.metric(metric_id)
    return json_response(metric_public(row, position), headers={"ETag": f'"{row["version"]}"'})
