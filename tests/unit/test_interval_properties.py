"""Properties of the interval arithmetic of §9 over generated figures (Hypothesis)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.intervals import (
    HUNDRED,
    Bounds,
    NotEvaluable,
    difference,
    nearest,
    outward,
    product,
    quantum_of,
    quotient,
    scaled,
    total,
)

pytestmark = pytest.mark.unit

amounts = st.one_of(
    st.integers(min_value=0, max_value=1_000_000).map(Decimal),
    st.decimals(min_value=0, max_value=10_000, places=2, allow_nan=False, allow_infinity=False),
)


@st.composite
def bounded_with_a_value(draw: st.DrawFn) -> tuple[Bounds, Decimal]:
    """An interval, one or both ends possibly open, and a value inside it."""
    a, b, c = sorted(draw(amounts) for _ in range(3))
    low = None if draw(st.booleans()) and draw(st.booleans()) else a
    high = None if draw(st.booleans()) and draw(st.booleans()) else c
    return Bounds(low, high), b


@given(st.lists(bounded_with_a_value(), min_size=1, max_size=6))
def test_a_sum_holds_the_sum_of_any_values_inside_its_terms(terms) -> None:
    result = total(bounds for bounds, _ in terms)
    assert result.holds(sum((value for _, value in terms), Decimal(0)))


@given(st.lists(bounded_with_a_value(), min_size=1, max_size=6), st.randoms())
def test_a_sum_does_not_depend_on_the_order_of_its_terms(terms, random) -> None:
    shuffled = list(terms)
    random.shuffle(shuffled)
    assert total(b for b, _ in terms) == total(b for b, _ in shuffled)


@given(bounded_with_a_value(), bounded_with_a_value())
def test_a_difference_holds_the_difference_of_any_values_inside(a, b) -> None:
    assert difference(a[0], b[0]).holds(a[1] - b[1])


@given(bounded_with_a_value(), bounded_with_a_value())
def test_a_product_holds_the_product_and_does_not_depend_on_order(a, b) -> None:
    assert product(a[0], b[0]).holds(a[1] * b[1])
    assert product(a[0], b[0]) == product(b[0], a[0])


@given(bounded_with_a_value(), bounded_with_a_value())
def test_a_quotient_holds_the_quotient_of_any_values_inside(a, b) -> None:
    assume(not b[0].holds_zero())
    result = quotient(scaled(a[0], HUNDRED), b[0])
    exact = Fraction(HUNDRED * a[1]) / Fraction(b[1])  # no rounding at all
    assert result.holds(exact)  # type: ignore[arg-type]


@given(bounded_with_a_value(), st.sampled_from(["people", "percent", "km"]))
def test_rounding_outward_keeps_every_value_the_exact_bounds_held(a, unit) -> None:
    bounds, value = a
    rounded = outward(bounds, quantum_of(unit))
    assert rounded.holds(value)
    for end in (rounded.low, rounded.high):
        assert end is None or end == end.quantize(quantum_of(unit))


@given(bounded_with_a_value())
def test_open_ends_stay_open(a) -> None:
    bounds, _ = a
    doubled = total([bounds, bounds])
    assert (doubled.low is None) == (bounds.low is None)
    assert (doubled.high is None) == (bounds.high is None)


def test_dividing_by_an_interval_that_holds_zero_is_not_evaluable() -> None:
    for divisor in (
        Bounds(Decimal(0), Decimal(5)),
        Bounds(None, Decimal(5)),
        Bounds.point(Decimal(0)),
    ):
        with pytest.raises(NotEvaluable):
            quotient(Bounds.point(Decimal(4000)), divisor)


def test_the_seed_share_solved_for_the_whole_rounds_outward_to_whole_people() -> None:
    # given 4,000 casualties that are 36 % of the deployed force
    whole = quotient(scaled(Bounds.point(Decimal(4000)), HUNDRED), Bounds.point(Decimal(36)))
    # then the force is 11,111.1…, which holds between 11,111 and 11,112 people
    assert outward(whole, quantum_of("people")) == Bounds(Decimal(11111), Decimal(11112))
    assert nearest(whole.low or Decimal(0), quantum_of("people")) == Decimal(11111)


def test_a_best_value_rounds_half_to_even() -> None:
    assert nearest(Decimal("2.5"), Decimal(1)) == Decimal(2)
    assert nearest(Decimal("3.5"), Decimal(1)) == Decimal(4)
    assert nearest(Decimal("36.125"), Decimal("0.01")) == Decimal("36.12")
