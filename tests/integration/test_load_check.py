"""The ledger checks the events it loads for a command against the leaves the log sealed
for them, on each store: an edited or deleted event refuses the command and raises the
write alarm; events not projected yet are left to `verify`."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from domain.errors import StoreDisagreesWithLog
from domain.values import Credibility
from projections.store import Store

from .conftest import ACTOR, StoreAt, claim
from .test_verify_every_store import database, events_table, sql

pytestmark = pytest.mark.integration


def a_changed_claim(store: Store) -> UUID:
    """A claim recorded, corrected and assessed (versions 1 to 3), all projected."""
    ledger = store.ledger
    ledger.register_source("outlet-a", "Outlet A", "outlet", None, None, ACTOR)
    ledger.define_metric("war/killed", "Killed", "people", None, ACTOR)
    recorded = ledger.record_claim(claim("war/killed", 4352, "outlet-a"), ACTOR).aggregate.id
    ledger.correct_claim(recorded, {"value": Decimal(4353)}, "typo", None, ACTOR)
    ledger.assess_claim(recorded, Credibility.PROBABLY_TRUE, None, None, ACTOR)
    store.runner.catch_up()
    return recorded


def stored_id(store_at: StoreAt, stream: UUID) -> object:
    return stream if store_at.kind == "postgres" else stream.hex


def test_a_command_on_an_edited_event_is_refused_naming_it_and_raises_the_alarm(
    store_at: StoreAt,
) -> None:
    store = store_at.open()
    stream = a_changed_claim(store)
    table, position = events_table(store_at)
    with database(store_at, "events") as db:
        at, state = db.execute(
            sql(
                store_at,
                f"SELECT {position}, state FROM {table} WHERE originator_id=? "
                "AND originator_version=1",
            ),
            (stored_id(store_at, stream),),
        ).fetchone()
        db.execute(
            sql(store_at, f"UPDATE {table} SET state=? WHERE {position}=?"),
            (bytes(state).replace(b'"4352"', b'"9352"'), at),
        )

    with pytest.raises(StoreDisagreesWithLog) as refused:
        store.ledger.retract_claim(stream, "withdrawn", None, ACTOR)

    assert f"position {at}, leaf index {at - 1}, stream {stream}, version 1" in str(refused.value)
    assert store_at.open().alarm.reason() == refused.value.reason  # persisted, seen elsewhere
    with pytest.raises(StoreDisagreesWithLog):
        store.ledger.register_source("outlet-b", "Outlet B", "outlet", None, None, ACTOR)


def test_a_command_on_a_stream_missing_a_sealed_event_is_refused(store_at: StoreAt) -> None:
    store = store_at.open()
    stream = a_changed_claim(store)
    table, _ = events_table(store_at)
    with database(store_at, "events") as db:
        db.execute(
            sql(store_at, f"DELETE FROM {table} WHERE originator_id=? AND originator_version=2"),
            (stored_id(store_at, stream),),
        )

    with pytest.raises(StoreDisagreesWithLog, match="version 2: sealed in the log but missing"):
        store.ledger.retract_claim(stream, "withdrawn", None, ACTOR)


def test_an_event_not_projected_yet_is_not_compared(store_at: StoreAt) -> None:
    # given: a correction not projected yet, then edited
    store = store_at.open()
    stream = a_changed_claim(store)
    store.ledger.correct_claim(stream, {"value": Decimal(5000)}, "typo", None, ACTOR)
    table, position = events_table(store_at)
    with database(store_at, "events") as db:
        at, state = db.execute(
            sql(
                store_at,
                f"SELECT {position}, state FROM {table} WHERE originator_id=? "
                "AND originator_version=4",
            ),
            (stored_id(store_at, stream),),
        ).fetchone()
        db.execute(
            sql(store_at, f"UPDATE {table} SET state=? WHERE {position}=?"),
            (bytes(state).replace(b'"5000"', b'"5001"'), at),
        )

    # when / then: the command goes through; verify and rebuild are what catch this one
    saved = store.ledger.retract_claim(stream, "withdrawn", None, ACTOR)
    assert saved.aggregate.version == 5
    assert store.alarm.reason() is None
