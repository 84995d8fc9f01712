"""Properties of the estimate methods over generated claims (Hypothesis)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.estimates import (
    METHODS,
    ClaimAsKnown,
    Estimate,
    LineStatus,
    most_reliable_latest,
    weighted_median,
)
from domain.values import ClaimStatus, Credibility, Qualifier, Reliability

pytestmark = pytest.mark.unit

ORIGINS = ("ministry", "officials", "agency", "outlet")
BOTH_METHODS = pytest.mark.parametrize(
    "method", [weighted_median, most_reliable_latest], ids=list(METHODS)
)
DAY0 = date(2025, 1, 1)

values = st.one_of(
    st.integers(min_value=0, max_value=20_000).map(Decimal),
    st.decimals(min_value=0, max_value=1000, places=1, allow_nan=False, allow_infinity=False),
)
days = st.integers(min_value=0, max_value=20).map(lambda n: DAY0 + timedelta(days=n))


@st.composite
def claim_specs(draw):
    """Everything of a claim but its id and position."""
    qualifier = draw(st.sampled_from(list(Qualifier)))
    value = draw(values)
    value_high = value + draw(values) if qualifier is Qualifier.RANGE else None
    return {
        "origin": draw(st.sampled_from(ORIGINS)),
        "value": value,
        "qualifier": qualifier,
        "value_high": value_high,
        "as_of": draw(days),
        "published_at": draw(st.none() | days),
        "status": draw(st.sampled_from([ClaimStatus.ACTIVE] * 3 + [ClaimStatus.RETRACTED])),
        "credibility": draw(st.sampled_from(Credibility.ALL)),
    }


@st.composite
def claim_lists(draw, min_size=0):
    """Claims with distinct ids and distinct even positions (odd ones are left for relays)."""
    specs = draw(st.lists(claim_specs(), min_size=min_size, max_size=12))
    positions = draw(
        st.lists(
            st.integers(min_value=1, max_value=10_000),
            min_size=len(specs),
            max_size=len(specs),
            unique=True,
        )
    )
    return [
        ClaimAsKnown(id=f"claim-{2 * p}", position=2 * p, **spec)
        for spec, p in zip(specs, positions, strict=True)
    ]


ratings_maps = st.dictionaries(st.sampled_from(ORIGINS), st.sampled_from(list(Reliability)))


def numbers(estimate: Estimate) -> tuple[Decimal | None, ...]:
    return (estimate.low, estimate.best, estimate.high)


def summary(estimate: Estimate) -> tuple[object, ...]:
    """What a relay must not change: the numbers, the counts and the evidence."""
    return (
        *numbers(estimate),
        estimate.included,
        estimate.independent_origins,
        estimate.evidence,
    )


@BOTH_METHODS
@settings(deadline=None)
@given(claims=claim_lists(), ratings=ratings_maps, data=st.data())
def test_the_order_of_the_claims_never_changes_the_estimate(method, claims, ratings, data):
    # given the same claims in another order
    shuffled = data.draw(st.permutations(claims))
    # then the estimate, explanation included, is the same
    assert method(shuffled, ratings) == method(claims, ratings)


@BOTH_METHODS
@settings(deadline=None)
@given(claims=claim_lists(), ratings=ratings_maps)
def test_low_best_and_high_are_ordered_or_all_absent(method, claims, ratings):
    estimate = method(claims, ratings)
    if estimate.included == 0:
        assert numbers(estimate) == (None, None, None)
    else:
        assert estimate.low <= estimate.best <= estimate.high


@BOTH_METHODS
@settings(deadline=None)
@given(claims=claim_lists(min_size=1), ratings=ratings_maps)
def test_best_is_always_one_of_the_included_points(method, claims, ratings):
    estimate = method(claims, ratings)
    included = [line for line in estimate.explanation if line.status is LineStatus.INCLUDED]
    assert len(included) == estimate.included
    if included:
        assert estimate.best in {line.point for line in included}
        assert all(estimate.low <= line.point <= estimate.high for line in included)


@BOTH_METHODS
@settings(deadline=None)
@given(claims=claim_lists(), ratings=ratings_maps)
def test_every_candidate_is_explained_once_and_origins_count_once(method, claims, ratings):
    estimate = method(claims, ratings)
    assert estimate.considered == len(claims) == len(estimate.explanation)
    assert sorted(line.claim for line in estimate.explanation) == sorted(c.id for c in claims)
    included_origins = [
        line.origin for line in estimate.explanation if line.status is LineStatus.INCLUDED
    ]
    assert len(included_origins) == len(set(included_origins)) == estimate.independent_origins


@BOTH_METHODS
@settings(deadline=None)
@given(claims=claim_lists(min_size=1), ratings=ratings_maps, data=st.data())
def test_an_earlier_relay_of_a_claim_never_moves_the_estimate(method, claims, ratings, data):
    # given a copy of one claim, identical but for its id and an earlier position
    original = data.draw(st.sampled_from(claims))
    relay = original._replace(id=f"relay-of-{original.id}", position=original.position - 1)
    # when it is added
    before, after = method(claims, ratings), method([*claims, relay], ratings)
    # then low, best, high, the counts and the evidence stay, and the relay is not included
    assert summary(after) == summary(before)
    assert after.considered == before.considered + 1
    [line] = [line for line in after.explanation if line.claim == relay.id]
    assert line.status is not LineStatus.INCLUDED


@settings(deadline=None)
@given(claims=claim_lists(min_size=1), ratings=ratings_maps, data=st.data())
def test_a_later_relay_of_an_origins_standing_claim_never_moves_the_weighted_median(
    claims, ratings, data
):
    # given a copy, recorded after everything else, of a claim its origin has not superseded
    # (a later copy of a superseded claim is newer news: it may rightly supersede in turn)
    before = weighted_median(claims, ratings)
    superseded = {line.claim for line in before.explanation if line.status is LineStatus.SUPERSEDED}
    original = data.draw(st.sampled_from([c for c in claims if c.id not in superseded]))
    later = max(c.position for c in claims) + 1
    relay = original._replace(id=f"relay-of-{original.id}", position=later)
    # then the weighted median does not move: relays of one origin count once
    assert summary(weighted_median([*claims, relay], ratings)) == summary(before)


@BOTH_METHODS
@settings(deadline=None)
@given(claims=claim_lists(), ratings=ratings_maps, data=st.data())
def test_a_stale_relay_with_another_value_never_wins(method, claims, ratings, data):
    # given an active claim and a relay of its origin about an earlier day, with another value
    active = [c for c in claims if c.status is ClaimStatus.ACTIVE]
    if not active:
        return
    original = data.draw(st.sampled_from(active))
    stale = original._replace(
        id=f"stale-{original.id}",
        position=original.position - 1,
        as_of=original.as_of - timedelta(days=1),
        value=original.value + 7,
        value_high=None if original.value_high is None else original.value_high + 7,
    )
    after = method([*claims, stale], ratings)
    # then it is never included: its origin's later claim supersedes it or both are dropped
    [line] = [line for line in after.explanation if line.claim == stale.id]
    assert line.status is not LineStatus.INCLUDED
    assert summary(after) == summary(method(claims, ratings))


@BOTH_METHODS
@settings(deadline=None)
@given(claims=claim_lists(), ratings=ratings_maps, data=st.data())
def test_an_origin_rated_e_never_contributes(method, claims, ratings, data):
    origin = data.draw(st.sampled_from(ORIGINS))
    estimate = method(claims, {**ratings, origin: Reliability.E})
    assert origin not in {
        line.origin for line in estimate.explanation if line.status is LineStatus.INCLUDED
    }


@settings(deadline=None)
@given(claims=claim_lists(), ratings=ratings_maps, valid_at=days)
def test_valid_at_considers_only_claims_about_that_day_or_before(claims, ratings, valid_at):
    estimate = weighted_median(claims, ratings, valid_at)
    assert estimate.considered == sum(1 for c in claims if c.as_of <= valid_at)
