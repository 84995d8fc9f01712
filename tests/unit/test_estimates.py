"""§4 estimates as pure functions of the claims and ratings as known at a moment."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.estimates import (
    CREDIBILITY_WEIGHT,
    DEFAULT_METHOD,
    METHODS,
    RELIABILITY_WEIGHT,
    Evidence,
    LineStatus,
    most_reliable_latest,
    weighted_median,
)
from domain.values import ClaimStatus, Qualifier, Reliability
from tests.builders import known

pytestmark = pytest.mark.unit

D = Decimal
JAN = date(2025, 1, 1)


def lines_by_claim(estimate):
    return {line.claim: line for line in estimate.explanation}


# step 1: candidates


def test_without_valid_at_every_claim_is_a_candidate():
    claims = [known("a", 1, as_of=date(2025, 1, 1)), known("b", 2, as_of=date(2025, 1, 30))]
    assert weighted_median(claims, {}).considered == 2


def test_valid_at_keeps_only_claims_whose_as_of_is_on_or_before_it():
    # given claims about the 10th, the 15th and the 20th
    claims = [
        known("a", 100, as_of=date(2025, 1, 10)),
        known("b", 200, as_of=date(2025, 1, 15)),
        known("c", 300, as_of=date(2025, 1, 20)),
    ]
    # when asked for the figure valid at the 15th
    estimate = weighted_median(claims, {}, valid_at=date(2025, 1, 15))
    # then the claim about the 20th is not even considered
    assert estimate.considered == 2
    assert estimate.high == D(200)
    assert {line.claim for line in estimate.explanation} == {claims[0].id, claims[1].id}


def test_valid_at_can_bring_back_an_origins_older_figure():
    old = known("ministry", 100, as_of=date(2025, 1, 10))
    new = known("ministry", 500, as_of=date(2025, 1, 20))
    assert weighted_median([old, new], {}).best == D(500)
    assert weighted_median([old, new], {}, valid_at=date(2025, 1, 19)).best == D(100)


# step 2: drops


def test_a_retracted_claim_is_dropped_and_explained_as_retracted():
    retracted = known("a", 1000, status=ClaimStatus.RETRACTED)
    kept = known("b", 300)
    estimate = weighted_median([retracted, kept], {})
    assert (estimate.best, estimate.considered, estimate.included) == (D(300), 2, 1)
    line = lines_by_claim(estimate)[retracted.id]
    assert (line.status, line.weight, line.reason) == (
        LineStatus.RETRACTED,
        None,
        "retracted by its source",
    )


def test_a_claim_assessed_improbable_is_excluded():
    improbable = known("a", 1000, credibility=5)
    estimate = weighted_median([improbable, known("b", 300)], {})
    assert estimate.included == 1
    line = lines_by_claim(estimate)[improbable.id]
    assert (line.status, line.reason) == (LineStatus.EXCLUDED, "assessed 5 (improbable)")


def test_a_claim_whose_origin_is_rated_e_is_excluded():
    unreliable = known("tabloid", 1000)
    estimate = weighted_median([unreliable, known("b", 300)], {"tabloid": Reliability.E})
    assert estimate.included == 1
    line = lines_by_claim(estimate)[unreliable.id]
    assert line.status is LineStatus.EXCLUDED
    assert line.reason == "origin tabloid is rated E (unreliable)"


def test_a_source_unknown_to_the_ratings_counts_as_f():
    claim = known("stranger", 10)
    [line] = weighted_median([claim], {}).explanation
    assert line.weight == D("0.25")


def test_an_origin_rated_d_is_still_included():
    estimate = weighted_median([known("d", 5)], {"d": Reliability.D})
    assert estimate.included == 1


def test_a_dropped_claim_does_not_supersede_an_older_one_of_its_origin():
    # given an origin's newer claim that was retracted
    older = known("ministry", 300, as_of=date(2025, 1, 10))
    newer = known("ministry", 900, as_of=date(2025, 1, 20), status=ClaimStatus.RETRACTED)
    # then the older claim stands
    estimate = weighted_median([older, newer], {})
    assert estimate.best == D(300)
    assert lines_by_claim(estimate)[older.id].status is LineStatus.INCLUDED


# step 3: supersession per origin


def test_an_origin_that_revises_its_figure_replaces_the_old_one():
    old = known("ministry", 300, as_of=date(2025, 1, 10))
    new = known("ministry", 500, as_of=date(2025, 1, 20))
    estimate = weighted_median([new, old], {})
    assert (estimate.best, estimate.included, estimate.considered) == (D(500), 1, 2)
    line = lines_by_claim(estimate)[old.id]
    assert line.status is LineStatus.SUPERSEDED
    assert line.reason == f"superseded by claim {new.id} from the same origin ministry"


def test_with_equal_as_of_the_later_published_claim_wins():
    later = known("ministry", 500, published_at=date(2025, 1, 25), position=1)
    earlier = known("ministry", 300, published_at=date(2025, 1, 20), position=2)
    assert weighted_median([later, earlier], {}).best == D(500)


def test_a_claim_with_a_publication_date_beats_one_without_on_the_same_as_of():
    dated = known("ministry", 500, published_at=date(2025, 1, 2), position=1)
    undated = known("ministry", 300, published_at=None, position=2)
    assert weighted_median([dated, undated], {}).best == D(500)


def test_with_equal_as_of_and_published_at_the_later_position_wins():
    first = known("ministry", 300, position=10)
    second = known("ministry", 500, position=11)
    assert weighted_median([second, first], {}).best == D(500)
    assert weighted_median([first, second], {}).best == D(500)


def test_as_of_outranks_published_at_and_position():
    about_later = known("m", 500, as_of=date(2025, 1, 20), published_at=JAN, position=1)
    published_later = known(
        "m", 300, as_of=date(2025, 1, 10), published_at=date(2025, 1, 30), position=2
    )
    assert weighted_median([about_later, published_later], {}).best == D(500)


def test_relays_of_one_origin_count_once():
    # given three outlets relaying the same ministry figure, and one other origin
    relays = [known("ministry", 1000, position=p) for p in (1, 2, 3)]
    other = known("officials", 300, position=4)
    estimate = weighted_median([*relays, other], {})
    # then the ministry counts once: an even split, not three to one
    assert (estimate.included, estimate.independent_origins) == (2, 2)
    assert estimate.best == D(300)


def test_a_relay_that_is_older_never_wins():
    latest = known("ministry", 1000, as_of=date(2025, 1, 20), position=1)
    stale_relay = known("ministry", 50, as_of=date(2025, 1, 5), position=99)
    estimate = weighted_median([latest, stale_relay], {})
    assert (estimate.low, estimate.best, estimate.high) == (D(1000), D(1000), D(1000))
    assert lines_by_claim(estimate)[stale_relay.id].status is LineStatus.SUPERSEDED


# step 4: weights


@pytest.mark.parametrize(
    ("reliability", "weight"),
    [
        (Reliability.A, "1.0"),
        (Reliability.B, "0.8"),
        (Reliability.C, "0.6"),
        (Reliability.D, "0.4"),
        (Reliability.F, "0.5"),
    ],
)
def test_the_reliability_weights_are_those_of_the_table(reliability, weight):
    assert RELIABILITY_WEIGHT[reliability] == D(weight)


@pytest.mark.parametrize(
    ("credibility", "weight"), [(1, "1.0"), (2, "0.8"), (3, "0.6"), (4, "0.4"), (6, "0.5")]
)
def test_the_credibility_weights_are_those_of_the_table(credibility, weight):
    assert CREDIBILITY_WEIGHT[credibility] == D(weight)


@pytest.mark.parametrize(
    ("reliability", "credibility", "weight"),
    [
        (Reliability.A, 1, "1"),
        (Reliability.B, 2, "0.64"),
        (Reliability.C, 3, "0.36"),
        (Reliability.D, 4, "0.16"),
        (Reliability.F, 6, "0.25"),
        (Reliability.A, 6, "0.5"),
        (Reliability.F, 1, "0.5"),
    ],
)
def test_a_weight_is_reliability_times_credibility(reliability, credibility, weight):
    claim = known("origin", 10, credibility=credibility)
    [line] = weighted_median([claim], {"origin": reliability}).explanation
    assert line.weight == D(weight)
    assert line.reason == f"latest claim of origin origin; weight {D(weight).normalize()}"


# step 5: best, low, high


def test_an_even_split_picks_the_lower_point():
    estimate = weighted_median([known("a", 1000), known("b", 300)], {})
    assert estimate.best == D(300)


def test_the_weighted_median_follows_the_heavier_side():
    # given a reliable origin at 1000 and an unrated one at 300
    claims = [known("a", 1000), known("b", 300)]
    # then 300 alone does not reach half the weight
    assert weighted_median(claims, {"a": Reliability.A}).best == D(1000)


def test_the_best_is_the_first_point_whose_cumulative_weight_reaches_half():
    # weights 0.25 each at 10, 20, 30, 40: half is 0.5, reached at 20
    claims = [known(origin, value) for origin, value in zip("abcd", (40, 10, 30, 20), strict=True)]
    assert weighted_median(claims, {}).best == D(20)


def test_the_best_of_three_equal_weights_is_the_middle_point():
    claims = [known("a", 1), known("b", 7), known("c", 100)]
    assert weighted_median(claims, {}).best == D(7)


def test_the_best_of_a_range_is_its_midpoint_and_its_ends_are_low_and_high():
    estimate = weighted_median([known("a", 1000, Qualifier.RANGE, value_high=1500)], {})
    assert (estimate.low, estimate.best, estimate.high) == (D(1000), D(1250), D(1500))


def test_low_and_high_span_every_included_interval():
    claims = [
        known("a", 1000, Qualifier.RANGE, value_high=1500),
        known("b", 800),
        known("c", 1200, Qualifier.APPROXIMATELY),
    ]
    estimate = weighted_median(claims, {})
    assert (estimate.low, estimate.high) == (D(800), D(1500))


def test_an_interval_open_above_uses_its_point_as_its_upper_end():
    estimate = weighted_median([known("a", 10000, Qualifier.AT_LEAST), known("b", 500)], {})
    assert (estimate.low, estimate.high) == (D(500), D(10000))


def test_an_interval_open_below_uses_its_point_as_its_lower_end():
    estimate = weighted_median([known("a", 500, Qualifier.AT_MOST), known("b", 800)], {})
    assert (estimate.low, estimate.high) == (D(500), D(800))


@pytest.mark.parametrize(
    ("qualifier", "expected"),
    [
        (Qualifier.MORE_THAN, (D(10000), D(10000), D(10000))),
        (Qualifier.FEWER_THAN, (D(10000), D(10000), D(10000))),
    ],
)
def test_a_single_open_claim_collapses_to_its_point(qualifier, expected):
    estimate = weighted_median([known("a", 10000, qualifier)], {})
    assert (estimate.low, estimate.best, estimate.high) == expected


def test_an_excluded_claim_does_not_widen_low_or_high():
    claims = [known("a", 300), known("b", 5, status=ClaimStatus.RETRACTED), known("c", 1000)]
    estimate = weighted_median(claims, {"c": Reliability.E})
    assert (estimate.low, estimate.best, estimate.high) == (D(300), D(300), D(300))


# step 6: nothing left


def test_no_claims_at_all_give_no_estimate_and_no_evidence():
    estimate = weighted_median([], {})
    assert (estimate.low, estimate.best, estimate.high) == (None, None, None)
    assert (estimate.considered, estimate.included, estimate.independent_origins) == (0, 0, 0)
    assert estimate.evidence is Evidence.NONE
    assert estimate.explanation == ()


def test_when_every_candidate_is_dropped_there_is_no_estimate_but_everything_is_explained():
    claims = [known("a", 1, status=ClaimStatus.RETRACTED), known("b", 2, credibility=5)]
    estimate = most_reliable_latest(claims, {})
    assert (estimate.low, estimate.best, estimate.high, estimate.included) == (
        None,
        None,
        None,
        0,
    )
    assert estimate.considered == 2
    assert estimate.evidence is Evidence.NONE
    assert {line.status for line in estimate.explanation} == {
        LineStatus.RETRACTED,
        LineStatus.EXCLUDED,
    }


# evidence


def test_evidence_is_confirmed_when_an_included_claim_is_assessed_one():
    claims = [known("a", 300, credibility=1), known("b", 1000)]
    assert weighted_median(claims, {}).evidence is Evidence.CONFIRMED


def test_confirmed_comes_before_weak_for_a_single_origin():
    assert weighted_median([known("a", 300, credibility=1)], {}).evidence is Evidence.CONFIRMED


def test_a_superseded_confirmed_claim_does_not_confirm():
    old = known("a", 300, credibility=1, as_of=date(2025, 1, 1))
    new = known("a", 400, as_of=date(2025, 1, 2))
    assert weighted_median([old, new, known("b", 410)], {}).evidence is Evidence.FAIR


def test_evidence_is_contested_when_the_largest_point_is_more_than_twice_the_smallest():
    claims = [known("a", 300), known("b", 601)]
    assert weighted_median(claims, {}).evidence is Evidence.CONTESTED


def test_exactly_twice_the_smallest_is_only_fair():
    claims = [known("a", 300), known("b", 600)]
    assert weighted_median(claims, {}).evidence is Evidence.FAIR


def test_evidence_is_fair_with_two_independent_agreeing_origins():
    claims = [known("a", 2700), known("b", 3000)]
    assert weighted_median(claims, {}).evidence is Evidence.FAIR


def test_evidence_is_weak_with_one_origin_even_if_many_relay_it():
    claims = [known("ministry", 2, position=p) for p in (201, 202, 203)]
    estimate = weighted_median(claims, {})
    assert estimate.evidence is Evidence.WEAK
    assert (estimate.included, estimate.independent_origins) == (1, 1)


def test_independent_origins_counts_distinct_included_origins():
    claims = [
        known("a", 1),
        known("a", 2),
        known("b", 3),
        known("c", 4, status=ClaimStatus.RETRACTED),
        known("d", 5),
    ]
    estimate = weighted_median(claims, {"d": Reliability.E})
    assert estimate.independent_origins == estimate.included == 2


# most-reliable-latest


def test_most_reliable_latest_takes_the_heaviest_included_claim():
    claims = [known("a", 300), known("b", 1000), known("c", 50)]
    estimate = most_reliable_latest(claims, {"b": Reliability.B})
    assert estimate.best == D(1000)
    assert (estimate.low, estimate.high) == (D(50), D(1000))
    assert estimate.method == "most-reliable-latest"


def test_most_reliable_latest_breaks_a_weight_tie_by_the_latest_as_of():
    newer = known("a", 300, as_of=date(2025, 1, 20), position=1)
    older = known("b", 1000, as_of=date(2025, 1, 10), position=2)
    assert most_reliable_latest([newer, older], {}).best == D(300)


def test_most_reliable_latest_breaks_a_full_tie_by_the_later_position():
    first = known("a", 300, position=1)
    second = known("b", 1000, position=2)
    assert most_reliable_latest([first, second], {}).best == D(1000)
    assert most_reliable_latest([second, first], {}).best == D(1000)


def test_weight_outranks_recency_in_most_reliable_latest():
    heavy_old = known("a", 300, as_of=date(2025, 1, 1), position=1)
    light_new = known("b", 1000, as_of=date(2025, 1, 20), position=2)
    assert most_reliable_latest([heavy_old, light_new], {"a": Reliability.A}).best == D(300)


def test_both_methods_share_candidates_drops_supersession_and_bounds():
    claims = [
        known("a", 300, as_of=date(2025, 1, 1)),
        known("a", 350, as_of=date(2025, 1, 5)),
        known("b", 1000, Qualifier.AT_LEAST),
        known("c", 20, status=ClaimStatus.RETRACTED),
    ]
    ratings = {"b": Reliability.A}
    median, latest = weighted_median(claims, ratings), most_reliable_latest(claims, ratings)
    for name in ("low", "high", "considered", "included", "independent_origins", "evidence"):
        assert getattr(median, name) == getattr(latest, name)
    assert median.explanation == latest.explanation


def test_the_methods_are_registered_by_name_with_weighted_median_the_default():
    assert DEFAULT_METHOD == "weighted-median"
    assert METHODS["weighted-median"] is weighted_median
    assert METHODS["most-reliable-latest"] is most_reliable_latest
    assert weighted_median([], {}).method == "weighted-median"


# explanation


def test_the_explanation_has_one_line_per_candidate_with_its_origin_and_point():
    claims = [
        known("a", 1000, Qualifier.RANGE, value_high=2000),
        known("a", 10, as_of=date(2024, 12, 1)),
        known("b", 300, status=ClaimStatus.RETRACTED),
        known("c", 7, credibility=5),
    ]
    estimate = weighted_median(claims, {})
    lines = lines_by_claim(estimate)
    assert len(estimate.explanation) == len(claims)
    assert {claim.id: (lines[claim.id].origin, lines[claim.id].point) for claim in claims} == {
        claims[0].id: ("a", D(1500)),
        claims[1].id: ("a", D(10)),
        claims[2].id: ("b", D(300)),
        claims[3].id: ("c", D(7)),
    }
    assert [lines[c.id].status for c in claims] == [
        LineStatus.INCLUDED,
        LineStatus.SUPERSEDED,
        LineStatus.RETRACTED,
        LineStatus.EXCLUDED,
    ]


def test_only_included_lines_carry_a_weight():
    claims = [known("a", 1), known("a", 2), known("b", 3, status=ClaimStatus.RETRACTED)]
    for line in weighted_median(claims, {}).explanation:
        assert (line.weight is not None) == (line.status is LineStatus.INCLUDED)


def test_included_lines_come_first_then_the_others_each_by_point():
    claims = [
        known("a", 50, status=ClaimStatus.RETRACTED),
        known("b", 900),
        known("c", 5, credibility=5),
        known("d", 100),
    ]
    lines = weighted_median(claims, {}).explanation
    assert [(line.status is LineStatus.INCLUDED, line.point) for line in lines] == [
        (True, D(100)),
        (True, D(900)),
        (False, D(5)),
        (False, D(50)),
    ]
