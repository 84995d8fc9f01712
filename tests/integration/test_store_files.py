"""open_sqlite_store: one SQLite file for the events, another beside it for the views."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from projections.storage.schema import VIEW_TABLES
from projections.storage.sqlite_factory import PAGE_SIZE
from projections.store import open_sqlite_store, views_path_for

from .conftest import ACTOR, claim, define_metrics, register_sources

pytestmark = pytest.mark.integration


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall()
    return {name for (name,) in rows}


def count(path: Path, sql: str) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute(sql).fetchone()[0])


def test_opening_a_store_creates_the_events_file_and_the_views_file_beside_it(
    tmp_path: Path,
) -> None:
    events = tmp_path / "nested" / "dir" / "ledger.db"
    store = open_sqlite_store(str(events))
    try:
        views = Path(views_path_for(str(events)))
        assert views == tmp_path / "nested" / "dir" / "ledger.views.db"
        assert store.paths == (str(events), str(views))
        assert events.is_file()
        assert views.is_file()
    finally:
        store.close()


def test_events_are_stored_by_the_library_recorder_and_views_live_in_their_own_tables(
    tmp_path: Path,
) -> None:
    events = tmp_path / "ledger.db"
    store = open_sqlite_store(str(events))
    try:
        register_sources(store, "outlet-a")
        define_metrics(store, "war/killed")
        store.ledger.record_claim(claim("war/killed", 10, "outlet-a"), ACTOR)
        position = store.ledger.max_position()
        store.runner.catch_up()
    finally:
        store.close()
    views = Path(views_path_for(str(events)))

    assert position == 3
    # the library's events, and the record of signed heads and the write alarm (decision
    # 0013): commitments about the events, which no rebuild of the views clears
    assert tables(events) == {"stored_events", "signed_heads", "write_alarm"}
    assert count(events, "SELECT COUNT(*) FROM stored_events") == 3
    assert count(events, "SELECT MAX(rowid) FROM stored_events") == position

    assert set(VIEW_TABLES) | {"tracking", "idempotency"} <= tables(views)
    assert "stored_events" not in tables(views)
    assert count(views, "SELECT COUNT(*) FROM event_index") == 3
    assert count(views, "SELECT COUNT(*) FROM claims") == 1
    assert (
        count(views, "SELECT notification_id FROM tracking WHERE application_name='ledger'")
        == position
    )


def test_a_reopened_store_keeps_its_events_and_its_tracked_position(tmp_path: Path) -> None:
    events = tmp_path / "ledger.db"
    first = open_sqlite_store(str(events))
    register_sources(first, "outlet-a", "outlet-b")
    first.runner.catch_up()
    first.close()

    second = open_sqlite_store(str(events))
    try:
        assert second.ledger.max_position() == 2
        assert second.views.position() == 2
        assert second.runner.position == 2
        assert second.lag() == 0
        assert second.queries.source("outlet-b")["name"] == "Outlet-B"
    finally:
        second.close()


def test_the_lag_counts_the_positions_the_views_have_not_applied_yet(tmp_path: Path) -> None:
    store = open_sqlite_store(str(tmp_path / "ledger.db"))
    try:
        register_sources(store, "outlet-a", "outlet-b", "outlet-c")
        assert store.lag() == 3
        store.runner.catch_up()
        assert store.lag() == 0
    finally:
        store.close()


def page_size(path: Path) -> int:
    return count(path, "PRAGMA page_size")


def test_new_files_have_pages_of_8_kib_and_older_files_keep_theirs(tmp_path: Path) -> None:
    events = tmp_path / "ledger.db"
    older = tmp_path / "older.db"
    with sqlite3.connect(older) as db:  # made elsewhere, with SQLite's default pages
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (a)")
    store = open_sqlite_store(str(events))
    store.close()
    store = open_sqlite_store(str(older))
    store.close()

    assert page_size(events) == page_size(Path(views_path_for(str(events)))) == PAGE_SIZE == 8192
    assert page_size(older) == 4096
    assert "stored_events" in tables(older)
