"""The tests' claim builders, one for each layer's need, with the same defaults (a claim
as of 2025-01-15, published a week later):

- `claim`: the fields of a claim the ledger records (domain commands);
- `known`: a claim as the estimate methods see it (a position, a status, a credibility);
- `a_claim`: the JSON body of `POST /v1/claims`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count
from typing import Any

from domain.claims import ClaimFields
from domain.estimates import ClaimAsKnown
from domain.values import ClaimStatus, Credibility, Qualifier


def claim(
    metric: str,
    value: int | str,
    reported_by: str,
    *attributed_to: str,
    qualifier: Qualifier = Qualifier.EXACT,
    as_of: date = date(2025, 1, 15),
    published_at: date | None = date(2025, 1, 22),
    value_high: int | str | None = None,
) -> ClaimFields:
    """The fields of one claim, with sensible defaults."""
    return ClaimFields(
        metric=metric,
        value=Decimal(value),
        qualifier=qualifier,
        reported_by=reported_by,
        attributed_to=tuple(attributed_to),
        as_of=as_of,
        published_at=published_at,
        value_high=None if value_high is None else Decimal(value_high),
    )


_positions = count(1)


def known(
    origin: str,
    value: str | int,
    qualifier: Qualifier = Qualifier.EXACT,
    *,
    value_high: str | int | None = None,
    as_of: date = date(2025, 1, 15),
    published_at: date | None = date(2025, 1, 22),
    position: int | None = None,
    status: ClaimStatus = ClaimStatus.ACTIVE,
    credibility: int = Credibility.CANNOT_BE_JUDGED,
    id: str | None = None,
) -> ClaimAsKnown:
    """A claim as known, with a fresh position and id unless given."""
    position = next(_positions) if position is None else position
    return ClaimAsKnown(
        id=id or f"claim-{position}",
        origin=origin,
        value=Decimal(value),
        qualifier=qualifier,
        value_high=None if value_high is None else Decimal(value_high),
        as_of=as_of,
        published_at=published_at,
        position=position,
        status=status,
        credibility=credibility,
    )


def a_claim(metric: str, reported_by: str, value: Any = 100, **fields: Any) -> dict[str, Any]:
    return {
        "metric": metric,
        "value": value,
        "as_of": "2025-01-15",
        "reported_by": reported_by,
        **fields,
    }
