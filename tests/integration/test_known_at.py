"""Estimates as known at a past moment, answered from stored versions and ratings."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from domain.event_data import rfc3339
from domain.values import Credibility, Reliability
from projections.reads.queries import LedgerQueries, NotKnownYet
from projections.storage.ledger_views import BaseLedgerViews, PostgresLedgerViews, SQLiteLedgerViews
from projections.store import VIEWS_NAME, Store, sqlite_env, views_path_for

from .conftest import ACTOR, StoreAt, claim

pytestmark = pytest.mark.integration


def moment() -> str:
    """Now, in the views' text form; the clock moves on before the next write."""
    time.sleep(0.002)
    now = rfc3339(datetime.now(UTC))
    time.sleep(0.002)
    return now


def figures(low: int, best: int, high: int) -> tuple[Decimal | None, ...]:
    return (Decimal(low), Decimal(best), Decimal(high))


def views_alone(store_at: StoreAt) -> LedgerQueries:
    """Queries over the views only: no ledger, no event store to replay."""
    if store_at.kind == "sqlite":
        views_path = views_path_for(store_at.settings.sqlite_path)
        factory = InfrastructureFactory.construct(env=sqlite_env(views_path, 5))
        views = factory.tracking_recorder(SQLiteLedgerViews)
    else:
        env = Environment(VIEWS_NAME, store_at.settings.postgres_env)
        views = InfrastructureFactory.construct(env=env).tracking_recorder(PostgresLedgerViews)
    assert isinstance(views, BaseLedgerViews)
    return LedgerQueries(views)


def remove_event_store(store_at: StoreAt) -> None:
    if store_at.kind == "sqlite":
        events_path = Path(store_at.settings.sqlite_path)
        events_path.rename(events_path.with_name("moved-away.db"))
        assert not events_path.exists()
    else:
        import psycopg

        with psycopg.connect(store_at.url, autocommit=True) as db:
            db.execute("DROP TABLE ledger_events")


def test_an_estimate_known_at_a_past_moment_ignores_a_later_retraction(
    small_world: Store, events_path: Path
) -> None:
    store = small_world
    before_claims = moment()
    low = store.ledger.record_claim(claim("war/killed", 300, "outlet-a", "ministry"), ACTOR)
    store.ledger.record_claim(claim("war/killed", 1000, "outlet-b", "agency"), ACTOR)
    store.runner.catch_up()
    t = moment()
    store.ledger.retract_claim(low.aggregate.id, "withdrawn", None, ACTOR)
    store.runner.catch_up()

    then = store.queries.estimate("war/killed", known_at=t)
    now = store.queries.estimate("war/killed")
    assert (then.estimate.low, then.estimate.best, then.estimate.high) == figures(300, 300, 1000)
    assert then.estimate.included == 2
    assert (now.estimate.low, now.estimate.best, now.estimate.high) == figures(1000, 1000, 1000)
    assert now.estimate.included == 1
    assert then.position == low.position + 1
    assert now.position == store.ledger.max_position()

    empty = store.queries.estimate("war/killed", known_at=before_claims)
    assert empty.estimate.best is None
    assert empty.estimate.included == 0


def test_known_at_answers_come_from_the_views_without_the_event_store(
    small_world: Store, store_at: StoreAt
) -> None:
    store = small_world
    low = store.ledger.record_claim(claim("war/killed", 300, "outlet-a", "ministry"), ACTOR)
    store.ledger.record_claim(claim("war/killed", 1000, "outlet-b", "agency"), ACTOR)
    store.runner.catch_up()
    t = moment()
    store.ledger.retract_claim(low.aggregate.id, "withdrawn", None, ACTOR)
    store.runner.catch_up()
    store.close()

    remove_event_store(store_at)
    queries = views_alone(store_at)
    try:
        assert queries.estimate("war/killed", known_at=t).estimate.best == 300
        assert queries.estimate("war/killed").estimate.best == 1000
    finally:
        queries.views.close()


def test_ratings_are_applied_as_they_were_known_at_the_moment(small_world: Store) -> None:
    store = small_world
    store.ledger.record_claims(
        [
            claim("war/killed", 150, "outlet-a", "ministry"),
            claim("war/killed", 300, "outlet-b", "agency"),
        ],
        ACTOR,
    )
    store.ledger.rate_source("agency", Reliability.A, "good record", None, ACTOR)
    store.runner.catch_up()
    t = moment()
    store.ledger.rate_source("agency", Reliability.E, "fabricated figures", None, ACTOR)
    store.runner.catch_up()

    then = store.queries.estimate("war/killed", known_at=t, lines=10).estimate
    now = store.queries.estimate("war/killed", lines=10).estimate
    # At t: agency A (1.0 x 0.5) outweighs ministry F (0.5 x 0.5), so 300 is the median.
    assert then.best == 300
    assert then.included == 2
    weights = {line.origin: line.weight for line in then.explanation}
    assert weights == {"agency": Decimal("0.5"), "ministry": Decimal("0.25")}
    # Now: agency is rated E and dropped.
    assert now.best == 150
    assert now.included == 1
    agency_now = next(line for line in now.explanation if line.origin == "agency")
    assert agency_now.status.value == "excluded"


def test_assessments_and_corrections_after_the_moment_do_not_apply(small_world: Store) -> None:
    store = small_world
    a = store.ledger.record_claim(claim("war/killed", 100, "outlet-a", "ministry"), ACTOR)
    store.ledger.record_claim(claim("war/killed", 400, "outlet-b", "agency"), ACTOR)
    store.runner.catch_up()
    t = moment()
    store.ledger.correct_claim(a.aggregate.id, {"value": Decimal(200)}, "typo", None, ACTOR)
    store.ledger.assess_claim(a.aggregate.id, Credibility.IMPROBABLE, "doubtful", None, ACTOR)
    store.runner.catch_up()

    then = store.queries.estimate("war/killed", known_at=t).estimate
    assert (then.low, then.best, then.high) == figures(100, 100, 400)
    assert then.included == 2
    now = store.queries.estimate("war/killed").estimate
    assert (now.low, now.best, now.high) == figures(400, 400, 400)
    assert now.included == 1


def test_a_known_at_before_the_metric_was_defined_is_not_known_yet(
    store: Store,
) -> None:
    t = moment()
    store.ledger.define_metric("war/killed", "Killed", "people", None, ACTOR)
    store.runner.catch_up()
    with pytest.raises(NotKnownYet):
        store.queries.estimate("war/killed", known_at=t)
    assert store.queries.estimate("war/killed", known_at=moment()).estimate.included == 0


def test_a_snapshot_gives_every_metric_defined_at_the_moment(small_world: Store) -> None:
    store = small_world
    store.ledger.record_claim(claim("war/killed", 300, "outlet-a", "ministry"), ACTOR)
    store.runner.catch_up()
    t = moment()
    store.ledger.define_metric("war/captured", "Captured", "people", None, ACTOR)
    store.ledger.record_claim(claim("war/killed", 900, "outlet-b", "agency"), ACTOR)
    store.runner.catch_up()

    position, answers = store.queries.snapshot(t)
    assert [a.metric for a in answers] == ["war/killed", "war/wounded"]
    assert answers[0].estimate.best == 300
    assert position == store.ledger.max_position() - 2


def test_the_kept_current_estimate_answers_as_the_computed_one(small_world: Store) -> None:
    # given a metric whose estimate moved: claims recorded, one retracted
    store = small_world
    store.ledger.record_claim(claim("war/killed", 300, "outlet-a", "ministry"), ACTOR)
    west = store.ledger.record_claim(claim("war/killed", 1000, "outlet-b", "agency"), ACTOR)
    store.ledger.record_claim(claim("war/killed", 700, "outlet-a"), ACTOR)
    store.ledger.retract_claim(west.aggregate.id, "withdrawn", None, ACTOR)
    store.runner.catch_up()
    # then the one-row answer is the computed answer without its explanation
    for metric in ("war/killed", "war/wounded"):
        computed = store.queries.estimate(metric)
        kept = store.queries.current_estimate(metric)
        assert kept == replace(computed, estimate=replace(computed.estimate, explanation=()))


def test_a_remembered_known_at_position_stays_exact_as_the_log_grows(small_world: Store) -> None:
    store = small_world
    first = store.ledger.record_claim(claim("war/killed", 300, "outlet-a"), ACTOR)
    store.runner.catch_up()
    t = moment()
    then = store.queries.estimate("war/killed", known_at=t).position
    # when more events are recorded after t, and the same known_at is asked again
    second = store.ledger.record_claim(claim("war/killed", 400, "outlet-b"), ACTOR)
    store.runner.catch_up()
    again = store.queries.estimate("war/killed", known_at=t).position
    later = store.queries.estimate("war/killed", known_at=moment()).position
    # then
    assert then == again == first.position
    assert later == second.position
