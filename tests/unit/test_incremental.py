"""The incremental default estimate always equals the pure `weighted_median`."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain import incremental as incremental_module
from domain.estimates import (
    ClaimAsKnown,
    Weighted,
    lower_weighted_median,
    weight_of,
    weighted_median,
)
from domain.incremental import WEIGHTS, IncrementalEstimate, WeightedPoints, in_hundredths
from domain.values import ClaimStatus, Credibility, Qualifier, Reliability
from tests.builders import known

pytestmark = pytest.mark.unit

ORIGINS = ["a", "b", "c", "d"]
IDS = [f"claim-{n}" for n in range(8)]
# Enough origins included at once that the median walks over several points per change.
MANY_ORIGINS = [f"origin-{n}" for n in range(12)]
MANY_IDS = [f"claim-{n}" for n in range(30)]


@st.composite
def claim_states(
    draw: st.DrawFn, origins: list[str] = ORIGINS, ids: list[str] = IDS
) -> ClaimAsKnown:
    qualifier = draw(st.sampled_from(list(Qualifier)))
    # Often one of a few values: open and closed claims then tie at an end.
    value = Decimal(draw(st.sampled_from([100, 200, 300]) | st.integers(0, 2000)))
    high = value + Decimal(draw(st.integers(0, 500))) if qualifier is Qualifier.RANGE else None
    return ClaimAsKnown(
        id=draw(st.sampled_from(ids)),
        origin=draw(st.sampled_from(origins)),
        value=value,
        qualifier=qualifier,
        value_high=high,
        as_of=date(2025, 1, 1) + timedelta(days=draw(st.integers(0, 5))),
        published_at=draw(st.none() | st.just(date(2025, 1, 10))),
        position=draw(st.integers(1, 10)),
        status=draw(st.sampled_from(list(ClaimStatus))),
        credibility=draw(st.integers(1, 6)),
    )


def operations(
    origins: list[str] = ORIGINS, ids: list[str] = IDS, max_size: int = 40
) -> st.SearchStrategy[list[tuple[str, object]]]:
    return st.lists(
        st.one_of(
            claim_states(origins, ids).map(lambda claim: ("put", claim)),
            st.tuples(st.sampled_from(origins), st.sampled_from(list(Reliability))).map(
                lambda rating: ("rate", rating)
            ),
        ),
        max_size=max_size,
    )


def same_position_per_claim(claim: ClaimAsKnown, positions: dict[str, int]) -> ClaimAsKnown:
    """A claim's Recorded position never changes: pin it to the first one drawn."""
    position = positions.setdefault(claim.id, claim.position * 100 + len(positions))
    return claim._replace(position=position)


@settings(max_examples=300, deadline=None)
@given(operations())
def test_every_change_leaves_the_incremental_estimate_equal_to_the_pure_one(ops: list) -> None:
    check_after_every_step(ops)


@settings(max_examples=150, deadline=None)
@given(operations(MANY_ORIGINS, MANY_IDS, max_size=120))
def test_with_many_origins_every_change_leaves_it_equal_to_the_pure_one(ops: list) -> None:
    check_after_every_step(ops)


@settings(max_examples=400, deadline=None)
@given(
    operations(["a", "b"], IDS, max_size=60) | operations(["a"], IDS[:5]), st.sampled_from([0, 1])
)
def test_with_fewer_claims_kept_per_origin_every_change_still_equals_the_pure_one(
    ops: list, runners_up: int
) -> None:
    """Kept claims run out often: the origin's claims are read again, and kept anew."""
    kept = incremental_module.RUNNERS_UP
    incremental_module.RUNNERS_UP = runners_up
    try:
        check_after_every_step(ops)
    finally:
        incremental_module.RUNNERS_UP = kept


def origins_of(ops: list) -> set[str]:
    return {payload.origin for kind, payload in ops if kind == "put"}


def check_after_every_step(ops: list) -> None:
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
        # What it weighs in memory counts every claim it keeps, and no more.
        kept = sum(len(ranked) for ranked in incremental._ranked.values())
        most = (1 + incremental_module.RUNNERS_UP) * len(origins_of(ops))
        assert incremental.kept == kept <= most
        got = incremental.summary()
        assert (got.low, got.best, got.high) == (pure.low, pure.best, pure.high)
        assert (got.low_open, got.high_open) == (pure.low_open, pure.high_open)
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
    store["y"] = new._replace(status=ClaimStatus.RETRACTED)
    estimate.put(store["y"], new)
    # then
    summary = estimate.summary()
    assert (summary.best, summary.included, summary.considered) == (Decimal(300), 1, 2)
    assert estimate.winners == {"sk": old}


def test_retracted_winners_hand_over_to_kept_claims_until_they_run_out() -> None:
    """The origin's claims are read again only when its kept claims run out."""
    claims = {
        f"c{n}": ClaimAsKnown(
            f"c{n}", "sk", Decimal(100 + n), Qualifier.EXACT, None, date(2025, 1, 1 + n), None, n
        )
        for n in range(10)
    }
    asked: list[str] = []

    def candidates(origin: str) -> list[ClaimAsKnown]:
        asked.append(origin)
        return list(claims.values())

    estimate = IncrementalEstimate(candidates)
    for claim in claims.values():
        estimate.put(claim)
    for n in range(9, 0, -1):  # retract the winner, latest first
        before = claims[f"c{n}"]
        claims[before.id] = before._replace(status=ClaimStatus.RETRACTED)
        estimate.put(claims[before.id], before)
        assert estimate.winners["sk"] == claims[f"c{n - 1}"]
        retracted = 10 - n
        # the winner and RUNNERS_UP kept: the store is asked once they are all gone
        assert len(asked) == retracted // (1 + incremental_module.RUNNERS_UP)
    assert estimate.summary().best == Decimal(100)


def test_a_winner_corrected_to_older_than_a_claim_not_kept_hands_over_to_that_claim() -> None:
    """With no runner-up kept, the origin's claims are read again to find the next."""
    kept = incremental_module.RUNNERS_UP
    incremental_module.RUNNERS_UP = 0
    try:
        check_after_every_step(
            [
                ("put", known("a", 100, as_of=date(2025, 1, 1), position=1, id="c0")),
                ("put", known("a", 200, as_of=date(2025, 1, 2), position=2, id="c1")),
                ("put", known("a", 300, as_of=date(2025, 1, 3), position=3, id="c2")),
                ("put", known("a", 300, as_of=date(2024, 12, 1), position=3, id="c2")),
            ]
        )
    finally:
        incremental_module.RUNNERS_UP = kept


def test_the_weights_in_hundredths_are_the_methods_weights() -> None:
    for (reliability, credibility), hundredths in WEIGHTS.items():
        claim = known("a", 1, credibility=credibility)
        assert Decimal(hundredths) / 100 == weight_of(claim, reliability)
    assert len(WEIGHTS) == len(Reliability) * len(Credibility.ALL)


def test_a_weight_that_is_not_whole_hundredths_is_refused() -> None:
    with pytest.raises(ValueError, match="hundredths"):
        in_hundredths(Decimal("0.125"))


def lower_weighted_median_of(entries: list[tuple[Decimal, str, int]]) -> Decimal:
    """§4 step 5 over (point, id, weight) entries, as `lower_weighted_median` reads it."""
    weighted = [
        Weighted(known("a", point, id=claim_id), Decimal(weight))
        for point, claim_id, weight in entries
    ]
    return lower_weighted_median(weighted)


point_changes = st.lists(
    st.tuples(
        st.booleans(),  # add (or remove an entry held, if any)
        st.integers(0, 30).map(Decimal),  # few points, so that they tie
        st.integers(0, 100),  # a weight, zero included
        st.integers(0, 10_000),  # which entry to remove
    ),
    max_size=80,
)


@settings(max_examples=300, deadline=None)
@given(point_changes)
def test_the_kept_median_is_the_lower_weighted_median_after_every_change(changes: list) -> None:
    points = WeightedPoints()
    held: list[tuple[Decimal, str, int]] = []
    for n, (add, point, weight, pick) in enumerate(changes):
        if add or not held:
            entry = (point, f"claim-{n}", weight)
            held.append(entry)
            points.add(entry)
        else:
            points.remove(held.pop(pick % len(held)))
        assert points.entries == sorted(held)
        assert points.total == sum(weight for _, _, weight in held)
        if held:
            assert points.median() == lower_weighted_median_of(held)


def test_point_is_the_same_tuple_until_something_included_changes() -> None:
    # given
    first = known("a", 300, position=1, as_of=date(2025, 1, 15))
    estimate = IncrementalEstimate(lambda origin: [])
    estimate.put(first)
    point = estimate.point()
    # when an older claim of the origin arrives, then nothing moved
    estimate.put(known("a", 900, position=2, as_of=date(2025, 1, 14)))
    assert estimate.point() is point
    # when a later one arrives, then the point is computed again
    estimate.put(known("a", 500, position=3, as_of=date(2025, 1, 16)))
    assert estimate.point() == (Decimal(500), Decimal(500), Decimal(500), 1)
