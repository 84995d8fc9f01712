"""A server that loads an event edited behind its back for a command refuses it, and every
write after it, with a 503 problem, and says so on /readyz, across a restart, until
`claimledger verify` passes again (§6, docs/integrity.md)."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from tests.conftest import STORES
from tests.e2e.conftest import store_settings
from tests.e2e.support import (
    CLAIMLEDGER,
    Desk,
    LedgerServer,
    a_claim,
    is_problem,
    running_server,
    server_environment,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """A store of its own (the alarm would stop any server shared with other tests)."""
    return store_settings(request, tmp_path)


@contextmanager
def events_db(directory: Path, settings: dict[str, str]) -> Iterator[Any]:
    """The event store, opened as someone with access to the database would."""
    url = settings["database_url"]
    if url.startswith("postgresql"):
        import psycopg

        with psycopg.connect(url, autocommit=True) as db:
            yield db
        return
    with sqlite3.connect(directory / "ledger.db") as db:
        yield db


def replace_in_event(
    directory: Path, settings: dict[str, str], claim: str, old: bytes, new: bytes
) -> None:
    """Edit the claim's first stored event by hand."""
    postgres = settings["database_url"].startswith("postgresql")
    table = "ledger_events" if postgres else "stored_events"
    mark = "%s" if postgres else "?"
    stream: Any = UUID(claim) if postgres else UUID(claim).hex
    with events_db(directory, settings) as db:
        select = f"SELECT state FROM {table} WHERE originator_id={mark} AND originator_version=1"
        (state,) = db.execute(select, (stream,)).fetchone()
        assert old in bytes(state)
        db.execute(
            f"UPDATE {table} SET state={mark} WHERE originator_id={mark} AND originator_version=1",
            (bytes(state).replace(old, new), stream),
        )


def a_write(client: httpx.Client, metric: str, source: str) -> httpx.Response:
    return client.post("/v1/claims", json=a_claim(metric, source, 5))


def wait_for(predicate: Any, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def run_verify(server: LedgerServer, settings: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_cli(server, settings, "verify")


def run_cli(
    server: LedgerServer, settings: dict[str, str], command: str
) -> subprocess.CompletedProcess[str]:
    env = server_environment(server.directory, server.admin_key, **settings)
    return subprocess.run(
        [str(CLAIMLEDGER), command],
        cwd=server.directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_command_on_an_edited_event_is_refused_and_writes_stay_refused_until_verify_passes(
    store: dict[str, str], tmp_path: Path
) -> None:
    # given: a claim of 4352, projected, then edited to 9352 in the event store
    with running_server(tmp_path, **store) as server, server.client() as client:
        desk = Desk(client)
        metric, source = desk.metric(), desk.source()
        claim = desk.claim(metric, source, 4352)
        assert client.get(f"/v1/claims/{claim}", headers=desk.caught_up()).status_code == 200
        replace_in_event(tmp_path, store, claim, b'"4352"', b'"9352"')

        # when: an editor retracts it
        retracted = client.post(
            f"/v1/claims/{claim}/retraction",
            json={"reason": "withdrawn"},
            headers={"If-Match": '"1"'},
        )

        # then: refused, naming the event, and so is every later write
        assert is_problem(retracted, 503), retracted.text
        assert "Retry-After" in retracted.headers
        detail = retracted.json()["detail"]
        assert f"stream {claim}, version 1" in detail
        assert "does not hash to its sealed leaf" in detail
        assert is_problem(a_write(client, metric, source), 503)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert "disagree with its log" in ready.json()["status"]

    # and a restart does not clear it
    with running_server(tmp_path, **store) as server, server.client() as client:
        assert is_problem(a_write(client, metric, source), 503)
        assert client.get("/readyz").status_code == 503
        corrected = client.post(
            f"/v1/claims/{claim}/corrections",
            json={"changes": {"value": 4353}, "reason": "typo"},
            headers={"If-Match": '"1"'},
        )
        assert is_problem(corrected, 503)

        # while verify fails, nothing changes
        failed = run_verify(server, store)
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert is_problem(a_write(client, metric, source), 503)

        # when the admin puts the event back and verify passes
        replace_in_event(tmp_path, store, claim, b'"9352"', b'"4352"')
        passed = run_verify(server, store)
        assert passed.returncode == 0, passed.stdout + passed.stderr
        assert "cleared the write alarm" in passed.stdout

        # then writes are taken again, and the server is ready
        assert wait_for(lambda: client.get("/readyz").status_code == 200)
        assert a_write(client, metric, source).status_code == 201
        retracted = client.post(
            f"/v1/claims/{claim}/retraction",
            json={"reason": "withdrawn"},
            headers={"If-Match": '"1"'},
        )
        assert retracted.status_code == 200, retracted.text


def test_a_size_whose_root_changed_after_it_was_signed_is_not_signed_again(
    store: dict[str, str], tmp_path: Path
) -> None:
    # given: a head signed, then the stored log changed under it
    with running_server(tmp_path, **store) as server, server.client() as client:
        signed = client.get("/v1/audit/tree-head").json()
        size = signed["tree_size"]
        with views_db(tmp_path, store) as db:
            mark = "%s" if store["database_url"].startswith("postgresql") else "?"
            db.execute(f"UPDATE merkle_nodes SET hash={mark} WHERE start=0", (bytes(32),))

    # when it is asked for again, after a restart (the record, not the process, remembers)
    with running_server(tmp_path, **store) as server, server.client() as client:
        again = client.get("/v1/audit/tree-head", params={"tree_size": size})

        # then
        assert is_problem(again, 503), again.text
        assert f"size {size} now has root" in again.json()["detail"]
        assert signed["root_hash"] in again.json()["detail"]
        assert client.get("/readyz").status_code == 503
        assert is_problem(a_write(client, "dprk-in-russia/killed", "nyt"), 503)

    # when the admin sets the damaged views aside, rebuilds them and verifies
    set_views_aside(tmp_path, store)
    rebuilt = run_cli(server, store, "rebuild")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    verified = run_cli(server, store, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "cleared the write alarm" in verified.stdout

    # then the server signs the root it signed before, and takes writes
    with running_server(tmp_path, **store) as server, server.client() as client:
        again = client.get("/v1/audit/tree-head", params={"tree_size": size})
        assert again.json()["root_hash"] == signed["root_hash"]
        assert client.get("/readyz").status_code == 200
        assert a_write(client, "dprk-in-russia/killed", "nyt").status_code == 201


def set_views_aside(directory: Path, settings: dict[str, str]) -> None:
    """The views file moved away (SQLite), or the log's views emptied (PostgreSQL)."""
    if settings["database_url"].startswith("postgresql"):
        with views_db(directory, settings) as db:
            db.execute("DELETE FROM event_index")
            db.execute("DELETE FROM merkle_nodes")
        return
    for suffix in ("", "-wal", "-shm"):
        views = directory / f"ledger.views.db{suffix}"
        if views.exists():
            views.rename(directory / f"damaged.views.db{suffix}")


@contextmanager
def views_db(directory: Path, settings: dict[str, str]) -> Iterator[Any]:
    url = settings["database_url"]
    if url.startswith("postgresql"):
        with events_db(directory, settings) as db:
            yield db
        return
    with sqlite3.connect(directory / "ledger.views.db") as db:
        yield db
