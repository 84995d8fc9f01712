"""Catching up with a forked preparing process (`projections.runner.prepared_feed`) leaves the
views exactly as catching up in one process does: from empty views and from views part
way, across chunk and transaction boundaries, with an event only the library's mapper
reads, and when the preparing process fails, dies or another runner gets ahead. (SQLite
event stores only: the preparing process reads the events file.)"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import sqlite3
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from domain.values import Reliability
from projections.events.stored_events import applied_from_stored
from projections.runner import prepared_feed
from projections.runner.prepared_feed import PreparedFeed
from projections.store import Store, open_sqlite_store
from projections.tuning import Tuning
from projections.writer.view_writer import ViewWriter
from tests.support.views import dump_views

from .verification_support import ACTOR, DEPLOYED, KILLED, STEPS, demo_claim_id, new_claim

pytestmark = pytest.mark.integration

SELECT_STATE = "SELECT state FROM stored_events WHERE rowid=?"
CHUNK = Tuning().chunk
BULK = 3 * CHUNK + 17  # claims past the §7 world: several chunks, none of them full at the end


@pytest.fixture(scope="module")
def events_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every event type, then a bulk of claims, then changes to claims old and new."""
    directory = tmp_path_factory.mktemp("prepared")
    store = open_sqlite_store(str(directory / "ledger.db"), str(directory / "build.views.db"))
    try:
        for step in STEPS:
            step(store)
        claims = [
            new_claim(KILLED if n % 3 else DEPLOYED, str(100 + n % 97), "isw", "ukraine")
            for n in range(BULK)
        ]
        store.ledger.record_claims(claims, ACTOR)
        isw_killed = demo_claim_id(store, KILLED, "1250")
        store.ledger.correct_claim(isw_killed, {"value": Decimal("1300")}, "again", None, ACTOR)
        store.ledger.rate_source("isw", Reliability.C, "slipping", None, ACTOR)
        latest = demo_claim_id(store, DEPLOYED, str(100 + (BULK - 1) % 97))
        store.ledger.retract_claim(latest, "withdrawn", None, ACTOR)
    finally:
        store.close()
    return directory / "ledger.db"


def caught_up(
    events: Path,
    views: Path,
    prepare_from: int,
    batch_size: int = 5000,
    stall_seconds: float = 10.0,
) -> Store:
    tuning = Tuning(prepare_from=prepare_from, batch_size=batch_size, stall_seconds=stall_seconds)
    return open_sqlite_store(str(events), str(views), tuning=tuning)


def dump_after_catch_up(
    events: Path,
    views: Path,
    prepare_from: int,
    batch_size: int = 5000,
    stall_seconds: float = 10.0,
) -> tuple[dict[str, list[tuple[Any, ...]]], list[int]]:
    store = caught_up(events, views, prepare_from, batch_size, stall_seconds)
    try:
        progress: list[int] = []
        reached = store.runner.catch_up(progress.append)
        assert reached == store.ledger.max_position() == store.views.position()
        return dump_views(store.views), progress
    finally:
        store.close()


@pytest.fixture
def one_process(events_file: Path, tmp_path: Path) -> dict[str, list[tuple[Any, ...]]]:
    views, _ = dump_after_catch_up(events_file, tmp_path / "one.views.db", prepare_from=10**9)
    return views


@pytest.fixture
def forks(monkeypatch: pytest.MonkeyPatch) -> list[PreparedFeed]:
    """Every preparing process started (so a test knows the two-process path ran)."""
    started: list[PreparedFeed] = []
    start = PreparedFeed.start.__func__  # type: ignore[attr-defined]

    def spy(cls: type[PreparedFeed], *args: Any) -> PreparedFeed | None:
        feed: PreparedFeed | None = start(cls, *args)
        if feed is not None:
            started.append(feed)
        return feed

    monkeypatch.setattr(PreparedFeed, "start", classmethod(spy))
    return started


def test_catching_up_from_empty_views_in_two_processes_equals_one_process(
    events_file: Path, tmp_path: Path, one_process: dict[str, Any], forks: list[PreparedFeed]
) -> None:
    views, progress = dump_after_catch_up(events_file, tmp_path / "two.views.db", prepare_from=1)
    assert [feed.complete for feed in forks] == [True]
    assert views == one_process
    assert sum(progress) == len(views["event_index"])
    assert len(views["claims"]) > BULK


@pytest.mark.parametrize("batch_size", [1, CHUNK - 1, CHUNK + 1, 2 * CHUNK])
def test_transactions_of_any_size_give_the_same_views(
    events_file: Path,
    tmp_path: Path,
    one_process: dict[str, Any],
    forks: list[PreparedFeed],
    batch_size: int,
) -> None:
    views, progress = dump_after_catch_up(
        events_file, tmp_path / "two.views.db", prepare_from=1, batch_size=batch_size
    )
    assert [feed.complete for feed in forks] == [True]
    assert views == one_process
    # A transaction takes whole chunks until it holds `batch_size` events.
    assert all(n >= min(batch_size, CHUNK) for n in progress[:-1])
    assert sum(progress) == len(views["event_index"])


@pytest.mark.parametrize("applied_first", [1, 2, 3, 7, 100, CHUNK + 5])
def test_catching_up_from_views_part_way_continues_the_merkle_log(
    events_file: Path,
    tmp_path: Path,
    one_process: dict[str, Any],
    forks: list[PreparedFeed],
    applied_first: int,
) -> None:
    """From any log size the preparing process starts on the stored log's compact range."""
    views_file = tmp_path / "two.views.db"
    store = caught_up(events_file, views_file, prepare_from=10**9)
    try:
        apply_first(store, applied_first)
        assert store.views.position() == applied_first
    finally:
        store.close()
    views, _ = dump_after_catch_up(events_file, views_file, prepare_from=1)
    assert [feed.complete for feed in forks] == [True]
    assert views == one_process


def test_an_event_only_the_mapper_reads_is_prepared_as_the_projection_reads_it(
    events_file: Path, tmp_path: Path, forks: list[PreparedFeed]
) -> None:
    """A stored class version other than the class's goes through the library's mapper
    in the preparing process too (it is forked with the ledger's mapper)."""
    copy = tmp_path / "ledger.db"
    copy.write_bytes(events_file.read_bytes())
    with sqlite3.connect(copy) as db:
        position = 60
        (state,) = db.execute(
            "SELECT state FROM stored_events WHERE rowid=?", (position,)
        ).fetchone()
        db.execute(
            "UPDATE stored_events SET state=? WHERE rowid=?",
            (state.replace(b"{", b'{"class_version":2,', 1), position),
        )
    expected, _ = dump_after_catch_up(copy, tmp_path / "one.views.db", prepare_from=10**9)
    views, _ = dump_after_catch_up(copy, tmp_path / "two.views.db", prepare_from=1)
    assert len(forks) == 1
    assert views == expected


def failing_prepare(after_chunks: int, how: str) -> Any:
    real = prepared_feed.prepare
    made = 0

    def prepare(*args: Any) -> Any:
        nonlocal made
        if made == after_chunks:
            if how == "dies":
                os._exit(3)
            raise RuntimeError("the disk went away")
        made += 1
        return real(*args)

    return prepare


@pytest.mark.parametrize("how", ["raises", "dies"])
@pytest.mark.parametrize("after_chunks", [0, 2])
def test_when_the_preparing_process_fails_the_rest_is_caught_up_in_one_process(
    events_file: Path,
    tmp_path: Path,
    one_process: dict[str, Any],
    forks: list[PreparedFeed],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    how: str,
    after_chunks: int,
) -> None:
    # The fork inherits the patched module: its preparing fails after `after_chunks`.
    monkeypatch.setattr(prepared_feed, "prepare", failing_prepare(after_chunks, how))
    with caplog.at_level(logging.WARNING, logger="projections.runner.prepared_feed"):
        views, progress = dump_after_catch_up(
            events_file, tmp_path / "two.views.db", prepare_from=1, batch_size=CHUNK
        )
    assert [feed.complete for feed in forks] == [False]
    assert views == one_process
    assert progress[:after_chunks] == [CHUNK] * after_chunks  # what was prepared was kept
    expected = "the disk went away" if how == "raises" else "ended early"
    assert expected in caplog.text
    assert forks[0].process.exitcode is not None  # nothing left running


def test_a_preparing_process_that_hangs_is_given_up_and_stopped(
    events_file: Path,
    tmp_path: Path,
    one_process: dict[str, Any],
    forks: list[PreparedFeed],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """As one forked while another thread held a lock it then needs would hang."""
    monkeypatch.setattr(prepared_feed, "prepare", slow_after_first(prepared_feed.prepare))
    with caplog.at_level(logging.WARNING, logger="projections.runner.prepared_feed"):
        views, progress = dump_after_catch_up(
            events_file, tmp_path / "two.views.db", prepare_from=1, stall_seconds=0.5
        )
    assert views == one_process
    assert progress[0] == Tuning().first_chunk  # the one chunk it sent was applied
    assert "sent nothing for 0.5 s" in caplog.text
    (feed,) = forks
    assert not feed.complete
    assert feed.process.exitcode == -signal.SIGTERM


def test_a_runner_that_got_ahead_meanwhile_is_resumed_after(
    events_file: Path,
    tmp_path: Path,
    one_process: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Another runner applies events after the preparing process started: the prepared
    batches it covers are refused, and the catch-up goes on after it."""
    views_file = tmp_path / "two.views.db"
    other = caught_up(events_file, views_file, prepare_from=10**9)
    start = PreparedFeed.start.__func__  # type: ignore[attr-defined]

    def start_then_overtaken(cls: type[PreparedFeed], *args: Any) -> PreparedFeed | None:
        feed: PreparedFeed | None = start(cls, *args)
        apply_first(other, CHUNK + 40)  # past the first chunk, inside the second
        return feed

    monkeypatch.setattr(PreparedFeed, "start", classmethod(start_then_overtaken))
    try:
        views, progress = dump_after_catch_up(events_file, views_file, prepare_from=1)
    finally:
        other.close()
    assert views == one_process
    assert sum(progress) == len(views["event_index"]) - (CHUNK + 40)


def test_a_runner_that_may_not_start_processes_catches_up_in_one(
    events_file: Path,
    tmp_path: Path,
    one_process: dict[str, Any],
    forks: list[PreparedFeed],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A runner in a daemonic process (`multiprocessing` refuses it children)."""
    monkeypatch.setitem(multiprocessing.current_process()._config, "daemon", True)  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="projections.runner.prepared_feed"):
        views, _ = dump_after_catch_up(events_file, tmp_path / "two.views.db", prepare_from=1)
    assert forks == []
    assert views == one_process
    assert "cannot start the preparing process" in caplog.text


def test_stopping_the_preparing_process_runs_none_of_the_runners_signal_handling(
    events_file: Path,
    tmp_path: Path,
    forks: list[PreparedFeed],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server's process has a SIGTERM handler (to shut down) and may have an event
    loop's wakeup fd: terminating the preparing process must touch neither."""
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_write, False)
    os.set_blocking(wakeup_read, False)
    handled: list[int] = []
    previous_fd = signal.set_wakeup_fd(wakeup_write)
    previous = signal.signal(signal.SIGTERM, lambda number, frame: handled.append(number))
    # The preparing process sends one chunk, then works on (so it is stopped mid-way).
    monkeypatch.setattr(prepared_feed, "prepare", slow_after_first(prepared_feed.prepare))

    def fail(*args: Any) -> None:
        raise RuntimeError("the views refused a chunk")

    monkeypatch.setattr(ViewWriter, "apply_prepared", fail)
    try:
        with pytest.raises(RuntimeError, match="refused a chunk"):
            dump_after_catch_up(events_file, tmp_path / "two.views.db", prepare_from=1)
        (feed,) = forks
        assert feed.process.exitcode == -signal.SIGTERM
        with pytest.raises(BlockingIOError):
            os.read(wakeup_read, 16)  # nothing was written to the runner's wakeup fd
        assert handled == []
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.set_wakeup_fd(previous_fd)
        os.close(wakeup_read)
        os.close(wakeup_write)


def slow_after_first(real: Any) -> Any:
    made = 0

    def prepare(*args: Any) -> Any:
        nonlocal made
        made += 1
        if made > 1:
            time.sleep(30)
        return real(*args)

    return prepare


def test_below_the_threshold_no_process_is_forked(
    events_file: Path, tmp_path: Path, one_process: dict[str, Any], forks: list[PreparedFeed]
) -> None:
    views, _ = dump_after_catch_up(events_file, tmp_path / "two.views.db", prepare_from=10**9)
    assert forks == []
    assert views == one_process


def apply_first(store: Store, count: int) -> None:
    """The first `count` events applied as another runner would, in one batch."""
    recorder: Any = store.ledger.recorder
    notifications = recorder.select_notifications(start=None, limit=count)
    store.views.apply_records([applied_from_stored(n, store.ledger.mapper) for n in notifications])
