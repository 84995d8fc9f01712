"""verify's views half settles a changed claim's stored row with SQL
(`claims_check.CLAIMS_AS_LAST_VERSIONS`), which reads the origin, reporter and status off
the claim's state as the view writer derives them in Python: the two must agree on
every state, or the fast path could pass a wrong row (or refuse a right one)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.log.canonical import dumps
from projections.storage.schema import CREATE_STATEMENTS
from projections.verify.claims_check import CLAIMS_AS_LAST_VERSIONS
from projections.writer.claim_state import origin_of

pytestmark = pytest.mark.integration

CLAIM = "00000000-0000-0000-0000-000000000001"
slugs = st.text(min_size=1, max_size=12).filter(lambda s: "\x00" not in s)
states = st.fixed_dictionaries(
    {
        "id": st.just(CLAIM),
        "metric": slugs,
        "reported_by": slugs,
        "attributed_to": st.lists(slugs, max_size=3),
        "status": st.sampled_from(["active", "retracted"]),
        "value": st.just("1200"),
    }
)


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as db:
        db.execute("ATTACH DATABASE ':memory:' AS stored")
        for statement in CREATE_STATEMENTS:
            db.execute(statement.replace("EXISTS ", "EXISTS stored.", 1))
        db.execute("CREATE TEMP TABLE changed (id TEXT PRIMARY KEY)")
        db.execute("INSERT INTO temp.changed VALUES (?)", (CLAIM,))
        yield db


def stored_as_last_version(db: sqlite3.Connection, state: dict[str, object], origin: str) -> bool:
    """Whether the SQL settles a claim row with this origin and its last version's state."""
    state_json = dumps(state)
    db.execute("DELETE FROM stored.claims")
    db.execute("DELETE FROM stored.claim_versions")
    db.execute(
        "INSERT INTO stored.claim_versions VALUES (?, 2, 9, '2025-01-01', ?, 3, ?)",
        (CLAIM, state["metric"], state_json),
    )
    db.execute(
        "INSERT INTO stored.claims VALUES (?, ?, ?, ?, ?, 2, 3, ?)",
        (CLAIM, state["metric"], origin, state["reported_by"], state["status"], state_json),
    )
    (matching,) = db.execute(CLAIMS_AS_LAST_VERSIONS).fetchone()
    return bool(matching == 1)


@given(state=states)
def test_the_sql_settles_the_origin_the_writer_derives(
    db: sqlite3.Connection, state: dict[str, object]
) -> None:
    assert stored_as_last_version(db, state, origin_of(state))


@given(state=states, other=slugs)
def test_the_sql_refuses_any_other_origin(
    db: sqlite3.Connection, state: dict[str, object], other: str
) -> None:
    if other != origin_of(state):
        assert not stored_as_last_version(db, state, other)
