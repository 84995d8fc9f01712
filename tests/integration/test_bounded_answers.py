"""Answers that grow with the log, a page at a time: explain, timeline, snapshot.

Each paged answer is checked against the whole answer computed another way: the pure
estimate methods over every claim read straight from the views' tables, and the
timeline table read in one statement.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
import pytest

from domain.estimates import METHODS, Estimate, ExplanationLine
from domain.event_data import rfc3339
from domain.explanation import with_said
from domain.values import Credibility, Reliability
from projections.reads.queries import BadCursor
from projections.store import Store
from projections.writer.claim_state import as_known

from .conftest import ACTOR, claim, define_metrics, register_sources

pytestmark = pytest.mark.integration

KILLED = "war/killed"
ORIGINS = ("ministry", "agency", "outlet-a", "outlet-b", "ngo", "observer")


def moment() -> str:
    time.sleep(0.002)
    now = rfc3339(datetime.now(UTC))
    time.sleep(0.002)
    return now


def record_many(store: Store, metric: str, count: int, offset: int = 0) -> None:
    """`count` claims spread over the origins, days and values, in one batch."""
    fields = [
        claim(
            metric,
            100 + 7 * ((n + offset) % 23),
            "outlet-a" if n % 2 else "outlet-b",
            ORIGINS[(n + offset) % len(ORIGINS)],
            as_of=date(2025, 1, 1) + timedelta(days=(n + offset) % 9),
        )
        for n in range(count)
    ]
    store.ledger.record_claims(fields, ACTOR)


@pytest.fixture
def crowded(store: Store) -> Store:
    """Two metrics; `war/killed` with claims of every status, an origin rated E."""
    register_sources(store, *ORIGINS)
    define_metrics(store, KILLED, "war/wounded")
    store.runner.catch_up()
    record_many(store, KILLED, 40)
    record_many(store, "war/wounded", 5)
    store.runner.catch_up()
    ids = [UUID(r[0]) for r in rows(store, "SELECT id FROM claims WHERE metric=?", KILLED)]
    store.ledger.retract_claim(ids[3], "withdrawn", None, ACTOR)
    store.ledger.assess_claim(ids[5], Credibility.IMPROBABLE, "doubtful", None, ACTOR)
    store.ledger.assess_claim(ids[8], Credibility.CONFIRMED, "seen", None, ACTOR)
    store.ledger.rate_source("observer", Reliability.E, "fabricates", None, ACTOR)
    store.ledger.rate_source("ngo", Reliability.A, "careful", None, ACTOR)
    store.runner.catch_up()
    return store


def rows(store: Store, sql: str, *parameters: Any) -> list[Any]:
    with store.queries.read_transaction() as c:
        return list(c.execute(sql, parameters).fetchall())


def whole_estimate(store: Store, metric: str, method: str, valid_at: date | None) -> Estimate:
    """The pure method over every current claim of the metric and every current rating,
    each line with its reporter and (the one retraction's) reason, as a page says them."""
    states = [
        (orjson.loads(state), position)
        for state, position in rows(
            store, "SELECT state, position FROM claims WHERE metric=?", metric
        )
    ]
    claims = [as_known(state, position) for state, position in states]
    reporters = {state["id"]: state["reported_by"] for state, _ in states}
    ratings = {
        slug: Reliability(grade)
        for slug, grade in rows(store, "SELECT id, reliability FROM sources")
    }
    estimate = METHODS[method](claims, ratings, valid_at)
    said = tuple(with_said(e, reporters[e.claim], "withdrawn") for e in estimate.explanation)
    return replace(estimate, explanation=said)


def every_page(
    store: Store, method: str, known_at: str | None, valid_at: date | None, lines: int
) -> tuple[Estimate, list[ExplanationLine]]:
    first = store.queries.estimate(KILLED, method, known_at, valid_at, lines=lines)
    explanation, cursor, pages = list(first.estimate.explanation), first.next_cursor, 1
    while cursor is not None:
        answer = store.queries.estimate(
            KILLED, method, known_at, valid_at, lines=lines, cursor=cursor
        )
        assert answer.estimate.explanation, "a page with a cursor before it is never empty"
        assert replace(answer.estimate, explanation=()) == replace(first.estimate, explanation=())
        explanation += answer.estimate.explanation
        cursor, pages = answer.next_cursor, pages + 1
    assert pages == -(-first.estimate.considered // lines) or first.estimate.considered == 0
    return first.estimate, explanation


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("valid_at", [None, date(2025, 1, 5)])
def test_the_pages_of_an_explanation_are_the_whole_explanation_now_and_as_known_then(
    crowded: Store, method: str, valid_at: date | None
) -> None:
    # given the whole answer now, computed over every claim at once
    then = moment()
    expected_then = whole_estimate(crowded, KILLED, method, valid_at)
    # when the metric changes afterwards
    record_many(crowded, KILLED, 12, offset=5)
    crowded.ledger.rate_source("agency", Reliability.E, "caught out", None, ACTOR)
    crowded.runner.catch_up()
    expected_now = whole_estimate(crowded, KILLED, method, valid_at)
    assert expected_now != expected_then
    # then the pages, now and as known then, are exactly each whole answer
    for known_at, expected in ((None, expected_now), (then, expected_then)):
        estimate, explanation = every_page(crowded, method, known_at, valid_at, lines=7)
        assert explanation == list(expected.explanation)
        assert replace(estimate, explanation=()) == replace(expected, explanation=())


def test_an_estimate_without_lines_has_the_same_numbers_and_no_explanation(
    crowded: Store,
) -> None:
    answer = crowded.queries.estimate(KILLED)
    expected = whole_estimate(crowded, KILLED, "weighted-median", None)
    assert answer.estimate == replace(expected, explanation=())
    assert answer.next_cursor is None


def test_the_pages_of_a_timeline_are_the_whole_timeline(crowded: Store) -> None:
    expected = [
        dict(r)
        for r in rows(
            crowded,
            "SELECT position, recorded_at, low, best, high, included FROM timeline "
            "WHERE metric=? ORDER BY position",
            KILLED,
        )
    ]
    assert len(expected) > 3
    points, cursor = [], None
    while True:
        page = crowded.queries.timeline(KILLED, cursor, 2)
        assert len(page.items) <= 2
        points += page.items
        if (cursor := page.next_cursor) is None:
            break
    assert points == expected


def test_every_page_of_a_snapshot_answers_as_the_first_did_while_events_arrive(
    crowded: Store,
) -> None:
    # given a moment after every event so far, and the whole answer then
    known_at = rfc3339(datetime.now(UTC) + timedelta(days=1))
    expected = {
        metric: replace(whole_estimate(crowded, metric, "weighted-median", None), explanation=())
        for metric in (KILLED, "war/wounded")
    }
    first = crowded.queries.snapshot_page(known_at, None, 1)
    # when events that the moment would cover arrive between the pages
    record_many(crowded, "war/wounded", 6, offset=3)
    crowded.ledger.rate_source("ministry", Reliability.E, "propaganda", None, ACTOR)
    define_metrics(crowded, "war/zzz")
    crowded.runner.catch_up()
    pages, cursor = [first], first.next_cursor
    while cursor is not None:
        pages.append(crowded.queries.snapshot_page(None, cursor, 1))
        cursor = pages[-1].next_cursor
    # then every page answers at the first page's moment and position
    assert {(p.known_at, p.position) for p in pages} == {(known_at, first.position)}
    answers = [a for p in pages for a in p.estimates]
    assert {a.metric: a.estimate for a in answers} == expected
    assert [a.metric for a in answers] == [KILLED, "war/wounded"]
    assert {a.position for a in answers} == {first.position}
    # (a snapshot asked afresh at the same moment sees the new events)
    fresh = crowded.queries.snapshot_page(known_at, None, 10)
    assert fresh.position > first.position
    assert [a.metric for a in fresh.estimates] == [KILLED, "war/wounded", "war/zzz"]


@pytest.mark.parametrize(
    "ask",
    [
        lambda q: q.estimate(KILLED, lines=5, cursor="not-a-cursor"),
        lambda q: q.estimate(
            KILLED, lines=5, cursor=q.snapshot_page(moment(), None, 1).next_cursor
        ),
        lambda q: q.snapshot_page(None, q.estimate(KILLED, lines=1).next_cursor),
        lambda q: q.snapshot_page(
            "2025-01-01T00:00:00.000000Z", q.snapshot_page(moment(), None, 1).next_cursor
        ),
        lambda q: q.timeline(KILLED, "bm90IGEgbnVtYmVy", 5),
    ],
    ids=["garbage", "snapshot-for-explain", "explain-for-snapshot", "other-moment", "timeline"],
)
def test_a_cursor_this_server_did_not_issue_for_the_question_is_refused(
    crowded: Store, ask: Any
) -> None:
    with pytest.raises(BadCursor):
        ask(crowded.queries)
