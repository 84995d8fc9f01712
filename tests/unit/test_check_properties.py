"""Properties of §9's checks (hypothesis): figures that satisfy a relation exactly are
consistent, a check does not depend on the order of a sum's parts, a relation's check is
never better than any derived figure of it, and a derived figure holds every value the
others' values imply."""

from __future__ import annotations

from decimal import Decimal
from random import Random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.checks import SEVERITY, CheckStatus, Figure, check, derive
from domain.related import related
from domain.relations import AtMostTerms, ShareTerms, SumTerms, Terms

pytestmark = pytest.mark.unit

PARTS = ("w/a", "w/b", "w/c", "w/d")
TOTAL, SHARE, WHOLE = "w/total", "w/share", "w/whole"
UNITS = {**{p: "people" for p in (*PARTS, TOTAL, WHOLE)}, SHARE: "percent"}
counts = st.integers(min_value=0, max_value=10**7).map(Decimal)


@st.composite
def figures(draw: st.DrawFn) -> Figure:
    """A figure: low ≤ best ≤ high, either end possibly open."""
    low, best, high = sorted(draw(st.lists(counts, min_size=3, max_size=3)))
    return Figure(best, low, high, draw(st.booleans()), draw(st.booleans()))


def point(value: Decimal) -> Figure:
    return Figure(value, value, value)


@given(st.lists(counts, min_size=1, max_size=4), st.booleans())
def test_point_figures_that_add_up_are_consistent(parts: list[Decimal], exhaustive: bool) -> None:
    names = PARTS[: len(parts)]
    terms = SumTerms(TOTAL, names, exhaustive)
    known = {n: point(v) for n, v in zip(names, parts, strict=True)}
    known[TOTAL] = point(sum(parts, Decimal(0)))
    assert check(terms, known, UNITS.__getitem__).status is CheckStatus.CONSISTENT


@given(st.lists(counts, min_size=1, max_size=4), st.integers(min_value=1, max_value=1000))
def test_point_parts_that_miss_an_exhaustive_total_are_inconsistent(
    parts: list[Decimal], off: int
) -> None:
    names = PARTS[: len(parts)]
    known = {n: point(v) for n, v in zip(names, parts, strict=True)}
    known[TOTAL] = point(sum(parts, Decimal(0)) + off)
    status = check(SumTerms(TOTAL, names, True), known, UNITS.__getitem__).status
    assert status is CheckStatus.INCONSISTENT


@given(st.lists(figures(), min_size=5, max_size=5), st.booleans(), st.randoms())
def test_a_check_does_not_depend_on_the_order_of_the_parts(
    drawn: list[Figure], exhaustive: bool, random: Random
) -> None:
    known = dict(zip((*PARTS, TOTAL), drawn, strict=True))
    shuffled = list(PARTS)
    random.shuffle(shuffled)
    first = check(SumTerms(TOTAL, PARTS, exhaustive), known, UNITS.__getitem__)
    second = check(SumTerms(TOTAL, tuple(shuffled), exhaustive), known, UNITS.__getitem__)
    assert first.status is second.status


def relation_of(kind: str) -> Terms:
    if kind == "sum":
        return SumTerms(TOTAL, PARTS[:2], True)
    if kind == "share":
        return ShareTerms(SHARE, PARTS[0], WHOLE)
    return AtMostTerms(PARTS[0], PARTS[1])


@given(st.sampled_from(["sum", "share", "at_most"]), st.lists(figures(), min_size=3, max_size=3))
def test_a_relations_check_is_never_better_than_a_derived_figure_of_it(
    kind: str, drawn: list[Figure]
) -> None:
    terms = relation_of(kind)
    known = dict(zip(terms.metrics, drawn, strict=False))
    checked = check(terms, known, UNITS.__getitem__)
    for metric in terms.metrics:
        (derived,) = related(metric, [("r", terms)], known, UNITS).derived
        assert SEVERITY[derived.status] <= SEVERITY[checked.status]


@given(
    st.integers(min_value=1, max_value=10000).map(Decimal),
    st.integers(min_value=1, max_value=10**6).map(Decimal),
)
def test_the_whole_derived_through_a_share_holds_the_exact_quotient(
    share: Decimal, part: Decimal
) -> None:
    percent = share / 100
    assume(percent <= 100)
    known = {SHARE: point(percent), PARTS[0]: point(part)}
    derived = derive(ShareTerms(SHARE, PARTS[0], WHOLE), WHOLE, known, "people")
    assert derived is not None and derived.low is not None and derived.high is not None
    exact = part * 100 / percent
    assert derived.low <= exact <= derived.high
    assert derived.high - derived.low <= 1
