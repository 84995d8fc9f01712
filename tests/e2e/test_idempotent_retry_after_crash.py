"""Exactly once across crashes: a create retried under its Idempotency-Key after the first
attempt committed but died before answering is answered from what is stored.

Each test plays the first attempt's part from outside the server, as a process killed
between its commit and its answer leaves the store: the events written under the ids
the key derives, and the key's row still pending (aged past the wait for an abandoned
request, or left by a process that has ended). Then the client retries over HTTP.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import httpx
import pytest

from api.idempotency import derived_stream_id
from api.services import open_store
from api.settings import Settings
from domain.claims import Claim
from domain.values import Reliability
from projections.reads.idempotency import ABANDONED_AFTER_SECONDS
from projections.store import Store
from tests.conftest import STORES
from tests.e2e.conftest import store_settings
from tests.e2e.support import LedgerServer, a_claim, is_problem, running_server, unique

pytestmark = pytest.mark.e2e

ADMIN = "admin"  # the bootstrap admin key's principal and actor
ONE, BATCH = "POST /v1/claims", "POST /v1/claims/batch"
METRIC, REPORTER = "dprk-in-russia/killed", "nyt"


class Crashed:
    """The server, and the store it writes, opened beside it as the dead process had it."""

    def __init__(self, server: LedgerServer, store: Store) -> None:
        self.server = server
        self.store = store

    def client(self) -> httpx.Client:
        return self.server.client()

    def first_attempt(self, route: str, key: str, claims: list[dict[str, Any]]) -> list[UUID]:
        """What a request killed after its commit leaves: its claims under the key's ids,
        in one transaction, and its key's row pending long past the wait."""
        ids = [derived_stream_id(ADMIN, route, key, index) for index in range(len(claims))]
        recorded = [
            Claim._create(  # type: ignore[attr-defined]
                Claim.Recorded,  # type: ignore[attr-defined]
                id=claim_id,
                metric=c["metric"],
                value=Decimal(str(c["value"])),
                qualifier=c.get("qualifier", "exact"),
                value_high=None,
                as_of=date.fromisoformat(c["as_of"]),
                period_start=None,
                reported_by=c["reported_by"],
                attributed_to=[],
                published_at=None,
                url=None,
                quote=None,
                note=None,
                actor=ADMIN,
                reason=None,
            )
            for claim_id, c in zip(ids, claims, strict=True)
        ]
        self.store.ledger.save(*recorded)
        self.leave_pending(route, key, time.time() - ABANDONED_AFTER_SECONDS - 5)
        return ids

    def leave_pending(self, route: str, key: str, created: float) -> None:
        self.store.idempotency.begin(ADMIN, route, key, "the first attempt's body")
        with self.store.views.sql_transaction(commit=True) as c:
            c.execute(
                "UPDATE idempotency SET created=? WHERE principal=? AND route=? AND key=?",
                (created, ADMIN, route, key),
            )

    def position(self) -> int:
        return self.store.ledger.max_position()

    def claims_of(self, metric: str, value: int) -> list[str]:
        """Ids of the stored claims of a metric with this value, from the event store."""
        found = []
        for notification in self.store.ledger.recorder.select_notifications(
            start=0, limit=1_000_000, inclusive_of_start=False
        ):
            event: Any = self.store.ledger.mapper.to_domain_event(notification)
            recorded = type(event).__qualname__ == "Claim.Recorded"
            if recorded and (event.metric, event.value) == (metric, value):
                found.append(str(event.originator_id))
        return found


@pytest.fixture(scope="module", params=STORES)
def crashed(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Crashed]:
    directory = tmp_path_factory.mktemp("crashed-ledger")
    settings = store_settings(request, directory)
    with running_server(directory, **settings) as server:
        store = open_store(Settings(database_url=settings["database_url"]))
        try:
            yield Crashed(server, store)
        finally:
            store.close()


def a_value() -> int:
    return int(unique("v").split("-")[1][:6], 16) + 1


def test_a_claim_retried_after_its_first_attempt_committed_is_recorded_once(
    crashed: Crashed,
) -> None:
    # given a first attempt that recorded the claim and died before answering
    value, key = a_value(), unique("crash")
    body = a_claim(METRIC, REPORTER, value)
    (claim_id,) = crashed.first_attempt(ONE, key, [body])
    written = crashed.position()
    # when the client retries with the same key and body
    with crashed.client() as client:
        retried = client.post("/v1/claims", json=body, headers={"Idempotency-Key": key})
        # then it is answered as the first attempt would have been
        assert retried.status_code == 201, retried.text
        assert retried.json()["id"] == str(claim_id)
        assert retried.json()["value"] == value
        assert retried.headers["Location"] == f"/v1/claims/{claim_id}"
        assert retried.headers["ETag"] == '"1"'
        assert retried.headers["X-Ledger-Position"] == str(written)
        assert retried.headers["Idempotent-Replayed"] == "true"
        # and nothing more was written: the claim is there once
        assert crashed.position() == written
        assert crashed.claims_of(METRIC, value) == [str(claim_id)]
        # and a later retry replays the same answer from the keys' store
        again = client.post("/v1/claims", json=body, headers={"Idempotency-Key": key})
        assert again.status_code == 201
        assert again.content == retried.content
        assert crashed.position() == written


def test_a_retry_with_another_body_after_a_crash_is_refused_and_writes_nothing(
    crashed: Crashed,
) -> None:
    value, key = a_value(), unique("crash")
    crashed.first_attempt(ONE, key, [a_claim(METRIC, REPORTER, value)])
    written = crashed.position()
    with crashed.client() as client:
        other = client.post(
            "/v1/claims",
            json=a_claim(METRIC, REPORTER, value + 1),
            headers={"Idempotency-Key": key},
        )
    assert is_problem(other, 422)
    assert crashed.position() == written
    assert crashed.claims_of(METRIC, value + 1) == []


def test_a_batch_retried_after_its_first_attempt_committed_is_recorded_once(
    crashed: Crashed,
) -> None:
    value, key = a_value(), unique("crash")
    batch = [a_claim(METRIC, REPORTER, value), a_claim(METRIC, REPORTER, value)]
    ids = crashed.first_attempt(BATCH, key, batch)
    written = crashed.position()
    with crashed.client() as client:
        retried = client.post("/v1/claims/batch", json=batch, headers={"Idempotency-Key": key})
    assert retried.status_code == 201, retried.text
    assert retried.json() == {"ids": [str(i) for i in ids], "position": written}
    assert retried.headers["X-Ledger-Position"] == str(written)
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert crashed.position() == written
    assert sorted(crashed.claims_of(METRIC, value)) == sorted(map(str, ids))


def test_a_longer_batch_under_the_key_of_a_stored_one_is_refused(crashed: Crashed) -> None:
    value, key = a_value(), unique("crash")
    batch = [a_claim(METRIC, REPORTER, value)]
    crashed.first_attempt(BATCH, key, batch)
    written = crashed.position()
    with crashed.client() as client:
        longer = client.post(
            "/v1/claims/batch", json=[*batch, *batch], headers={"Idempotency-Key": key}
        )
    assert is_problem(longer, 422)
    assert crashed.position() == written


def name_of_a_process_that_ended() -> str:
    code = "from projections.reads.process_liveness import this_process as p; print(p())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_a_retry_is_answered_at_once_when_the_first_attempts_process_has_ended(
    crashed: Crashed,
) -> None:
    # given a first attempt that committed, whose process has just been killed
    value, key = a_value(), unique("crash")
    body = a_claim(METRIC, REPORTER, value)
    (claim_id,) = crashed.first_attempt(ONE, key, [body])
    with crashed.store.views.sql_transaction(commit=True) as c:
        c.execute(
            "UPDATE idempotency SET created=?, owner=? WHERE principal=? AND route=? AND key=?",
            (time.time(), name_of_a_process_that_ended(), ADMIN, ONE, key),
        )
    # when the client retries at once, then the stored claim is the answer, not a 409
    with crashed.client() as client:
        retried = client.post("/v1/claims", json=body, headers={"Idempotency-Key": key})
    assert retried.status_code == 201, retried.text
    assert retried.json()["id"] == str(claim_id)
    assert crashed.claims_of(METRIC, value) == [str(claim_id)]


RELATED = {"lesser": "dprk-in-russia/wounded", "greater": "dprk-in-russia/deployed"}


@pytest.mark.parametrize("kind", ["source", "metric", "relation"])
def test_a_source_metric_or_relation_retried_after_a_crash_is_answered_not_refused(
    crashed: Crashed, kind: str
) -> None:
    slug, key = unique(kind), unique("crash")
    path, body = {
        "source": ("/v1/sources", {"id": slug, "name": "A desk", "kind": "ngo"}),
        "metric": ("/v1/metrics", {"id": f"e2e/{slug}", "name": "M", "unit": "people"}),
        "relation": ("/v1/relations", {"id": f"e2e/{slug}", "kind": "at_most", **RELATED}),
    }[kind]
    ledger = crashed.store.ledger
    if kind == "source":
        saved = ledger.register_source(slug, "A desk", "ngo", None, None, ADMIN).position
    elif kind == "metric":
        saved = ledger.define_metric(f"e2e/{slug}", "M", "people", None, ADMIN).position
    else:
        saved = ledger.define_relation(f"e2e/{slug}", "at_most", RELATED, None, ADMIN).position
    crashed.leave_pending(f"POST {path}", key, time.time() - ABANDONED_AFTER_SECONDS - 5)
    with crashed.client() as client:
        retried = client.post(path, json=body, headers={"Idempotency-Key": key})
        assert retried.status_code == 201, retried.text
        assert retried.headers["X-Ledger-Position"] == str(saved)
        assert retried.headers["Idempotent-Replayed"] == "true"
        assert retried.json()["version"] == 1
        # and another body under another key is still a duplicate id
        changed = {"note": "Another"} if kind == "relation" else {"name": "Another"}
        other = client.post(
            path, json={**body, **changed}, headers={"Idempotency-Key": unique("k")}
        )
        assert is_problem(other, 409)
    assert crashed.position() == saved


def test_a_source_rated_when_registered_is_replayed_only_with_the_same_rating(
    crashed: Crashed,
) -> None:
    slug = unique("rated")
    body = {"id": slug, "name": "Rated desk", "kind": "outlet", "reliability": "B"}
    saved = crashed.store.ledger.register_source(
        slug, "Rated desk", "outlet", None, Reliability.B, ADMIN
    ).position
    key = unique("crash")
    crashed.leave_pending("POST /v1/sources", key, time.time() - ABANDONED_AFTER_SECONDS - 5)
    with crashed.client() as client:
        retried = client.post("/v1/sources", json=body, headers={"Idempotency-Key": key})
        assert retried.status_code == 201, retried.text
        assert (retried.json()["version"], retried.json()["reliability"]) == (2, "B")
        assert retried.headers["X-Ledger-Position"] == str(saved)
        for other in ({**body, "reliability": None}, {**body, "reliability": "C"}):
            again = client.post("/v1/sources", json=other, headers={"Idempotency-Key": unique("k")})
            assert is_problem(again, 409), other
    assert crashed.position() == saved
