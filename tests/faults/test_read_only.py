"""A store that refuses writes: the server starts (or keeps running) and reads, every write
is a 503 with Retry-After, /readyz is 503, and nothing acknowledged is lost.

SQLite: the store's directory seen through a read-only bind mount (needs root, as in CI;
elsewhere the test skips). PostgreSQL: the database set to read-only transactions by
default, and the server's sessions ended so that its pools reconnect into them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.conftest import admin_connection
from tests.e2e.support import Desk, running_server
from tests.faults.storage import (
    claim_values,
    read_only_view,
    refused_for_now,
    wait_for_readiness,
    write_attempts,
)

pytestmark = [pytest.mark.e2e, pytest.mark.faults]


def test_a_read_only_sqlite_store_starts_reads_and_refuses_every_write(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    database_url = f"sqlite:///{store / 'ledger.db'}"
    (tmp_path / "first").mkdir()
    with running_server(tmp_path / "first", database_url=database_url) as server:
        with server.client() as client:
            desk = Desk(client)
            source = desk.source()
            claim = desk.claim("dprk-in-russia/killed", source, 100)
            assert claim_values(desk, source) == [100]
        server.process.kill()  # its WAL and shared-memory files stay, as after a crash
        server.process.wait()

    (tmp_path / "read-only").mkdir()
    with (
        read_only_view(store, tmp_path / "view") as view,
        running_server(
            tmp_path / "read-only", database_url=f"sqlite:///{view / 'ledger.db'}"
        ) as server,
        server.client() as client,
    ):
        desk = Desk(client)
        assert claim_values(desk, source) == [100]
        refused = write_attempts(desk, source, claim)
        assert {name: r.status_code for name, r in refused.items() if not refused_for_now(r)} == {}
        readiness = client.get("/readyz")
        assert readiness.status_code == 503
        assert "read-only" in readiness.json()["status"]

    (tmp_path / "writable").mkdir()
    with (
        running_server(tmp_path / "writable", database_url=database_url) as server,
        server.client() as client,
    ):
        desk = Desk(client)
        desk.record("dprk-in-russia/killed", source, 200)
        assert claim_values(desk, source) == [100, 200]


@pytest.mark.postgres
def test_a_read_only_postgres_database_refuses_every_write(
    tmp_path: Path, new_postgres_database
) -> None:
    database_url = new_postgres_database()
    name = urlsplit(database_url).path.lstrip("/")
    with running_server(tmp_path, database_url=database_url) as server, server.client() as client:
        desk = Desk(client)
        source = desk.source()
        claim = desk.claim("dprk-in-russia/killed", source, 100)
        assert claim_values(desk, source) == [100]

        set_read_only(name, True)
        try:
            assert wait_for_readiness(client, 503).status_code == 503
            refused = write_attempts(desk, source, claim)
            assert {n: r.status_code for n, r in refused.items() if not refused_for_now(r)} == {}
            assert "read-only" in client.get("/readyz").json()["status"]
            assert claim_values(desk, source) == [100]
        finally:
            set_read_only(name, False)

        assert wait_for_readiness(client, 200).status_code == 200
        desk.record("dprk-in-russia/killed", source, 200)
        assert claim_values(desk, source) == [100, 200]


def set_read_only(database: str, read_only: bool) -> None:
    """Make new transactions in `database` read-only (or not), and end its sessions so that
    the server's pools reconnect under the new default."""
    value = "on" if read_only else "off"
    with admin_connection() as conn:  # type: ignore[attr-defined]
        conn.execute(f'ALTER DATABASE "{database}" SET default_transaction_read_only = {value}')
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (database,),
        )
