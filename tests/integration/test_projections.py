"""Commands through store.ledger, then runner.catch_up(): what every view holds."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from domain.errors import ClaimNotFound, MetricNotFound
from domain.keys import hash_secret
from domain.sources import source_stream
from domain.values import Reliability, Role
from projections.reads.queries import BadCursor, ClaimFilters
from projections.store import Store

from .conftest import ACTOR, claim

pytestmark = pytest.mark.integration


@dataclass
class World:
    store: Store
    ids: dict[str, str]

    def id(self, name: str) -> UUID:
        return UUID(self.ids[name])


@pytest.fixture
def world(small_world: Store) -> World:
    """Five claims on two metrics; c1 corrected 100 → 150, c3 retracted."""
    store = small_world
    recorded = store.ledger.record_claims(
        [
            claim("war/killed", 100, "outlet-a", "ministry"),
            claim("war/killed", 300, "outlet-b", "agency"),
            claim("war/killed", 120, "outlet-a"),
            claim("war/wounded", 500, "outlet-b", "ministry"),
            claim("war/wounded", 700, "outlet-a", "agency"),
        ],
        ACTOR,
    )
    ids = {f"c{n}": str(c.id) for n, c in enumerate(recorded.claims, 1)}
    store.ledger.correct_claim(
        UUID(ids["c1"]), {"value": Decimal(150)}, "typo in the figure", None, ACTOR
    )
    store.ledger.retract_claim(UUID(ids["c3"]), "outlet withdrew it", None, ACTOR)
    store.runner.catch_up()
    assert store.lag() == 0
    return World(store, ids)


def claim_ids(world: World, items: list[dict[str, object]]) -> list[str]:
    names = {v: k for k, v in world.ids.items()}
    return [names[str(item["id"])] for item in items]


def test_sources_count_the_claims_they_reported_or_originated(world: World) -> None:
    q = world.store.queries
    counts = {row["id"]: row["claims"] for row in q.sources(None, 100).items}
    assert counts == {"agency": 2, "ministry": 2, "outlet-a": 3, "outlet-b": 2}
    ministry = q.source("ministry")
    assert ministry["reliability"] == "F"
    assert ministry["version"] == 1


def test_sources_page_through_in_id_order_with_a_cursor(world: World) -> None:
    q = world.store.queries
    first = q.sources(None, 3)
    assert [r["id"] for r in first.items] == ["agency", "ministry", "outlet-a"]
    assert first.next_cursor is not None
    second = q.sources(first.next_cursor, 3)
    assert [r["id"] for r in second.items] == ["outlet-b"]
    assert second.next_cursor is None


def test_metrics_hold_their_current_estimate(world: World) -> None:
    q = world.store.queries
    killed = q.metric("war/killed")
    assert killed["estimate"] == {
        "method": "weighted-median",
        "low": "150",
        "best": "150",
        "high": "300",
        "considered": 3,
        "included": 2,
        "independent_origins": 2,
        "evidence": "fair",
        "low_open": False,
        "high_open": False,
    }
    wounded = q.metric("war/wounded")["estimate"]
    assert (wounded["low"], wounded["best"], wounded["high"]) == ("500", "500", "700")
    assert [m["id"] for m in q.metrics(None, 10).items] == ["war/killed", "war/wounded"]
    with pytest.raises(MetricNotFound):
        q.metric("war/missing")


def test_the_stored_current_estimate_equals_the_estimate_query(world: World) -> None:
    q = world.store.queries
    for slug in ("war/killed", "war/wounded"):
        stored = q.metric(slug)["estimate"]
        answer = q.estimate(slug).estimate
        assert Decimal(stored["best"]) == answer.best
        assert Decimal(stored["low"]) == answer.low
        assert Decimal(stored["high"]) == answer.high
        assert stored["included"] == answer.included


def test_rating_an_origin_moves_the_estimates_of_its_claims(world: World) -> None:
    store = world.store
    store.ledger.rate_source("ministry", Reliability.B, "track record", None, ACTOR)
    store.ledger.rate_source("agency", Reliability.A, "track record", None, ACTOR)
    store.runner.catch_up()
    q = store.queries
    assert q.source("agency")["reliability"] == "A"
    assert q.source("agency")["version"] == 2
    assert q.metric("war/killed")["estimate"]["best"] == "300"
    assert q.estimate("war/killed").estimate.best == Decimal(300)


def test_the_claims_index_filters_by_metric_origin_reporter_and_status(world: World) -> None:
    q = world.store.queries

    def ids(**filters: str) -> list[str]:
        return claim_ids(world, q.claims(ClaimFilters(**filters), None, 100).items)

    assert ids() == ["c1", "c2", "c3", "c4", "c5"]
    assert ids(metric="war/killed") == ["c1", "c2", "c3"]
    assert ids(origin="ministry") == ["c1", "c4"]
    assert ids(reported_by="outlet-a") == ["c1", "c3", "c5"]
    assert ids(status="retracted") == ["c3"]
    assert ids(metric="war/killed", status="active") == ["c1", "c2"]
    assert ids(metric="war/wounded", origin="agency", reported_by="outlet-a") == ["c5"]
    assert ids(metric="war/none") == []


def test_the_claims_index_pages_with_a_cursor_without_gaps_or_repeats(world: World) -> None:
    q = world.store.queries
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = q.claims(ClaimFilters(), cursor, 2)
        seen += claim_ids(world, page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == ["c1", "c2", "c3", "c4", "c5"]
    assert pages == 3

    killed = q.claims(ClaimFilters(metric="war/killed"), None, 2)
    assert claim_ids(world, killed.items) == ["c1", "c2"]
    rest = q.claims(ClaimFilters(metric="war/killed"), killed.next_cursor, 2)
    assert claim_ids(world, rest.items) == ["c3"]
    assert rest.next_cursor is None
    with pytest.raises(BadCursor):
        q.claims(ClaimFilters(), "%%not-a-cursor%%", 2)


def test_a_claim_reads_as_it_is_now_and_as_of_each_version(world: World) -> None:
    q = world.store.queries
    c1 = world.ids["c1"]
    now = q.claim(c1)
    assert (now["value"], now["version"], now["origin"]) == ("150", 2, "ministry")
    assert now["recorded_by"] == ACTOR
    assert q.claim(c1, version=1)["value"] == "100"
    assert q.claim(c1, version=2) == now

    c3 = world.ids["c3"]
    assert q.claim(c3, version=1)["status"] == "active"
    assert q.claim(c3, version=2)["status"] == "retracted"
    assert q.claim(c3)["status"] == "retracted"
    with pytest.raises(ClaimNotFound):
        q.claim(c1, version=3)
    with pytest.raises(ClaimNotFound):
        q.claim("00000000-0000-0000-0000-000000000000")


def test_the_claim_versions_match_the_aggregate_loaded_from_the_event_store(
    world: World,
) -> None:
    ledger, q = world.store.ledger, world.store.queries
    for version in (1, 2):
        aggregate = ledger.get_claim(world.id("c1"), version=version)
        row = q.claim(world.ids["c1"], version=version)
        assert Decimal(row["value"]) == aggregate.value
        assert row["status"] == aggregate.status
        assert row["version"] == aggregate.version


def test_the_timeline_has_a_point_whenever_the_estimate_moves(world: World) -> None:
    points = world.store.queries.timeline("war/killed").items
    assert [(p["low"], p["best"], p["high"], p["included"]) for p in points] == [
        (None, None, None, 0),
        ("100", "100", "100", 1),
        ("100", "100", "300", 2),
        ("100", "120", "300", 3),
        ("120", "150", "300", 3),
        ("150", "150", "300", 2),
    ]
    positions = [p["position"] for p in points]
    assert positions == sorted(set(positions))
    times = [p["recorded_at"] for p in points]
    assert times == sorted(times)
    with pytest.raises(MetricNotFound):
        world.store.queries.timeline("war/missing")


def test_the_claim_history_lists_every_event_with_actor_and_data(world: World) -> None:
    history = world.store.queries.claim_history(world.ids["c1"])
    assert [(e["version"], e["type"], e["actor"]) for e in history] == [
        (1, "Claim.Recorded", ACTOR),
        (2, "Claim.Corrected", ACTOR),
    ]
    recorded, corrected = history
    assert recorded["data"]["value"] == "100"
    assert recorded["data"]["attributed_to"] == ["ministry"]
    assert corrected["data"] == {"changes": {"value": "150"}, "reason": "typo in the figure"}
    assert recorded["position"] < corrected["position"]
    assert recorded["recorded_at"] <= corrected["recorded_at"]


def test_the_claim_history_refuses_streams_that_are_not_claims(world: World) -> None:
    q = world.store.queries
    with pytest.raises(ClaimNotFound):
        q.claim_history(str(source_stream("ministry")))
    with pytest.raises(ClaimNotFound):
        q.claim_history("00000000-0000-0000-0000-000000000000")


def test_the_event_index_holds_every_position_once(world: World) -> None:
    store = world.store
    with store.views.sql_transaction() as c:
        c.execute("SELECT position, stream, version FROM event_index ORDER BY position")
        rows = [tuple(r) for r in c.fetchall()]
    assert [r[0] for r in rows] == list(range(1, store.ledger.max_position() + 1))
    assert len({(r[1], r[2]) for r in rows}) == len(rows)


def test_api_keys_are_listed_revoked_and_found_by_the_hash_of_their_secret(
    store: Store, tmp_path: Path
) -> None:
    reader = store.ledger.issue_key("a reader", Role.READER, ACTOR)
    admin = store.ledger.issue_key("an admin", Role.ADMIN, ACTOR)
    store.ledger.revoke_key(reader.key.id, "left", ACTOR)
    store.runner.catch_up()

    q = store.queries
    keys = q.api_keys()
    assert [(k["name"], k["role"], k["created_by"]) for k in keys] == [
        ("a reader", "reader", ACTOR),
        ("an admin", "admin", ACTOR),
    ]
    assert keys[0]["id"] == str(reader.key.id)
    assert keys[0]["revoked_at"] is not None
    assert keys[1]["revoked_at"] is None
    assert q.count_keys() == 2
    found = q.key_by_hash(hash_secret(admin.secret))
    assert found is not None
    assert (found["id"], found["role"], found["revoked_at"]) == (str(admin.key.id), "admin", None)
    assert q.key_by_hash(hash_secret("cl_not-a-key")) is None

    store.close()
    for path in tmp_path.iterdir():
        if path.is_file():
            content = path.read_bytes()
            assert reader.secret.encode() not in content, path
            assert admin.secret.encode() not in content, path
