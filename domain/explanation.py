"""An estimate and one page of its explanation from a metric's claims read as a stream.

The methods in `domain.estimates` take every claim at once and explain each one, so an
answer about a metric holds all its claims and lines in memory. These give the same
estimate and the same lines, in the same order (`explanation_order`), a page at a time:

1. `Tally` reads the claims once and keeps per origin only its latest eligible claim
   (which origin wins never depends on ratings: an origin rated E loses all its claims
   at once), with the count of candidates and the origins seen.
2. `estimate_of` runs the method on those winners alone: what the method includes is
   the same, so low, best, high and evidence are too; `considered` comes from the tally.
3. `explanation_page` gives the lines after a cursor: the included ones from step 2,
   then the rest as `rest_line` makes them from a second read of the claims, keeping
   only the page's worth (a bounded heap), never the whole explanation.

Memory grows with the origins and the page, not with the claims.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date

from domain.estimates import (
    ClaimAsKnown,
    Estimate,
    EstimateMethod,
    ExplanationLine,
    LineKey,
    LineStatus,
    dropped_line,
    explanation_order,
    superseded_line,
)
from domain.values import ClaimStatus, Credibility, Reliability


class Tally:
    """What one pass over a metric's claims leaves for its estimate and explanation."""

    def __init__(self, valid_at: date | None = None) -> None:
        self.valid_at = valid_at
        self.considered = 0
        self.origins: set[str] = set()  # of every candidate: their ratings are asked for
        self.winners: dict[str, ClaimAsKnown] = {}  # origin -> its latest eligible claim

    def candidate(self, claim: ClaimAsKnown) -> bool:
        """Step 1: whether the claim is a candidate (as of `valid_at`, if given)."""
        return self.valid_at is None or claim.as_of <= self.valid_at

    def add(self, claim: ClaimAsKnown) -> None:
        if not self.candidate(claim):
            return
        self.considered += 1
        self.origins.add(claim.origin)
        if claim.status == ClaimStatus.RETRACTED or claim.credibility == Credibility.IMPROBABLE:
            return
        current = self.winners.get(claim.origin)
        if current is None or claim.recency > current.recency:
            self.winners[claim.origin] = claim

    def read(self, claims: Iterable[ClaimAsKnown]) -> Tally:
        for claim in claims:
            self.add(claim)
        return self


def estimate_of(
    tally: Tally, method: EstimateMethod, ratings: Mapping[str, Reliability]
) -> Estimate:
    """The method's estimate of the tallied claims; `explanation` holds only the included
    lines (in order), the rest being `rest_line`'s."""
    estimate = method(list(tally.winners.values()), ratings, None)
    included = tuple(e for e in estimate.explanation if e.status == LineStatus.INCLUDED)
    return replace(estimate, considered=tally.considered, explanation=included)


def rest_line(
    claim: ClaimAsKnown, tally: Tally, ratings: Mapping[str, Reliability]
) -> ExplanationLine | None:
    """The line of a candidate that is not included; None for an included claim or one
    that is no candidate."""
    if not tally.candidate(claim):
        return None
    dropped = dropped_line(claim, ratings.get(claim.origin, Reliability.F))
    if dropped is not None:
        return dropped
    winner = tally.winners[claim.origin]
    if winner.id == claim.id:
        return None
    return superseded_line(claim, winner)


def explanation_page(
    included: Sequence[ExplanationLine],
    rest: Iterable[ExplanationLine],
    after: LineKey | None,
    limit: int,
) -> tuple[list[ExplanationLine], bool]:
    """Up to `limit` lines after `after` in the explanation's order, and whether more
    follow. `rest` (every line that is not included, in any order) is read only when
    the included lines do not fill the page."""
    wanted = limit + 1  # one more: whether a next page exists
    page = [e for e in included if after is None or explanation_order(e) > after][:wanted]
    if len(page) < wanted:
        later = (e for e in rest if after is None or explanation_order(e) > after)
        page += heapq.nsmallest(wanted - len(page), later, key=explanation_order)
    return page[:limit], len(page) > limit


def retraction_text(reason: str | None) -> str:
    """A retracted claim's line reason: what the retraction itself gave as its reason
    (whoever withdrew it: the reporter, a relay, an editor), not the methods' guess
    that its source did. The reason is in the retraction's event, which the reads look
    up for a page's lines alone."""
    return f"retracted: {reason}" if reason else "retracted (no reason given)"


def with_said(
    entry: ExplanationLine, reported_by: str | None, retraction_reason: str | None
) -> ExplanationLine:
    """The line with the claim's reporter and, when retracted, its retraction's reason."""
    if entry.status != LineStatus.RETRACTED:
        return replace(entry, reported_by=reported_by)
    return replace(
        entry,
        reported_by=reported_by,
        retraction_reason=retraction_reason,
        reason=retraction_text(retraction_reason),
    )
