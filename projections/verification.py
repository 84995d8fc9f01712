"""Verification (§6): recompute every leaf from the stored events, the root from the
leaves, and every view from the events, and name the first divergence.

Reads the library's event store and the views; writes only to a private in-memory
database used for the rebuild.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, Notification

from projections.audit_log import MerkleLog
from projections.claim_state import canonical_bytes, leaf_hash
from projections.ledger_views import BaseLedgerViews, LedgerViews
from projections.merkle import InMemoryTree
from projections.schema import KEY_COLUMNS, VIEW_TABLES
from projections.view_writer import Applied

Progress = Callable[[int], None]
PAGE = 1000


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
    name = f"file:verify-{uuid4().hex}?mode=memory&cache=shared"
    factory = InfrastructureFactory.construct(
        env={"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": name}
    )
    views = factory.tracking_recorder(LedgerViews)
    assert isinstance(views, LedgerViews)
    batch: list[tuple[Any, int]] = []
    for notification in stored_notifications(app, until):
        batch.append((app.mapper.to_domain_event(notification), notification.id))
        if len(batch) == 500:
            views.apply(batch)
            if on_progress is not None:
                on_progress(len(batch))
            batch = []
    views.apply(batch)
    return views


def compare_views(stored: BaseLedgerViews, rebuilt: BaseLedgerViews) -> Divergence | None:
    """The first row, in key order, where a stored view differs from its rebuild."""
    for table in VIEW_TABLES:
        keys = KEY_COLUMNS[table]
        names = column_names(stored, table)
        key_at = [names.index(k) for k in keys]
        pairs = itertools.zip_longest(stored.rows(table), rebuilt.rows(table))

        def where(row: tuple[Any, ...], table: str = table, names: list[str] = names) -> str:
            return row_place(table, names, row)

        for have, want in pairs:
            if have == want:
                continue
            if want is None or (have is not None and key(have, key_at) < key(want, key_at)):
                return Divergence(f"{where(have)}: a stored row the events do not imply")
            if have is None or key(have, key_at) > key(want, key_at):
                return Divergence(f"{where(want)}: missing from the stored view")
            column = next(n for n, a, b in zip(names, have, want, strict=True) if a != b)
            i = names.index(column)
            return Divergence(
                f"{where(have)}: {column} is {have[i]!r}, the events imply {want[i]!r}"
            )
    return None


def row_place(table: str, names: list[str], row: tuple[Any, ...]) -> str:
    named = ", ".join(f"{k}={row[names.index(k)]!r}" for k in KEY_COLUMNS[table])
    return f"view {table}, key {named}"


def key(row: tuple[Any, ...], key_at: list[int]) -> tuple[Any, ...]:
    return tuple(row[i] for i in key_at)


def column_names(views: BaseLedgerViews, table: str) -> list[str]:
    return views.column_names(table)
