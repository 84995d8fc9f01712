"""The relations (§9) as the views hold them: now, or as known at a moment (`known_at`, an
RFC 3339 time in the views' text form) and/or at a position (`upto`), from
`relation_versions`: a query, never a replay.

The functions take the caller's read transaction, so an estimate can read the relations in
the same snapshot as its claims; `RelationQueries` (mixed into `LedgerQueries`) opens one.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from domain.errors import RelationNotFound
from domain.relations import Terms, terms_from
from projections.log.canonical import loads
from projections.reads.estimate_pages import LAST_POSITION
from projections.reads.pages import Page, Row, decode_cursor, page
from projections.reads.positions_at import tracked_position

# Later than every RFC 3339 time the views hold (they all start with a digit).
NO_TIME_BOUND = "~"

NOW_COLUMNS = "id, kind, terms, note, removed, version, position, recorded_at, defined_at"
NOW_SELECT = f"SELECT {NOW_COLUMNS} FROM relations r"
# Each relation's last version recorded by a time and at or before a position.
KNOWN_SELECT = (
    "SELECT v.relation AS id, v.kind, v.terms, v.note, v.removed, v.version, v.position, "
    "v.recorded_at, r.defined_at FROM relation_versions v JOIN relations r ON r.id = v.relation "
    "WHERE v.version = (SELECT MAX(w.version) FROM relation_versions w "
    "WHERE w.relation = v.relation AND w.recorded_at <= ? AND w.position <= ?)"
)
TOUCHING_NOW = (
    " AND EXISTS (SELECT 1 FROM relation_metrics m "
    "WHERE m.metric = ? AND m.relation = r.id AND m.version = r.version)"
)
TOUCHING_KNOWN = (
    " AND EXISTS (SELECT 1 FROM relation_metrics m "
    "WHERE m.metric = ? AND m.relation = v.relation AND m.version = v.version)"
)


class RelationNotKnownYet(RelationNotFound):
    """The relation exists, but was not defined at the requested moment."""

    def __init__(self, identifier: str, known_at: str) -> None:
        super().__init__(identifier)
        self.args = (f"relation {identifier!r} was not defined at {known_at}",)


def relation_public_row(row: Any) -> Row:
    """A relation's row with its terms decoded and `removed` a boolean."""
    result = dict(row)
    result["terms"] = loads(result["terms"])
    result["removed"] = bool(result["removed"])
    return result


def bounds(known_at: str | None, upto: int | None) -> tuple[str, int]:
    return (
        NO_TIME_BOUND if known_at is None else known_at,
        LAST_POSITION if upto is None else upto,
    )


def relation_in(c: Any, slug: str, known_at: str | None = None, upto: int | None = None) -> Row:
    """One relation (removed ones too, `removed` true), now or as known then."""
    if known_at is None and upto is None:
        row = c.execute(NOW_SELECT + " WHERE id = ?", (slug,)).fetchone()
    else:
        time, position = bounds(known_at, upto)
        row = c.execute(KNOWN_SELECT + " AND v.relation = ?", (time, position, slug)).fetchone()
        defined = c.execute("SELECT 1 FROM relations WHERE id = ?", (slug,)).fetchone()
        if row is None and known_at is not None and defined is not None:
            raise RelationNotKnownYet(slug, known_at)
    if row is None:
        raise RelationNotFound(slug)
    return relation_public_row(row)


def live_relation_rows(
    c: Any,
    known_at: str | None = None,
    upto: int | None = None,
    metric: str | None = None,
    after: str = "",
    limit: int | None = None,
) -> list[Row]:
    """The live (not removed) relations now or as known then, by id after `after`: those
    touching `metric` only, when given; at most `limit`."""
    if known_at is None and upto is None:
        sql = NOW_SELECT + " WHERE r.removed = 0 AND r.id > ?"
        parameters: list[Any] = [after]
        if metric is not None:
            sql += TOUCHING_NOW
            parameters.append(metric)
        sql += " ORDER BY r.id"
    else:
        sql = KNOWN_SELECT + " AND v.removed = 0 AND v.relation > ?"
        parameters = [*bounds(known_at, upto), after]
        if metric is not None:
            sql += TOUCHING_KNOWN
            parameters.append(metric)
        sql += " ORDER BY v.relation"
    if limit is not None:
        sql += " LIMIT ?"
        parameters.append(limit)
    return [relation_public_row(r) for r in c.execute(sql, tuple(parameters)).fetchall()]


def relations_known_in(
    c: Any, known_at: str | None, upto: int | None, metric: str | None = None
) -> list[tuple[str, Terms]]:
    """The live relations as known at `known_at` and `upto` (None: no bound; both None:
    now), each as its slug and terms, by slug; those touching `metric` only, when given."""
    return [
        (row["id"], terms_from(row["kind"], row["terms"]))
        for row in live_relation_rows(c, known_at, upto, metric)
    ]


class RelationQueries:
    """The relation reads of `LedgerQueries`, each in one read transaction."""

    if TYPE_CHECKING:

        def read_transaction(self) -> AbstractContextManager[Any]: ...

    def relation(self, slug: str, known_at: str | None = None) -> tuple[Row, int]:
        """One relation, now or as known at `known_at` (RelationNotKnownYet before it was
        defined), and the position the answer reflects."""
        with self.read_transaction() as c:
            return relation_in(c, slug, known_at), tracked_position(c)

    def relations(
        self, metric: str | None, known_at: str | None, cursor: str | None, limit: int
    ) -> Page:
        """A page of the live relations by id, now or as known at `known_at`; with
        `metric`, those that touch it."""
        after = decode_cursor(cursor, str) if cursor else ""
        with self.read_transaction() as c:
            rows = live_relation_rows(c, known_at, None, metric, after, limit + 1)
        return page(rows, limit, "id")

    def relations_known(
        self, known_at: str | None, upto: int | None = None
    ) -> list[tuple[str, Terms]]:
        """The live relations as known at `known_at` and `upto` (None = now): slug, terms."""
        with self.read_transaction() as c:
            return relations_known_in(c, known_at, upto)

    def relations_touching(
        self, metric: str, known_at: str | None = None, upto: int | None = None
    ) -> list[tuple[str, Terms]]:
        """The live relations that tie `metric`, as known at `known_at` and `upto`."""
        with self.read_transaction() as c:
            return relations_known_in(c, known_at, upto, metric)
