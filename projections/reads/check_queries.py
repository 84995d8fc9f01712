"""The checks of relations (§9) as the API lists them: now, from the checks the projection
keeps (`relation_checks`), or as known at a moment, computed then (`related_reads`).
Mixed into `LedgerQueries`."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from domain.related import RelationCheck
from projections.reads.estimate_pages import (
    BadCursor,
    decode_snapshot_cursor,
    encode_snapshot_cursor,
)
from projections.reads.pages import decode_cursor, encode_cursor
from projections.reads.positions_at import PositionsAt, tracked_position
from projections.reads.related_reads import checks_after, checks_at
from projections.writer.related_summary import check_from_row

if TYPE_CHECKING:
    from projections.storage.ledger_views import BaseLedgerViews

CHECKS_NOW = "SELECT c.relation, c.kind, c.status, c.metrics, c.message FROM relation_checks c"
# A check of a relation whose current version ties the metric.
CHECKS_TOUCHING = (
    " AND EXISTS (SELECT 1 FROM relation_metrics m JOIN relations r "
    "ON r.id = m.relation AND r.version = m.version WHERE m.relation = c.relation "
    "AND m.metric = ?)"
)


@dataclass(frozen=True)
class ChecksPage:
    known_at: str | None
    position: int
    items: list[RelationCheck]
    next_cursor: str | None


class CheckQueries:
    """The check reads of `LedgerQueries`, each in one read transaction."""

    if TYPE_CHECKING:
        views: BaseLedgerViews
        _positions_at: PositionsAt

        def read_transaction(self) -> AbstractContextManager[Any]: ...

    def checks_at(
        self, known_at: str | None, upto: int | None = None, metric: str | None = None
    ) -> list[RelationCheck]:
        """Every live relation's check as known at `known_at` and `upto` (None: no bound),
        by relation; those touching `metric` only, when given."""
        with self.read_transaction() as c:
            return checks_at(c, self.views.dialect, known_at, upto, metric)

    def checks_now(self) -> list[RelationCheck]:
        """Every live relation's check as the projection keeps it, by relation."""
        with self.read_transaction() as c:
            rows = c.execute(CHECKS_NOW + " ORDER BY c.relation").fetchall()
        return [check_from_row(tuple(r)) for r in rows]

    def checks_page(
        self,
        known_at: str | None,
        status: str | None,
        metric: str | None,
        cursor: str | None,
        limit: int,
    ) -> ChecksPage:
        """A page of checks by relation: now from the kept checks, or computed as known at
        `known_at` (the cursor carries the moment and position of the first page)."""
        with self.read_transaction() as c:
            if cursor is not None and known_at is not None:
                moment, upto, after = decode_snapshot_cursor(cursor)
                if moment != known_at:
                    raise BadCursor(cursor)
            elif known_at is not None:
                moment, after = known_at, ""
                upto = self._positions_at.position_at(c, known_at)
            else:
                after = decode_cursor(cursor, str) if cursor else ""
                return self._checks_now_page(c, status, metric, after, limit)
            items = checks_after(
                c, self.views.dialect, moment, upto, metric, status, after, limit + 1
            )
        more = len(items) > limit
        next_cursor = (
            encode_snapshot_cursor(moment, upto, items[limit - 1].relation) if more else None
        )
        return ChecksPage(moment, upto, items[:limit], next_cursor)

    def _checks_now_page(
        self, c: Any, status: str | None, metric: str | None, after: str, limit: int
    ) -> ChecksPage:
        sql, parameters = CHECKS_NOW + " WHERE c.relation > ?", [after]
        if status is not None:
            sql += " AND c.status = ?"
            parameters.append(status)
        if metric is not None:
            sql += CHECKS_TOUCHING
            parameters.append(metric)
        rows = c.execute(sql + " ORDER BY c.relation LIMIT ?", (*parameters, limit + 1))
        items = [check_from_row(tuple(r)) for r in rows.fetchall()]
        position = tracked_position(c)
        more = len(items) > limit
        next_cursor = encode_cursor(items[limit - 1].relation) if more else None
        return ChecksPage(None, position, items[:limit], next_cursor)
