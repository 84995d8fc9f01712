"""The views as tests look at them: every row, events applied by hand, a rebuild in memory.

The server never needs these (it applies the feed's records and compares views page by
page), so they live here rather than in `projections`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.domain import DomainEventProtocol

from projections.events.feed_event import Applied
from projections.storage.ledger_views import BaseLedgerViews, SQLiteLedgerViews
from projections.storage.schema import KEY_COLUMNS, VIEW_TABLES
from projections.tuning import Tuning
from projections.verify.replay import Divergence, Progress, apply_stored, private_views

EventAt = tuple[DomainEventProtocol[Any], int]


def dump_views(views: BaseLedgerViews) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every view in key order, for comparing a rebuild with the live views."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with views.sql_transaction() as c:
        for table in VIEW_TABLES:
            order = ", ".join(KEY_COLUMNS[table])
            c.execute(f"SELECT * FROM {table} ORDER BY {order}")
            tables[table] = [tuple(row) for row in c.fetchall()]
    return tables


def apply_events(views: BaseLedgerViews, events: Sequence[EventAt]) -> int:
    """Apply domain events (in position order) and record the last position, atomically.

    Raises the library's IntegrityError when another runner got there first.
    """
    return views.apply_records([Applied.of(event, position) for event, position in events])


def rebuild_in_memory(
    app: Application[Any],
    until: int,
    on_progress: Progress | None = None,
    tuning: Tuning | None = None,
) -> SQLiteLedgerViews:
    """Apply every event up to `until` to fresh views in a private in-memory database."""
    dbname = f"file:verify-{uuid4().hex}?mode=memory&cache=shared"
    views = private_views(dbname, tuning or Tuning())
    rebuilt = apply_stored(app, views, until, on_progress)
    if isinstance(rebuilt, Divergence):
        views.close()
        raise ValueError(rebuilt.message)
    return views
