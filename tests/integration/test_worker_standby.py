"""`claimledger worker` on PostgreSQL: one worker is active (an advisory lock), a second
waits as a hot standby, and finishes the stream when the first is killed with SIGKILL,
with nothing applied twice."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from projections.store import SCHEMA_LOCK_KEY
from tests.support.views import dump_views

from .conftest import CLI, StoreAt, fresh_rebuild
from .test_crash_restart import METRICS, SOURCES, record_backlog, tracked_position

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def advisory_locks_held(url: str) -> int:
    """Advisory locks granted in the test's database, less the schema lock: a standby that
    is still creating its tables holds that one for a moment, and it says nothing about
    which worker is active."""
    with psycopg.connect(url, autocommit=True) as db:
        row = db.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype='advisory' AND granted AND "
            "database=(SELECT oid FROM pg_database WHERE datname=current_database()) AND "
            "(classid::bigint << 32 | objid::bigint) <> %s",
            (SCHEMA_LOCK_KEY,),
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_standby_worker_finishes_the_stream_after_the_active_one_is_killed(
    new_postgres_database: Callable[[], str], tmp_path: Path
) -> None:
    at = StoreAt("postgres", new_postgres_database())
    store = at.open()
    last = record_backlog(store)
    store.close()
    definitions = len(SOURCES) + len(METRICS)

    env = {k: v for k, v in os.environ.items() if not k.startswith("CLAIMLEDGER_")}
    env["CLAIMLEDGER_DATABASE_URL"] = at.url

    def worker(name: str) -> subprocess.Popen[bytes]:
        with (tmp_path / f"{name}.log").open("wb") as log:
            return subprocess.Popen(
                [str(CLI), "worker", "--batch-size", "10"],  # slow enough to kill mid-stream
                cwd=tmp_path,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    first = worker("first")
    second: subprocess.Popen[bytes] | None = None
    try:
        wait_until(lambda: tracked_position(at) > definitions, 60, "the first worker never applied")
        second = worker("second")
        time.sleep(1.0)  # long enough to start, and to try the lock a few times
        assert second.poll() is None, (tmp_path / "second.log").read_text()
        assert advisory_locks_held(at.url) == 1  # the first holds it; the second waits

        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        killed_at = tracked_position(at)
        assert killed_at < last, "the first worker finished before it was killed"

        wait_until(lambda: tracked_position(at) == last, 60, "the standby never took over")
        assert advisory_locks_held(at.url) == 1  # now the second's
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
    assert second is not None and second.returncode == 0, (tmp_path / "second.log").read_text()

    reopened = at.open()
    live = dump_views(reopened.views)
    # Every position once, in order, and the views equal a rebuild from the events.
    assert [row[0] for row in live["event_index"]] == list(range(1, last + 1))
    assert live == fresh_rebuild(reopened)
