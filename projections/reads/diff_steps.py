"""A metric's default estimate stepped from one event to the next, for a diff's page.

Recomputing the estimate at every event reads all of the metric's claims each time:
a page of `limit` events on a metric of C claims would read limit × C rows. Most events
need far less. What the estimate rests on is the tally (per origin only its latest
eligible claim) and the ratings of its origins; the winner of an origin never depends
on ratings (decision 0015). So:

- a rating changes one entry of the ratings;
- an event of a claim that was no origin's winner changes the tally as adding the
  claim's new state does: the winner of its origin is the later of the old winner and
  the claim, if the claim is eligible, and the claim's old origin (if a correction moved
  it) keeps its winner;
- anything else (a winner retracted, assessed or corrected, a claim computed from
  inputs, an input's event) is read afresh, as the estimate at that position.

Memory stays with the origins, not the claims. The tests hold every step equal to the
estimate read afresh at the same position.
"""

from __future__ import annotations

from typing import Any

import orjson

from domain.diffs import NONE, Figures
from domain.estimates import DEFAULT_METHOD, METHODS
from domain.explanation import Tally, estimate_of
from domain.values import Reliability
from projections.reads.estimate_pages import MetricClaims, ratings_at
from projections.writer.claim_state import as_known

# Later than any recorded_at: a position alone bounds what is known.
ANY_TIME = "9999-12-31T23:59:59.999999Z"
METHOD = METHODS[DEFAULT_METHOD]
STATE_AT = "SELECT state, recorded_position FROM claim_versions WHERE claim=? AND position=?"


class SteppedEstimate:
    """The metric's estimate as of a position, moved forward one candidate event at a time."""

    def __init__(self, c: Any, dialect: str, metric: str, position: int) -> None:
        self.c, self.dialect, self.metric = c, dialect, metric
        self.tally = Tally()
        self.ratings: dict[str, Reliability] = {}
        self.rated: set[str] = set()  # origins whose ratings were asked for
        self.figures = NONE
        self.read_afresh(position)

    def read_afresh(self, position: int) -> Figures:
        """The estimate of the log up to `position`, from all of the metric's claims."""
        self.tally = Tally()
        if position > 0:
            claims = MetricClaims(self.c, self.dialect, self.metric, ANY_TIME, position)
            self.tally.read(claims)
        self.ratings = ratings_at(self.c, self.tally.origins, ANY_TIME, position)
        self.rated = set(self.tally.origins)
        self.figures = self.computed()
        return self.figures

    def computed(self) -> Figures:
        if not self.tally.winners:
            return NONE
        return Figures.of(estimate_of(self.tally, METHOD, self.ratings))

    def rating(self, source: str, reliability: Reliability) -> Figures:
        """A rating of one of the origins, at its position."""
        self.ratings[source] = reliability
        self.rated.add(source)
        self.figures = self.computed()
        return self.figures

    def claim_event(self, claim: str, position: int, of_input: bool) -> Figures:
        """An event of a claim (of the metric, or one its claims were computed from)."""
        was_winner = any(w.id == claim for w in self.tally.winners.values())
        if of_input or was_winner:
            return self.read_afresh(position)
        row = self.c.execute(STATE_AT, (claim, position)).fetchone()
        if row is None:
            return self.read_afresh(position)
        state = orjson.loads(row[0])
        if state.get("inputs"):  # its exclusion depends on other claims: read afresh
            return self.read_afresh(position)
        if state["metric"] != self.metric:
            return self.figures  # moved away, and it was no winner: nothing changes
        self.tally.add(as_known(state, int(row[1])))
        unrated = self.tally.origins - self.rated
        if unrated:
            self.ratings.update(ratings_at(self.c, unrated, ANY_TIME, position))
            self.rated |= unrated
        self.figures = self.computed()
        return self.figures
