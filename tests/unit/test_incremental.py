"""The incremental default estimate always equals the pure `weighted_median`."""

from __future__ import annotations

from dataclasses import replace
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
    claims: dict[str, ClaimAsKnown] = {}
    ratings: dict[str, Reliability] = {}
    incremental = IncrementalEstimate(
        lambda origin: list(claims.values()), lambda origin: ratings.get(origin, Reliability.F)
    )
    positions: dict[str, int] = {}
    for kind, payload in ops:
        if kind == "put":
            claim = same_position_per_claim(payload, positions)
            previous = claims.get(claim.id)
            claims[claim.id] = claim  # the store holds the new state before the estimate hears
            incremental.put(claim, previous)
        else:
            origin, reliability = payload
            ratings[origin] = reliability
            if origin in incremental.ratings:  # one it has not seen asks `reliability_of`
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
    old = ClaimAsKnown("x", "sk", Decimal(300), Qualifier.EXACT, None, date(2025, 1, 15), None, 1)
    new = ClaimAsKnown("y", "sk", Decimal(500), Qualifier.EXACT, None, date(2025, 1, 20), None, 2)
    asked: list[str] = []
    estimate = IncrementalEstimate(lambda origin: asked.append(origin) or [old, new])
    # when
    estimate.put(old)
    estimate.put(new)
    # then
    summary = estimate.summary()
    assert (summary.best, summary.included, summary.considered) == (Decimal(500), 1, 2)
    assert asked == []  # no winner left: the store was never asked


def test_a_retracted_winner_hands_over_to_the_origins_next_latest_claim() -> None:
    # given
    old = ClaimAsKnown("x", "sk", Decimal(300), Qualifier.EXACT, None, date(2025, 1, 15), None, 1)
    new = ClaimAsKnown("y", "sk", Decimal(500), Qualifier.EXACT, None, date(2025, 1, 20), None, 2)
    store = {"x": old, "y": new}
    estimate = IncrementalEstimate(lambda origin: store.values())
    estimate.put(old)
    estimate.put(new)
    # when
    store["y"] = replace(new, status=ClaimStatus.RETRACTED)
    estimate.put(store["y"], new)
    # then
    summary = estimate.summary()
    assert (summary.best, summary.included, summary.considered) == (Decimal(300), 1, 2)
    assert estimate.winners == {"sk": old}
