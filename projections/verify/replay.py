"""Replaying stored events into private views: what every check of §6 shares.

The stored events are read through the library's recorder (`stored_notifications`),
turned into the feed's shape and applied in batches (`apply_stored`) to fresh views in
a private scratch file, deleted afterwards (`private_rebuild`, `beside_a_snapshot`). A
stored event that cannot be decoded or applied is a `Divergence` named by its position.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Notification

from projections.events.feed_event import Applied
from projections.events.stored_events import applied_from_stored
from projections.storage.collector import collector_paused
from projections.storage.ledger_views import (
    APPLICATION_NAME,
    BaseLedgerViews,
    ScratchViews,
    SQLiteLedgerViews,
)
from projections.storage.sqlite_factory import TOPIC as SQLITE_FACTORY
from projections.storage.sqlite_files import as_uri
from projections.tuning import Tuning

Progress = Callable[[int], None]


@dataclass(frozen=True)
class Divergence:
    """The first place where stored data and what the events imply disagree."""

    message: str


@dataclass(frozen=True)
class Verified:
    events: int
    root_hash: str


def stored_notifications(
    app: Application[Any], until: int, page_size: int
) -> Iterator[Notification]:
    position = 0
    while position < until:
        page = app.recorder.select_notifications(
            start=position, limit=page_size, stop=until, inclusive_of_start=False
        )
        if not page:
            return
        yield from page
        position = page[-1].id


def describe(position: int, leaf_index: int | None, stream: str, version: int) -> str:
    leaf = f", leaf index {leaf_index}" if leaf_index is not None else ""
    return f"position {position}{leaf}, stream {stream}, version {version}"


def private_views(
    dbname: str, tuning: Tuning, kind: type[SQLiteLedgerViews] = SQLiteLedgerViews
) -> SQLiteLedgerViews:
    factory = InfrastructureFactory.construct(
        env={"PERSISTENCE_MODULE": SQLITE_FACTORY, "SQLITE_DBNAME": dbname}
    )
    views = factory.tracking_recorder(kind)
    assert isinstance(views, kind)
    views.use(tuning)
    return views


def apply_stored(
    app: Application[Any],
    views: BaseLedgerViews,
    until: int,
    on_progress: Progress | None,
    sealed_leaf: Callable[[int], int | None] = lambda position: None,
) -> Divergence | None:
    """Apply the stored events up to `until`, in batches; a stored event that cannot be
    decoded or applied is a divergence named by its position."""
    batch: list[Applied] = []
    tuning = views.tuning
    with collector_paused(tuning.young_limit) as collector:
        for notification in stored_notifications(app, until, tuning.replay_page):
            try:
                batch.append(applied_from_stored(notification, app.mapper))
            except Exception as error:
                where = at(notification, sealed_leaf)
                return Divergence(f"{where}: the stored event cannot be decoded ({error})")
            if len(batch) == tuning.batch_size:
                failed = apply_batch(views, batch)
                if failed is not None:
                    return failed
                collector.between_batches()
                if on_progress is not None:
                    on_progress(len(batch))
                batch = []
        failed = apply_batch(views, batch)
    if failed is None and on_progress is not None and batch:
        on_progress(len(batch))
    return failed


def at(notification: Notification, sealed_leaf: Callable[[int], int | None]) -> str:
    stream, version = str(notification.originator_id), notification.originator_version
    return describe(notification.id, sealed_leaf(notification.id), stream, version)


def sealed_leaf_of(views: BaseLedgerViews) -> Callable[[int], int | None]:
    """The leaf index the stored log gave an event's position, to name a bad event."""

    def sealed_leaf(position: int) -> int | None:
        with views.sql_transaction() as c:
            row = c.execute(
                "SELECT leaf_index FROM event_index WHERE position=?", (position,)
            ).fetchone()
        return int(row[0]) if row is not None else None

    return sealed_leaf


def apply_batch(views: BaseLedgerViews, batch: Sequence[Applied]) -> Divergence | None:
    try:
        views.apply_records(batch)
    except Exception as error:
        first, last = batch[0].position, batch[-1].position
        return Divergence(
            f"positions {first} to {last}: the stored events cannot be applied ({error})"
        )
    return None


@contextmanager
def private_rebuild(
    app: Application[Any],
    until: int,
    on_progress: Progress | None = None,
    sealed_leaf: Callable[[int], int | None] = lambda position: None,
    tuning: Tuning | None = None,
) -> Iterator[SQLiteLedgerViews | Divergence]:
    """The views rebuilt up to `until` in a private file (deleted afterwards), or the
    divergence that stopped the rebuild. A file rather than memory: a million events
    make gigabytes of views, and the page cache holds them as well as the heap would."""
    directory = Path(tempfile.mkdtemp(prefix="claimledger-verify-"))
    views = private_views(str(directory / "rebuilt.views.db"), tuning or Tuning(), ScratchViews)
    try:
        stopped = apply_stored(app, views, until, on_progress, sealed_leaf)
        yield stopped if stopped is not None else views
    finally:
        views.close()
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def beside_a_snapshot(
    stored_file: str, kind: type[SQLiteLedgerViews], tuning: Tuning
) -> Iterator[tuple[SQLiteLedgerViews, sqlite3.Connection, int]]:
    """Fresh views of `kind` in a private scratch file (deleted afterwards), a connection
    to that file with the stored views file attached read-only as `stored`, and the
    stored views' tracked position.

    The connection holds one read transaction from that position's read to the end, so
    the stored rows compared are those of that position even while a server goes on
    projecting. SQLite starts a database's snapshot at the first statement that reads
    it: the scratch file (`main`) must be read only after the rebuild is written."""
    directory = Path(tempfile.mkdtemp(prefix="claimledger-verify-"))
    rebuilt_file = str(directory / "rebuilt.views.db")
    rebuilt = private_views(rebuilt_file, tuning, kind)
    try:
        with closing(sqlite3.connect(as_uri(rebuilt_file), uri=True, isolation_level=None)) as db:
            db.execute("ATTACH DATABASE ? AS stored", (as_uri(stored_file, read_only=True),))
            db.execute("BEGIN")
            (until,) = db.execute(
                "SELECT COALESCE(MAX(notification_id), 0) FROM stored.tracking "
                "WHERE application_name=?",
                (APPLICATION_NAME,),
            ).fetchone()
            yield rebuilt, db, int(until)
    finally:
        rebuilt.close()
        shutil.rmtree(directory, ignore_errors=True)
