"""`verify`'s fast path on SQLite: the rebuild's rows of the append-only views are compared
with the stored ones in the order the projection writes them, instead of being written.

`event_index`, `claim_versions` and `merkle_nodes` only ever grow, in event order, from
the one projection: `event_index` in position order (its key), `claim_versions` in rowid
order, each level of the Merkle log in start order. A rebuild that yields as many rows,
equal one by one in that order, has rebuilt the same view. Writing those rows (the feed's
data and each claim version's state, about 1 kB an event, under random-key indexes) was
most of a private rebuild's cost at a million events; read in order they cost a scan.
The other views are rebuilt into the scratch file as before (the projection reads them
back) and compared with joins on their keys.

The check answers only "equal" or "not shown equal". Anything else, a difference or a
store whose rows are right but not in write order, sends `verify` to the full rebuild,
which names the first divergence. Everything is read in one snapshot of the stored file.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

from projections.ledger_views import ScratchViews
from projections.merkle import NodeStoreTree, tree_root
from projections.pending_rows import PendingRows
from projections.sql import SqlCursor
from projections.view_writer import Applied, ViewWriter

Cursor = Any

# Each append-only view as the projection writes it: in order, from the stored file.
IN_WRITE_ORDER = {
    "event_index": "SELECT * FROM stored.event_index ORDER BY position",
    "claim_versions": "SELECT * FROM stored.claim_versions ORDER BY rowid",
    "merkle_nodes": "SELECT * FROM stored.merkle_nodes WHERE level=? ORDER BY start",
}


class RowsDiffer(Exception):
    """A rebuilt row is not the next stored one."""


class StoredInOrder:
    """The stored append-only views read alongside a rebuild, one cursor per view (one per
    level of the Merkle log), on a connection that has the stored file attached as
    `stored` and holds one read transaction open (`verification.beside_a_snapshot`)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.cursors: dict[tuple[str, int], sqlite3.Cursor] = {}
        self.seen: Counter[str] = Counter()

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
            parameters = (level,) if table == "merkle_nodes" else ()
            cursor = self.db.execute(IN_WRITE_ORDER[table], parameters)
            self.cursors[table, level] = cursor
        if cursor.fetchmany(len(rows)) != rows:
            raise RowsDiffer(table)
        self.seen[table] += len(rows)

    def all_seen(self) -> bool:
        """No stored row is left over: each view has exactly as many rows as were expected."""
        for table in IN_WRITE_ORDER:
            (count,) = self.db.execute(f"SELECT COUNT(*) FROM stored.{table}").fetchone()
            if count != self.seen[table]:
                return False
        return True


class ComparedRows(PendingRows):
    """Pending rows whose append-only views go to `StoredInOrder` instead of the database."""

    def __init__(self, stored: StoredInOrder) -> None:
        super().__init__()
        self.stored = stored

    def flush(self, c: Cursor) -> None:
        for table in IN_WRITE_ORDER:
            rows = self.inserts.pop(table, None)
            if rows:
                self.stored.expect(table, rows)
        super().flush(c)


class ComparedViews(ScratchViews):
    """Scratch views that write only what the projection reads back; `compare_with` sends
    the append-only views' rows to the stored ones. The log's size is counted here, as
    `event_index` stays empty (the projection never reads it back otherwise)."""

    leaves = 0
    cache_kib = 128 * 1024  # the rebuilt claims' indexes; 64 → 256 MB was 59 s → 55 s at 1 M

    def compare_with(self, stored: StoredInOrder) -> None:
        """Send the append-only rows to `stored` (before any event is applied)."""
        self.writer = ViewWriter(ComparedRows(stored))

    def next_leaf_index(self, c: SqlCursor) -> int:
        return self.leaves

    def _apply_records(self, records: Sequence[Applied]) -> int:
        position = super()._apply_records(records)
        self.leaves += len(records)
        return position

    def root(self) -> bytes:
        """The root of the rebuilt log, from the last node of each level (the Merkle
        frontier the writer keeps): exactly the subtrees a root at this size reads."""
        frontier = self.writer.frontier

        def node(level: int, start: int) -> bytes:
            known_start, hash_ = frontier[level]
            if known_start != start:
                raise LookupError(f"node ({level}, {start}) is not on the log's edge")
            return hash_

        return tree_root(NodeStoreTree(node), self.leaves)
