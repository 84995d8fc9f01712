"""An estimate from claims read as a stream, and its explanation a page at a time, against
the pure methods over every claim at once (Hypothesis)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.estimates import METHODS, ClaimAsKnown, Estimate, ExplanationLine, explanation_order
from domain.explanation import Tally, estimate_of, explanation_page, rest_line
from domain.values import Reliability
from tests.builders import known
from tests.unit.test_estimate_properties import claim_lists, days, ratings_maps

pytestmark = pytest.mark.unit


class Reads:
    """The claims as a store would stream them, counting how often they are read."""

    def __init__(self, claims: list[ClaimAsKnown]) -> None:
        self.claims = claims
        self.count = 0

    def __iter__(self):
        self.count += 1  # a generator: counted when read, as a store's query runs
        yield from self.claims


def paged(
    claims: list[ClaimAsKnown],
    ratings: dict[str, Reliability],
    method: str,
    valid_at: date | None,
    limit: int,
) -> tuple[Estimate, list[list[ExplanationLine]]]:
    """The estimate and every page of its explanation, each page from a fresh tally."""
    pages: list[list[ExplanationLine]] = []
    after = None
    while True:
        reads = Reads(claims)
        tally = Tally(valid_at).read(reads)
        estimate = estimate_of(tally, METHODS[method], ratings)
        rest = (line for c in reads if (line := rest_line(c, tally, ratings)) is not None)
        page, more = explanation_page(estimate.explanation, rest, after, limit)
        assert len(page) <= limit
        pages.append(page)
        if not more:
            return estimate, pages
        after = explanation_order(page[-1])


@pytest.mark.parametrize("method", list(METHODS))
@given(
    claims=claim_lists(),
    ratings=ratings_maps,
    valid_at=st.none() | days,
    limit=st.integers(min_value=1, max_value=5),
)
def test_the_pages_of_an_explanation_are_exactly_the_whole_explanation_in_order(
    method, claims, ratings, valid_at, limit
):
    whole = METHODS[method](claims, ratings, valid_at)
    estimate, pages = paged(claims, ratings, method, valid_at, limit)
    assert [line for page in pages for line in page] == list(whole.explanation)
    assert replace(estimate, explanation=()) == replace(whole, explanation=())
    assert all(pages[:-1]), "only the last page may be empty"


def test_a_page_within_the_included_lines_reads_the_claims_once_and_keeps_one_per_origin():
    # given many claims from three origins
    claims = [known(f"origin-{n % 3}", n, position=n + 1) for n in range(300)]
    reads = Reads(claims)
    # when the first page asks for no more lines than are included
    tally = Tally().read(reads)
    estimate = estimate_of(tally, METHODS["weighted-median"], {})
    rest = (line for c in reads if (line := rest_line(c, tally, {})) is not None)
    page, more = explanation_page(estimate.explanation, rest, None, 2)
    # then the claims were read once, and only each origin's latest is held
    assert (reads.count, more) == (1, True)
    assert [line.point for line in page] == [297, 298]
    assert {c.id for c in tally.winners.values()} == {"claim-298", "claim-299", "claim-300"}
