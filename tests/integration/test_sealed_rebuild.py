"""`claimledger rebuild` never launders an edit: on each store, an event edited by hand
stops it before the views are touched, naming the event as `verify` does, and so does a
log whose root no longer matches a tree head the server signed."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from projections.events.stored_events import applied_from_stored
from projections.log.canonical import canonical_bytes
from projections.log.merkle import leaf_hash
from projections.verify.sealed_rebuild import SealedLog
from tests.support.views import dump_views

from .conftest import RunCli, StoreAt
from .test_verify_every_store import database, events_table, history, sql, verify

pytestmark = pytest.mark.integration

__all__ = ["history"]  # the fixture, used by name


def edit_a_claim(store_at: StoreAt) -> str:
    """Change one recorded claim's value from 1000 to 9000 in the event store, by hand;
    how `verify` and `rebuild` name that event (position P, leaf index L, …)."""
    table, position = events_table(store_at)
    with database(store_at, "events") as db:
        rows = db.execute(
            f"SELECT {position}, originator_id, originator_version, topic, state FROM {table} "
            f"ORDER BY {position}"
        ).fetchall()
        at, stream, version, _, state = next(
            r for r in rows if r[3].endswith("Claim.Recorded") and b'"1000"' in bytes(r[4])
        )
        edited = bytes(state).replace(b'"1000"', b'"9000"')
        db.execute(sql(store_at, f"UPDATE {table} SET state=? WHERE {position}=?"), (edited, at))
    return f"position {at}, leaf index {at - 1}, stream {UUID(str(stream))}, version {version}"


def views_of(store_at: StoreAt) -> dict[str, list[tuple[Any, ...]]]:
    store = store_at.open()
    try:
        return dump_views(store.views)
    finally:
        store.close()


def test_a_rebuild_refuses_a_hand_edited_event_naming_it_and_leaves_the_views_untouched(
    history: StoreAt, run_cli: RunCli, tmp_path: Path
) -> None:
    # given
    before = views_of(history)
    where = edit_a_claim(history)

    # when
    done = run_cli("rebuild")

    # then
    assert done.returncode == 1, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("claimledger rebuild: REFUSED: " + where)
    assert "does not hash to its sealed leaf" in line
    assert views_of(history) == before
    again = verify(history, tmp_path).failure_line()
    assert where in again
    assert "does not hash to its sealed leaf" in again


def test_a_rebuild_refuses_a_log_whose_root_differs_from_a_head_the_server_signed(
    history: StoreAt, run_cli: RunCli, tmp_path: Path
) -> None:
    # given: verify signs (and so records) the head of the log as it is
    assert verify(history, tmp_path).returncode == 0
    # and the views' log is gone, so only the signed head remembers the events
    with database(history, "views") as db:
        db.execute("DELETE FROM event_index")
        db.execute("DELETE FROM merkle_nodes")
    edit_a_claim(history)

    # when
    done = run_cli("rebuild")

    # then
    assert done.returncode == 1, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "stored events give root" in line
    assert "the head this server signed at" in line


def test_a_rebuild_refuses_an_event_edited_together_with_its_leaf_in_the_feed(
    history: StoreAt, run_cli: RunCli
) -> None:
    # given: the event edited, and its feed row's leaf hash made to match it
    where = edit_a_claim(history)
    at = int(where.split(",")[0].removeprefix("position "))
    store = history.open()
    try:
        (notification,) = store.ledger.recorder.select_notifications(start=at, limit=1)
        e = applied_from_stored(notification, store.ledger.mapper)
        leaf = leaf_hash(
            canonical_bytes(e.stream, e.version, e.type, e.recorded_at, e.actor, e.data)
        ).hex()
    finally:
        store.close()
    with database(history, "views") as db:
        db.execute(sql(history, "UPDATE event_index SET leaf_hash=? WHERE position=?"), (leaf, at))

    # when
    done = run_cli("rebuild")

    # then: the stored Merkle nodes still hold the sealed leaf
    assert done.returncode == 1, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "but the stored Merkle log has root" in line


def test_a_clean_rebuild_keeps_no_copy_of_the_sealed_leaves_and_verifies(
    history: StoreAt, run_cli: RunCli, tmp_path: Path
) -> None:
    before = views_of(history)

    done = run_cli("rebuild")

    assert done.returncode == 0, done.stderr
    assert views_of(history) == before
    store = history.open()
    try:
        assert SealedLog(store.views).kept_until() == 0
    finally:
        store.close()
    assert verify(history, tmp_path).returncode == 0
