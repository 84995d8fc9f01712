"""The cycle check reads the event store itself (§9, decision 0011's rule): a relation
another ledger on the same store committed a moment ago counts, before any view has it,
and concurrent definitions in one process cannot together close a cycle."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from domain.errors import ValidationFailed

from .conftest import ACTOR, StoreAt, define_metrics

pytestmark = pytest.mark.integration

A, B, C = "net/a", "net/b", "net/c"


def test_a_relation_another_ledger_just_committed_counts_for_the_cycle_check(
    store_at: StoreAt,
) -> None:
    store = store_at.open()
    define_metrics(store, A, B, C)
    other = store_at.ledger()
    try:
        # Seen once by this ledger, so its remembered position is past the metrics.
        store.ledger.define_relation("net/1", "at_most", {"lesser": B, "greater": A}, None, ACTOR)
        other.define_relation("net/2", "at_most", {"lesser": C, "greater": B}, None, ACTOR)
        assert store.views.position() < store.ledger.max_position()  # no view has it yet
        with pytest.raises(ValidationFailed, match="depend on itself"):
            store.ledger.define_relation(
                "net/3", "at_most", {"lesser": A, "greater": C}, None, ACTOR
            )
        other.remove_relation("net/2", None, ACTOR)
        store.ledger.define_relation("net/3", "at_most", {"lesser": A, "greater": C}, None, ACTOR)
    finally:
        other.close()


def test_concurrent_definitions_in_one_process_never_close_a_cycle(store_at: StoreAt) -> None:
    store = store_at.open()
    define_metrics(store, A, B)

    def define(number: int) -> bool:
        lesser, greater = (A, B) if number % 2 else (B, A)
        try:
            store.ledger.define_relation(
                f"net/{number}", "at_most", {"lesser": lesser, "greater": greater}, None, ACTOR
            )
        except ValidationFailed:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        accepted = list(pool.map(define, range(16)))
    live = store.ledger.live_relations()
    assert sum(accepted) == len(live) == 8
    assert len({(t.as_data()["lesser"], t.as_data()["greater"]) for t in live.values()}) == 1


def test_concurrent_definitions_in_two_processes_on_postgres_never_close_a_cycle(
    store_at: StoreAt,
) -> None:
    if store_at.kind == "sqlite":
        pytest.skip("a SQLite store is served by one process; several need PostgreSQL")
    first, second = store_at.open(), store_at.open()  # two stores: as two API workers
    define_metrics(first, A, B)

    def define(number: int) -> bool:
        store, lesser, greater = (first, A, B) if number % 2 else (second, B, A)
        try:
            store.ledger.define_relation(
                f"net/{number}", "at_most", {"lesser": lesser, "greater": greater}, None, ACTOR
            )
        except ValidationFailed:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        accepted = list(pool.map(define, range(16)))
    live = second.ledger.live_relations()
    assert live == first.ledger.live_relations()
    assert sum(accepted) == len(live) == 8
    assert len({(t.as_data()["lesser"], t.as_data()["greater"]) for t in live.values()}) == 1
