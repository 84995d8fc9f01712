"""What a relation write holds while its cycle check reads the relations and its events
are committed (`domain.relation_commands`): one at a time in this process, and on
PostgreSQL one at a time among every process on the database (a transaction-scoped
advisory lock, released when the write is done). A SQLite store is served by one process.

Under it, no relation event commits while another write checks: so two definitions can
never each pass the check against a world without the other, and the event store's
relations read by topic from a remembered position miss none (none commits behind it).
"""

from __future__ import annotations

import threading
from contextlib import ExitStack
from types import TracebackType

from projections.storage.ledger_views import BaseLedgerViews, PostgresLedgerViews, advisory_key

RELATION_LOCK_KEY = advisory_key("claimledger:relation-writes")


class RelationWrites:
    """A reusable lock around relation writes (`with writes: ...`)."""

    def __init__(self, views: BaseLedgerViews) -> None:
        self.views = views
        self._lock = threading.Lock()
        self._held: ExitStack | None = None

    def __enter__(self) -> None:
        self._lock.acquire()
        held = ExitStack()
        try:
            if isinstance(self.views, PostgresLedgerViews):
                raw = held.enter_context(self.views.datastore.transaction(commit=False))
                raw.execute("SELECT pg_advisory_xact_lock(%s)", (RELATION_LOCK_KEY,))
        except BaseException:
            held.close()
            self._lock.release()
            raise
        self._held = held

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        held, self._held = self._held, None
        try:
            if held is not None:
                held.close()  # the transaction ends, and the advisory lock with it
        finally:
            self._lock.release()
