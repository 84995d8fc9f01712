"""A `claimledger rebuild` killed (SIGKILL) while it replays, then run again, ends with
views equal to a fresh rebuild that `verify` passes; and it still refuses an event
edited by hand after the kill, though the killed run had already emptied the views."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from uuid import UUID

import pytest

from api.demo import load_demo
from domain.claims import ClaimFields
from domain.values import Qualifier
from projections.verify.sealed_rebuild import SealedLog
from tests.integration.conftest import (  # the fixtures, used by name
    ACTOR,
    CLI,
    StoreAt,
    events_path,
    fresh_rebuild,
    store_at,
)
from tests.integration.test_verify_every_store import database, events_table, sql
from tests.support.views import dump_views

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

__all__ = ["events_path", "store_at"]

CLAIMS = 12_000
METRIC = "dprk-in-russia/killed"


@pytest.fixture
def big_store(store_at: StoreAt) -> StoreAt:
    """The seed and many claims, projected, and closed again."""
    store = store_at.open()
    try:
        load_demo(store.ledger)
        fields = [
            ClaimFields(
                metric=METRIC,
                value=Decimal(1000 + n),
                qualifier=Qualifier.EXACT,
                reported_by="nyt",
                as_of=store.ledger.today(),
            )
            for n in range(CLAIMS)
        ]
        for start in range(0, CLAIMS, 2000):
            store.ledger.record_claims(fields[start : start + 2000], ACTOR)
        store.runner.catch_up()
    finally:
        store.close()
    return store_at


def cli_env(store_at: StoreAt) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMLEDGER_")}
    env["CLAIMLEDGER_DATABASE_URL"] = store_at.url
    env["COLUMNS"] = "200"
    return env


def run(store_at: StoreAt, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args],
        cwd=cwd,
        env=cli_env(store_at),
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def killed_midway(big_store: StoreAt, tmp_path: Path) -> Iterator[StoreAt]:
    """`rebuild` started and killed once it has emptied the views and begun to replay."""
    process = subprocess.Popen(
        [str(CLI), "rebuild"],
        cwd=tmp_path,
        env=cli_env(big_store),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = big_store.open()
    sealed = SealedLog(store.views)
    total = store.ledger.max_position()
    try:
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            if kept_copy(sealed) and store.views.position() < total:
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
        process.wait(timeout=30)
        assert process.returncode == -signal.SIGKILL, "the rebuild ended before it was killed"
        assert store.views.position() < total  # the views were left part way
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        store.close()
    yield big_store


def kept_copy(sealed: SealedLog) -> bool:
    try:
        return sealed.kept_until() > 0
    except Exception:  # the table is not there yet
        return False


def test_a_rebuild_killed_midway_and_run_again_ends_with_correct_views(
    killed_midway: StoreAt, tmp_path: Path
) -> None:
    done = run(killed_midway, tmp_path, "rebuild")

    assert done.returncode == 0, done.stdout + done.stderr
    store = killed_midway.open()
    try:
        assert store.views.position() == store.ledger.max_position()
        assert dump_views(store.views) == fresh_rebuild(store)
        assert SealedLog(store.views).kept_until() == 0
    finally:
        store.close()
    verified = run(killed_midway, tmp_path, "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_rebuild_killed_midway_still_refuses_an_event_edited_after_the_kill(
    killed_midway: StoreAt, tmp_path: Path
) -> None:
    # given: the last claim, which the killed run had not replayed, edited by hand
    table, position = events_table(killed_midway)
    with database(killed_midway, "events") as db:
        at, stream, version, state = db.execute(
            f"SELECT {position}, originator_id, originator_version, state FROM {table} "
            f"ORDER BY {position} DESC LIMIT 1"
        ).fetchone()
        value = f'"{1000 + CLAIMS - 1}"'.encode()
        assert value in bytes(state)
        edited = bytes(state).replace(value, b'"9000"')
        db.execute(
            sql(killed_midway, f"UPDATE {table} SET state=? WHERE {position}=?"), (edited, at)
        )

    # when
    done = run(killed_midway, tmp_path, "rebuild")

    # then
    assert done.returncode == 1, done.stdout + done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert (
        f"position {at}, leaf index {at - 1}, stream {UUID(str(stream))}, version {version}" in line
    )
    assert "does not hash to its sealed leaf" in line
