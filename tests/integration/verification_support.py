"""The verification tests' store, built once per module and copied into each test,
the edits an attacker would make to its files, and the two places of verify's log half
(its fixtures reach the tests through the integration conftest)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from api.demo import PREFIX, load_demo
from domain.claims import ClaimFields
from domain.values import Qualifier, Reliability, Role
from projections.store import Store, open_sqlite_store
from projections.tuning import Tuning
from projections.verify.verification import (
    Divergence,
    Verified,
    check_in_write_order,
    verify_store,
)

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


def step_relations(store: Store) -> None:
    """A relation defined, the seed's sum updated to take it in, and the relation removed."""
    ledger = store.ledger
    casualties, missing = PREFIX + "casualties", PREFIX + "missing"
    ledger.define_relation(
        PREFIX + "missing-at-most-casualties",
        "at_most",
        {"lesser": missing, "greater": casualties},
        "«missing» are casualties too",
        ACTOR,
    )
    parts = [PREFIX + p for p in ("killed", "wounded", "captured", "missing")]
    ledger.update_relation(
        PREFIX + "casualties-sum",
        "sum",
        {"total": casualties, "parts": parts, "exhaustive": True},
        None,
        None,
        ACTOR,
        "missing counted now",
    )
    ledger.remove_relation(PREFIX + "missing-at-most-casualties", None, ACTOR, "in the sum now")


def step_seed(store: Store) -> None:
    """The §7 seed."""
    load_demo(store.ledger)


STEPS: list[Step] = [
    step_seed,
    step_sources_and_claims,
    step_corrections_and_grades,
    step_retractions_and_keys,
    step_relations,
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
# Where verify's fast path checks the log

IN_A_PROCESS = Tuning(parallel_from=0)


@pytest.fixture(params=["log half here", "log half in a process"])
def log_half(request: pytest.FixtureRequest) -> Tuning:
    """Where the fast path checks the log: in this process, or in a second one beside the
    views half (as it does from `Tuning.parallel_from` events on)."""
    return (
        IN_A_PROCESS if request.param == "log half in a process" else Tuning(parallel_from=10**12)
    )


def fast_then_verify(store: Store) -> tuple[Verified | None, Verified | Divergence, int]:
    """The fast path's answer alone, then verify_store's, and how often it restarted (went
    on to the full rebuild)."""
    restarts: list[None] = []
    fast = check_in_write_order(store.ledger, store.paths[1], tuning=store.views.tuning)
    checked = verify_store(store.ledger, store.views, on_restart=lambda: restarts.append(None))
    return fast, checked, len(restarts)
