"""The ledger's own record of each API key, read from the event store for authentication.

Authentication reads the key's stream (at most its `Issued` and `Revoked` events), never
the `api_keys` view: the view lags, and a revoked key must be refused from the moment the
revocation is answered, in every process. The library's repository rebuilds the key.

On a SQLite file the read runs on the server's event loop, over a connection of its own:
the library's shared pool is safe from any thread (`check_same_thread=False`, each
connection checked out by one thread at a time), but a checkout waits, up to its pool
timeout, while every connection is out with the threadpool's commands, and a wait on
the event loop stops every request. A pool of one that only the event loop uses never
waits for a connection, and WAL readers never wait for the writer. On PostgreSQL (and
in-memory SQLite) the read goes through the ledger's own repository, off the event loop.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from threading import Lock
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.persistence import EventStore
from eventsourcing.sqlite import SQLiteAggregateRecorder, SQLiteDatastore

from domain.keys import ApiKey
from domain.ledger import Ledger
from projections.storage.sqlite_factory import CachingConnectionPool

# Hashes of secrets in the older form (no id inside) mapped to their key's id: an id
# never changes, so this holds no state a revocation could make stale.
LEGACY_IDS_KEPT = 10_000


class KeyRecords:
    """API keys as the event store holds them now."""

    def __init__(self, ledger: Ledger, sqlite_file: str | None = None) -> None:
        self._datastore: SQLiteDatastore | None = None
        self.repository: Repository[UUID] = ledger.repository
        if sqlite_file is not None:
            self._datastore = own_datastore(sqlite_file)
            recorder = SQLiteAggregateRecorder(self._datastore, events_table_name="stored_events")
            self.repository = Repository(EventStore(ledger.mapper, recorder))
        self._legacy_ids: OrderedDict[str, UUID] = OrderedDict()
        self._legacy_lock = Lock()

    @property
    def in_line(self) -> bool:
        """Whether a read may run on the event loop (it never waits for a connection)."""
        return self._datastore is not None

    def get(self, key_id: UUID) -> ApiKey | None:
        """The key with this id now, or None when no key has it."""
        try:
            aggregate: object = self.repository.get(key_id, projector_func=replay)
        except AggregateNotFoundError:
            return None
        return aggregate if isinstance(aggregate, ApiKey) else None

    def legacy_id(self, key_hash: str) -> UUID | None:
        with self._legacy_lock:
            return self._legacy_ids.get(key_hash)

    def remember_legacy_id(self, key_hash: str, key_id: UUID) -> None:
        with self._legacy_lock:
            self._legacy_ids[key_hash] = key_id
            while len(self._legacy_ids) > LEGACY_IDS_KEPT:
                self._legacy_ids.popitem(last=False)

    def close(self) -> None:
        if self._datastore is not None:
            self._datastore.close()


def replay(aggregate: Any, events: Iterable[Any]) -> Any:
    """The library's `project_aggregate` without its assertion, per event, through
    `isinstance` on a runtime protocol, which was most of the cost of a key read."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def own_datastore(sqlite_file: str) -> SQLiteDatastore:
    datastore = SQLiteDatastore(sqlite_file, pool_size=1, max_overflow=0)
    library = datastore.pool
    datastore.pool = CachingConnectionPool(
        db_name=library.db_name,
        lock_timeout=library.lock_timeout,
        pool_size=1,
        max_overflow=0,
        pool_timeout=library.pool_timeout,
        max_age=library.max_age,
        pre_ping=library.pre_ping,
    )
    library.close()
    return datastore
