"""A server killed while gathering concurrent writes loses no acknowledged claim."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from projections.reads.queries import ClaimFilters
from projections.store import open_sqlite_store
from tests.e2e.support import running_server

pytestmark = pytest.mark.e2e

CLIENTS = 16


def test_every_acknowledged_claim_survives_a_kill_in_the_middle_of_group_commits(
    tmp_path: Path,
) -> None:
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()
    with running_server(tmp_path) as server:
        claim = {
            "metric": "dprk-in-russia/killed",
            "value": 7,
            "as_of": "2025-01-20",
            "reported_by": "nyt",
        }

        def post_until_stopped() -> None:
            with server.client() as client:
                while not stop.is_set():
                    try:
                        response = client.post("/v1/claims", json=claim)
                    except httpx.TransportError:
                        return  # the server died under us: this one was not acknowledged
                    if response.status_code == 201:
                        with lock:
                            acknowledged.append(response.json()["id"])

        # given sixteen clients writing at once
        threads = [threading.Thread(target=post_until_stopped) for _ in range(CLIENTS)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        # when the server is killed mid-stream
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        stop.set()
        for thread in threads:
            thread.join(10)
    # then every claim a client saw acknowledged is in the event store
    assert len(acknowledged) >= 200
    store = open_sqlite_store(str(tmp_path / "ledger.db"))
    try:
        for claim_id in acknowledged:
            assert store.ledger.get_claim(UUID(claim_id)).value == 7
        # and the views, caught up after the crash, list each of them exactly once
        store.runner.catch_up()
        listed: list[str] = []
        cursor = None
        while True:
            page = store.queries.claims(ClaimFilters(reported_by="nyt"), cursor, 1000)
            listed += [item["id"] for item in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert len(listed) == len(set(listed))
        assert set(acknowledged) <= set(listed)
    finally:
        store.close()
