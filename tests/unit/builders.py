"""Small builders shared by the unit tests: claims as the estimate methods see them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from itertools import count

from domain.estimates import ClaimAsKnown
from domain.values import ClaimStatus, Credibility, Qualifier

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
