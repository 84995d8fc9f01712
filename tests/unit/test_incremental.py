"""The incremental default estimate always equals the pure `weighted_median`."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.estimates import ClaimAsKnown, weighted_median
from domain.incremental import IncrementalEstimate
from domain.values import ClaimStatus, Qualifier, Reliability

pytestmark = pytest.mark.unit

ORIGINS = ["a", "b", "c", "d"]
IDS = [f"claim-{n}" for n in range(8)]


@st.composite
def claim_states(draw: st.DrawFn) -> ClaimAsKnown:
    qualifier = draw(st.sampled_from(list(Qualifier)))
    value = Decimal(draw(st.integers(0, 2000)))
    high = value + Decimal(draw(st.integers(0, 500))) if qualifier is Qualifier.RANGE else None
    return ClaimAsKnown(
        id=draw(st.sampled_from(IDS)),
        origin=draw(st.sampled_from(ORIGINS)),
        value=value,
        qualifier=qualifier,
        value_high=high,
        as_of=date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 5))),
        published_at=draw(st.none() | st.just(date(2025, 1, 10))),
        position=draw(st.integers(1, 10)),
        status=draw(st.sampled_from(list(ClaimStatus))),
        credibility=draw(st.integers(1, 6)),
    )


operations = st.lists(
    st.one_of(
        claim_states().map(lambda claim: ("put", claim)),
        st.tuples(st.sampled_from(ORIGINS), st.sampled_from(list(Reliability))).map(
            lambda rating: ("rate", rating)
        ),
    ),
    max_size=40,
)


def same_position_per_claim(claim: ClaimAsKnown, positions: dict[str, int]) -> ClaimAsKnown:
    """A claim's Recorded position never changes: pin it to the first one drawn."""
    position = positions.setdefault(claim.id, claim.position * 100 + len(positions))
    return ClaimAsKnown(**{**claim.__dict__, "position": position})


@settings(max_examples=300, deadline=None)
@given(operations)
def test_every_change_leaves_the_incremental_estimate_equal_to_the_pure_one(ops: list) -> None:
    incremental = IncrementalEstimate()
    claims: dict[str, ClaimAsKnown] = {}
    ratings: dict[str, Reliability] = {}
    positions: dict[str, int] = {}
    for kind, payload in ops:
        if kind == "put":
            claim = same_position_per_claim(payload, positions)
            claims[claim.id] = claim
            incremental.put(claim)
        else:
            origin, reliability = payload
            ratings[origin] = reliability
            incremental.rate(origin, reliability)
        pure = weighted_median(list(claims.values()), ratings)
        got = incremental.summary()
        assert (got.low, got.best, got.high) == (pure.low, pure.best, pure.high)
        assert incremental.point() == (pure.low, pure.best, pure.high, pure.included)
        assert (got.considered, got.included, got.independent_origins, got.evidence) == (
            pure.considered,
            pure.included,
            pure.independent_origins,
            pure.evidence,
        )


def test_a_new_claim_of_an_origin_replaces_its_older_one() -> None:
    # given
    estimate = IncrementalEstimate()
    old = ClaimAsKnown("x", "sk", Decimal(300), Qualifier.EXACT, None, date(2025, 1, 15), None, 1)
    new = ClaimAsKnown("y", "sk", Decimal(500), Qualifier.EXACT, None, date(2025, 1, 20), None, 2)
    # when
    estimate.put(old)
    estimate.put(new)
    # then
    summary = estimate.summary()
    assert (summary.best, summary.included, summary.considered) == (Decimal(500), 1, 2)
