"""The ledger's read models as one tracking recorder: rows and position in one transaction.

Owns the tables of `projections.schema` plus the library's `tracking` table. Events are
applied in batches (many per transaction, one tracking record per batch), so catching up
is fast and a crash mid-batch leaves neither rows nor position behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Tracking
from eventsourcing.sqlite import SQLiteTrackingRecorder

from projections.schema import CREATE_STATEMENTS, VIEW_TABLES
from projections.view_writer import ViewWriter

APPLICATION_NAME = "ledger"

EventAt = tuple[DomainEventProtocol[Any], int]


class LedgerViews(SQLiteTrackingRecorder):
    """Read-model tables kept exactly once per event, with a tracked position."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.writer = ViewWriter()

    def construct_create_table_statements(self) -> list[str]:
        return [*super().construct_create_table_statements(), *CREATE_STATEMENTS]

    def position(self) -> int:
        """The last position applied (0 before any)."""
        return self.max_tracking_id(APPLICATION_NAME) or 0

    def apply(self, events: Sequence[EventAt]) -> int:
        """Apply events (in position order) and record the last position, atomically.

        Raises the library's IntegrityError when another runner got there first.
        """
        if not events:
            return self.position()
        last = events[-1][1]
        with self.datastore.transaction(commit=True) as c:
            cursor = c.sqlite_cursor  # the raw cursor: execute() returns it
            next_leaf = "SELECT COALESCE(MAX(leaf_index) + 1, 0) FROM event_index"
            leaf_index = cursor.execute(next_leaf).fetchone()[0]
            for event, position in events:
                self.writer.apply(cursor, event, position, leaf_index)
                leaf_index += 1
            self._insert_tracking(c, Tracking(APPLICATION_NAME, last))
        return last

    def clear(self) -> None:
        """Empty every view and forget the position, so a replay starts from 0."""
        with self.datastore.transaction(commit=True) as c:
            for table in VIEW_TABLES:
                c.execute(f"DELETE FROM {table}")
            c.execute("DELETE FROM tracking WHERE application_name=?", (APPLICATION_NAME,))

    def dump(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of every view in key order, for comparing a rebuild with the live views."""
        tables: dict[str, list[tuple[Any, ...]]] = {}
        with self.datastore.transaction(commit=False) as c:
            for table in VIEW_TABLES:
                c.execute(f"SELECT * FROM {table} ORDER BY 1, 2")
                tables[table] = [tuple(row) for row in c.fetchall()]
        return tables
