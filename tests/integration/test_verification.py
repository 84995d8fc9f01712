"""§6 verification called directly (`verify_log`, `verify_store`, `compare_views`) on
copies of one store, edited as an attacker would, and replays equal to the live views."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from domain.event_data import rfc3339
from projections.reads.audit_log import MerkleLog
from projections.reads.queries import LedgerQueries
from projections.storage.schema import VIEW_TABLES
from projections.store import Store, open_sqlite_store
from projections.verify.verification import (
    Divergence,
    Verified,
    column_names,
    compare_views,
    difference_message,
    first_difference,
    verify_log,
    verify_store,
)
from tests.support.views import apply_events, dump_views, rebuild_in_memory

from .verification_support import (
    ACTOR,
    DEPLOYED,
    EVENT_EDITS,
    KILLED,
    Files,
    edit_event,
    event_where,
    execute,
    rewrite_state,
    stored_events,
)

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------------------
# verify_log, verify_store and compare_views called directly

Check = Callable[..., Verified | Divergence]
# The leaf check alone, and the one-pass check `claimledger verify` runs: both must name
# the same event.
CHECKS = pytest.mark.parametrize("check", [verify_log, verify_store], ids=["log", "store"])


@CHECKS
def test_verification_of_a_clean_store_gives_the_count_and_the_root_of_the_log(
    check: Check,
    opened: Callable[..., Store],
) -> None:
    store = opened()

    result = check(store.ledger, store.views)

    assert isinstance(result, Verified)
    size, root = MerkleLog(store.views).root()
    assert result == Verified(size, root.hex())
    assert size == store.ledger.max_position()


@pytest.mark.parametrize("edit", list(EVENT_EDITS))
@CHECKS
def test_verification_names_an_edited_event(
    check: Check, files: Files, opened: Callable[..., Store], edit: str
) -> None:
    event = edit_event(files, edit)

    result = check(opened().ledger, opened().views)

    assert isinstance(result, Divergence)
    assert result.message.startswith(
        f"position {event.position}, leaf index {event.leaf_index}, "
        f"stream {event.stream}, version {event.version}: "
    )
    assert "\n" not in result.message


@CHECKS
def test_verification_names_the_first_of_two_swapped_events(
    check: Check, files: Files, opened: Callable[..., Store]
) -> None:
    a, b = [e for e in stored_events(files) if e.topic.endswith("Source.Registered")][2:4]
    rewrite_state(files, a.position, b.state)
    rewrite_state(files, b.position, a.state)

    result = check(opened().ledger, opened().views)

    assert isinstance(result, Divergence)
    assert result.message.startswith(f"position {a.position}, leaf index {a.leaf_index}, ")


@CHECKS
def test_verification_names_an_event_moved_to_another_version(
    check: Check, files: Files, opened: Callable[..., Store]
) -> None:
    event = event_where(files, "Claim.Assessed", b"")
    execute(
        files.events, "UPDATE stored_events SET originator_version=9 WHERE rowid=?", event.position
    )

    result = check(opened().ledger, opened().views)

    assert isinstance(result, Divergence)
    assert result.message.startswith(f"position {event.position}, leaf index {event.leaf_index}, ")
    assert "does not hash to its sealed leaf" in result.message


@CHECKS
def test_verification_names_a_deleted_event(
    check: Check, files: Files, opened: Callable[..., Store]
) -> None:
    event = stored_events(files)[5]
    execute(files.events, "DELETE FROM stored_events WHERE rowid=?", event.position)

    result = check(opened().ledger, opened().views)

    assert isinstance(result, Divergence)
    assert result.message == (
        f"position {event.position}, leaf index {event.leaf_index}, stream {event.stream}, "
        f"version {event.version}: sealed in the log but missing from the event store"
    )


@CHECKS
def test_verification_names_a_sealed_leaf_that_was_edited(
    check: Check, files: Files, opened: Callable[..., Store]
) -> None:
    event = stored_events(files)[7]
    execute(
        files.views,
        "UPDATE event_index SET leaf_hash=? WHERE position=?",
        "00" * 32,
        event.position,
    )

    result = check(opened().ledger, opened().views)

    assert isinstance(result, Divergence)
    assert result.message.startswith(f"position {event.position}, leaf index {event.leaf_index}, ")


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE merkle_nodes SET hash=zeroblob(32) WHERE level=0 AND start=0",
        "UPDATE merkle_nodes SET hash=zeroblob(32) WHERE level=0 AND start="
        "(SELECT MAX(start) FROM merkle_nodes WHERE level=0)",
        "UPDATE merkle_nodes SET hash=zeroblob(32) WHERE level=1 AND start=2",
        "DELETE FROM merkle_nodes WHERE level=0 AND start="
        "(SELECT MAX(start) FROM merkle_nodes WHERE level=0)",
    ],
    ids=["first leaf", "last leaf", "inner node", "last leaf deleted"],
)
def test_a_tampered_merkle_log_fails_verification(
    files: Files, opened: Callable[..., Store], sql: str
) -> None:
    execute(files.views, sql)
    store = opened()

    checked = verify_log(store.ledger, store.views)
    if isinstance(checked, Divergence):
        assert "Merkle log" in checked.message
        return
    rebuilt = rebuild_in_memory(store.ledger, store.views.position())
    try:
        divergence = compare_views(store.views, rebuilt)
    finally:
        rebuilt.datastore.close()
    assert divergence is not None
    assert divergence.message.startswith("view merkle_nodes, key level=")


def compare_with_rebuild(store: Store) -> Divergence | None:
    rebuilt = rebuild_in_memory(store.ledger, store.views.position())
    try:
        return compare_views(store.views, rebuilt)
    finally:
        rebuilt.datastore.close()


def test_compare_views_finds_nothing_in_a_clean_store(opened: Callable[..., Store]) -> None:
    assert compare_with_rebuild(opened()) is None


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "UPDATE sources SET reliability='A' WHERE id='nyt'",
            "view sources, key id='nyt': reliability is 'A', the events imply 'F'",
        ),
        (
            "UPDATE sources SET name='Pravda' WHERE id='nyt'",
            "view sources, key id='nyt': name is 'Pravda', the events imply 'The New York Times'",
        ),
        (
            "DELETE FROM source_ratings WHERE source='south-korea'",
            "view source_ratings, key source='south-korea', position=",
        ),
        (
            f"UPDATE metrics SET estimate=json_set(estimate, '$.best', '1') WHERE id='{KILLED}'",
            f"view metrics, key id={KILLED!r}: estimate is ",
        ),
        (
            "UPDATE claims SET status='retracted' WHERE metric='dprk-in-russia/casualties'",
            "status is 'retracted', the events imply 'active'",
        ),
        (
            "UPDATE claim_versions SET state=replace(state, '\"1250\"', '\"1249\"') "
            "WHERE version=2 AND state LIKE '%\"1250\"%'",
            "view claim_versions, key claim=",
        ),
        (
            "UPDATE event_index SET data=replace(data, '\"1000\"', '\"1001\"') "
            "WHERE type='Claim.Recorded' AND data LIKE '%\"1000\"%'",
            "view event_index, key position=",
        ),
        (
            "UPDATE event_index SET actor='someone-else' WHERE position=3",
            "view event_index, key position=3: actor is 'someone-else', the events imply 'demo'",
        ),
        (
            "UPDATE api_keys SET revoked_at=NULL WHERE name='leaked'",
            "view api_keys, key id=",
        ),
        (
            "INSERT INTO api_keys VALUES ('ffffffff-0000-0000-0000-000000000000', 'backdoor', "
            "'admin', 'h', '2025-01-01T00:00:00.000000Z', 'nobody', NULL, 1, 1)",
            "view api_keys, key id='ffffffff-0000-0000-0000-000000000000': "
            "a stored row the events do not imply",
        ),
        (
            f"DELETE FROM timeline WHERE metric='{DEPLOYED}' AND position="
            f"(SELECT MAX(position) FROM timeline WHERE metric='{DEPLOYED}')",
            f"view timeline, key metric={DEPLOYED!r}, position=",
        ),
    ],
    ids=[
        "rating",
        "source name",
        "rating history",
        "estimate",
        "claim status",
        "claim version",
        "feed data",
        "feed actor",
        "key unrevoked",
        "key inserted",
        "timeline point deleted",
    ],
)
def test_compare_views_names_the_view_and_key_of_an_edited_row(
    files: Files, opened: Callable[..., Store], sql: str, expected: str
) -> None:
    execute(files.views, sql)

    divergence = compare_with_rebuild(opened())

    assert divergence is not None
    assert expected in divergence.message
    assert "\n" not in divergence.message
    assert divergence == compare_row_by_row(opened())  # the in-SQLite joins find the same row


def compare_row_by_row(store: Store) -> Divergence | None:
    """`compare_views` as it runs on PostgreSQL: both sides read in key order in Python."""
    rebuilt = rebuild_in_memory(store.ledger, store.views.position())
    try:
        for table in VIEW_TABLES:
            names = column_names(store.views, table)
            pair = first_difference(store.views, rebuilt, table, names)
            if pair is not None:
                return difference_message(table, names, *pair)
        return None
    finally:
        rebuilt.datastore.close()


# ---------------------------------------------------------------------------
# Replay


def test_rebuilt_views_equal_the_live_ones_after_a_mixed_history(
    opened: Callable[..., Store],
) -> None:
    store = opened()
    rebuilt = rebuild_in_memory(store.ledger, store.ledger.max_position())
    try:
        live, again = dump_views(store.views), dump_views(rebuilt)
        position = rebuilt.position()
    finally:
        rebuilt.datastore.close()

    assert live == again
    assert position == store.views.position() == store.ledger.max_position()
    types = {row[4] for row in live["event_index"]}
    assert types >= {
        "Source.Registered",
        "Source.Rated",
        "Source.Updated",
        "Metric.Defined",
        "Claim.Recorded",
        "Claim.Corrected",
        "Claim.Retracted",
        "Claim.Reinstated",
        "Claim.Assessed",
        "ApiKey.Issued",
        "ApiKey.Revoked",
    }


def test_views_projected_one_event_at_a_time_equal_views_projected_in_one_batch(
    template: Files, tmp_path: Path
) -> None:
    shutil.copy(template.events, tmp_path / "ledger.db")
    store = open_sqlite_store(str(tmp_path / "ledger.db"))
    try:
        for position in range(1, store.ledger.max_position() + 1):
            [notification] = store.ledger.recorder.select_notifications(
                start=position, limit=1, inclusive_of_start=True
            )
            apply_events(
                store.views, [(store.ledger.mapper.to_domain_event(notification), position)]
            )
        one_by_one = dump_views(store.views)
        batched = rebuild_in_memory(store.ledger, store.ledger.max_position())
        try:
            assert one_by_one == dump_views(batched)
        finally:
            batched.datastore.close()
    finally:
        store.close()


def test_a_snapshot_at_every_moment_equals_replaying_the_events_up_to_that_moment(
    opened: Callable[..., Store],
) -> None:
    store = opened()
    moments = [(e["position"], e["recorded_at"]) for e in store.queries.audit_events(0, 1000)[0]]
    assert [p for p, _ in moments] == list(range(1, len(moments) + 1))
    assert [t for _, t in moments] == sorted(set(t for _, t in moments)), "times must grow"

    for position, known_at in moments:
        at, answers = store.queries.snapshot(known_at)
        replayed = rebuild_in_memory(store.ledger, position)
        try:
            queries = LedgerQueries(replayed)
            metrics = [m["id"] for m in queries.metrics(None, 1000).items]
            assert [a.metric for a in answers] == metrics, known_at
            for answer in answers:
                current = queries.estimate(answer.metric)
                assert answer.estimate == current.estimate, (position, answer.metric)
                assert answer.position == current.position == at == position
        finally:
            replayed.datastore.close()


def test_a_snapshot_between_two_events_equals_replaying_up_to_the_earlier_one(
    opened: Callable[..., Store],
) -> None:
    store = opened()
    events = store.queries.audit_events(0, 1000)[0]
    target = next(e for e in events if e["type"] == "Claim.Recorded" and e["actor"] == ACTOR)
    before = events[events.index(target) - 1]
    t0, t1 = parse_time(before["recorded_at"]), parse_time(target["recorded_at"])
    known_at = rfc3339(t0 + (t1 - t0) / 2)
    assert before["recorded_at"] <= known_at < target["recorded_at"]

    at, answers = store.queries.snapshot(known_at)
    replayed = rebuild_in_memory(store.ledger, before["position"])
    try:
        queries = LedgerQueries(replayed)
        for answer in answers:
            assert answer.estimate == queries.estimate(answer.metric).estimate
    finally:
        replayed.datastore.close()
    assert at == before["position"]
    then = {a.metric: a.estimate for a in answers}
    after = {a.metric: a.estimate for a in store.queries.snapshot(target["recorded_at"])[1]}
    assert after[KILLED].considered == then[KILLED].considered + 1


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
