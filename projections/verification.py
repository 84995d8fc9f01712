"""Verification (§6): recompute every leaf from the stored events, the root from the
leaves, and every view from the events, and name the first divergence.

`verify_store` does it in one pass over the events: it rebuilds every view, the feed's
leaf hashes and the Merkle log included, into a private database with the projection's
own code, then compares each stored view with its rebuild row by row, in key order. An
`event_index` difference is an event-level one (an edited, moved or deleted event, or
an edited leaf) and is named as such: position, leaf index, stream and version. When the
stored views are a SQLite file the comparison runs inside SQLite (the stored file
attached, read-only, to the rebuild's); otherwise both sides are read in key order.
`verify_log` is the leaf check alone, event by event.

Reads the library's event store and the views; writes only to the private database.
"""

from __future__ import annotations

import itertools
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Notification

from domain.ledger import Ledger
from projections.audit_log import MerkleLog
from projections.claim_state import canonical_bytes, leaf_hash
from projections.ledger_views import APPLICATION_NAME, BaseLedgerViews, LedgerViews, ScratchViews
from projections.merkle import InMemoryTree
from projections.ordered_check import (
    IN_WRITE_ORDER,
    VIEWS_TABLES,
    ComparedViews,
    LogInOrder,
    StoredInOrder,
    feed_records,
    nothing_beyond,
)
from projections.schema import KEY_COLUMNS, VIEW_TABLES
from projections.sqlite_factory import TOPIC as SQLITE_FACTORY
from projections.store import sqlite_env
from projections.stored_events import applied_from_stored
from projections.view_writer import Applied

Progress = Callable[[int], None]
PAGE = 1000
# Events per transaction of the private rebuild: larger batches write each page of the
# rebuilt claims' random-key index fewer times (5,000 → 20,000: 63 s → 59 s at a million).
REBUILD_BATCH = 20_000
# Events from which verify's fast path checks the log in a second process: below, the
# process's start (about a second) costs more than it saves.
PARALLEL_FROM = 50_000


@dataclass(frozen=True)
class Divergence:
    """The first place where stored data and what the events imply disagree."""

    message: str


@dataclass(frozen=True)
class Verified:
    events: int
    root_hash: str


def stored_notifications(app: Application[Any], until: int) -> Iterator[Notification]:
    position = 0
    while position < until:
        page = app.recorder.select_notifications(
            start=position, limit=PAGE, stop=until, inclusive_of_start=False
        )
        if not page:
            return
        yield from page
        position = page[-1].id


def sealed_rows(views: BaseLedgerViews) -> Iterator[tuple[Any, ...]]:
    # position, leaf_index, stream, version, type, recorded_at, actor, data, leaf_hash
    yield from views.rows("event_index", PAGE)


def describe(position: int, leaf_index: int | None, stream: str, version: int) -> str:
    leaf = f", leaf index {leaf_index}" if leaf_index is not None else ""
    return f"position {position}{leaf}, stream {stream}, version {version}"


def verify_log(
    app: Application[Any], views: BaseLedgerViews, on_progress: Progress | None = None
) -> Verified | Divergence:
    """Every stored event up to the views' position hashes to its sealed leaf, densely,
    and the stored Merkle nodes give the root of those leaves."""
    until = views.position()
    tree = InMemoryTree()
    stored = stored_notifications(app, until)
    sealed = sealed_rows(views)
    for count, (notification, row) in enumerate(itertools.zip_longest(stored, sealed)):
        if notification is None:
            assert row is not None
            where = describe(row[0], row[1], row[2], row[3])
            return Divergence(f"{where}: sealed in the log but missing from the event store")
        stream, version = str(notification.originator_id), notification.originator_version
        if row is None or row[0] > notification.id:
            where = describe(notification.id, None, stream, version)
            return Divergence(f"{where}: stored but not sealed in the log")
        if row[0] < notification.id:
            where = describe(row[0], row[1], row[2], row[3])
            return Divergence(f"{where}: sealed in the log but missing from the event store")
        where = describe(notification.id, row[1], stream, version)
        if row[1] != count:
            return Divergence(f"{where}: leaf index should be {count}")
        try:
            e = Applied.of(app.mapper.to_domain_event(notification), notification.id)
        except Exception as error:
            return Divergence(f"{where}: the stored event cannot be decoded ({error})")
        leaf = leaf_hash(
            canonical_bytes(e.stream, e.version, e.type, e.recorded_at, e.actor, e.data)
        )
        if leaf != row[8]:
            return Divergence(f"{where}: the stored event does not hash to its sealed leaf")
        tree.append(bytes.fromhex(leaf))
        if on_progress is not None and count % PAGE == PAGE - 1:
            on_progress(PAGE)
    size, root = MerkleLog(views).root()
    if size != len(tree) or root != tree.root():
        return Divergence(
            f"the stored Merkle log (size {size}) does not give the root of the "
            f"{len(tree)} recomputed leaves"
        )
    return Verified(len(tree), root.hex())


def rebuild_in_memory(
    app: Application[Any], until: int, on_progress: Progress | None = None
) -> LedgerViews:
    """Apply every event up to `until` to fresh views in a private in-memory database."""
    views = private_views(f"file:verify-{uuid4().hex}?mode=memory&cache=shared")
    rebuilt = apply_stored(app, views, until, on_progress)
    if isinstance(rebuilt, Divergence):
        views.close()
        raise ValueError(rebuilt.message)
    return views


def private_views(dbname: str, kind: type[LedgerViews] = LedgerViews) -> LedgerViews:
    factory = InfrastructureFactory.construct(
        env={"PERSISTENCE_MODULE": SQLITE_FACTORY, "SQLITE_DBNAME": dbname}
    )
    views = factory.tracking_recorder(kind)
    assert isinstance(views, kind)
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
    for notification in stored_notifications(app, until):
        try:
            batch.append(applied_from_stored(notification, app.mapper))
        except Exception as error:
            where = at(notification, sealed_leaf)
            return Divergence(f"{where}: the stored event cannot be decoded ({error})")
        if len(batch) == REBUILD_BATCH:
            failed = apply_batch(views, batch)
            if failed is not None:
                return failed
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


def apply_batch(views: BaseLedgerViews, batch: list[Applied]) -> Divergence | None:
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
) -> Iterator[LedgerViews | Divergence]:
    """The views rebuilt up to `until` in a private file (deleted afterwards), or the
    divergence that stopped the rebuild. A file rather than memory: a million events
    make gigabytes of views, and the page cache holds them as well as the heap would."""
    directory = Path(tempfile.mkdtemp(prefix="claimledger-verify-"))
    views = private_views(str(directory / "rebuilt.views.db"), ScratchViews)
    try:
        stopped = apply_stored(app, views, until, on_progress, sealed_leaf)
        yield stopped if stopped is not None else views
    finally:
        views.close()
        shutil.rmtree(directory, ignore_errors=True)


def verify_store(
    app: Application[Any],
    views: BaseLedgerViews,
    on_progress: Progress | None = None,
    on_restart: Callable[[], None] | None = None,
) -> Verified | Divergence:
    """Rebuild every view from the stored events up to the views' position and compare
    it with the stored one; the size and root of the verified log, or the first
    divergence.

    Stored views in a SQLite file are first checked in write order (`check_in_write_order`);
    only when that does not show them equal does the full rebuild run (after
    `on_restart`), to name the first divergence."""
    stored_file = sqlite_file_of(views)
    if stored_file is not None:
        verified = check_in_write_order(app, stored_file, on_progress)
        if verified is not None:
            return verified
        if on_restart is not None:
            on_restart()
    return verify_by_full_rebuild(app, views, on_progress)


def verify_by_full_rebuild(
    app: Application[Any], views: BaseLedgerViews, on_progress: Progress | None = None
) -> Verified | Divergence:
    """Every view rebuilt into a private file and compared with the stored one by key,
    the first divergence named. A SQLite views file is read in one snapshot, as in
    `check_in_write_order`."""
    stored_file = sqlite_file_of(views)
    if stored_file is None:
        return rebuild_and_compare(app, views, on_progress)
    with beside_a_snapshot(stored_file, ScratchViews) as (rebuilt, db, until):
        stopped = apply_stored(app, rebuilt, until, on_progress, sealed_leaf_of(views))
        if stopped is not None:
            return stopped
        for table in VIEW_TABLES:
            names = column_names(rebuilt, table)
            pair = first_difference_attached(db, table, names)
            if pair is not None:
                return difference_message(table, names, *pair)
        size, root = MerkleLog(rebuilt).root()
        return Verified(size, root.hex())


def rebuild_and_compare(
    app: Application[Any], views: BaseLedgerViews, on_progress: Progress | None = None
) -> Verified | Divergence:
    """`verify_by_full_rebuild` for views that are not a SQLite file (PostgreSQL): both
    sides read in key order."""
    until = views.position()
    with private_rebuild(app, until, on_progress, sealed_leaf_of(views)) as rebuilt:
        if isinstance(rebuilt, Divergence):
            return rebuilt
        divergence = compare_views(views, rebuilt)
        if divergence is not None:
            return divergence
        size, root = MerkleLog(rebuilt).root()
        return Verified(size, root.hex())


def check_in_write_order(
    app: Application[Any],
    stored_file: str,
    on_progress: Progress | None = None,
    parallel: bool | None = None,
) -> Verified | None:
    """`verify`'s fast path (`projections.ordered_check`): the size and root of the log when
    every stored view equals its rebuild, None when this cannot show it.

    The log half runs in a second process (`parallel`; by default from PARALLEL_FROM
    events on, when the events are a file), beside the views half here."""
    with beside_a_snapshot(stored_file, ComparedViews) as (rebuilt, db, until):
        assert isinstance(rebuilt, ComparedViews)
        events_file = sqlite_file_of_events(app)
        if parallel is None:
            parallel = until >= PARALLEL_FROM
        if not parallel or events_file is None:
            views_equal = views_half(rebuilt, db, until, on_progress)
            logged = log_half(app, db, until) if views_equal else None
        else:
            with log_half_in_a_process(events_file, stored_file, until) as logged_there:
                views_equal = views_half(rebuilt, db, until, on_progress)
                logged = logged_there() if views_equal else None
        if not views_equal or logged is None:
            return None
        return Verified(*logged)


def views_half(
    rebuilt: ComparedViews, db: sqlite3.Connection, until: int, on_progress: Progress | None
) -> bool:
    """The stored feed replayed through the projection's handlers: claim versions equal
    the stored ones in write order, every other view (but the log's) equal by key."""
    stored = StoredInOrder(db, VIEWS_TABLES)
    rebuilt.compare_with(stored)
    try:
        for batch in feed_records(db, until, REBUILD_BATCH):
            if apply_batch(rebuilt, batch) is not None:
                return False
            if on_progress is not None:
                on_progress(len(batch))
    except Exception:  # a stored feed row that does not decode: the log half's to name
        return False
    if not stored.all_seen() or not nothing_beyond(db, until):
        return False
    return not any(
        first_difference_attached(db, table, column_names(rebuilt, table))
        for table in VIEW_TABLES
        if table not in IN_WRITE_ORDER
    )


def log_half(app: Application[Any], db: sqlite3.Connection, until: int) -> tuple[int, str] | None:
    """Every stored event up to `until` recomputed into its feed row and leaf, equal to the
    stored feed and Merkle nodes in write order: the log's size and root, else None."""
    log = LogInOrder(db, until)
    batch: list[Applied] = []
    try:
        for notification in stored_notifications(app, until):
            batch.append(applied_from_stored(notification, app.mapper))
            if len(batch) == REBUILD_BATCH:
                log.check(batch)
                batch = []
        log.check(batch)
    except Exception:  # a difference, an event that does not decode: the full rebuild names it
        return None
    root = log.root()
    return (log.leaves, root.hex()) if root is not None else None


@contextmanager
def log_half_in_a_process(
    events_file: str, stored_file: str, until: int
) -> Iterator[Callable[[], tuple[int, str] | None]]:
    """`log_half` started in a new Python process (`projections.log_half_process`: this
    one has threads, and its main module may not be importable twice); yields how to wait
    for its answer. A process still running (the views half failed) is stopped."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "projections.log_half_process",
            events_file,
            stored_file,
            str(until),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )

    def answer() -> tuple[int, str] | None:
        out, _ = process.communicate()
        if process.returncode != 0:
            return None
        logged = json.loads(out)
        return (int(logged[0]), str(logged[1])) if logged is not None else None

    try:
        yield answer
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def log_half_of_files(events_file: str, stored_file: str, until: int) -> tuple[int, str] | None:
    """`log_half` opening the events and the stored views itself (in another process)."""
    ledger = Ledger(env=sqlite_env(events_file, lock_timeout=5))
    try:
        with closing(sqlite3.connect(":memory:", isolation_level=None)) as db:
            db.execute("ATTACH DATABASE ? AS stored", (as_uri(stored_file, read_only=True),))
            db.execute("BEGIN")
            return log_half(ledger, db, until)
    finally:
        ledger.close()


def sqlite_file_of_events(app: Application[Any]) -> str | None:
    """The file of a SQLite event store (None in memory or on PostgreSQL)."""
    pool = getattr(getattr(app.recorder, "datastore", None), "pool", None)
    name = getattr(pool, "db_name", None)
    if not isinstance(name, str) or getattr(pool, "is_sqlite_memory_mode", True):
        return None
    return name


@contextmanager
def beside_a_snapshot(
    stored_file: str, kind: type[LedgerViews]
) -> Iterator[tuple[LedgerViews, sqlite3.Connection, int]]:
    """Fresh views of `kind` in a private scratch file (deleted afterwards), a connection
    to that file with the stored views file attached read-only as `stored`, and the
    stored views' tracked position.

    The connection holds one read transaction from that position's read to the end, so
    the stored rows compared are those of that position even while a server goes on
    projecting. SQLite starts a database's snapshot at the first statement that reads
    it: the scratch file (`main`) must be read only after the rebuild is written."""
    directory = Path(tempfile.mkdtemp(prefix="claimledger-verify-"))
    rebuilt_file = str(directory / "rebuilt.views.db")
    rebuilt = private_views(rebuilt_file, kind)
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


def compare_views(stored: BaseLedgerViews, rebuilt: BaseLedgerViews) -> Divergence | None:
    """The first row, in key order, where a stored view differs from its rebuild."""
    in_sqlite = sqlite_file_of(stored), sqlite_file_of(rebuilt)
    for table in VIEW_TABLES:
        names = column_names(stored, table)
        if in_sqlite[0] is not None and in_sqlite[1] is not None:
            pair = first_difference_in_sqlite(in_sqlite[0], in_sqlite[1], table, names)
        else:
            pair = first_difference(stored, rebuilt, table, names)
        if pair is not None:
            return difference_message(table, names, *pair)
    return None


Pair = tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]  # (stored row, rebuilt row)


def first_difference(
    stored: BaseLedgerViews, rebuilt: BaseLedgerViews, table: str, names: list[str]
) -> Pair | None:
    """Both sides read in key order, side by side."""
    key_at = [names.index(k) for k in KEY_COLUMNS[table]]
    for have, want in itertools.zip_longest(stored.rows(table), rebuilt.rows(table)):
        if have == want:
            continue
        if want is None or (have is not None and key(have, key_at) < key(want, key_at)):
            return have, None
        if have is None or key(have, key_at) > key(want, key_at):
            return None, want
        return have, want
    return None


def sqlite_file_of(views: BaseLedgerViews) -> str | None:
    if not isinstance(views, LedgerViews):
        return None
    return str(views.datastore.pool.db_name)


def first_difference_in_sqlite(
    stored_file: str, rebuilt_file: str, table: str, names: list[str]
) -> Pair | None:
    """The same as `first_difference`, as two joins on the views' keys inside SQLite."""
    with closing(sqlite3.connect(as_uri(rebuilt_file), uri=True)) as db:
        db.execute("ATTACH DATABASE ? AS stored", (as_uri(stored_file, read_only=True),))
        return first_difference_attached(db, table, names)


def first_difference_attached(db: sqlite3.Connection, table: str, names: list[str]) -> Pair | None:
    """`first_difference_in_sqlite` on a connection to the rebuild (`main`) with the stored
    views attached as `stored`."""
    keys = KEY_COLUMNS[table]
    on = " AND ".join(f"r.{k} = s.{k}" for k in keys)
    differs = " OR ".join(f"r.{n} IS NOT s.{n}" for n in names)
    key_list = ", ".join(keys)
    implied = db.execute(  # a rebuilt row missing from the stored view, or different
        f"SELECT {', '.join('r.' + k for k in keys)} FROM main.{table} r "
        f"LEFT JOIN stored.{table} s ON {on} WHERE s.{keys[0]} IS NULL OR {differs} "
        f"ORDER BY {', '.join('r.' + k for k in keys)} LIMIT 1"
    ).fetchone()
    extra = db.execute(  # a stored row the rebuild does not have
        f"SELECT {key_list} FROM stored.{table} s WHERE NOT EXISTS "
        f"(SELECT 1 FROM main.{table} r WHERE {on}) ORDER BY {key_list} LIMIT 1"
    ).fetchone()
    found = [tuple(k) for k in (implied, extra) if k is not None]
    if not found:
        return None
    first = min(found)
    where = " AND ".join(f"{k} IS ?" for k in keys)

    def row(schema: str) -> tuple[Any, ...] | None:
        got = db.execute(f"SELECT * FROM {schema}.{table} WHERE {where}", first).fetchone()
        return tuple(got) if got is not None else None

    return row("stored"), row("main")


def as_uri(path: str, read_only: bool = False) -> str:
    if path.startswith("file:"):
        return path
    uri = Path(path).resolve().as_uri()
    return uri + "?mode=ro" if read_only else uri


def difference_message(
    table: str, names: list[str], have: tuple[Any, ...] | None, want: tuple[Any, ...] | None
) -> Divergence:
    if table == "event_index" and (have is None or want is None or have[8] != want[8]):
        return event_difference(have, want)
    if want is None:
        assert have is not None
        return Divergence(f"{row_place(table, names, have)}: a stored row the events do not imply")
    if have is None:
        return Divergence(f"{row_place(table, names, want)}: missing from the stored view")
    column = next(n for n, a, b in zip(names, have, want, strict=True) if a != b)
    i = names.index(column)
    return Divergence(
        f"{row_place(table, names, have)}: {column} is {have[i]!r}, the events imply {want[i]!r}"
    )


def event_difference(have: tuple[Any, ...] | None, want: tuple[Any, ...] | None) -> Divergence:
    """A feed row (position, leaf_index, stream, version, type, recorded_at, actor, data,
    leaf_hash) missing on one side, or whose leaf the stored event does not hash to,
    named as the event. (A row with the right leaf and another wrong column is an edited
    view row, named as any other.)"""
    if want is None:
        assert have is not None
        where = describe(have[0], have[1], have[2], have[3])
        return Divergence(f"{where}: sealed in the log but missing from the event store")
    if have is None:
        where = describe(want[0], None, want[2], want[3])
        return Divergence(f"{where}: stored but not sealed in the log")
    where = describe(want[0], have[1], want[2], want[3])
    if have[1] != want[1]:
        return Divergence(f"{where}: leaf index should be {want[1]}")
    return Divergence(f"{where}: the stored event does not hash to its sealed leaf")


def row_place(table: str, names: list[str], row: tuple[Any, ...]) -> str:
    named = ", ".join(f"{k}={row[names.index(k)]!r}" for k in KEY_COLUMNS[table])
    return f"view {table}, key {named}"


def key(row: tuple[Any, ...], key_at: list[int]) -> tuple[Any, ...]:
    return tuple(row[i] for i in key_at)


def column_names(views: BaseLedgerViews, table: str) -> list[str]:
    return views.column_names(table)
