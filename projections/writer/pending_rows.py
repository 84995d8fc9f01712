"""Rows the view writer has applied in memory but not yet written: one `executemany`
per table when a batch finishes (or before any read that must see them)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from projections.storage.sql import SqlCursor

INSERTS = {
    "event_index": "INSERT INTO event_index VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "merkle_nodes": "INSERT INTO merkle_nodes VALUES (?, ?, ?)",
    "claim_versions": "INSERT INTO claim_versions VALUES (?, ?, ?, ?, ?, ?, ?)",
    "timeline": "INSERT INTO timeline VALUES (?, ?, ?, ?, ?, ?, ?)",
    "metrics": "INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
}
# A claim's row is written once per batch, with its last state: new or changed alike.
UPSERT_CLAIM = (
    "INSERT INTO claims VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
    "origin=excluded.origin, reported_by=excluded.reported_by, status=excluded.status, "
    "version=excluded.version, state=excluded.state"
)


class PendingRows:
    """Rows applied in memory but not yet written, table by table, in event order."""

    def __init__(self) -> None:
        self.inserts: defaultdict[str, list[tuple[Any, ...]]] = defaultdict(list)
        self.claims: dict[str, tuple[Any, ...]] = {}  # id -> the claims row, last wins

    def insert(self, table: str, row: tuple[Any, ...]) -> None:
        self.inserts[table].append(row)

    def extend(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        self.inserts[table].extend(rows)

    def take(self, table: str) -> list[tuple[Any, ...]]:
        """The rows pending for `table`, no longer pending."""
        return self.inserts.pop(table, [])

    def put_claim(self, row: tuple[Any, ...]) -> None:
        self.claims[row[0]] = row

    def flush(self, c: SqlCursor) -> None:
        """Write everything pending, so the transaction's reads see it."""
        for table, rows in self.inserts.items():
            if rows:
                c.executemany(INSERTS[table], rows)
                rows.clear()
        if self.claims:
            c.executemany(UPSERT_CLAIM, list(self.claims.values()))
            self.claims.clear()

    def clear(self) -> None:
        self.inserts.clear()
        self.claims.clear()
