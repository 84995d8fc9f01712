"""Turn view rows and domain results into public response models."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel

from api.related_responses import CheckPublic, DerivedPublic, FigurePublic, InputFigurePublic
from api.responses import (
    ClaimPublic,
    EstimatePublic,
    ExplanationLinePublic,
    MetricPublic,
    SourcePublic,
)
from domain.related import DerivedFigure, Related, RelationCheck, Shown
from projections.reads.pages import Row
from projections.reads.queries import EstimateAnswer

JSON = "application/json"


def json_response(
    model: BaseModel, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """The model as compact JSON, serialised by pydantic in one step (not dumped to
    Python objects first and then encoded again by the json module)."""
    return Response(model.model_dump_json(), status_code=status, headers=headers, media_type=JSON)


def write_headers(position: int, version: int | None = None) -> dict[str, str]:
    headers = {"X-Ledger-Position": str(position)}
    if version is not None:
        headers["ETag"] = f'"{version}"'
    return headers


def source_public(row: Row) -> SourcePublic:
    return SourcePublic(**row)


def claim_public(state: Row) -> ClaimPublic:
    return ClaimPublic(**state)


def decimal_or_none(text: str | None) -> Decimal | None:
    return Decimal(text) if text is not None else None


def estimate_public(answer: EstimateAnswer, explain: bool = False) -> EstimatePublic:
    e = answer.estimate
    explanation = None
    if explain:
        explanation = [
            ExplanationLinePublic(
                claim=line.claim,
                origin=line.origin,
                point=line.point,
                weight=line.weight,
                status=line.status.value,
                reason=line.reason,
                value=line.value,
                qualifier=line.qualifier,
                value_high=line.value_high,
                as_of=line.as_of,
                reported_by=line.reported_by,
                retraction_reason=line.retraction_reason,
            )
            for line in e.explanation
        ]
    return EstimatePublic(
        metric=answer.metric,
        unit=answer.unit,
        method=e.method,
        known_at=answer.known_at,
        valid_at=answer.valid_at,
        position=answer.position,
        low=e.low,
        best=e.best,
        high=e.high,
        low_open=e.low_open,
        high_open=e.high_open,
        considered=e.considered,
        included=e.included,
        independent_origins=e.independent_origins,
        evidence=e.evidence.value,
        explanation=explanation,
        next_cursor=answer.next_cursor if explain else None,
        **related_public(answer.related),
    )


def metric_public(row: Row, position: int) -> MetricPublic:
    summary: dict[str, Any] = row["estimate"]
    estimate = EstimatePublic(
        metric=row["id"],
        unit=row["unit"],
        method=summary["method"],
        known_at=None,
        valid_at=None,
        position=position,
        low=decimal_or_none(summary["low"]),
        best=decimal_or_none(summary["best"]),
        high=decimal_or_none(summary["high"]),
        low_open=summary["low_open"],
        high_open=summary["high_open"],
        considered=summary["considered"],
        included=summary["included"],
        independent_origins=summary["independent_origins"],
        evidence=summary["evidence"],
        **related_public(row.get("related", Related())),
    )
    return MetricPublic(
        id=row["id"],
        name=row["name"],
        unit=row["unit"],
        description=row["description"],
        version=row["version"],
        estimate=estimate,
    )


def related_public(related: Related) -> dict[str, Any]:
    """An estimate answer's `derived` and `checks`."""
    return {
        "derived": [derived_public(d) for d in related.derived],
        "checks": [check_public(c) for c in related.checks],
    }


def derived_public(d: DerivedFigure) -> DerivedPublic:
    inputs = [
        InputFigurePublic(metric=i.metric, best=i.best, low=i.low, high=i.high) for i in d.inputs
    ]
    return DerivedPublic(
        relation=d.relation,
        status=d.status.value,
        best=d.best,
        low=d.low,
        high=d.high,
        message=d.message,
        **{"from": inputs},
    )


def check_public(c: RelationCheck) -> CheckPublic:
    return CheckPublic(
        relation=c.relation,
        kind=c.kind,  # type: ignore[arg-type]  # a RelationKind value
        status=c.status.value,
        metrics={m.metric: figure_public(m) for m in c.metrics},
        message=c.message,
    )


def figure_public(m: Shown) -> FigurePublic:
    return FigurePublic(best=m.best, low=m.low, high=m.high)
