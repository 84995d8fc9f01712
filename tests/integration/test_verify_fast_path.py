"""verify's fast path on SQLite: the append-only views compared with their rebuild in
write order, the log half here or in a second process, the full rebuild behind it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from projections.reads.audit_log import MerkleLog
from projections.store import Store
from projections.tuning import Tuning
from projections.verify import verify_fast_path
from projections.verify.claims_check import ClaimsInVersions
from projections.verify.verification import (
    Divergence,
    Verified,
    check_in_write_order,
    verify_by_full_rebuild,
)

from .verification_support import (
    ACTOR,
    DEPLOYED,
    EVENT_EDITS,
    IN_A_PROCESS,
    KILLED,
    Files,
    edit_event,
    execute,
    fast_then_verify,
    new_claim,
    stored_events,
)

pytestmark = pytest.mark.integration


# ---------------------------------------------------------------------------
# verify's fast path on SQLite: the append-only views compared in write order

# One edit of each view and of each way an append-only view can be changed.
VIEW_EDITS = {
    "feed data": "UPDATE event_index SET data=replace(data, '\"1000\"', '\"1001\"') "
    "WHERE type='Claim.Recorded' AND data LIKE '%\"1000\"%'",
    "feed actor": "UPDATE event_index SET actor='someone-else' WHERE position=3",
    "feed leaf": "UPDATE event_index SET leaf_hash=printf('%064d', 0) WHERE position=4",
    "feed row deleted": "DELETE FROM event_index WHERE position=(SELECT MAX(position) "
    "FROM event_index)",
    "claim version": "UPDATE claim_versions SET state=replace(state, '\"1250\"', '\"1249\"') "
    "WHERE version=2 AND state LIKE '%\"1250\"%'",
    "claim version deleted": "DELETE FROM claim_versions WHERE rowid=(SELECT MAX(rowid) "
    "FROM claim_versions)",
    "claim version added": "INSERT INTO claim_versions SELECT claim, 99, position, recorded_at, "
    "metric, recorded_position, state FROM claim_versions WHERE rowid=1",
    "merkle leaf": "UPDATE merkle_nodes SET hash=zeroblob(32) WHERE level=0 AND start=0",
    "merkle inner node": "UPDATE merkle_nodes SET hash=zeroblob(32) WHERE level=1 AND start=2",
    "merkle node added": "INSERT INTO merkle_nodes VALUES (40, 0, zeroblob(32))",
    "merkle last leaf deleted": "DELETE FROM merkle_nodes WHERE level=0 AND start="
    "(SELECT MAX(start) FROM merkle_nodes WHERE level=0)",
    "claim status": "UPDATE claims SET status='retracted' WHERE metric='dprk-in-russia/casualties'",
    "claim origin": "UPDATE claims SET origin='someone-else' WHERE rowid=1",
    "claim row deleted": "DELETE FROM claims WHERE rowid=(SELECT MAX(rowid) FROM claims)",
    "claim row added": "INSERT INTO claims SELECT 'ffffffff-0000-0000-0000-000000000001', "
    "metric, origin, reported_by, status, version, position, state FROM claims WHERE rowid=1",
    "corrected claim back to its first version": "UPDATE claims SET (version, state) = "
    "(SELECT version, state FROM claim_versions v WHERE v.claim=claims.id AND v.version=1) "
    "WHERE id=(SELECT claim FROM claim_versions WHERE version=2 LIMIT 1)",
    "estimate": f"UPDATE metrics SET estimate=json_set(estimate, '$.best', '1') "
    f"WHERE id='{KILLED}'",
    "rating": "UPDATE sources SET reliability='A' WHERE id='nyt'",
    "rating history": "DELETE FROM source_ratings WHERE source='south-korea'",
    "timeline point": f"DELETE FROM timeline WHERE metric='{DEPLOYED}' AND position="
    f"(SELECT MAX(position) FROM timeline WHERE metric='{DEPLOYED}')",
    "key inserted": "INSERT INTO api_keys VALUES ('ffffffff-0000-0000-0000-000000000000', "
    "'backdoor', 'admin', 'h', '2025-01-01T00:00:00.000000Z', 'nobody', NULL, 1, 1)",
}


def test_the_fast_path_and_the_full_rebuild_agree_on_a_clean_store(
    opened: Callable[..., Store], log_half: Tuning
) -> None:
    store = opened(log_half)

    fast, checked, restarts = fast_then_verify(store)
    full = verify_by_full_rebuild(store.ledger, store.views)

    size, root = MerkleLog(store.views).root()
    assert fast == full == checked == Verified(size, root.hex())
    assert size == store.ledger.max_position() > 30
    assert restarts == 0


@pytest.mark.parametrize("edit", list(VIEW_EDITS))
def test_the_fast_path_does_not_pass_an_edited_view_and_verify_names_it(
    files: Files, opened: Callable[..., Store], edit: str
) -> None:
    check_an_edited_view(files, opened, edit)


@pytest.mark.parametrize(
    "edit",
    ["feed data", "feed row deleted", "merkle node added", "claim version added", "claim origin"],
)
def test_the_fast_path_with_the_log_half_in_a_process_does_not_pass_an_edited_view(
    files: Files, opened: Callable[..., Store], edit: str
) -> None:
    check_an_edited_view(files, opened, edit, IN_A_PROCESS)


def check_an_edited_view(
    files: Files, opened: Callable[..., Store], edit: str, tuning: Tuning | None = None
) -> None:
    execute(files.views, VIEW_EDITS[edit])
    store = opened(tuning)

    fast, checked, restarts = fast_then_verify(store)

    assert fast is None
    assert restarts == 1
    assert isinstance(checked, Divergence)
    assert checked == verify_by_full_rebuild(store.ledger, store.views)


@pytest.mark.parametrize("edit", [*EVENT_EDITS, "a deleted event"])
def test_the_fast_path_does_not_pass_an_edited_event_and_verify_names_it(
    files: Files, opened: Callable[..., Store], edit: str
) -> None:
    check_an_edited_event(files, opened, edit)


@pytest.mark.parametrize("edit", ["a recorded value changed", "a deleted event"])
def test_the_fast_path_with_the_log_half_in_a_process_does_not_pass_an_edited_event(
    files: Files, opened: Callable[..., Store], edit: str
) -> None:
    check_an_edited_event(files, opened, edit, IN_A_PROCESS)


def check_an_edited_event(
    files: Files, opened: Callable[..., Store], edit: str, tuning: Tuning | None = None
) -> None:
    if edit == "a deleted event":
        event = stored_events(files)[9]
        execute(files.events, "DELETE FROM stored_events WHERE rowid=?", event.position)
    else:
        event = edit_event(files, edit)
    store = opened(tuning)

    fast, checked, restarts = fast_then_verify(store)

    assert fast is None
    assert restarts == 1
    assert isinstance(checked, Divergence)
    assert checked.message.startswith(f"position {event.position}, leaf index {event.leaf_index}")


@pytest.mark.parametrize("view", ["claim_versions", "claims"])
def test_views_equal_by_key_but_not_in_write_order_are_left_to_the_full_rebuild(
    files: Files, opened: Callable[..., Store], view: str
) -> None:
    """A claim version (or a claim's row) deleted and put back unchanged moves to the end
    of the rowid order: the fast path cannot show the views equal, the full rebuild finds
    them equal."""
    with files.views_db() as db:
        row = db.execute(f"SELECT * FROM {view} WHERE rowid=2").fetchone()
        db.execute(f"DELETE FROM {view} WHERE rowid=2")
        db.execute(f"INSERT INTO {view} VALUES ({', '.join('?' * len(row))})", row)
    store = opened()

    fast, checked, restarts = fast_then_verify(store)

    assert fast is None
    assert restarts == 1
    size, root = MerkleLog(store.views).root()
    assert checked == Verified(size, root.hex())


def test_the_fast_path_reads_claims_back_from_the_checked_claim_versions(
    opened: Callable[..., Store], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no claim state and no estimate kept in memory, every correction, retraction
    and rating makes the views half read claims back (`claims_check.ClaimsInVersions`,
    from the stored claim versions shown equal so far): it still shows a clean store
    equal, with the size and root the full rebuild finds."""
    store = opened(Tuning(max_cached_claim_states=0, max_cached_weight=0))
    reads: list[str] = []
    for name in ("state", "of_metric", "metrics_from"):
        counted = getattr(ClaimsInVersions, name)
        monkeypatch.setattr(ClaimsInVersions, name, counting(counted, name, reads))

    fast, checked, restarts = fast_then_verify(store)

    size, root = MerkleLog(store.views).root()
    assert fast == checked == Verified(size, root.hex())
    assert restarts == 0
    assert {"state", "of_metric", "metrics_from"} <= set(reads)


def counting(method: Callable[..., Any], name: str, calls: list[str]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(name)
        return method(*args, **kwargs)

    return counted


def test_a_second_process_that_cannot_run_leaves_the_log_half_to_this_one(
    opened: Callable[..., Store], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """No interpreter to start (a frozen build, say): the fast path still answers, with
    the log checked here after the views, and says why."""
    store = opened()
    monkeypatch.setattr(verify_fast_path.sys, "executable", "/bin/false")

    checked = check_in_write_order(store.ledger, store.paths[1], parallel=True)

    size, root = MerkleLog(store.views).root()
    assert checked == Verified(size, root.hex())
    assert "verify's second process exited with status 1" in caplog.text
    assert "checking the log in this process instead" in caplog.text


@pytest.mark.parametrize("path", ["fast path", "fast path, log half in a process", "full rebuild"])
def test_verify_reads_the_stored_views_in_one_snapshot(
    files: Files, opened: Callable[..., Store], path: str
) -> None:
    """Events projected while verify runs (a server going on) are not half seen: it checks
    the log as it was when it began, on either path."""
    store = opened()
    size_before, root_before = MerkleLog(store.views).root()
    applied: list[int] = []

    def project_more(events: int) -> None:  # called after a batch of the replay
        if not applied:
            store.ledger.record_claims([new_claim(KILLED, "7", "isw")], ACTOR)
            applied.append(store.runner.catch_up())

    if path.startswith("fast path"):
        parallel = path.endswith("in a process")
        checked = check_in_write_order(store.ledger, str(files.views), project_more, parallel)
    else:
        checked = verify_by_full_rebuild(store.ledger, store.views, project_more)

    assert applied and MerkleLog(store.views).root()[0] == size_before + 1
    assert checked == Verified(size_before, root_before.hex())
