"""`verify`'s fast path on SQLite: the rebuild's rows of the append-only views are compared
with the stored ones in the order the projection writes them, instead of being written,
in two halves that can run side by side.

`event_index`, `claim_versions` and `merkle_nodes` only ever grow, in event order, from
the one projection: `event_index` in position order (its key), `claim_versions` in rowid
order, each level of the Merkle log in start order. A rebuild that yields as many rows,
equal one by one in that order, has rebuilt the same view. Writing those rows (the feed's
data and each claim version's state, under random-key indexes) was
most of a private rebuild's cost at a million events; read in order they cost a scan.

- The **log half** (`projections.verify.log_half`) recomputes each stored event's feed row and
  leaf and appends it to a Merkle log, and compares them with the stored feed and
  Merkle nodes.
- The **views half** (`ComparedViews`) replays the stored feed rows, read back as the
  events they index, through the projection's handlers: claim versions are compared in
  write order, claims through them (`projections.verify.claims_check`), and the other views
  are written into scratch views and compared by key afterwards.

When the log half shows the stored feed equal to the stored events, the views half has
replayed the events themselves. The halves only answer "equal" or "not shown equal";
anything else, a difference or a store whose rows are right but not in write order, sends
`verify` to the full rebuild, which names the first divergence.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any, overload

from projections.events.feed_event import Applied
from projections.log.canonical import loads
from projections.storage.ledger_views import ScratchViews
from projections.storage.sql import SqlCursor
from projections.writer.claims_view import Claims
from projections.writer.pending_rows import PendingRows
from projections.writer.view_writer import ViewWriter

# The Merkle nodes of a log of `:leaves` leaves (a later snapshot may hold more).
IN_LOG = "level BETWEEN 0 AND 62 AND start >= 0 AND start + (1 << level) <= :leaves"
# Each append-only view as the projection writes it, from the stored file (attached as
# `stored`), and how many rows it has, up to the position checked (`:until`, where the
# log has `:leaves` leaves); `:level` is a level of the Merkle log. The log half may read
# a later snapshot than the views half: `nothing_beyond` checks the rest in the views'.
IN_WRITE_ORDER = {
    "event_index": (
        "SELECT * FROM stored.event_index WHERE position <= :until ORDER BY position",
        # `+position`: counted on the narrow leaf_index index, not the table itself.
        "SELECT COUNT(*) FROM stored.event_index WHERE +position <= :until",
    ),
    "merkle_nodes": (
        f"SELECT * FROM stored.merkle_nodes WHERE level = :level AND {IN_LOG} ORDER BY start",
        f"SELECT COUNT(*) FROM stored.merkle_nodes WHERE {IN_LOG}",
    ),
    "claim_versions": (
        "SELECT * FROM stored.claim_versions ORDER BY rowid",
        "SELECT COUNT(*) FROM stored.claim_versions",
    ),
}
LOG_TABLES = ("event_index", "merkle_nodes")
VIEWS_TABLES = ("claim_versions",)
# How to find a row of an append-only view by its key (its first columns), for `checked_up_to`.
ROWID_BY_KEY = {
    "claim_versions": "SELECT rowid FROM stored.claim_versions WHERE claim = ? AND version = ?"
}


class RowsDiffer(Exception):
    """A rebuilt row is not the next stored one."""


class StoredInOrder:
    """Stored append-only views read alongside a rebuild, one cursor per view (one per
    level of the Merkle log), on a connection that has the stored file attached as
    `stored` and holds one read transaction open (`replay.beside_a_snapshot`)."""

    def __init__(
        self, db: sqlite3.Connection, tables: Sequence[str], at_a_time: int, **limits: int
    ) -> None:
        self.db = db
        self.at_a_time = at_a_time  # rows fetched and compared at once
        self.tables = tables
        self.limits = limits
        self.cursors: dict[tuple[str, int], sqlite3.Cursor] = {}
        self.seen = dict.fromkeys(tables, 0)
        self.last: dict[str, tuple[Any, ...]] = {}  # the last row shown equal, by view

    def expect(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        """The next stored rows of `table` are `rows`; raises RowsDiffer if not."""
        if table != "merkle_nodes":
            self._expect(table, 0, rows)
            return
        by_level: defaultdict[int, list[tuple[Any, ...]]] = defaultdict(list)
        for row in rows:
            by_level[row[0]].append(row)
        for level, level_rows in by_level.items():
            self._expect(table, level, level_rows)

    def _expect(self, table: str, level: int, rows: list[tuple[Any, ...]]) -> None:
        cursor = self.cursors.get((table, level))
        if cursor is None:
            cursor = self.db.execute(IN_WRITE_ORDER[table][0], {**self.limits, "level": level})
            self.cursors[table, level] = cursor
        for start in range(0, len(rows), self.at_a_time):
            expected = rows[start : start + self.at_a_time]
            if cursor.fetchmany(len(expected)) != expected:
                raise RowsDiffer(table)
        self.seen[table] += len(rows)
        if rows:
            self.last[table] = rows[-1]

    def checked_up_to(self, table: str) -> int:
        """The rowid of the last stored row of `table` (in `ROWID_BY_KEY`) shown equal to
        the rebuild's: every stored row up to it is one the rebuild wrote (0 before any)."""
        last = self.last.get(table)
        if last is None:
            return 0
        (rowid,) = self.db.execute(ROWID_BY_KEY[table], last[:2]).fetchone()
        return int(rowid)

    def all_seen(self) -> bool:
        """No stored row is left over: each view has exactly as many rows as were expected."""
        for table in self.tables:
            (count,) = self.db.execute(IN_WRITE_ORDER[table][1], self.limits).fetchone()
            if count != self.seen[table]:
                return False
        return True


class ComparedRows(PendingRows):
    """Pending rows whose append-only views in `stored` are compared, not written."""

    def __init__(self, stored: StoredInOrder) -> None:
        super().__init__()
        self.stored = stored

    def flush(self, c: SqlCursor) -> None:
        for table in self.stored.tables:
            rows = self.inserts.pop(table, None)
            if rows:
                self.stored.expect(table, rows)
        super().flush(c)


def log_size(db: sqlite3.Connection, until: int) -> int:
    """How many leaves the stored feed has up to `until`."""
    (leaves,) = db.execute(IN_WRITE_ORDER["event_index"][1], {"until": until}).fetchone()
    return int(leaves)


def nothing_beyond(db: sqlite3.Connection, until: int) -> bool:
    """In the snapshot of the stored views at `until`, no feed row lies beyond it and no
    Merkle node beyond the log's size there."""
    limits = {"until": until, "leaves": log_size(db, until)}
    (later,) = db.execute(
        "SELECT COUNT(*) FROM stored.event_index WHERE position > :until", limits
    ).fetchone()
    (outside,) = db.execute(
        f"SELECT COUNT(*) FROM stored.merkle_nodes WHERE NOT ({IN_LOG})", limits
    ).fetchone()
    return bool(later == 0 and outside == 0)


class ViewsOnlyWriter(ViewWriter):
    """The projection without the feed and the Merkle log (the log half checks those)."""

    def apply_record(self, c: SqlCursor, e: Applied, leaf_index: int) -> None:
        self.project(c, e)


class ComparedViews(ScratchViews):
    """Scratch views for the views half: they write only what the projection reads back,
    and `compare_with` sends claim versions to the stored ones."""

    def compare_with(self, rows: ComparedRows, claims: Claims) -> None:
        """Send the append-only rows to their stored views, and read and write claims
        through `claims` (before any event is applied)."""
        self.writer = ViewsOnlyWriter(rows, claims, self.tuning)

    def next_leaf_index(self, c: SqlCursor) -> int:
        return 0  # no feed rows here: the log half counts the leaves


def feed_records(db: sqlite3.Connection, until: int, batch: int) -> Iterator[FeedBatch]:
    """The stored feed up to `until`, in batches of events as the feed row of each shows
    it (the log half checks those rows against the stored events)."""
    cursor = db.execute(
        "SELECT position, stream, version, type, recorded_at, actor, data "
        "FROM stored.event_index WHERE position <= ? ORDER BY position",
        (until,),
    )
    while rows := cursor.fetchmany(batch):
        yield FeedBatch(rows)


FeedRow = tuple[int, str, int, str, str, str, str]


class FeedBatch(Sequence[Applied]):
    """Stored feed rows, each decoded into `Applied` only when it is reached: decoding a
    whole batch first left each event out of the CPU's caches by the time it was applied."""

    def __init__(self, rows: list[FeedRow]) -> None:
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    @overload
    def __getitem__(self, index: int) -> Applied: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Applied]: ...

    def __getitem__(self, index: int | slice) -> Applied | Sequence[Applied]:
        if isinstance(index, slice):
            return FeedBatch(self.rows[index])
        return applied(self.rows[index])

    def __iter__(self) -> Iterator[Applied]:
        return map(applied, self.rows)


def applied(row: FeedRow) -> Applied:
    p, s, v, t, r, a, d = row
    return Applied(p, s, v, t, r, a, loads(d))
