"""`claimledger verify` on each store: a clean one verifies; an event or a view row edited
in the database by hand makes it fail, naming the event or the row.

test_verify_cli.py, test_verification.py and test_verify_fast_path.py tamper with SQLite
files in many more ways; these tests show the same verification catches the same edits
made in PostgreSQL, through its own tables.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from projections.reads.audit_log import MerkleLog
from projections.store import Store, views_path_for
from projections.verify.verification import (
    Verified,
    compare_views,
    verify_by_full_rebuild,
)
from tests.support.views import rebuild_in_memory

from .conftest import CLI, StoreAt
from .verification_support import DEPLOYED, PREFIX, STEPS, Run, new_claim

pytestmark = pytest.mark.integration


@pytest.fixture
def history(store_at: StoreAt) -> StoreAt:
    """The seed and a mixed history, projected, and closed again."""
    store: Store = store_at.open()
    try:
        for step in STEPS:
            step(store)
            store.runner.catch_up()
    finally:
        store.close()
    return store_at


def verify(store_at: StoreAt, tmp_path: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMLEDGER_")}
    env["CLAIMLEDGER_DATABASE_URL"] = store_at.url
    env["COLUMNS"] = "80"
    done = subprocess.run(
        [str(CLI), "verify"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    return Run(done.returncode, done.stdout, done.stderr)


@contextmanager
def database(store_at: StoreAt, part: str) -> Iterator[Any]:
    """A connection to where the events (`part="events"`) or the views are, as an
    attacker with database access would have; commits on exit."""
    if store_at.kind == "postgres":
        import psycopg

        with psycopg.connect(store_at.url, autocommit=True) as db:
            yield db
        return
    path = store_at.settings.sqlite_path
    with sqlite3.connect(path if part == "events" else views_path_for(path)) as db:
        yield db


def events_table(store_at: StoreAt) -> tuple[str, str]:
    """The library's events table and its position column, on this store."""
    if store_at.kind == "postgres":
        return "ledger_events", "notification_id"
    return "stored_events", "rowid"


def sql(store_at: StoreAt, statement: str) -> str:
    return statement.replace("?", "%s") if store_at.kind == "postgres" else statement


def test_a_clean_store_verifies(history: StoreAt, tmp_path: Path) -> None:
    run = verify(history, tmp_path)
    assert run.returncode == 0, run.stderr
    assert "verified " in run.stdout
    assert "and every view" in run.stdout


def test_an_edited_stored_event_fails_verify_naming_it(history: StoreAt, tmp_path: Path) -> None:
    table, position = events_table(history)
    with database(history, "events") as db:
        rows = db.execute(
            f"SELECT {position}, originator_id, originator_version, topic, state FROM {table} "
            f"ORDER BY {position}"
        ).fetchall()
        at, stream, version, _, state = next(
            r for r in rows if r[3].endswith("Claim.Recorded") and b'"1000"' in bytes(r[4])
        )
        edited = bytes(state).replace(b'"1000"', b'"1001"')
        db.execute(sql(history, f"UPDATE {table} SET state=? WHERE {position}=?"), (edited, at))

    line = verify(history, tmp_path).failure_line()

    where = f"position {at}, leaf index {at - 1}, stream {UUID(str(stream))}, version {version}"
    assert where in line
    assert "does not hash to its sealed leaf" in line


@pytest.mark.parametrize(
    "view",
    ["source reliability", "deleted claim", "merkle node", "relation revived", "relation terms"],
)
def test_an_edited_view_row_fails_verify_naming_the_view_and_key(
    history: StoreAt, tmp_path: Path, view: str
) -> None:
    with database(history, "views") as db:
        if view == "source reliability":
            db.execute("UPDATE sources SET reliability='A' WHERE id='nyt'")
            expected = "view sources, key id='nyt': reliability is 'A', the events imply 'F'"
        elif view == "deleted claim":
            claim = db.execute(
                sql(history, "SELECT id FROM claims WHERE metric=? ORDER BY id LIMIT 1"),
                (DEPLOYED,),
            ).fetchone()[0]
            db.execute(sql(history, "DELETE FROM claims WHERE id=?"), (claim,))
            expected = f"view claims, key id={claim!r}: missing from the stored view"
        elif view == "relation revived":
            slug = PREFIX + "missing-at-most-casualties"
            db.execute(sql(history, "UPDATE relations SET removed=0 WHERE id=?"), (slug,))
            expected = f"view relations, key id={slug!r}: removed is 0, the events imply 1"
        elif view == "relation terms":
            slug = PREFIX + "casualties-sum"
            db.execute(
                sql(history, "DELETE FROM relation_metrics WHERE relation=? AND version=2"),
                (slug,),
            )
            expected = f"view relation_metrics, key metric='{PREFIX}captured', relation={slug!r}"
        else:
            db.execute(
                sql(history, "UPDATE merkle_nodes SET hash=? WHERE level=3 AND start=8"),
                (bytes(32),),
            )
            expected = "merkle_nodes, key level=3, start=8"

    line = verify(history, tmp_path).failure_line()

    assert expected in line


def test_verify_checks_the_log_as_it_was_when_it_began_while_events_keep_coming(
    history: StoreAt,
) -> None:
    """A server projecting new events while verify runs: verify still answers for the
    position it began at, neither failing on the newer rows nor half seeing them."""
    store = history.open()
    size_before, root_before = MerkleLog(store.views).root()
    projected: list[int] = []

    def project_more(events: int) -> None:  # called after each batch of the replay
        if not projected:
            store.ledger.record_claims([new_claim(DEPLOYED, "12000", "isw")], "late")
            projected.append(store.runner.catch_up())

    checked = verify_by_full_rebuild(store.ledger, store.views, project_more)

    assert projected and MerkleLog(store.views).root()[0] == size_before + 1
    assert checked == Verified(size_before, root_before.hex())


def test_a_nul_in_a_view_column_never_stops_the_projection(store_at: StoreAt) -> None:
    """The API refuses NUL in names; written straight through the ledger, PostgreSQL
    keeps U+FFFD in the view instead (its text cannot hold NUL), and a comparison with
    a rebuild names that row."""
    store = store_at.open()
    store.ledger.register_source("nul", "a\x00b", "outlet", None, None, "test")
    store.runner.catch_up()
    assert store.views.position() == store.ledger.max_position()
    rebuilt = rebuild_in_memory(store.ledger, store.views.position())
    try:
        divergence = compare_views(store.views, rebuilt)
    finally:
        rebuilt.close()
    if store_at.kind == "sqlite":
        assert store.queries.source("nul")["name"] == "a\x00b"
        assert divergence is None
    else:
        assert store.queries.source("nul")["name"] == "a\ufffdb"
        assert divergence is not None
        assert "view sources, key id='nul': name is 'a\ufffdb'" in divergence.message
