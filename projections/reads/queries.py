"""Read queries over the views: what the API and CLI answer from. Never writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from domain.errors import ClaimNotFound, MetricNotFound, NotFound, SourceNotFound
from domain.estimates import DEFAULT_METHOD, Estimate
from domain.related import NOTHING, Related
from projections.reads.check_queries import CheckQueries
from projections.reads.estimate_pages import (
    BadCursor,
    MetricClaims,
    decode_snapshot_cursor,
    encode_snapshot_cursor,
    estimate_page,
)
from projections.reads.pages import Page, Row, decode_cursor, page
from projections.reads.positions_at import PositionsAt, tracked_position
from projections.reads.related_reads import FiguresAt, related_at
from projections.reads.relation_queries import RelationQueries
from projections.storage.ledger_views import BaseLedgerViews
from projections.storage.sqlite_reads import own_sqlite_reads
from projections.writer.estimate_summary import (
    decode_fields,
    decode_summary,
    has_open_ends,
    summary_fields,
)
from projections.writer.related_summary import decode_related


class NotKnownYet(NotFound):
    """The metric exists, but was not defined at the requested `known_at`."""

    kind = "metric"

    def __init__(self, identifier: str, known_at: str) -> None:
        super().__init__(identifier)
        self.args = (f"metric {identifier!r} was not defined at {known_at}",)


@dataclass(frozen=True)
class EstimateAnswer:
    metric: str
    unit: str
    known_at: str | None
    valid_at: date | None
    position: int
    estimate: Estimate
    next_cursor: str | None = None  # of the explanation's next page
    related: Related = NOTHING  # derived figures and checks (§9)


@dataclass(frozen=True)
class SnapshotPage:
    known_at: str
    position: int
    estimates: list[EstimateAnswer]
    next_cursor: str | None


@dataclass(frozen=True)
class ClaimFilters:
    metric: str | None = None
    origin: str | None = None
    reported_by: str | None = None
    status: str | None = None


class LedgerQueries(RelationQueries, CheckQueries):
    """Answers from the view tables, each in one read transaction (the relations'
    from `RelationQueries`, the checks' from `CheckQueries`)."""

    def __init__(self, views: BaseLedgerViews) -> None:
        self.views = views
        self._sqlite = own_sqlite_reads(views)
        self._positions_at = PositionsAt()

    @contextmanager
    def read_transaction(self) -> Iterator[Any]:
        """One read snapshot of the views: over this object's own connections on a SQLite
        file, else the views' own transaction."""
        if self._sqlite is not None:
            with self._sqlite.transaction() as connection:
                yield connection
            return
        with self.views.sql_transaction() as c:
            yield c

    def position_at(self, c: Any, known_at: str) -> int:
        """The last position recorded at or before `known_at`, in the read `c`."""
        return self._positions_at.position_at(c, known_at)

    def close(self) -> None:
        """Close this object's own connections (the views close theirs)."""
        if self._sqlite is not None:
            self._sqlite.close()

    # Sources

    def source(self, slug: str) -> Row:
        with self.read_transaction() as c:
            row = c.execute(SOURCE_SELECT + " WHERE s.id=?", (slug,)).fetchone()
            if row is None:
                raise SourceNotFound(slug)
            return dict(row)

    def sources(self, cursor: str | None, limit: int) -> Page:
        after = decode_cursor(cursor, str) if cursor else ""
        with self.read_transaction() as c:
            rows = c.execute(
                SOURCE_SELECT + " WHERE s.id > ? ORDER BY s.id LIMIT ?", (after, limit + 1)
            ).fetchall()
        return page([dict(r) for r in rows], limit, "id")

    # Metrics

    def metric(self, slug: str) -> Row:
        with self.read_transaction() as c:
            row = c.execute(METRIC_SELECT + " WHERE id=?", (slug,)).fetchone()
            if row is None:
                raise MetricNotFound(slug)
            return self._metric_row(c, row)

    def metrics(self, cursor: str | None, limit: int) -> Page:
        after = decode_cursor(cursor, str) if cursor else ""
        with self.read_transaction() as c:
            rows = c.execute(
                METRIC_SELECT + " WHERE id > ? ORDER BY id LIMIT ?", (after, limit + 1)
            ).fetchall()
            found = [self._metric_row(c, r) for r in rows]
        return page(found, limit, "id")

    # Claims

    def claim(self, claim_id: str, version: int | None = None) -> Row:
        with self.read_transaction() as c:
            if version is None:
                row = c.execute("SELECT state FROM claims WHERE id=?", (claim_id,)).fetchone()
            else:
                row = c.execute(
                    "SELECT state FROM claim_versions WHERE claim=? AND version=?",
                    (claim_id, version),
                ).fetchone()
            if row is None:
                raise ClaimNotFound(claim_id if version is None else f"{claim_id} v{version}")
            state: Row = json.loads(row[0])
            return state

    def claims(self, filters: ClaimFilters, cursor: str | None, limit: int) -> Page:
        after = decode_cursor(cursor, int) if cursor else 0
        where = ["position > ?"]
        params: list[Any] = [after]
        for name in ("metric", "origin", "reported_by", "status"):
            value = getattr(filters, name)
            if value is not None:
                where.append(f"{name} = ?")
                params.append(value)
        sql = f"SELECT state, position FROM claims WHERE {' AND '.join(where)} "
        sql += "ORDER BY position LIMIT ?"
        with self.read_transaction() as c:
            rows = c.execute(sql, (*params, limit + 1)).fetchall()
        items = [{**json.loads(r[0]), "_position": r[1]} for r in rows]
        result = page(items, limit, "_position")
        for item in result.items:
            item.pop("_position")
        return result

    def claim_history(self, claim_id: str) -> list[Row]:
        with self.read_transaction() as c:
            rows = c.execute(
                "SELECT position, version, type, recorded_at, actor, data FROM event_index "
                "WHERE stream=? ORDER BY version",
                (claim_id,),
            ).fetchall()
        if not rows or not rows[0]["type"].startswith("Claim."):
            raise ClaimNotFound(claim_id)
        return [{**dict(r), "data": json.loads(r["data"])} for r in rows]

    # Estimates

    def estimate(
        self,
        metric: str,
        method: str = DEFAULT_METHOD,
        known_at: str | None = None,
        valid_at: date | None = None,
        *,
        lines: int = 0,
        cursor: str | None = None,
    ) -> EstimateAnswer:
        """§4, from the stored versions and ratings: no replay of the event log. With
        `lines`, a page of the explanation: that many lines after `cursor` at most."""
        with self.read_transaction() as c:
            return self._estimate(c, metric, method, known_at, valid_at, lines, cursor)

    def current_estimate(self, metric: str) -> EstimateAnswer:
        """The default method's estimate now, without explanation: the summary the
        projection keeps in `metrics` (decision 0006; held equal to `estimate` by the
        tests) with its derived figures and checks from `related_figures`, so one row
        instead of every claim of the metric and of the metrics related to it; from the
        claims when the stored summary predates open ends (decision 0018)."""
        stored = self.stored_estimate(metric)
        return stored if stored is not None else self.estimate(metric)

    def stored_estimate(self, metric: str) -> EstimateAnswer | None:
        """The stored summary alone (one indexed row, cheap enough for the event loop);
        None when it predates open ends and the claims must answer."""
        with self.read_transaction() as c:
            row = c.execute(CURRENT_ESTIMATE, (metric,)).fetchone()
            if row is None:
                raise MetricNotFound(metric)
            if not has_open_ends(decode_fields(row[1])):
                return None
            position = tracked_position(c)
        estimate = decode_summary(row[1])
        related = NOTHING if row[2] is None else decode_related(row[2])
        return EstimateAnswer(metric, row[0], None, None, position, estimate, None, related)

    def _metric_row(self, c: Any, row: Any) -> Row:
        """A metric's row with its stored summary; one stored before summaries said their
        open ends is answered from the claims instead (decision 0018)."""
        result = metric_row(row)
        if not has_open_ends(result["estimate"]):
            answer = self._estimate(c, result["id"], DEFAULT_METHOD, None, None)
            result["estimate"] = summary_fields(answer.estimate)
        return result

    def _estimate(
        self,
        c: Any,
        metric: str,
        method: str,
        known_at: str | None,
        valid_at: date | None,
        lines: int = 0,
        cursor: str | None = None,
        upto: int | None = None,
        figures: FiguresAt | None = None,
    ) -> EstimateAnswer:
        """The estimate as known then; `figures` may carry other metrics' estimates already
        read at the same moment (a snapshot's page shares them)."""
        row = c.execute("SELECT unit, recorded_at FROM metrics WHERE id=?", (metric,)).fetchone()
        if row is None:
            raise MetricNotFound(metric)
        unit, defined_at = row
        if known_at is None:
            position = tracked_position(c)
        else:
            if known_at < defined_at:
                raise NotKnownYet(metric, known_at)
            position = self._positions_at.position_at(c, known_at) if upto is None else upto
        claims = MetricClaims(c, self.views.dialect, metric, known_at, upto)
        estimate, next_cursor = estimate_page(claims, method, valid_at, lines, cursor)
        if figures is None:
            figures = FiguresAt(c, self.views.dialect, known_at, upto, valid_at, method)
        related = related_at(figures, metric, estimate)
        return EstimateAnswer(
            metric, unit, known_at, valid_at, position, estimate, next_cursor, related
        )

    def timeline(self, metric: str, cursor: str | None = None, limit: int = 1000) -> Page:
        """The metric's timeline points in position order, a page at a time."""
        after = decode_cursor(cursor, int) if cursor else 0
        with self.read_transaction() as c:
            if c.execute("SELECT 1 FROM metrics WHERE id=?", (metric,)).fetchone() is None:
                raise MetricNotFound(metric)
            rows = c.execute(
                "SELECT position, recorded_at, low, best, high, included FROM timeline "
                "WHERE metric=? AND position>? ORDER BY position LIMIT ?",
                (metric, after, limit + 1),
            ).fetchall()
        return page([dict(r) for r in rows], limit, "position")

    def snapshot_page(
        self, known_at: str | None, cursor: str | None = None, limit: int = 100
    ) -> SnapshotPage:
        """Metrics defined at `known_at`, by id, each with its default estimate as known
        then. A cursor carries the moment and the position of the first page, so every
        page answers as of the same events however many arrive meanwhile."""
        with self.read_transaction() as c:
            if cursor:
                moment, upto, after = decode_snapshot_cursor(cursor)
                if known_at is not None and known_at != moment:
                    raise BadCursor(cursor)
            elif known_at is None:
                raise ValueError("the first page of a snapshot needs its moment")
            else:
                moment, after = known_at, ""
                upto = self._positions_at.position_at(c, moment)
            slugs = [
                r[0]
                for r in c.execute(
                    "SELECT id FROM metrics WHERE recorded_at<=? AND position<=? AND id>? "
                    "ORDER BY id LIMIT ?",
                    (moment, upto, after, limit + 1),
                ).fetchall()
            ]
            figures = FiguresAt(c, self.views.dialect, moment, upto)
            answers = [
                self._estimate(c, s, DEFAULT_METHOD, moment, None, upto=upto, figures=figures)
                for s in slugs[:limit]
            ]
        more = len(slugs) > limit
        next_cursor = encode_snapshot_cursor(moment, upto, slugs[limit - 1]) if more else None
        return SnapshotPage(moment, upto, answers, next_cursor)

    def snapshot(self, known_at: str) -> tuple[int, list[EstimateAnswer]]:
        """Every metric defined at `known_at`, with its default estimate as known then:
        every page of `snapshot_page` (for callers that want them all)."""
        first = self.snapshot_page(known_at)
        answers, cursor = list(first.estimates), first.next_cursor
        while cursor is not None:
            following = self.snapshot_page(None, cursor)
            answers += following.estimates
            cursor = following.next_cursor
        return first.position, answers

    # Audit feed

    def audit_events(self, after: int, limit: int) -> tuple[list[Row], int | None]:
        """Events after a position, in order, as §5/§6 show them; and the next `after`."""
        with self.read_transaction() as c:
            rows = c.execute(
                "SELECT position, leaf_index, stream, version, type, recorded_at, actor, data, "
                "leaf_hash FROM event_index WHERE position > ? ORDER BY position LIMIT ?",
                (after, limit + 1),
            ).fetchall()
        events = [{**dict(r), "data": json.loads(r["data"])} for r in rows[:limit]]
        more = len(rows) > limit
        return events, (events[-1]["position"] if more else None)

    # API keys

    def key_by_hash(self, key_hash: str) -> Row | None:
        with self.read_transaction() as c:
            row = c.execute(
                "SELECT id, name, role, revoked_at FROM api_keys WHERE key_hash=?", (key_hash,)
            ).fetchone()
        return dict(row) if row is not None else None

    def api_keys(self) -> list[Row]:
        with self.read_transaction() as c:
            rows = c.execute(
                "SELECT id, name, role, created_at, created_by, revoked_at FROM api_keys "
                "ORDER BY position"
            ).fetchall()
        return [dict(r) for r in rows]

    def count_keys(self) -> int:
        with self.read_transaction() as c:
            return int(c.execute("SELECT COUNT(*) FROM api_keys").fetchone()[0])


SOURCE_SELECT = (
    "SELECT s.id, s.name, s.kind, s.url, s.reliability, s.version, "
    "(SELECT COUNT(*) FROM claims c WHERE c.reported_by = s.id OR c.origin = s.id) AS claims "
    "FROM sources s"
)
METRIC_SELECT = (
    "SELECT id, name, unit, description, version, estimate, r.figures AS related "
    "FROM metrics LEFT JOIN related_figures r ON r.metric = metrics.id"
)
CURRENT_ESTIMATE = (
    "SELECT m.unit, m.estimate, r.figures FROM metrics m "
    "LEFT JOIN related_figures r ON r.metric = m.id WHERE m.id=?"
)


def metric_row(row: Any) -> Row:
    result = dict(row)
    result["estimate"] = decode_fields(result["estimate"])
    related = result.pop("related")
    result["related"] = NOTHING if related is None else decode_related(related)
    return result
