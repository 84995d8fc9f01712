"""Open ends and explanation lines as the stored views answer them, now and as known
then, on both stores; and a store whose summaries predate open ends."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

import pytest

from domain.estimates import LineStatus
from domain.event_data import rfc3339
from domain.values import Qualifier
from projections.store import Store
from tests.support.views import dump_views

from .conftest import ACTOR, claim, define_metrics, fresh_rebuild, register_sources

pytestmark = pytest.mark.integration

DEPLOYED = "war/deployed"
OTHER = "war/other"


def moment() -> str:
    """Now, in the views' text form; the clock moves on before the next write."""
    time.sleep(0.002)
    now = rfc3339(datetime.now(UTC))
    time.sleep(0.002)
    return now


@pytest.fixture
def world(store: Store) -> Store:
    register_sources(store, "ministry", "outlet", "relay")
    define_metrics(store, DEPLOYED, OTHER)
    return store


def record(store: Store, value: int, reporter: str, qualifier: Qualifier, *chain: str) -> UUID:
    fields = claim(DEPLOYED, value, reporter, *chain, qualifier=qualifier)
    return store.ledger.record_claim(fields, ACTOR).aggregate.id


def open_ends(store: Store, known_at: str | None = None) -> tuple[bool, bool]:
    e = store.queries.estimate(DEPLOYED, known_at=known_at).estimate
    return e.low_open, e.high_open


def test_every_read_says_the_open_top_now_and_as_known_then(world: Store) -> None:
    # given "more than 9,000" alone
    record(world, 9000, "ministry", Qualifier.MORE_THAN)
    world.runner.catch_up()
    then = moment()
    # when a closed claim above it arrives later
    record(world, 12000, "outlet", Qualifier.EXACT)
    world.runner.catch_up()
    # then as known then the top was open, in every read that shows the estimate
    assert open_ends(world, then) == (False, True)
    then_estimate = world.queries.estimate(DEPLOYED, known_at=then).estimate
    assert (then_estimate.low, then_estimate.best, then_estimate.high) == (Decimal(9000),) * 3
    (snapshot,) = [a for a in world.queries.snapshot(then)[1] if a.metric == DEPLOYED]
    assert snapshot.estimate.high_open is True
    # and now it is closed, in the stored summary, the metric's row and the recomputed one
    assert open_ends(world) == (False, False)
    assert world.queries.current_estimate(DEPLOYED).estimate.high_open is False
    assert world.queries.metric(DEPLOYED)["estimate"]["high_open"] is False


def test_the_stored_summary_keeps_an_open_end_as_the_recomputed_estimate_does(
    world: Store,
) -> None:
    record(world, 9000, "ministry", Qualifier.MORE_THAN)
    record(world, 9000, "outlet", Qualifier.EXACT)  # a closed claim tied at the top
    record(world, 50, "relay", Qualifier.FEWER_THAN)
    world.runner.catch_up()
    stored = world.queries.current_estimate(DEPLOYED).estimate
    recomputed = world.queries.estimate(DEPLOYED).estimate
    assert (stored.low_open, stored.high_open) == (recomputed.low_open, recomputed.high_open)
    assert (stored.low_open, stored.high_open) == (True, True)
    listed = {row["id"]: row["estimate"] for row in world.queries.metrics(None, 10).items}
    assert (listed[DEPLOYED]["low_open"], listed[DEPLOYED]["high_open"]) == (True, True)


def older_summaries(store: Store) -> None:
    """Make the stored summaries look as a store made before open ends wrote them."""
    with store.views.sql_transaction(commit=True) as c:
        rows = c.execute("SELECT id, estimate FROM metrics").fetchall()
        for metric, summary in rows:
            older = summary.replace(',"high_open":true', "").replace(',"high_open":false', "")
            older = older.replace(',"low_open":true', "").replace(',"low_open":false', "")
            assert "open" not in older
            c.execute("UPDATE metrics SET estimate=? WHERE id=?", (older, metric))


def test_a_store_whose_summaries_predate_open_ends_answers_them_and_is_brought_up_to_date(
    store_at, world: Store
) -> None:
    # given a store whose stored summaries lack the open ends
    record(world, 9000, "ministry", Qualifier.MORE_THAN)
    world.runner.catch_up()
    older_summaries(world)
    # then the reads answer them from the claims meanwhile (the route, off the event loop)
    assert world.queries.stored_estimate(DEPLOYED) is None
    assert world.queries.current_estimate(DEPLOYED).estimate.high_open is True
    assert world.queries.metric(DEPLOYED)["estimate"]["high_open"] is True
    listed = {row["id"]: row["estimate"] for row in world.queries.metrics(None, 10).items}
    assert listed[DEPLOYED]["high_open"] is True and listed[OTHER]["high_open"] is False
    # when the store is opened again and its runner catches up, with no event to apply
    world.close()
    reopened = store_at.open()
    reopened.runner.catch_up()
    # then every summary is rewritten: the views equal a rebuild again
    assert dump_views(reopened.views) == fresh_rebuild(reopened)
    with reopened.views.sql_transaction() as c:
        summaries = [row[0] for row in c.execute("SELECT estimate FROM metrics").fetchall()]
    assert all('"high_open"' in summary for summary in summaries)
    assert reopened.views.rewrite_older_summaries() == 0  # nothing left to rewrite


def test_the_first_batch_after_a_start_rewrites_older_summaries_too(world: Store) -> None:
    # given older summaries the runner, already started, did not see at its start
    record(world, 9000, "ministry", Qualifier.MORE_THAN)
    world.runner.catch_up()
    older_summaries(world)
    world.views.writer.forget()  # as a process that has applied no batch since it started
    # when a claim of another metric is applied
    world.ledger.record_claim(claim(OTHER, 5, "outlet"), ACTOR)
    world.runner.catch_up()
    # then that batch rewrote them all
    assert dump_views(world.views) == fresh_rebuild(world)


def lines(store: Store, known_at: str | None = None) -> dict[str, object]:
    answer = store.queries.estimate(DEPLOYED, known_at=known_at, lines=100)
    return {line.claim: line for line in answer.estimate.explanation}


def test_a_line_says_the_claim_as_said_and_its_reporter_as_known_then(world: Store) -> None:
    # given a relay's "more than 10,000" attributed to the ministry
    claim_id = record(world, 10000, "relay", Qualifier.MORE_THAN, "ministry")
    world.runner.catch_up()
    then = moment()
    # when a data-entry fix later names another reporter
    world.ledger.correct_claim(claim_id, {"reported_by": "outlet"}, "typo", None, ACTOR)
    world.runner.catch_up()
    # then the line as known then says what was known then, and now what is known now
    before, after = lines(world, then)[str(claim_id)], lines(world)[str(claim_id)]
    assert (before.value, before.qualifier, before.value_high) == (
        Decimal(10000),
        Qualifier.MORE_THAN,
        None,
    )
    assert (before.reported_by, before.origin, before.as_of.isoformat()) == (
        "relay",
        "ministry",
        "2025-01-15",
    )
    assert (after.reported_by, after.origin) == ("outlet", "ministry")


def test_a_retracted_line_gives_its_retractions_reason_as_known_then(world: Store) -> None:
    # given a claim retracted, reinstated, then retracted again with another reason
    claim_id = record(world, 300, "relay", Qualifier.EXACT, "ministry")
    record(world, 400, "outlet", Qualifier.EXACT)
    world.runner.catch_up()
    world.ledger.retract_claim(claim_id, "the relay withdrew its report", None, ACTOR)
    world.runner.catch_up()
    first = moment()
    world.ledger.reinstate_claim(claim_id, "stands after all", None, ACTOR)
    world.runner.catch_up()
    reinstated = moment()
    world.ledger.retract_claim(claim_id, "the ministry denied it", None, ACTOR)
    world.runner.catch_up()
    # then each moment's line gives the reason known then
    at_first = lines(world, first)[str(claim_id)]
    assert (at_first.status, at_first.reason, at_first.retraction_reason) == (
        LineStatus.RETRACTED,
        "retracted: the relay withdrew its report",
        "the relay withdrew its report",
    )
    at_reinstated = lines(world, reinstated)[str(claim_id)]
    assert (at_reinstated.status, at_reinstated.retraction_reason) == (LineStatus.INCLUDED, None)
    now = lines(world)[str(claim_id)]
    assert (now.reason, now.retraction_reason) == (
        "retracted: the ministry denied it",
        "the ministry denied it",
    )
