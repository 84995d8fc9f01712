"""`claimledger rebuild` replays the whole log into views equal to the live ones."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from api.demo import load_demo
from domain.values import Credibility, Reliability, Role
from projections.reads.idempotency import Remembered
from projections.reads.queries import ClaimFilters
from tests.support.views import dump_views

from .conftest import ACTOR, RunCli, StoreAt

pytestmark = pytest.mark.integration


def test_rebuilding_from_the_command_line_yields_views_equal_to_the_live_ones(
    store_at: StoreAt, run_cli: RunCli
) -> None:
    store = store_at.open()
    try:
        load_demo(store.ledger)
        store.runner.catch_up()  # the seed in one go, then live, event by event
        store.runner.start()
        killed = store.queries.claims(ClaimFilters(metric="dprk-in-russia/killed"), None, 10)
        first, second = (item["id"] for item in killed.items)
        ledger = store.ledger
        ledger.retract_claim(UUID(second), "withdrawn", None, ACTOR)
        ledger.correct_claim(UUID(first), {"value": Decimal(1100)}, "typo", None, ACTOR)
        ledger.assess_claim(UUID(first), Credibility.PROBABLY_TRUE, None, None, ACTOR)
        ledger.rate_source("western-officials", Reliability.C, "mixed", None, ACTOR)
        ledger.update_source("nyt", {"url": "https://nytimes.com"}, None, ACTOR)
        key = ledger.issue_key("ops", Role.ADMIN, ACTOR)
        ledger.revoke_key(key.key.id, None, ACTOR)
        assert store.runner.wait(ledger.max_position(), timeout=5)
        store.runner.stop()
        store.idempotency.begin("someone", "POST /v1/claims", "k1", "hash")
        store.idempotency.complete(
            "someone", "POST /v1/claims", "k1", Remembered(201, {"a": "b"}, b"{}")
        )
        live = dump_views(store.views)
        last = ledger.max_position()
    finally:
        store.close()

    done = run_cli("rebuild")
    assert done.returncode == 0, done.stderr
    assert f"rebuilt the views up to position {last}" in done.stdout

    reopened = store_at.open()
    try:
        assert reopened.views.position() == last
        assert dump_views(reopened.views) == live
        # The idempotency answers are not a projection: a rebuild keeps them.
        remembered = reopened.idempotency.begin("someone", "POST /v1/claims", "k1", "hash")
        assert remembered == Remembered(201, {"a": "b"}, b"{}")
    finally:
        reopened.close()


def test_rebuilding_an_empty_store_leaves_empty_views(store_at: StoreAt, run_cli: RunCli) -> None:
    done = run_cli("rebuild")
    assert done.returncode == 0, done.stderr
    assert "rebuilt the views up to position 0" in done.stdout
    store = store_at.open()
    try:
        assert all(rows == [] for rows in dump_views(store.views).values())
    finally:
        store.close()
