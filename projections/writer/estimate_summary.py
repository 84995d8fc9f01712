"""The summary of a metric's default estimate as `metrics.estimate` stores it.

The estimate keeper writes it once per batch and the queries read it back (a metric's
row, and its current estimate without reading its claims): both go through this module,
so the stored format has one owner. Decimals are strings; the explanation is not kept.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from domain.estimates import Estimate, Evidence
from domain.values import decimal_text
from projections.log.canonical import dumps

# Metrics whose stored summary predates open ends (decision 0018).
OLDER_SUMMARIES = "SELECT id FROM metrics WHERE estimate NOT LIKE '%\"high_open\"%'"


def summary_fields(estimate: Estimate) -> dict[str, Any]:
    """The estimate without its explanation, decimals as strings."""
    return {
        "method": estimate.method,
        "low": text(estimate.low),
        "best": text(estimate.best),
        "high": text(estimate.high),
        "considered": estimate.considered,
        "included": estimate.included,
        "independent_origins": estimate.independent_origins,
        "evidence": estimate.evidence.value,
        "low_open": estimate.low_open,
        "high_open": estimate.high_open,
    }


def encode_summary(estimate: Estimate) -> str:
    """What `metrics.estimate` holds for the estimate."""
    return dumps(summary_fields(estimate))


def decode_fields(stored: str) -> dict[str, Any]:
    """The stored summary's fields, as `summary_fields` gave them."""
    fields: dict[str, Any] = json.loads(stored)
    return fields


def has_open_ends(fields: dict[str, Any]) -> bool:
    """Whether a stored summary says its open ends: one written before they were kept
    does not, and is answered from the claims until it is written again (decision 0018)."""
    return "high_open" in fields


def decode_summary(stored: str) -> Estimate:
    """The stored summary as an estimate with no explanation (ends not open when the
    summary predates them: see `has_open_ends`)."""
    kept = decode_fields(stored)
    return Estimate(
        kept["method"],
        number(kept["low"]),
        number(kept["best"]),
        number(kept["high"]),
        kept["considered"],
        kept["included"],
        kept["independent_origins"],
        Evidence(kept["evidence"]),
        (),
        low_open=kept.get("low_open", False),
        high_open=kept.get("high_open", False),
    )


def number(value: str | None) -> Decimal | None:
    return Decimal(value) if value is not None else None


def text(value: Decimal | None) -> str | None:
    return decimal_text(value) if value is not None else None
