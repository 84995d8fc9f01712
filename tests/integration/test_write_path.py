"""The write path setting, and durable commits on the SQLite event store."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.services import open_store
from api.settings import Settings
from projections.store import open_sqlite_store

from .conftest import ACTOR, claim, define_metrics, register_sources

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["group", "direct"])
def test_the_write_path_setting_reaches_the_ledger_and_both_paths_store_claims(
    tmp_path: Path, path: str
) -> None:
    # given CLAIMLEDGER_WRITE_PATH
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'ledger.db'}", write_path=path)
    store = open_store(settings)
    try:
        # when
        register_sources(store, "outlet-a")
        define_metrics(store, "war/killed")
        saved = store.ledger.record_claim(claim("war/killed", 10, "outlet-a"), ACTOR)
        # then
        assert store.ledger.write_path == path
        assert saved.position == store.ledger.max_position() == 3
    finally:
        store.close()


def test_group_commit_is_the_default_write_path() -> None:
    assert Settings().write_path == "group"


def test_event_store_connections_commit_with_synchronous_full(tmp_path: Path) -> None:
    # given a store that has written events
    store = open_sqlite_store(str(tmp_path / "ledger.db"))
    try:
        register_sources(store, "outlet-a")
        # then every connection that wrote them is durable (2 = FULL)
        pool = store.ledger.recorder.datastore.pool  # type: ignore[attr-defined]
        writer = pool.get_connection(is_writer=True)
        try:
            assert getattr(writer, "claimledger_durable", False)
            with writer.cursor() as c:
                c.execute("PRAGMA synchronous")
                assert c.fetchone()[0] == 2
        finally:
            pool.put_connection(writer)
    finally:
        store.close()
