"""The ledger's read models as one tracking recorder: rows and position in one transaction.

Owns the tables of `projections.storage.schema` plus the library's tracking table. Events are
applied in batches (many per transaction, one tracking record per batch), so catching up
is fast and a crash mid-batch leaves neither rows nor position behind.

`BaseLedgerViews` holds the logic once, in portable SQL (`projections.storage.sql`);
`SQLiteLedgerViews` keeps it in a SQLite file with the library's `SQLiteTrackingRecorder`,
`PostgresLedgerViews` in PostgreSQL with its `PostgresTrackingRecorder`.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from eventsourcing.persistence import IntegrityError, Tracking
from eventsourcing.postgres import PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteConnection, SQLiteCursor, SQLiteTrackingRecorder

from projections.events.feed_event import Applied
from projections.events.prepared_batch import PreparedBatch
from projections.log.merkle import StoredNode
from projections.storage.schema import (
    KEY_COLUMNS,
    VIEW_TABLES,
    create_statements,
    writer_statements,
)
from projections.storage.sql import POSTGRES, SQLITE, PostgresCursor, SqlCursor
from projections.tuning import Tuning
from projections.writer.estimate_summary import OLDER_SUMMARIES
from projections.writer.feed_log import stored_compact_range
from projections.writer.view_writer import ViewWriter

APPLICATION_NAME = "ledger"


class BaseLedgerViews:
    """Read-model tables kept exactly once per event, with a tracked position."""

    dialect: str
    writer: ViewWriter
    tuning: Tuning

    def use(self, tuning: Tuning) -> None:
        """Tune these views (the library constructs them with the defaults)."""
        self.tuning = tuning
        self.writer = ViewWriter(tuning=tuning)

    def sql_transaction(self, commit: bool = False) -> AbstractContextManager[SqlCursor]:
        """A transaction on the views' database, as a cursor speaking portable SQL.

        Reads (`commit=False`) see one snapshot of the database throughout.
        """
        raise NotImplementedError

    def track(self, c: SqlCursor, tracking: Tracking) -> None:
        """Record the position in the caller's transaction (the library's statement)."""
        raise NotImplementedError

    def tracked_id(self) -> int | None:
        raise NotImplementedError

    def runner_lock(self, stopping: threading.Event) -> AbstractContextManager[bool]:
        """Held by the one active runner of these views: yields True once this runner may
        follow, or False when `stopping` was set while waiting (a hot standby)."""
        raise NotImplementedError

    def close(self) -> None:
        """Close the views' connections."""
        raise NotImplementedError

    def position(self) -> int:
        """The last position applied (0 before any)."""
        return self.tracked_id() or 0

    def apply_records(self, records: Sequence[Applied]) -> int:
        """Apply events given as the audit feed shows them (in position order) and record
        the last position, atomically.

        Raises the library's IntegrityError when another runner got there first.
        """
        if not records:
            return self.position()
        try:
            return self._apply_records(records)
        except BaseException:
            self.writer.forget()  # the transaction rolled back: cached estimates may be ahead
            raise

    def _apply_records(self, records: Sequence[Applied]) -> int:
        with self.sql_transaction(commit=True) as cursor:
            # Write before any read: the transaction is deferred, and in WAL mode one that
            # read first cannot wait for the write lock (SQLITE_BUSY at once when another
            # runner, or the idempotency store, wrote meanwhile). It also refuses an
            # already tracked position before any work; on PostgreSQL it waits for a
            # concurrent runner's batch to commit (the tracking row's lock), then refuses.
            self.track(cursor, Tracking(APPLICATION_NAME, records[-1].position))
            leaf_index = self.next_leaf_index(cursor)
            for record in records:
                self.writer.apply_record(cursor, record, leaf_index)
                leaf_index += 1
            self.writer.finish(cursor)
        return records[-1].position

    def apply_prepared(self, chunks: Iterator[PreparedBatch], size: int) -> tuple[int, int] | None:
        """Apply chunks made by the catch-up's preparing process (`prepared_feed`) as they
        come, until `size` events or the last chunk, and record the last position, all in
        one transaction: as `apply_records` would, the feed rows and Merkle nodes already
        made. Returns the position and the number of events applied (None if no chunk
        came). Raises the library's IntegrityError when another runner applied any first."""
        chunk = next(chunks, None)
        if chunk is None:
            return None
        applied = 0
        try:
            with self.sql_transaction(commit=True) as cursor:
                # As in `_apply_records`: the tracking record written first (refused at once
                # if another runner is ahead), moved on to the last event at the end.
                tracked = chunk.events[-1][0]
                self.track(cursor, Tracking(APPLICATION_NAME, tracked))
                self.catching_up(cursor)
                if self.next_leaf_index(cursor) != chunk.first_leaf:
                    # Another runner applied some of the events before: start after it.
                    raise IntegrityError("the views moved on while the events were prepared")
                while chunk is not None:
                    events = [Applied(*event) for event in chunk.events]
                    self.writer.apply_prepared(cursor, events, chunk.index_rows, chunk.nodes)
                    applied += len(events)
                    position = events[-1].position
                    chunk = next(chunks, None) if applied < size else None
                if position != tracked:
                    self.track(cursor, Tracking(APPLICATION_NAME, position))
                self.writer.finish(cursor)
        except BaseException:
            self.writer.forget()
            raise
        return position, applied

    def catching_up(self, c: SqlCursor) -> None:
        """Settings for a transaction of a catch-up far behind (none by default)."""

    def rewrite_older_summaries(self) -> int:
        """Rewrite the metrics' summaries stored before they said their open ends, from
        the claims as these views hold them (decision 0018); how many. A store with none
        pays one read. The transaction first stops other runners writing `metrics`
        (`hold_summaries`), so none lands between what is read and what is written."""
        with self.sql_transaction() as c:
            if not c.execute(OLDER_SUMMARIES).fetchall():
                return 0
        try:
            with self.sql_transaction(commit=True) as c:
                self.hold_summaries(c)
                return self.writer.rewrite_older_summaries(c)
        except BaseException:
            self.writer.forget()  # rolled back: the keeper may hold what was not written
            raise

    def hold_summaries(self, c: SqlCursor) -> None:
        raise NotImplementedError

    def log_compact_range(self) -> tuple[int, dict[int, StoredNode]]:
        """The Merkle log's size and the stored nodes appends after it read (its compact range),
        in one snapshot."""
        with self.sql_transaction() as c:
            size = self.next_leaf_index(c)
            return size, stored_compact_range(c, size)

    def next_leaf_index(self, c: SqlCursor) -> int:
        """The leaf index the next event gets: the log's size."""
        return int(
            c.execute("SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM event_index").fetchone()[0]
        )

    def clear(self) -> None:
        """Empty every view and forget the position, so a replay starts from 0."""
        self.writer.forget()
        with self.sql_transaction(commit=True) as c:
            for table in VIEW_TABLES:
                c.execute(f"DELETE FROM {table}")
            c.execute(
                f"DELETE FROM {self.tracking_table} WHERE application_name=?", (APPLICATION_NAME,)
            )

    def rows(
        self, table: str, batch: int = 5000, within: SqlCursor | None = None
    ) -> Iterator[tuple[Any, ...]]:
        """A view's rows in key order, read in pages so a large view never sits in memory:
        each page in a transaction of its own, or all in the caller's (`within`)."""
        keys = KEY_COLUMNS[table]
        order = ", ".join(keys)
        key_at = [self._column_index(table, k) for k in keys]
        after: tuple[Any, ...] | None = None

        def page_from(c: SqlCursor) -> list[tuple[Any, ...]]:
            if after is None:
                c.execute(f"SELECT * FROM {table} ORDER BY {order} LIMIT ?", (batch,))
            else:
                marks = ", ".join("?" * len(keys))
                c.execute(
                    f"SELECT * FROM {table} WHERE ({order}) > ({marks}) ORDER BY {order} LIMIT ?",
                    (*after, batch),
                )
            return [tuple(row) for row in c.fetchall()]

        while True:
            if within is None:
                with self.sql_transaction() as c:
                    page = page_from(c)
            else:
                page = page_from(within)
            yield from page
            if len(page) < batch:
                return
            after = tuple(page[-1][i] for i in key_at)

    def tracked_in(self, c: SqlCursor) -> int:
        """The tracked position as the caller's transaction sees it (0 before any)."""
        row = c.execute(
            f"SELECT MAX(notification_id) FROM {self.tracking_table} WHERE application_name=?",
            (APPLICATION_NAME,),
        ).fetchone()
        return int(row[0] or 0)

    def _column_index(self, table: str, column: str) -> int:
        return self.column_names(table).index(column)

    def column_names(self, table: str) -> list[str]:
        with self.sql_transaction() as c:
            c.execute(f"SELECT * FROM {table} LIMIT 0")
            return [d[0] for d in c.description]

    @property
    def tracking_table(self) -> str:
        raise NotImplementedError


class SQLiteLedgerViews(BaseLedgerViews, SQLiteTrackingRecorder):
    """The views in a SQLite file (the library's tracking table is `tracking`)."""

    dialect = SQLITE
    cache_kib = 32 * 1024  # see `tune`
    synchronous = "NORMAL"  # see `tune`

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use(Tuning())

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *create_statements(SQLITE)]

    @contextmanager
    def sql_transaction(self, commit: bool = False) -> Iterator[SqlCursor]:
        with self.datastore.get_connection(commit=commit) as connection:
            tune(connection, self.cache_kib, self.synchronous)
            with connection.transaction(commit=commit) as c:
                yield c.sqlite_cursor  # the raw cursor: execute() returns it

    def track(self, c: SqlCursor, tracking: Tracking) -> None:
        self._insert_tracking(SQLiteCursor(c), tracking)  # type: ignore[arg-type]

    def hold_summaries(self, c: SqlCursor) -> None:
        # A write first takes the write lock: no other writer until this commits.
        c.execute("UPDATE metrics SET estimate=estimate WHERE 0=1")

    def catching_up(self, c: SqlCursor) -> None:
        # Far behind, the connection applying batches keeps a larger page cache: the
        # random-key indexes (claim ids) of a large views file then stay in memory
        # instead of each insert reading a page back (decision 0010).
        c.execute(f"PRAGMA cache_size=-{self.tuning.catch_up_cache_kib}")

    def tracked_id(self) -> int | None:
        return self.max_tracking_id(APPLICATION_NAME)

    @contextmanager
    def runner_lock(self, stopping: threading.Event) -> Iterator[bool]:
        # One machine, few processes: runners may race; the tracking record keeps each
        # event applied once (decision 0001).
        yield True

    @property
    def tracking_table(self) -> str:
        return "tracking"

    def close(self) -> None:
        self.datastore.close()


class PostgresLedgerViews(BaseLedgerViews, PostgresTrackingRecorder):
    """The views in PostgreSQL, beside the events; tracked in the library's table."""

    dialect = POSTGRES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.use(Tuning())
        from psycopg.sql import SQL

        for statement in create_statements(POSTGRES):
            self.sql_create_statements.append(SQL(statement))  # type: ignore[arg-type]

    @contextmanager
    def sql_transaction(self, commit: bool = False) -> Iterator[SqlCursor]:
        with self.datastore.transaction(commit=commit) as raw:
            if not commit:  # one snapshot for every statement of a read, as on SQLite
                raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cursor = PostgresCursor(raw)
            try:
                yield cursor
            finally:
                cursor.close()

    def hold_summaries(self, c: SqlCursor) -> None:
        # Conflicts with a batch's UPDATE of `metrics`, which waits until this commits and
        # then writes its own (newer) summaries over these.
        c.execute("LOCK TABLE metrics IN SHARE ROW EXCLUSIVE MODE")

    def track(self, c: SqlCursor, tracking: Tracking) -> None:
        assert isinstance(c, PostgresCursor)
        self._insert_tracking(c.raw, tracking)

    def tracked_id(self) -> int | None:
        tracked: int | None = self.max_tracking_id(APPLICATION_NAME)
        return tracked

    @contextmanager
    def runner_lock(self, stopping: threading.Event) -> Iterator[bool]:
        """A session advisory lock on a connection of its own: the server releases it when
        the holder's connection ends, so a standby takes over from a killed worker."""
        import psycopg

        key = advisory_key(f"claimledger:{self.tracking_table}:{APPLICATION_NAME}")
        kwargs: Any = self.datastore.pool.kwargs  # dbname, host, port, user, password
        params = {k: v for k, v in dict(kwargs).items() if k != "row_factory"}
        with psycopg.connect(**params, autocommit=True) as conn:
            while True:
                row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
                if row is not None and row[0]:
                    break
                if stopping.wait(self.tuning.standby_poll_seconds):
                    yield False
                    return
            try:
                yield True
            finally:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,))

    @property
    def tracking_table(self) -> str:
        return self.tracking_table_name

    def close(self) -> None:
        self.datastore.close()


class ScratchViews(SQLiteLedgerViews):
    """Views rebuilt only to be compared with the stored ones (verify): without the
    query-only indexes, with a larger page cache, in a file nobody else opens and that
    is deleted afterwards, so never synced to disk (`synchronous=OFF`; decision 0008)."""

    cache_kib = 64 * 1024
    synchronous = "OFF"

    def construct_create_table_statements(self) -> list[str]:
        library = SQLiteTrackingRecorder.construct_create_table_statements(self)
        return [*library, *create_statements(SQLITE, writer_statements())]


def tune(connection: SQLiteConnection, cache_kib: int, synchronous: str = "NORMAL") -> None:
    """Settings for a views connection, once, outside a transaction (SQLite refuses
    `synchronous` inside one). The views are derived data: with WAL and synchronous=
    NORMAL a commit does not wait for fsync; a power cut may lose the last batches but
    never splits one, and the runner applies them again from the tracked position. The
    page cache, larger than SQLite's default, keeps more of a large views file's indexes
    in memory: random keys (claim ids) otherwise cost a read per insert. A catch-up
    far behind raises it on its connection (`SQLiteLedgerViews.catching_up`)."""
    if getattr(connection, "claimledger_tuned", False):
        return
    with connection.cursor() as c:
        c.execute(f"PRAGMA synchronous={synchronous}")
        c.execute(f"PRAGMA cache_size=-{cache_kib}")
        c.execute("PRAGMA wal_autocheckpoint=16384")
    connection.claimledger_tuned = True  # type: ignore[attr-defined]


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def sqlite_file_of(views: BaseLedgerViews) -> str | None:
    if not isinstance(views, SQLiteLedgerViews):
        return None
    return str(views.datastore.pool.db_name)
