"""What the relations say, as the views store it: `related_figures.figures` (a metric's
derived figures and checks) and `relation_checks.metrics` (the figures a check read).

The related keeper writes them and the queries read them back: both go through this
module, so the stored format has one owner. Decimals are strings, open ends null.
"""

from __future__ import annotations

from typing import Any

import orjson

from domain.checks import CheckStatus
from domain.related import DerivedFigure, Related, RelationCheck, Shown
from projections.log.canonical import dumps
from projections.writer.estimate_summary import number, text


def shown_data(figure: Shown) -> dict[str, Any]:
    return {
        "metric": figure.metric,
        "best": text(figure.best),
        "low": text(figure.low),
        "high": text(figure.high),
    }


def shown_from(data: dict[str, Any]) -> Shown:
    return Shown(data["metric"], number(data["best"]), number(data["low"]), number(data["high"]))


def derived_data(d: DerivedFigure) -> dict[str, Any]:
    return {
        "relation": d.relation,
        "status": d.status.value,
        "best": text(d.best),
        "low": text(d.low),
        "high": text(d.high),
        "from": [shown_data(i) for i in d.inputs],
        "message": d.message,
    }


def derived_from(data: dict[str, Any]) -> DerivedFigure:
    return DerivedFigure(
        data["relation"],
        CheckStatus(data["status"]),
        number(data["best"]),
        number(data["low"]),
        number(data["high"]),
        tuple(shown_from(i) for i in data["from"]),
        data["message"],
    )


def check_data(c: RelationCheck) -> dict[str, Any]:
    return {
        "relation": c.relation,
        "kind": c.kind,
        "status": c.status.value,
        "metrics": encode_metrics(c.metrics),
        "message": c.message,
    }


def check_from(data: dict[str, Any]) -> RelationCheck:
    return RelationCheck(
        data["relation"],
        data["kind"],
        CheckStatus(data["status"]),
        decode_metrics(data["metrics"]),
        data["message"],
    )


def encode_metrics(metrics: tuple[Shown, ...]) -> list[dict[str, Any]]:
    return [shown_data(m) for m in metrics]


def decode_metrics(data: list[dict[str, Any]]) -> tuple[Shown, ...]:
    return tuple(shown_from(m) for m in data)


def encode_related(related: Related) -> str:
    """What `related_figures.figures` holds for a metric."""
    return dumps(
        {
            "derived": [derived_data(d) for d in related.derived],
            "checks": [check_data(c) for c in related.checks],
        }
    )


def decode_related(stored: str) -> Related:
    data = orjson.loads(stored)
    return Related(
        derived=tuple(derived_from(d) for d in data["derived"]),
        checks=tuple(check_from(c) for c in data["checks"]),
    )


def check_row(check: RelationCheck) -> tuple[str, str, str, str, str]:
    """A `relation_checks` row: relation, kind, status, metrics (JSON), message."""
    return (
        check.relation,
        check.kind,
        check.status.value,
        dumps(encode_metrics(check.metrics)),
        check.message,
    )


def check_from_row(row: Any) -> RelationCheck:
    relation, kind, status, metrics, message = row
    return RelationCheck(
        relation, kind, CheckStatus(status), decode_metrics(orjson.loads(metrics)), message
    )
