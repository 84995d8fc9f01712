"""A projection process killed mid-stream resumes from its tracked position on restart."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from projections.store import Store, views_path_for
from tests.support.views import dump_views

from .conftest import ACTOR, StoreAt, claim, define_metrics, fresh_rebuild, register_sources

pytestmark = pytest.mark.integration

CLAIMS = 20_000
METRICS = [f"war/front-{n}" for n in range(500)]
SOURCES = [f"outlet-{n}" for n in range(10)]

CATCH_UP_SCRIPT = textwrap.dedent(
    """
    import sys

    from api.services import open_store
    from api.settings import Settings
    from projections.runner.batched_runner import BatchedRunner

    store = open_store(Settings(database_url=sys.argv[1]))
    runner = BatchedRunner(store.ledger, store.views, batch_size=int(sys.argv[2]))
    print("catching up from", runner.position, flush=True)
    runner.catch_up()
    print("caught up at", runner.position, flush=True)
    store.close()
    """
)


def tracked_position(store_at: StoreAt) -> int:
    """The position in the views, read as another process would."""
    if store_at.kind == "postgres":
        import psycopg

        with psycopg.connect(store_at.url, autocommit=True) as db:
            try:
                row = db.execute(
                    "SELECT notification_id FROM views_tracking WHERE application_name='ledger'"
                ).fetchone()
            except psycopg.errors.UndefinedTable:  # not created yet
                return 0
        return int(row[0]) if row else 0
    views_path = views_path_for(store_at.settings.sqlite_path)
    try:
        with sqlite3.connect(f"file:{views_path}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute(
                "SELECT notification_id FROM tracking WHERE application_name='ledger'"
            ).fetchone()
    except sqlite3.OperationalError:  # not created yet
        return 0
    return int(row[0]) if row else 0


def record_backlog(store: Store) -> int:
    register_sources(store, *SOURCES)
    define_metrics(store, *METRICS)
    fields = [
        claim(METRICS[n % len(METRICS)], 10 + n % 997, SOURCES[n % len(SOURCES)])
        for n in range(CLAIMS)
    ]
    for start in range(0, CLAIMS, 1000):
        store.ledger.record_claims(fields[start : start + 1000], ACTOR)
    return store.ledger.max_position()


def test_a_runner_killed_mid_stream_resumes_from_its_tracked_position_and_loses_nothing(
    store: Store, store_at: StoreAt, tmp_path: Path
) -> None:
    last = record_backlog(store)
    assert last == len(SOURCES) + len(METRICS) + CLAIMS
    assert store.views.position() == 0
    store.close()

    script = tmp_path / "catch_up.py"
    script.write_text(CATCH_UP_SCRIPT)
    child = subprocess.Popen(
        [sys.executable, str(script), store_at.url, "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # Kill it once it is applying claims: well inside the backlog.
        definitions = len(SOURCES) + len(METRICS)
        deadline = time.monotonic() + 60
        while tracked_position(store_at) <= definitions:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the runner never applied a batch"
            time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        out, err = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert "caught up" not in out, err

    restarted = store_at.open()  # as the restarted process would
    try:
        tracked = restarted.views.position()
        assert definitions < tracked < last, f"killed at {tracked}, not mid-stream"
        assert restarted.runner.position == tracked
        # Rows and position moved together: nothing after the tracked position was kept.
        before = dump_views(restarted.views)
        assert [row[0] for row in before["event_index"]] == list(range(1, tracked + 1))

        applied: list[int] = []
        assert restarted.runner.catch_up(applied.append) == last
        assert sum(applied) == last - tracked
        live = dump_views(restarted.views)
        rebuilt = fresh_rebuild(restarted)
    finally:
        restarted.close()

    assert len(live["event_index"]) == last
    assert len(live["claims"]) == CLAIMS
    assert live == rebuilt
