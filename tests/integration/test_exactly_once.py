"""Every event is applied to the views exactly once, even with two runners on one views file."""

from __future__ import annotations

import threading

import pytest
from eventsourcing.persistence import IntegrityError

from projections.reads.queries import ClaimFilters
from projections.runner.batched_runner import BatchedRunner
from projections.store import Store
from tests.support.views import EventAt, apply_events, dump_views

from .conftest import ACTOR, StoreAt, claim, define_metrics, fresh_rebuild, register_sources

pytestmark = pytest.mark.integration

SOURCES = [f"source-{n}" for n in range(8)]
METRICS = [f"war/metric-{n}" for n in range(40)]


def events_at(store: Store, after: int, limit: int) -> list[EventAt]:
    notifications = store.ledger.recorder.select_notifications(
        start=after, limit=limit, inclusive_of_start=False
    )
    return [(store.ledger.mapper.to_domain_event(n), n.id) for n in notifications]


def record_many(store: Store, count: int, offset: int = 0) -> int:
    fields = [
        claim(
            METRICS[n % len(METRICS)],
            10 + (n * 7) % 500,
            SOURCES[n % len(SOURCES)],
            SOURCES[(n * 3 + 1) % len(SOURCES)],
        )
        for n in range(offset, offset + count)
    ]
    position = 0
    for start in range(0, count, 250):
        position = store.ledger.record_claims(fields[start : start + 250], ACTOR).position
    return position


@pytest.fixture
def populated(store: Store) -> Store:
    register_sources(store, *SOURCES)
    define_metrics(store, *METRICS)
    return store


def test_applying_an_already_applied_position_raises_and_writes_nothing(
    small_world: Store,
) -> None:
    store = small_world
    store.ledger.record_claim(claim("war/killed", 5, "outlet-a"), ACTOR)
    store.runner.catch_up()
    position = store.views.position()
    before = dump_views(store.views)

    again = events_at(store, position - 1, 1)
    with pytest.raises(IntegrityError):
        apply_events(store.views, again)

    assert store.views.position() == position
    assert dump_views(store.views) == before


def test_a_batch_that_overlaps_applied_positions_is_refused_as_a_whole(
    small_world: Store,
) -> None:
    store = small_world
    applied = store.views.position()
    store.ledger.record_claim(claim("war/killed", 5, "outlet-a"), ACTOR)
    store.ledger.record_claim(claim("war/killed", 9, "outlet-b"), ACTOR)
    before = dump_views(store.views)

    overlapping = events_at(store, applied - 1, 3)
    assert [p for _, p in overlapping] == [applied, applied + 1, applied + 2]
    with pytest.raises(IntegrityError):
        apply_events(store.views, overlapping)

    assert store.views.position() == applied
    assert dump_views(store.views) == before
    assert store.runner.catch_up() == applied + 2
    assert len(store.queries.claims(ClaimFilters(), None, 10).items) == 2


def test_a_stale_runner_catching_up_resumes_after_the_position_another_runner_applied(
    populated: Store, store_at: StoreAt
) -> None:
    record_many(populated, 200)
    other = store_at.open()
    try:
        stale = BatchedRunner(other.ledger, other.views, batch_size=30)
        populated.runner.catch_up()
        assert stale.catch_up() == populated.ledger.max_position()
        assert other.views.position() == populated.ledger.max_position()
    finally:
        other.close()


def test_two_runners_on_one_views_file_racing_to_catch_up_never_apply_an_event_twice(
    populated: Store, store_at: StoreAt
) -> None:
    last = record_many(populated, 2000)
    second = store_at.open()  # as another process would
    runners = [
        BatchedRunner(populated.ledger, populated.views, batch_size=25),
        BatchedRunner(second.ledger, second.views, batch_size=40),
    ]
    applied = [0, 0]
    failures: list[BaseException] = []
    start = threading.Barrier(len(runners))

    def race(index: int) -> None:
        def count(n: int) -> None:
            applied[index] += n

        try:
            start.wait()
            runners[index].catch_up(count)
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(runners))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert failures == []
        assert [r.position for r in runners] == [last, last]
        assert second.views.position() == last
        live = dump_views(populated.views)
    finally:
        second.close()

    # Between them, the two runners applied every position exactly once.
    assert sum(applied) == last
    assert len(live["event_index"]) == last
    assert live == fresh_rebuild(populated)


def test_two_live_runners_following_one_views_file_never_apply_an_event_twice(
    populated: Store, store_at: StoreAt
) -> None:
    record_many(populated, 300)
    second = store_at.open()
    try:
        populated.runner.start()
        second.runner.start()
        last = 0
        for round_ in range(10):
            last = record_many(second if round_ % 2 else populated, 40, offset=1000 + round_ * 40)
        assert populated.runner.wait(last, timeout=20)
        assert second.runner.wait(last, timeout=20)
        populated.runner.stop()
        second.runner.stop()
        assert populated.runner.error is None
        assert second.runner.error is None
        live = dump_views(populated.views)
    finally:
        second.close()

    assert len(live["event_index"]) == last
    assert live == fresh_rebuild(populated)
