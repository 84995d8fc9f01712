"""A server killed (SIGKILL) under concurrent creates, idempotent and not, then restarted
on the same store: every acknowledged claim is there once, every idempotent request
retried with its key and body is recorded once, the log holds every event, and
`claimledger verify` passes. On both stores."""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.services import open_store
from api.settings import Settings
from tests.conftest import STORES
from tests.e2e.conftest import store_settings
from tests.e2e.support import CLAIMLEDGER, LedgerServer, a_claim, running_server

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

METRIC, REPORTER = "dprk-in-russia/wounded", "bbc-russian"
CLIENTS = 12
ACKNOWLEDGED_BEFORE_THE_KILL = 150


@dataclass
class Unanswered:
    """An idempotent request the kill left without an answer: retried after the restart."""

    path: str
    key: str
    body: Any
    values: list[int]


@dataclass
class Load:
    """What the clients sent and what the server acknowledged."""

    values: Iterator[int] = field(default_factory=lambda: itertools.count(10**9 + 1))
    acknowledged: dict[int, str] = field(default_factory=dict)  # value: claim id
    unanswered: list[Unanswered] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def next_values(self, count: int) -> list[int]:
        with self.lock:
            return [next(self.values) for _ in range(count)]

    def client(self, server: LedgerServer, kind: str) -> None:
        """Post until the server dies: `plain` claims, `keyed` claims or `batch`es."""
        with server.client() as client:
            while not self.stop.is_set():
                values = self.next_values(2 if kind == "batch" else 1)
                bodies = [a_claim(METRIC, REPORTER, v) for v in values]
                path = "/v1/claims/batch" if kind == "batch" else "/v1/claims"
                body: Any = bodies if kind == "batch" else bodies[0]
                key = secrets.token_hex(8)
                headers = {} if kind == "plain" else {"Idempotency-Key": key}
                try:
                    response = client.post(path, json=body, headers=headers)
                except httpx.TransportError:
                    if kind != "plain":
                        with self.lock:
                            self.unanswered.append(Unanswered(path, key, body, values))
                    return
                assert response.status_code == 201, response.text
                self.answered(values, response.json())

    def answered(self, values: list[int], answer: dict[str, Any]) -> None:
        ids = answer["ids"] if "ids" in answer else [answer["id"]]
        with self.lock:
            self.acknowledged.update(zip(values, ids, strict=True))


def recorded_claims(database_url: str) -> tuple[Counter[int], dict[int, str], int]:
    """From the event store: how often each value of the test's claims was recorded, the
    claim id of each, and how many events the store holds."""
    store = open_store(Settings(database_url=database_url))
    counts: Counter[int] = Counter()
    ids: dict[int, str] = {}
    events = 0
    try:
        after = 0
        while page := store.ledger.recorder.select_notifications(
            start=after, limit=1000, inclusive_of_start=False
        ):
            for notification in page:
                events += 1
                event: Any = store.ledger.mapper.to_domain_event(notification)
                if type(event).__qualname__ == "Claim.Recorded" and event.metric == METRIC:
                    counts[int(event.value)] += 1
                    ids[int(event.value)] = str(event.originator_id)
            after = page[-1].id
    finally:
        store.close()
    return counts, ids, events


def run_cli(directory: Path, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMLEDGER_")}
    env["CLAIMLEDGER_DATABASE_URL"] = database_url
    return subprocess.run(
        [str(CLAIMLEDGER), *args], cwd=directory, env=env, capture_output=True, text=True
    )


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture(params=STORES)
def store_of(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield store_settings(request, tmp_path)


def test_a_killed_server_loses_nothing_acknowledged_and_records_retries_once(
    tmp_path: Path, store_of: dict[str, str]
) -> None:
    database_url = store_of["database_url"]
    load = Load()
    kinds = ["plain", "keyed", "batch"] * (CLIENTS // 3)
    # given clients posting claims, idempotent and not, at once
    with running_server(tmp_path, **store_of) as server:
        threads = [threading.Thread(target=load.client, args=(server, k)) for k in kinds]
        for thread in threads:
            thread.start()
        wait_until(
            lambda: len(load.acknowledged) >= ACKNOWLEDGED_BEFORE_THE_KILL, 60, "acknowledgements"
        )
        # when the server is killed in the middle of it
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(timeout=10)
        load.stop.set()
        for thread in threads:
            thread.join(30)
    assert not any(thread.is_alive() for thread in threads)
    assert load.unanswered, "the kill left no idempotent request unanswered"
    acknowledged_before_the_kill = dict(load.acknowledged)

    # and restarted on the same store, where every unanswered idempotent request is retried
    with running_server(tmp_path, **store_of) as server, server.client() as client:
        for request in load.unanswered:
            retried = client.post(
                request.path, json=request.body, headers={"Idempotency-Key": request.key}
            )
            assert retried.status_code == 201, retried.text
            load.answered(request.values, retried.json())
        position = int(client.get("/readyz").json()["position"])
        # positions may have gaps (PostgreSQL): wait for the views' position, not a size
        wait_until(lambda: client.get("/readyz").json()["projected"] >= position, 60, "the views")
        tree_size = client.get("/v1/audit/tree-head").json()["tree_size"]

    counts, stored_ids, events = recorded_claims(database_url)
    # then every acknowledged claim is there, exactly once, under the id it was answered with
    for value, claim_id in acknowledged_before_the_kill.items():
        assert counts[value] == 1, value
        assert stored_ids[value] == claim_id
    # and every retried idempotent request's claims are there exactly once
    for request in load.unanswered:
        for value in request.values:
            assert counts[value] == 1, value
            assert stored_ids[value] == load.acknowledged[value]
    # and no claim was recorded twice, acknowledged or not
    assert max(counts.values()) == 1
    # and the log holds every event
    assert tree_size == events
    # and the whole store verifies
    verified = run_cli(tmp_path, database_url, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
