"""Opens the ledger and its views on one store (SQLite files or a PostgreSQL database):
the composition root below the API."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from domain.ledger import Ledger
from projections.reads.idempotency import IdempotencyStore
from projections.reads.key_records import KeyRecords
from projections.reads.queries import LedgerQueries
from projections.runner.batched_runner import BatchedRunner
from projections.runner.subscription import PollingSQLiteApplicationRecorder
from projections.storage.file_modes import private_sqlite_file
from projections.storage.group_commit import GroupCommitter
from projections.storage.ledger_views import (
    BaseLedgerViews,
    PostgresLedgerViews,
    SQLiteLedgerViews,
    advisory_key,
)
from projections.storage.relation_writes import RelationWrites
from projections.storage.signed_heads import SignedHeads, WriteAlarm, create_tables, record_db_of
from projections.storage.sqlite_factory import sqlite_env
from projections.tuning import Tuning
from projections.verify import LoadCheck

# The views' tracking table on PostgreSQL is `<this>_tracking`, beside `ledger_events`.
VIEWS_NAME = "views"
SCHEMA_LOCK_KEY = advisory_key("claimledger:schema")


class StoreUnavailable(Exception):
    """The store cannot be opened: a bad path, a locked or unreadable file, no server."""


@dataclass
class Store:
    ledger: Ledger
    views: BaseLedgerViews
    queries: LedgerQueries
    runner: BatchedRunner
    idempotency: IdempotencyStore
    keys: KeyRecords
    paths: tuple[str, str] = field(default=("", ""))
    closed: bool = field(default=False, init=False)
    # The record of signed heads and the write alarm (`wire_integrity`).
    signed_heads: SignedHeads = field(init=False)
    alarm: WriteAlarm = field(init=False)

    def __post_init__(self) -> None:
        wire_integrity(self)

    def lag(self) -> int:
        """How many positions the views are behind the ledger."""
        return max(0, self.ledger.max_position() - self.views.position())

    def close(self) -> None:
        """Stop the runner and close the connections (once; again does nothing)."""
        if self.closed:
            return
        self.closed = True
        self.runner.stop()
        self.keys.close()
        self.ledger.close()
        self.queries.close()
        self.views.close()


def wire_integrity(store: Store) -> None:
    """The signed heads' record and the write alarm (in the events file on SQLite, the
    same database on PostgreSQL), the ledger's check of what it loads for a command
    against the sealed log, and the lock its relation writes hold."""
    db = record_db_of(store.ledger.recorder, store.views)
    create_tables(db, store.views.dialect)
    store.signed_heads = SignedHeads(db, store.views.tuning)
    store.alarm = WriteAlarm(db, store.views.tuning)
    store.ledger.sealed_log = LoadCheck(store.views, store.alarm)
    store.ledger.relation_writes = RelationWrites(store.views)


def views_path_for(events_path: str) -> str:
    """The views live beside the events: `ledger.db` → `ledger.views.db`."""
    path = Path(events_path)
    return str(path.with_name(path.stem + ".views" + (path.suffix or ".db")))


def open_sqlite_store(
    events_path: str,
    views_path: str | None = None,
    lock_timeout: int = 5,
    tuning: Tuning | None = None,
) -> Store:
    """Open (creating if needed) the SQLite event store and its views file."""
    tuning = tuning or Tuning()
    views_path = views_path or views_path_for(events_path)
    try:
        for path in (events_path, views_path):
            if not path.startswith("file:"):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
                private_sqlite_file(path)
        ledger = Ledger(env=sqlite_env(events_path, lock_timeout), committer=GroupCommitter)
        factory = InfrastructureFactory.construct(env=sqlite_env(views_path, lock_timeout))
        views = factory.tracking_recorder(SQLiteLedgerViews)
    except Exception as error:
        raise StoreUnavailable(f"cannot open the store at {events_path}: {error}") from error
    assert isinstance(views, SQLiteLedgerViews)
    views.use(tuning)
    if isinstance(ledger.recorder, PollingSQLiteApplicationRecorder):
        ledger.recorder.poll_interval = tuning.poll_interval
    return Store(
        ledger=ledger,
        views=views,
        queries=LedgerQueries(views),
        runner=BatchedRunner(ledger, views, tuning),
        idempotency=IdempotencyStore(views),
        keys=KeyRecords(ledger, None if events_path.startswith("file:") else events_path),
        paths=(events_path, views_path),
    )


def open_postgres_store(
    env: Mapping[str, str], description: str, tuning: Tuning | None = None
) -> Store:
    """Open (creating the tables if needed) the ledger and its views in one PostgreSQL
    database. `env` holds the library's `PERSISTENCE_MODULE` and `POSTGRES_*` settings
    (built by the API's settings); `description` names the store without its password.
    """
    try:
        with schema_lock(env):
            return _open_postgres_store(env, description, tuning or Tuning())
    except StoreUnavailable:
        raise
    except Exception as error:
        raise StoreUnavailable(
            f"cannot open the store at {description}: {one_line(error)}"
        ) from error


def _open_postgres_store(env: Mapping[str, str], description: str, tuning: Tuning) -> Store:
    ledger = Ledger(env=dict(env), committer=GroupCommitter)
    try:
        factory = InfrastructureFactory.construct(env=Environment(VIEWS_NAME, dict(env)))
        views = factory.tracking_recorder(PostgresLedgerViews)
        assert isinstance(views, PostgresLedgerViews)
        views.use(tuning)
        idempotency = IdempotencyStore(views)
    except Exception:
        ledger.close()
        raise
    return Store(
        ledger=ledger,
        views=views,
        queries=LedgerQueries(views),
        runner=BatchedRunner(ledger, views, tuning),
        idempotency=idempotency,
        keys=KeyRecords(ledger),
        paths=(description, description),
    )


@contextmanager
def schema_lock(env: Mapping[str, str]) -> Iterator[None]:
    """Connect once (an unreachable server fails at once: the library's pool would retry
    for the whole connect timeout), and hold an advisory lock while the tables are
    created: the library's `CREATE … IF NOT EXISTS` and first tracking record race when
    several processes (API workers, a projection worker) start together."""
    import psycopg

    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env.get("POSTGRES_PORT", "5432"),
        user=env["POSTGRES_USER"],
        password=env.get("POSTGRES_PASSWORD", ""),
        connect_timeout=int(env.get("POSTGRES_CONNECT_TIMEOUT") or 10),
        autocommit=True,
    ) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK_KEY,))
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK_KEY,))


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__
