"""The Idempotency-Key store, on the views file: claim, complete, replay, refuse, forget."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest

from api.app import create_app
from api.services import Services
from projections.reads.idempotency import (
    ABANDONED_AFTER_SECONDS,
    CREATE_STATEMENT,
    RETENTION_SECONDS,
    IdempotencyStore,
    KeyInFlight,
    KeyReused,
    Remembered,
)
from projections.reads.process_liveness import this_process
from projections.storage.schema import create_statements
from projections.store import Store

from .conftest import StoreAt

pytestmark = pytest.mark.integration

WHO, ROUTE, KEY = "key-1234", "POST /v1/claims", "retry-me"
ANSWER = Remembered(201, {"Location": "/v1/claims/x", "X-Ledger-Position": "7"}, b'{"id":"x"}')


@pytest.fixture
def keys(store: Store) -> IdempotencyStore:
    return store.idempotency


def test_the_first_request_with_a_key_claims_it(keys: IdempotencyStore) -> None:
    assert keys.begin(WHO, ROUTE, KEY, "body-a") is None


def test_a_completed_answer_is_replayed_for_the_same_key_and_body(keys: IdempotencyStore) -> None:
    keys.begin(WHO, ROUTE, KEY, "body-a")
    keys.complete(WHO, ROUTE, KEY, ANSWER)
    assert keys.begin(WHO, ROUTE, KEY, "body-a") == ANSWER
    assert keys.begin(WHO, ROUTE, KEY, "body-a") == ANSWER


def test_the_same_key_with_another_body_is_refused_as_reused(keys: IdempotencyStore) -> None:
    keys.begin(WHO, ROUTE, KEY, "body-a")
    with pytest.raises(KeyReused):
        keys.begin(WHO, ROUTE, KEY, "body-b")
    keys.complete(WHO, ROUTE, KEY, ANSWER)
    with pytest.raises(KeyReused):
        keys.begin(WHO, ROUTE, KEY, "body-b")


def test_a_retry_while_the_first_request_is_pending_is_refused_as_in_flight(
    keys: IdempotencyStore,
) -> None:
    keys.begin(WHO, ROUTE, KEY, "body-a")
    with pytest.raises(KeyInFlight):
        keys.begin(WHO, ROUTE, KEY, "body-a")


def test_an_abandoned_request_frees_its_key_for_a_retry(keys: IdempotencyStore) -> None:
    keys.begin(WHO, ROUTE, KEY, "body-a")
    keys.abandon(WHO, ROUTE, KEY)
    assert keys.begin(WHO, ROUTE, KEY, "body-b") is None


def test_keys_are_scoped_to_the_principal_and_the_route(keys: IdempotencyStore) -> None:
    keys.begin(WHO, ROUTE, KEY, "body-a")
    keys.complete(WHO, ROUTE, KEY, ANSWER)
    assert keys.begin("another-principal", ROUTE, KEY, "body-b") is None
    assert keys.begin(WHO, "POST /v1/sources", KEY, "body-b") is None
    assert keys.begin(WHO, ROUTE, KEY, "body-a") == ANSWER


def test_answers_are_purged_after_24_hours_and_not_before(keys: IdempotencyStore) -> None:
    keys.begin(WHO, ROUTE, KEY, "body-a")
    keys.complete(WHO, ROUTE, KEY, ANSWER)
    keys.begin(WHO, ROUTE, "pending", "body-c")
    now = time.time()
    assert keys.purge(now=now) == 0
    assert keys.purge(now=now + RETENTION_SECONDS - 60) == 0
    assert keys.begin(WHO, ROUTE, KEY, "body-a") == ANSWER
    assert keys.purge(now=now + RETENTION_SECONDS + 1) == 2
    assert keys.begin(WHO, ROUTE, KEY, "body-b") is None


def test_remembered_answers_survive_closing_and_reopening_the_store(
    store: Store, store_at: StoreAt
) -> None:
    store.idempotency.begin(WHO, ROUTE, KEY, "body-a")
    store.idempotency.complete(WHO, ROUTE, KEY, ANSWER)
    store.close()
    reopened = store_at.open()
    try:
        assert reopened.idempotency.begin(WHO, ROUTE, KEY, "body-a") == ANSWER
        with pytest.raises(KeyReused):
            reopened.idempotency.begin(WHO, ROUTE, KEY, "body-b")
    finally:
        reopened.close()


def test_two_processes_sharing_the_views_file_see_each_others_keys(
    store: Store, store_at: StoreAt
) -> None:
    other = store_at.open()
    try:
        store.idempotency.begin(WHO, ROUTE, KEY, "body-a")
        with pytest.raises(KeyInFlight):
            other.idempotency.begin(WHO, ROUTE, KEY, "body-a")
        store.idempotency.complete(WHO, ROUTE, KEY, ANSWER)
        assert other.idempotency.begin(WHO, ROUTE, KEY, "body-a") == ANSWER
    finally:
        other.close()


def test_a_pending_key_left_by_a_dead_process_is_claimed_again_after_a_minute(
    store: Store,
) -> None:
    left_behind = time.time() - ABANDONED_AFTER_SECONDS - 1
    leave_pending(store, left_behind, owner=None)
    assert store.idempotency.begin(WHO, ROUTE, KEY, "body-a") is None
    with pytest.raises(KeyInFlight):
        store.idempotency.begin(WHO, ROUTE, KEY, "body-a")


def leave_pending(store: Store, created: float, owner: str | None) -> None:
    """A pending row as a request leaves it when its process dies mid-request."""
    with store.views.sql_transaction(commit=True) as c:
        c.execute(
            "INSERT INTO idempotency (principal, route, key, body_hash, created, owner) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (WHO, ROUTE, KEY, "body-a", created, owner),
        )


def name_of_a_process_that_ended() -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from projections.reads.process_liveness import this_process as p; print(p())",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_a_pending_key_whose_process_ended_is_claimed_again_at_once(store: Store) -> None:
    # given a pending row whose process has ended (killed before it could answer)
    owner = name_of_a_process_that_ended()
    assert owner != "None"
    leave_pending(store, time.time(), owner)
    # when a retry comes at once, then it takes the key over
    assert store.idempotency.begin(WHO, ROUTE, KEY, "body-a") is None
    # and the row is now this process's, so a third attempt is in flight
    with pytest.raises(KeyInFlight):
        store.idempotency.begin(WHO, ROUTE, KEY, "body-a")


@pytest.mark.parametrize(
    "owner",
    [None, "another-boot/pid:[1]/1/1", "this-process"],
    ids=["unnamed", "another-machine", "running"],
)
def test_a_pending_key_of_a_process_that_may_still_run_stays_in_flight_until_a_minute(
    store: Store, owner: str | None
) -> None:
    if owner == "this-process":
        owner = this_process()
    leave_pending(store, time.time() - ABANDONED_AFTER_SECONDS + 5, owner)
    with pytest.raises(KeyInFlight):
        store.idempotency.begin(WHO, ROUTE, KEY, "body-a")


def test_a_keys_table_made_before_rows_named_their_process_is_brought_up_to_date(
    store: Store,
) -> None:
    # given the table as it was made before pending rows named their process
    with store.views.sql_transaction(commit=True) as c:
        c.execute("DROP TABLE idempotency")
        (old,) = create_statements(
            store.views.dialect, [CREATE_STATEMENT.replace(", owner TEXT", "")]
        )
        c.execute(old)
    # when the store is opened again, then its keys work and name their process
    keys = IdempotencyStore(store.views)
    assert keys.begin(WHO, ROUTE, KEY, "body-a") is None
    with store.views.sql_transaction() as c:
        assert c.execute("SELECT owner FROM idempotency").fetchone()[0] == this_process()


def test_the_running_server_purges_expired_answers_on_its_own(
    store_at: StoreAt, tmp_path: Path
) -> None:
    settings = store_at.settings.model_copy(
        update={"idempotency_purge_interval": 0.05, "signing_key": str(tmp_path / "key.pem")}
    )
    app = create_app(settings)

    async def serve_a_while() -> list[str]:
        async with app.router.lifespan_context(app):
            services: Services = app.state.services
            keys = services.store.idempotency
            keys.begin(WHO, ROUTE, KEY, "body-a")
            keys.complete(WHO, ROUTE, KEY, ANSWER)
            keys.begin(WHO, ROUTE, "still-fresh", "body-a")
            with services.store.views.sql_transaction(commit=True) as c:
                c.execute(
                    "UPDATE idempotency SET created=created-? WHERE key=?",
                    (RETENTION_SECONDS + 60, KEY),
                )
            deadline = time.monotonic() + 10
            while remembered_keys(services) != ["still-fresh"] and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return remembered_keys(services)

    assert asyncio.run(serve_a_while()) == ["still-fresh"]


def remembered_keys(services: Services) -> list[str]:
    with services.store.views.sql_transaction() as c:
        return [row[0] for row in c.execute("SELECT key FROM idempotency ORDER BY key").fetchall()]
