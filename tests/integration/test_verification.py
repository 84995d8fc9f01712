"""§6 verification on real SQLite files: `claimledger verify` names the first divergence.

A store is built once per module (the §7 seed plus corrections, retractions, ratings,
assessments and keys), copied into each test's tmp_path, edited there by hand with
sqlite3 as an attacker would, and verified by the CLI in a subprocess and by
`verify_log` / `compare_views` directly.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.demo import PREFIX, load_demo
from api.services import open_services
from api.settings import Settings
from domain.claims import ClaimFields
from domain.event_data import rfc3339
from domain.values import Qualifier, Reliability, Role
from projections.log.merkle import root as merkle_root
from projections.reads.audit_log import MerkleLog
from projections.reads.queries import LedgerQueries
from projections.storage.schema import VIEW_TABLES
from projections.store import Store, open_sqlite_store
from projections.tuning import Tuning
from projections.verify import verify_fast_path
from projections.verify.claims_check import ClaimsInVersions
from projections.verify.verification import (
    Divergence,
    Verified,
    check_in_write_order,
    column_names,
    compare_views,
    difference_message,
    first_difference,
    rebuild_in_memory,
    verify_by_full_rebuild,
    verify_log,
    verify_store,
)

pytestmark = pytest.mark.integration

CLI = Path(sys.executable).with_name("claimledger")
ACTOR = "verification-test"
KILLED = PREFIX + "killed"
DEPLOYED = PREFIX + "deployed"


# ---------------------------------------------------------------------------
# Building stores


def new_claim(
    metric: str, value: str, reported_by: str, *chain: str, **more: object
) -> ClaimFields:
    fields: dict[str, object] = {
        "metric": metric,
        "value": Decimal(value),
        "qualifier": Qualifier.APPROXIMATELY,
        "reported_by": reported_by,
        "attributed_to": tuple(chain),
        "as_of": date(2025, 1, 20),
        "published_at": date(2025, 1, 21),
        **more,
    }
    return ClaimFields(**fields)  # type: ignore[arg-type]


def demo_claim_id(store: Store, metric: str, value: str) -> UUID:
    store.runner.catch_up()
    with store.views.sql_transaction() as c:
        c.execute("SELECT id, state FROM claims WHERE metric=?", (metric,))
        rows = c.fetchall()
    for claim_id, state in rows:
        if f'"value":"{value}"' in state:
            return UUID(claim_id)
    raise AssertionError(f"no claim of {metric} with value {value}")


Step = Callable[[Store], None]


def step_sources_and_claims(store: Store) -> None:
    """A new source rated at registration, and claims (one with non-ASCII text)."""
    ledger = store.ledger
    ledger.register_source(
        "isw", "Institute for the Study of War", "ngo", None, Reliability.B, ACTOR
    )
    ledger.record_claims(
        [
            new_claim(KILLED, "1200", "isw", "ukraine"),
            new_claim(DEPLOYED, "11000", "isw", note="«Зеленський»: 11 000 — ≈"),
        ],
        ACTOR,
    )


def step_corrections_and_grades(store: Store) -> None:
    """A correction (1200 → 1250), an assessment, a rating and a source update."""
    ledger = store.ledger
    isw_killed = demo_claim_id(store, KILLED, "1200")
    ledger.correct_claim(isw_killed, {"value": Decimal("1250")}, "typo", None, ACTOR)
    ledger.assess_claim(isw_killed, 2, "corroborated", None, ACTOR)
    ledger.rate_source("south-korea", Reliability.A, "track record", None, ACTOR)
    ledger.update_source("nyt", {"url": "https://www.nytimes.com"}, None, ACTOR)


def step_retractions_and_keys(store: Store) -> None:
    """A retraction, a reinstatement, another retraction; a key issued and one revoked."""
    ledger = store.ledger
    bbc_killed = demo_claim_id(store, KILLED, "1000")
    zelensky_captured = demo_claim_id(store, PREFIX + "captured", "2")
    ledger.retract_claim(bbc_killed, "withdrawn", None, ACTOR)
    ledger.reinstate_claim(bbc_killed, "stands after all", None, ACTOR)
    ledger.retract_claim(zelensky_captured, "withdrawn", None, ACTOR)
    ledger.issue_key("auditor", Role.READER, ACTOR)
    revoked = ledger.issue_key("leaked", Role.EDITOR, ACTOR)
    ledger.revoke_key(revoked.key.id, "leaked", ACTOR)
    ledger.define_metric(PREFIX + "missing", "Missing in action", "people", None, ACTOR)


def step_seed(store: Store) -> None:
    """The §7 seed."""
    load_demo(store.ledger)


STEPS: list[Step] = [
    step_seed,
    step_sources_and_claims,
    step_corrections_and_grades,
    step_retractions_and_keys,
]


@dataclass(frozen=True)
class Files:
    directory: Path
    events: Path
    views: Path

    def events_db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.events)

    def views_db(self) -> sqlite3.Connection:
        return sqlite3.connect(self.views)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Files:
    """The seed and a mixed history, projected step by step, closed: files to copy."""
    directory = tmp_path_factory.mktemp("verification-template")
    store = open_sqlite_store(str(directory / "ledger.db"))
    try:
        for step in STEPS:
            step(store)
            store.runner.catch_up()
    finally:
        store.close()
    files = Files(directory, directory / "ledger.db", directory / "ledger.views.db")
    assert sorted(p.name for p in directory.iterdir()) == ["ledger.db", "ledger.views.db"]
    return files


@pytest.fixture
def files(template: Files, tmp_path: Path) -> Files:
    """A private copy of the template store, free to be tampered with."""
    shutil.copy(template.events, tmp_path / "ledger.db")
    shutil.copy(template.views, tmp_path / "ledger.views.db")
    return Files(tmp_path, tmp_path / "ledger.db", tmp_path / "ledger.views.db")


@pytest.fixture
def opened(files: Files) -> Iterator[Callable[..., Store]]:
    """Opens the copied store (after the test has tampered with it); closes it after."""
    stores: list[Store] = []

    def open_(tuning: Tuning | None = None) -> Store:
        stores.append(open_sqlite_store(str(files.events), tuning=tuning))
        return stores[-1]

    yield open_
    for store in stores:
        store.close()


# ---------------------------------------------------------------------------
# Running `claimledger verify`


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    def failure_line(self) -> str:
        """The one line a failed verify prints, after checking it is the only one."""
        assert self.returncode == 1, (self.returncode, self.stdout, self.stderr)
        assert "Traceback" not in self.stderr
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        assert len(lines) == 1, self.stderr
        assert lines[0].startswith("claimledger verify: FAILED: ")
        return lines[0]


def run_verify(files: Files) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMLEDGER_")}
    env["CLAIMLEDGER_DATABASE_URL"] = f"sqlite:///{files.events}"
    env["COLUMNS"] = "80"  # a narrow terminal must not wrap the one line
    done = subprocess.run(
        [str(CLI), "verify"],
        cwd=files.directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return Run(done.returncode, done.stdout, done.stderr)


# ---------------------------------------------------------------------------
# Looking at and editing the files as an attacker would


@dataclass(frozen=True)
class StoredEvent:
    position: int
    stream: str  # as the feed shows it
    version: int
    topic: str
    state: bytes
    leaf_index: int


def stored_events(files: Files) -> list[StoredEvent]:
    with files.events_db() as db:
        rows = db.execute(
            "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
            "ORDER BY rowid"
        ).fetchall()
    with files.views_db() as db:
        leaves = dict(db.execute("SELECT position, leaf_index FROM event_index").fetchall())
    return [
        StoredEvent(rowid, str(UUID(stream)), version, topic, bytes(state), leaves[rowid])
        for rowid, stream, version, topic, state in rows
    ]


def event_where(files: Files, topic_suffix: str, contains: bytes) -> StoredEvent:
    matches = [
        e for e in stored_events(files) if e.topic.endswith(topic_suffix) and contains in e.state
    ]
    assert len(matches) == 1, [m.position for m in matches]
    return matches[0]


def rewrite_state(files: Files, position: int, state: bytes) -> None:
    with files.events_db() as db:
        db.execute("UPDATE stored_events SET state=? WHERE rowid=?", (state, position))
    assert stored_events_state(files, position) == state


def stored_events_state(files: Files, position: int) -> bytes:
    with files.events_db() as db:
        return bytes(
            db.execute("SELECT state FROM stored_events WHERE rowid=?", (position,)).fetchone()[0]
        )


def execute(path: Path, sql: str, *params: object) -> int:
    with sqlite3.connect(path) as db:
        changed = db.execute(sql, params).rowcount
    assert changed == 1, f"{sql!r} changed {changed} rows"
    return changed


def named(event: StoredEvent) -> list[str]:
    """What the failure line must say about the event."""
    return [
        f"position {event.position},",
        f"leaf index {event.leaf_index},",
        f"stream {event.stream},",
        f"version {event.version}",
    ]


# Edits of one stored event, each (where to find it, how to change its bytes).
EventEdit = tuple[str, bytes, Callable[[bytes], bytes]]

EVENT_EDITS: dict[str, EventEdit] = {
    "a recorded value changed": (
        "Claim.Recorded",
        b'"1000"',
        lambda s: s.replace(b'"1000"', b'"1001"'),
    ),
    "a corrected value changed": (
        "Claim.Corrected",
        b'"1250"',
        lambda s: s.replace(b'"1250"', b'"1251"'),
    ),
    "the actor changed": (
        "Claim.Retracted",
        b"",
        lambda s: s.replace(ACTOR.encode(), b"somebody-else"),
    ),
    "the timestamp moved by a microsecond": (
        "Source.Rated",
        b'"track record"',
        lambda s: (
            s[: s.index(b'+00:00"') - 1]
            + str((int(chr(s[s.index(b'+00:00"') - 1])) + 1) % 10).encode()  # another digit
            + s[s.index(b'+00:00"') :]
        ),
    ),
    "a character of non-ASCII text changed": (
        "Claim.Recorded",
        "Зеленський".encode(),
        lambda s: s.replace("Зеленський".encode(), "Зеленськии".encode()),
    ),
    "a byte flipped so it no longer decodes as JSON": (
        "Claim.Recorded",
        b'"1000"',
        lambda s: s.replace(b'"1000"', b'"1000', 1),
    ),
    "a byte flipped so it is not UTF-8": (
        "ApiKey.Revoked",
        b"",
        lambda s: b"\xff" + s[1:],
    ),
}


def edit_event(files: Files, name: str) -> StoredEvent:
    suffix, contains, change = EVENT_EDITS[name]
    matches = [e for e in stored_events(files) if e.topic.endswith(suffix) and contains in e.state]
    event = matches[0]
    edited = change(event.state)
    assert edited != event.state
    rewrite_state(files, event.position, edited)
    return event


# ---------------------------------------------------------------------------
# The CLI


def test_a_clean_store_verifies_naming_its_event_count_and_root(files: Files) -> None:
    with files.views_db() as db:
        leaves = [
            bytes.fromhex(h)
            for (h,) in db.execute("SELECT leaf_hash FROM event_index ORDER BY position")
        ]
    events = len(stored_events(files))

    run = run_verify(files)

    assert run.returncode == 0, run.stderr
    assert f"verified {events} events" in run.stdout
    assert merkle_root(leaves).hex() in run.stdout
    assert len(leaves) == events >= 40
    assert run.stderr.strip() == ""


@pytest.mark.parametrize(
    "edit",
    [
        "a recorded value changed",
        "a corrected value changed",
        "a byte flipped so it no longer decodes as JSON",
    ],
)
def test_an_edited_stored_event_fails_verify_naming_that_event(files: Files, edit: str) -> None:
    event = edit_event(files, edit)

    line = run_verify(files).failure_line()

    for part in named(event):
        assert part in line
    assert f"position {event.position}, leaf index {event.leaf_index}, " in line


def test_a_failure_line_names_the_event_exactly_as_the_feed_shows_it(files: Files) -> None:
    event = edit_event(files, "a corrected value changed")

    line = run_verify(files).failure_line()

    assert event.version == 2
    assert line == (
        f"claimledger verify: FAILED: position {event.position}, leaf index {event.leaf_index}, "
        f"stream {event.stream}, version 2: the stored event does not hash to its sealed leaf"
    )


@pytest.mark.parametrize("which", ["first", "middle", "last"])
def test_a_deleted_stored_event_fails_verify_naming_its_position(files: Files, which: str) -> None:
    events = stored_events(files)
    event = {"first": events[0], "middle": events[len(events) // 2], "last": events[-1]}[which]
    execute(files.events, "DELETE FROM stored_events WHERE rowid=?", event.position)

    line = run_verify(files).failure_line()

    assert f"position {event.position}, leaf index {event.leaf_index}, " in line
    assert f"stream {event.stream}, version {event.version}" in line
    assert "missing from the event store" in line


def claim_of(files: Files, metric: str) -> str:
    with files.views_db() as db:
        row = db.execute("SELECT id FROM claims WHERE metric=? ORDER BY id LIMIT 1", (metric,))
        return str(row.fetchone()[0])


def last_timeline_position(files: Files, metric: str) -> int:
    with files.views_db() as db:
        row = db.execute("SELECT MAX(position) FROM timeline WHERE metric=?", (metric,))
        return int(row.fetchone()[0])


@pytest.mark.parametrize("view", ["timeline best", "source reliability", "deleted claim"], ids=str)
def test_an_edited_projection_row_fails_verify_naming_the_view_and_key(
    files: Files, view: str
) -> None:
    if view == "timeline best":
        position = last_timeline_position(files, KILLED)
        execute(
            files.views,
            "UPDATE timeline SET best='999999' WHERE metric=? AND position=?",
            KILLED,
            position,
        )
        expected = f"view timeline, key metric={KILLED!r}, position={position}: best is '999999'"
    elif view == "source reliability":
        execute(files.views, "UPDATE sources SET reliability='A' WHERE id='nyt'")
        expected = "view sources, key id='nyt': reliability is 'A', the events imply 'F'"
    else:
        claim = claim_of(files, DEPLOYED)
        execute(files.views, "DELETE FROM claims WHERE id=?", claim)
        expected = f"view claims, key id={claim!r}: missing from the stored view"

    line = run_verify(files).failure_line()

    assert expected in line


def test_an_edited_merkle_node_fails_verify(files: Files) -> None:
    execute(files.views, "UPDATE merkle_nodes SET hash=zeroblob(32) WHERE level=3 AND start=8")

    line = run_verify(files).failure_line()

    assert "merkle_nodes, key level=3, start=8" in line


def test_a_view_text_that_looks_like_console_markup_is_printed_as_is(files: Files) -> None:
    claim = claim_of(files, DEPLOYED)
    execute(
        files.views,
        "UPDATE claims SET status='[/bold] [red]x :warning:' WHERE id=?",
        claim,
    )

    line = run_verify(files).failure_line()

    assert f"view claims, key id={claim!r}: status is '[/bold] [red]x :warning:'" in line


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


IN_A_PROCESS = Tuning(parallel_from=0)


@pytest.fixture(params=["log half here", "log half in a process"])
def log_half(request: pytest.FixtureRequest) -> Tuning:
    """Where the fast path checks the log: in this process, or in a second one beside the
    views half (as it does from `Tuning.parallel_from` events on)."""
    return (
        IN_A_PROCESS if request.param == "log half in a process" else Tuning(parallel_from=10**12)
    )


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


def fast_then_verify(store: Store) -> tuple[Verified | None, Verified | Divergence, int]:
    """The fast path's answer alone, then verify_store's, and how often it restarted (went
    on to the full rebuild)."""
    restarts: list[None] = []
    fast = check_in_write_order(store.ledger, store.paths[1], tuning=store.views.tuning)
    checked = verify_store(store.ledger, store.views, on_restart=lambda: restarts.append(None))
    return fast, checked, len(restarts)


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


# ---------------------------------------------------------------------------
# Replay


def test_rebuilt_views_equal_the_live_ones_after_a_mixed_history(
    opened: Callable[..., Store],
) -> None:
    store = opened()
    rebuilt = rebuild_in_memory(store.ledger, store.ledger.max_position())
    try:
        live, again = store.views.dump(), rebuilt.dump()
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
            store.views.apply([(store.ledger.mapper.to_domain_event(notification), position)])
        one_by_one = store.views.dump()
        batched = rebuild_in_memory(store.ledger, store.ledger.max_position())
        try:
            assert one_by_one == batched.dump()
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


# ---------------------------------------------------------------------------
# The signing key


def test_the_signing_key_is_created_0600_beside_the_store_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("CLAIMLEDGER_"):
            monkeypatch.delenv(name)
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'data' / 'ledger.db'}")
    key_path = tmp_path / "data" / "signing-key.pem"
    assert not key_path.exists()

    first = open_services(settings)
    first_id = first.signer.key_id
    first.store.close()
    mode = stat.S_IMODE(key_path.stat().st_mode)
    content = key_path.read_bytes()
    second = open_services(settings)
    second_id = second.signer.key_id
    second.store.close()

    assert mode == 0o600
    assert second_id == first_id
    assert key_path.read_bytes() == content
    assert sorted(p.name for p in key_path.parent.iterdir() if p.suffix == ".pem") == [
        "signing-key.pem"
    ]


def test_a_corrupt_signing_key_makes_verify_fail_in_one_line(files: Files) -> None:
    (files.directory / "signing-key.pem").write_text("-----BEGIN PRIVATE KEY-----\nxx\n")

    run = run_verify(files)

    assert run.returncode != 0
    assert "Traceback" not in run.stderr
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "signing key" in lines[0]
