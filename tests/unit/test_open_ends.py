"""Open ends are said (§9): `low_open` / `high_open` of an estimate, and the value as
said on each explanation line."""

from __future__ import annotations

from datetime import date
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
from domain.explanation import with_said
from domain.values import OPEN_ABOVE, ClaimStatus, Qualifier
from tests.builders import known
from tests.unit.test_estimate_properties import claim_lists, ratings_maps

pytestmark = pytest.mark.unit

D = Decimal
BOTH_METHODS = pytest.mark.parametrize(
    "method", [weighted_median, most_reliable_latest], ids=list(METHODS)
)
MIRROR = D(100_000)  # above every generated value, so a mirrored value stays positive
MIRRORED = {
    Qualifier.AT_LEAST: Qualifier.AT_MOST,
    Qualifier.AT_MOST: Qualifier.AT_LEAST,
    Qualifier.MORE_THAN: Qualifier.FEWER_THAN,
    Qualifier.FEWER_THAN: Qualifier.MORE_THAN,
}


def ends(estimate: Estimate) -> tuple[bool, bool]:
    return estimate.low_open, estimate.high_open


@BOTH_METHODS
def test_more_than_alone_is_its_value_three_times_and_open_above(method) -> None:
    estimate = method([known("a", 9000, Qualifier.MORE_THAN)], {})
    assert (estimate.low, estimate.best, estimate.high) == (D(9000), D(9000), D(9000))
    assert ends(estimate) == (False, True)


@BOTH_METHODS
def test_fewer_than_alone_is_open_below(method) -> None:
    estimate = method([known("a", 500, Qualifier.FEWER_THAN)], {})
    assert (estimate.low, estimate.high) == (D(500), D(500))
    assert ends(estimate) == (True, False)


def test_closed_claims_leave_no_end_open() -> None:
    claims = [known("a", 100), known("b", 50, Qualifier.RANGE, value_high=300)]
    assert ends(weighted_median(claims, {})) == (False, False)


def test_an_open_claim_below_a_higher_closed_one_does_not_open_the_top() -> None:
    # the claim that gives high (1,000) is closed: "at least 500" does not reach it
    estimate = weighted_median([known("a", 500, Qualifier.AT_LEAST), known("b", 1000)], {})
    assert (estimate.high, estimate.high_open) == (D(1000), False)


def test_a_range_reaching_above_an_open_claims_value_closes_the_top() -> None:
    claims = [
        known("a", 9000, Qualifier.MORE_THAN),
        known("b", 8000, Qualifier.RANGE, value_high=9500),
    ]
    estimate = weighted_median(claims, {})
    assert (estimate.high, estimate.high_open) == (D(9500), False)


@pytest.mark.parametrize("closed", [Qualifier.EXACT, Qualifier.APPROXIMATELY])
def test_an_open_and_a_closed_claim_tied_at_the_top_leave_it_open(closed) -> None:
    claims = [known("a", 9000, Qualifier.MORE_THAN), known("b", 9000, closed), known("c", 10)]
    assert ends(weighted_median(claims, {})) == (False, True)


def test_an_open_and_a_closed_claim_tied_at_the_bottom_leave_it_open() -> None:
    claims = [known("a", 10, Qualifier.AT_MOST), known("b", 10), known("c", 900)]
    assert ends(weighted_median(claims, {})) == (True, False)


def test_an_open_claim_that_is_not_included_opens_nothing() -> None:
    claims = [known("a", 9000, Qualifier.MORE_THAN, status=ClaimStatus.RETRACTED), known("b", 9000)]
    assert ends(weighted_median(claims, {})) == (False, False)


def test_nothing_included_leaves_nothing_open() -> None:
    assert ends(weighted_median([], {})) == (False, False)


def mirrored(claim: ClaimAsKnown) -> ClaimAsKnown:
    """The claim reflected about MIRROR: open above becomes open below, and back."""
    if claim.qualifier is Qualifier.RANGE:
        assert claim.value_high is not None
        return claim._replace(value=MIRROR - claim.value_high, value_high=MIRROR - claim.value)
    return claim._replace(
        value=MIRROR - claim.value, qualifier=MIRRORED.get(claim.qualifier, claim.qualifier)
    )


@BOTH_METHODS
@settings(deadline=None)
@given(claims=claim_lists(), ratings=ratings_maps)
def test_an_end_is_open_exactly_when_an_included_claim_open_that_way_gives_it(
    method, claims, ratings
) -> None:
    estimate = method(claims, ratings)
    included = {line.claim for line in estimate.explanation if line.status is LineStatus.INCLUDED}
    opening = [c for c in claims if c.id in included and c.qualifier in OPEN_ABOVE]
    assert estimate.high_open == any(c.value == estimate.high for c in opening)
    if estimate.high_open:  # then no included claim reaches above that value
        assert all(
            (c.interval.high or c.interval.point) <= estimate.high
            for c in claims
            if c.id in included
        )


@BOTH_METHODS
@settings(deadline=None)
@given(claims=claim_lists(), ratings=ratings_maps)
def test_reflecting_every_claim_swaps_the_open_ends(method, claims, ratings) -> None:
    estimate = method(claims, ratings)
    reflected = method([mirrored(c) for c in claims], ratings)
    assert ends(reflected) == (estimate.high_open, estimate.low_open)
    if estimate.included:
        assert estimate.high is not None and estimate.low is not None
        assert (reflected.low, reflected.high) == (MIRROR - estimate.high, MIRROR - estimate.low)


@settings(deadline=None)
@given(claims=claim_lists(min_size=1), ratings=ratings_maps, above=st.integers(1, 1000))
def test_a_closed_claim_of_a_new_origin_above_the_top_closes_it(claims, ratings, above) -> None:
    estimate = weighted_median(claims, ratings)
    if estimate.high is None:
        return
    higher = known("a-new-origin", estimate.high + above, position=1)
    assert weighted_median([*claims, higher], ratings).high_open is False


# explanation lines: the value as said


def test_every_line_carries_the_value_as_said_and_its_as_of() -> None:
    claims = [
        known("a", 9000, Qualifier.MORE_THAN, as_of=date(2025, 1, 10)),
        known("b", 100, Qualifier.RANGE, value_high=200, as_of=date(2025, 1, 12)),
        known("c", 5, status=ClaimStatus.RETRACTED),
    ]
    lines = {line.claim: line for line in weighted_median(claims, {}).explanation}
    said = {
        claim: (line.value, line.qualifier, line.value_high, line.as_of)
        for claim, line in lines.items()
    }
    assert said == {
        claims[0].id: (D(9000), Qualifier.MORE_THAN, None, date(2025, 1, 10)),
        claims[1].id: (D(100), Qualifier.RANGE, D(200), date(2025, 1, 12)),
        claims[2].id: (D(5), Qualifier.EXACT, None, date(2025, 1, 15)),
    }


def test_a_retracted_line_says_the_reason_its_retraction_gave() -> None:
    retracted = known("a", 5, status=ClaimStatus.RETRACTED)
    (line,) = weighted_median([retracted], {}).explanation
    said = with_said(line, "relay-outlet", "the relay withdrew its report")
    assert (said.reported_by, said.retraction_reason, said.reason) == (
        "relay-outlet",
        "the relay withdrew its report",
        "retracted: the relay withdrew its report",
    )
    assert with_said(line, "relay-outlet", None).reason == "retracted (no reason given)"


def test_a_line_that_is_not_retracted_keeps_its_reason_and_gains_its_reporter() -> None:
    (line,) = weighted_median([known("a", 5)], {}).explanation
    said = with_said(line, "outlet", "ignored")
    assert (said.reported_by, said.retraction_reason, said.reason) == ("outlet", None, line.reason)
