"""A claim as the views store it (JSON, decimals as strings) and as the estimate methods see it."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from domain.estimates import ClaimAsKnown
from domain.values import ClaimStatus, Qualifier

ClaimState = dict[str, Any]
QUALIFIERS = {q.value: q for q in Qualifier}
STATUSES = {s.value: s for s in ClaimStatus}


def origin_of(state: ClaimState) -> str:
    chain = state["attributed_to"]
    return str(chain[-1]) if chain else str(state["reported_by"])


def as_known(state: ClaimState, recorded_position: int) -> ClaimAsKnown:
    """The claim as the estimate methods see it. Built once or twice per claim event
    applied, so the fields go positionally (cheaper than keywords), the enums are
    looked up by value (not through `EnumType.__call__`), and the origin is the one
    the writer stored with the state."""
    high = state.get("value_high")
    published = state.get("published_at")
    try:
        qualifier = QUALIFIERS[state["qualifier"]]
        status = STATUSES[state["status"]]
    except KeyError:  # not one of ours: the enum says why
        qualifier, status = Qualifier(state["qualifier"]), ClaimStatus(state["status"])
    return ClaimAsKnown(
        state["id"],
        state.get("origin") or origin_of(state),
        Decimal(state["value"]),
        qualifier,
        Decimal(high) if high is not None else None,
        date.fromisoformat(state["as_of"]),
        date.fromisoformat(published) if published else None,
        recorded_position,
        status,
        int(state["credibility"]),
    )
