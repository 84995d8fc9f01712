"""The pure part of explained diffs: effects that add up, and the fixed phrases."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.diffs import NONE, Effect, Figures, effect, event_reason, reason_phrase, total

pytestmark = pytest.mark.unit

figure = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False)
estimates = st.one_of(
    st.just(NONE),
    st.tuples(figure, figure, figure).map(lambda t: Figures(*t)),
)


def as_numbers(figures: Figures) -> tuple[Decimal, ...]:
    return tuple(Decimal(0) if v is None else v for v in figures.values())


@given(st.lists(estimates, min_size=1, max_size=30))
def test_the_effects_of_a_run_of_estimates_add_up_to_its_change(run: list[Figures]) -> None:
    effects = [effect(before, after) for before, after in pairwise(run)]
    first, last = as_numbers(run[0]), as_numbers(run[-1])
    change = Effect(*(b - a for a, b in zip(first, last, strict=True)))
    assert total(effects) == change


def test_an_estimate_that_appears_or_vanishes_counts_from_zero() -> None:
    some = Figures(Decimal(300), Decimal(300), Decimal(1000))
    assert effect(NONE, some) == Effect(Decimal(300), Decimal(300), Decimal(1000))
    assert effect(some, NONE) == Effect(Decimal(-300), Decimal(-300), Decimal(-1000))
    assert effect(NONE, NONE) == Effect(Decimal(0), Decimal(0), Decimal(0))
    # Openness is said by the estimates, never by their difference.
    open_above = Figures(Decimal(300), Decimal(300), Decimal(1000), high_open=True)
    assert effect(some, open_above) == Effect(Decimal(0), Decimal(0), Decimal(0))


@pytest.mark.parametrize(
    ("event_type", "data", "phrase"),
    [
        ("Claim.Recorded", {"metric": "m", "note": "a note"}, "claim recorded"),
        ("Claim.Corrected", {"changes": {}, "reason": "typo"}, "claim corrected"),
        ("Claim.Retracted", {"reason": "withdrawn"}, "claim retracted"),
        ("Claim.Reinstated", {"reason": "back"}, "claim reinstated"),
        ("Claim.Assessed", {"credibility": 2, "note": None}, "claim assessed 2 (probably true)"),
        ("Claim.Assessed", {"credibility": 5}, "claim assessed 5 (improbable)"),
        ("Source.Rated", {"reliability": "B", "reason": None}, "source rated B"),
    ],
)
def test_each_event_type_has_its_fixed_phrase(
    event_type: str, data: dict[str, object], phrase: str
) -> None:
    assert reason_phrase(event_type, data) == phrase


def test_the_events_own_reason_stands_beside_the_phrase() -> None:
    assert event_reason("Claim.Retracted", {"reason": "the ministry withdrew it"}) == (
        "the ministry withdrew it"
    )
    assert event_reason("Claim.Assessed", {"credibility": 4, "note": "one source"}) == "one source"
    # A claim's own note is not a reason for recording it.
    assert event_reason("Claim.Recorded", {"note": "from a chart"}) is None
    assert event_reason("Source.Rated", {"reliability": "E", "reason": None}) is None
