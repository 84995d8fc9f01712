"""Verification (§6): recompute every leaf from the stored events, the root from the
leaves, and every view from the events, and name the first divergence.

`verify_store` is what `claimledger verify` runs. On a SQLite views file it first takes
the fast path (`projections.verify.verify_fast_path`: the append-only views compared in write
order, the log checked beside the views); when that cannot show the views equal, or on
PostgreSQL, it rebuilds every view, the feed's leaf hashes and the Merkle log included,
into a private database with the projection's own code, and compares each stored view
with its rebuild in key order (`projections.verify.view_comparison`). An `event_index`
difference is an event-level one (an edited, moved or deleted event, or an edited leaf)
and is named as such: position, leaf index, stream and version. `verify_log` is the leaf
check alone, event by event.

Reads the library's event store and the views; writes only to private databases.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from eventsourcing.application import Application

from projections.events.feed_event import Applied
from projections.log.canonical import canonical_bytes
from projections.log.merkle import InMemoryTree, leaf_hash
from projections.reads.audit_log import MerkleLog
from projections.storage.ledger_views import BaseLedgerViews, ScratchViews, sqlite_file_of
from projections.storage.schema import VIEW_TABLES
from projections.storage.sql import POSTGRES
from projections.verify.replay import (
    Divergence,
    Progress,
    Verified,
    apply_stored,
    beside_a_snapshot,
    describe,
    private_rebuild,
    sealed_leaf_of,
    stored_notifications,
)
from projections.verify.verify_fast_path import check_in_write_order
from projections.verify.view_comparison import (
    column_names,
    compare_views,
    difference_message,
    first_difference,
    first_difference_attached,
)

__all__ = [  # what callers take from here (the CLI, the benchmarks, the tests)
    "Divergence",
    "Verified",
    "check_in_write_order",
    "column_names",
    "compare_views",
    "difference_message",
    "first_difference",
    "private_rebuild",
    "verify_by_full_rebuild",
    "verify_log",
    "verify_store",
]


def sealed_rows(views: BaseLedgerViews) -> Iterator[tuple[Any, ...]]:
    # position, leaf_index, stream, version, type, recorded_at, actor, data, leaf_hash
    yield from views.rows("event_index", views.tuning.replay_page)


def verify_log(
    app: Application[Any], views: BaseLedgerViews, on_progress: Progress | None = None
) -> Verified | Divergence:
    """Every stored event up to the views' position hashes to its sealed leaf, densely,
    and the stored Merkle nodes give the root of those leaves."""
    until = views.position()
    tree = InMemoryTree()
    stored = stored_notifications(app, until, views.tuning.replay_page)
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
        if leaf.hex() != row[8]:
            return Divergence(f"{where}: the stored event does not hash to its sealed leaf")
        tree.append(leaf)
        page = views.tuning.replay_page
        if on_progress is not None and count % page == page - 1:
            on_progress(page)
    size, root = MerkleLog(views).root()
    if size != len(tree) or root != tree.root():
        return Divergence(
            f"the stored Merkle log (size {size}) does not give the root of the "
            f"{len(tree)} recomputed leaves"
        )
    return Verified(len(tree), root.hex())


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
        verified = check_in_write_order(app, stored_file, on_progress, tuning=views.tuning)
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
    with beside_a_snapshot(stored_file, ScratchViews, views.tuning) as (rebuilt, db, until):
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
    sides read in key order, the stored views in one read transaction (one snapshot,
    REPEATABLE READ) from the tracked position's read to the last row compared."""
    with views.sql_transaction() as snapshot:
        if views.dialect == POSTGRES:
            # The snapshot waits idle while the private rebuild runs: longer than the
            # library's idle-in-transaction timeout on any sizeable store.
            snapshot.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        until = views.tracked_in(snapshot)
        with private_rebuild(
            app, until, on_progress, sealed_leaf_of(views), views.tuning
        ) as rebuilt:
            if isinstance(rebuilt, Divergence):
                return rebuilt
            divergence = compare_views(views, rebuilt, within=snapshot)
            if divergence is not None:
                return divergence
            size, root = MerkleLog(rebuilt).root()
            return Verified(size, root.hex())
