"""The relations' views (§9): current state, the relations as known at a moment or a
position, the relations touching a metric, pages, and a rebuild equal to the live views."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from domain.errors import RelationNotFound
from domain.event_data import rfc3339
from domain.relations import AtMostTerms, ShareTerms, SumTerms
from projections.reads.relation_queries import RelationNotKnownYet
from projections.store import Store
from tests.support.views import dump_views

from .conftest import ACTOR, define_metrics, fresh_rebuild

pytestmark = pytest.mark.integration

KILLED, WOUNDED, CASUALTIES, DEPLOYED, RATE = (
    "war/killed",
    "war/wounded",
    "war/casualties",
    "war/deployed",
    "war/casualty-rate",
)


def moment() -> str:
    """Now, in the views' text form; the clock moves on before the next write."""
    time.sleep(0.002)
    now = rfc3339(datetime.now(UTC))
    time.sleep(0.002)
    return now


@pytest.fixture
def war(store: Store) -> Store:
    define_metrics(store, KILLED, WOUNDED, CASUALTIES, DEPLOYED)
    define_metrics(store, RATE, unit="percent")
    return store


def define_all(store: Store) -> None:
    ledger = store.ledger
    ledger.define_relation(
        "war/sum", "sum", {"total": CASUALTIES, "parts": [KILLED, WOUNDED]}, "parts", ACTOR
    )
    ledger.define_relation(
        "war/rate", "share", {"share": RATE, "part": CASUALTIES, "whole": DEPLOYED}, None, ACTOR
    )
    ledger.define_relation(
        "war/killed-le", "at_most", {"lesser": KILLED, "greater": CASUALTIES}, None, ACTOR
    )
    store.runner.catch_up()


def test_a_defined_relation_is_a_row_with_its_terms(war: Store) -> None:
    define_all(war)
    row, position = war.queries.relation("war/sum")
    assert position == war.ledger.max_position()
    assert row["kind"] == "sum"
    assert row["terms"] == {"total": CASUALTIES, "parts": [KILLED, WOUNDED], "exhaustive": False}
    assert (row["note"], row["removed"], row["version"]) == ("parts", False, 1)
    assert row["recorded_at"] == row["defined_at"]
    with pytest.raises(RelationNotFound):
        war.queries.relation("war/none")


def test_relations_known_now_and_the_ones_touching_a_metric(war: Store) -> None:
    define_all(war)
    known = war.queries.relations_known(None)
    assert known == [
        ("war/killed-le", AtMostTerms(KILLED, CASUALTIES)),
        ("war/rate", ShareTerms(RATE, CASUALTIES, DEPLOYED)),
        ("war/sum", SumTerms(CASUALTIES, (KILLED, WOUNDED), False)),
    ]
    assert [s for s, _ in war.queries.relations_touching(DEPLOYED)] == ["war/rate"]
    assert [s for s, _ in war.queries.relations_touching(KILLED)] == ["war/killed-le", "war/sum"]
    assert war.queries.relations_touching("war/captured") == []


def test_relations_as_known_before_and_after_define_update_remove(war: Store) -> None:
    ledger = war.ledger
    before = moment()
    at_start = ledger.max_position()
    define_all(war)
    defined = moment()
    at_defined = ledger.max_position()
    ledger.update_relation(
        "war/sum", "sum", {"total": CASUALTIES, "parts": [KILLED]}, None, 1, ACTOR, "fewer"
    )
    updated = moment()
    ledger.remove_relation("war/killed-le", 1, ACTOR, "not needed")
    war.runner.catch_up()
    queries = war.queries

    assert queries.relations_known(before) == []
    assert queries.relations_known(None, at_start) == []
    assert [s for s, _ in queries.relations_known(defined)] == [
        "war/killed-le",
        "war/rate",
        "war/sum",
    ]
    assert queries.relations_known(None, at_defined) == queries.relations_known(defined)
    assert dict(queries.relations_known(defined))["war/sum"].parts == (KILLED, WOUNDED)
    assert dict(queries.relations_known(updated))["war/sum"].parts == (KILLED,)
    assert [s for s, _ in queries.relations_known(None)] == ["war/rate", "war/sum"]
    # A metric the update dropped no longer touches the relation from then on.
    assert [s for s, _ in queries.relations_touching(WOUNDED, defined)] == ["war/sum"]
    assert queries.relations_touching(WOUNDED, updated) == []
    assert [s for s, _ in queries.relations_touching(KILLED, updated)] == [
        "war/killed-le",
        "war/sum",
    ]
    assert [s for s, _ in queries.relations_touching(KILLED)] == ["war/sum"]

    with pytest.raises(RelationNotKnownYet):
        queries.relation("war/sum", before)
    removed, _ = queries.relation("war/killed-le")
    assert (removed["removed"], removed["version"]) == (True, 2)
    then, _ = queries.relation("war/killed-le", updated)
    assert (then["removed"], then["version"]) == (False, 1)


def test_pages_of_relations_filtered_by_metric_and_moment(war: Store) -> None:
    define_all(war)
    first = war.queries.relations(None, None, None, 2)
    assert [r["id"] for r in first.items] == ["war/killed-le", "war/rate"]
    assert first.next_cursor is not None
    second = war.queries.relations(None, None, first.next_cursor, 2)
    assert [r["id"] for r in second.items] == ["war/sum"]
    assert second.next_cursor is None
    touching = war.queries.relations(CASUALTIES, moment(), None, 10)
    assert [r["id"] for r in touching.items] == ["war/killed-le", "war/rate", "war/sum"]
    assert war.queries.relations(RATE, None, None, 10).items[0]["kind"] == "share"


def test_a_rebuild_equals_the_live_relation_views(war: Store) -> None:
    define_all(war)
    war.ledger.update_relation(
        "war/sum",
        "sum",
        {"total": CASUALTIES, "parts": [KILLED], "exhaustive": True},
        "n",
        1,
        ACTOR,
    )
    war.ledger.remove_relation("war/rate", None, ACTOR)
    war.runner.catch_up()
    live = dump_views(war.views)
    assert len(live["relation_versions"]) == 5
    assert len(live["relation_metrics"]) == 10
    assert fresh_rebuild(war) == live
