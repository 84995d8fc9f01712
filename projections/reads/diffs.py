"""Explained diffs of a metric between two moments (§9), a page of events at a time.

The two ends are prefixes of the log: the events at or before a position (a time end
is the last position recorded by then). Between them, the events that can move the
metric's default estimate (candidates) are its claims' events, the events of the claims
they were computed from, and the ratings of their origins, in position order. Each
one's effect is the estimate as of its position less the estimate as of the candidate
before it (the views keep every claim version and rating with its position, so that is
a query, never a replay; `diff_steps` moves it from one to the next), so the effects
add up to the change between the ends. A page holds at most `limit`
candidates; its cursor carries both ends and the last position given, so every page
answers between the same two ends however many events arrive meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from domain.diffs import Effect, Figures, effect, event_reason, reason_phrase
from domain.errors import MetricNotFound, ValidationFailed
from domain.event_data import rfc3339
from domain.values import Reliability
from projections.reads.audit_log import MerkleLog
from projections.reads.diff_steps import SteppedEstimate
from projections.reads.estimate_pages import (
    LAST_POSITION,
    BadCursor,
    decode,
    encode,
)
from projections.reads.positions_at import tracked_position
from projections.reads.queries import LedgerQueries
from projections.reads.related_reads import checks_at
from projections.storage.sql import POSTGRES, SQLITE

# What the metric's claims rest on, from every version's state (JSON): the claims they
# were computed from (`inputs`: an input's retraction excludes them), and their origins,
# a joint origin's parts (`origins`) too: a rating of a source that was an origin only
# before a correction of `attributed_to` still moved the estimate then.
SQLITE_INPUTS = "SELECT j.value FROM claim_versions v, json_each(v.state, '$.inputs') j"
SQLITE_ORIGINS = (
    "SELECT json_extract(state, '$.origin') FROM claim_versions WHERE metric=? UNION "
    "SELECT j.value FROM claim_versions v, json_each(v.state, '$.origins') j WHERE v.metric=?"
)


def postgres_array(name: str) -> str:
    """The state's array `name` as rows of text (none when absent or not an array)."""
    field = f"v.state::jsonb -> '{name}'"
    return (
        f"jsonb_array_elements_text(CASE WHEN jsonb_typeof({field}) = 'array' "
        f"THEN {field} ELSE '[]'::jsonb END)"
    )


POSTGRES_INPUTS = f"SELECT j FROM claim_versions v, {postgres_array('inputs')} j"
POSTGRES_ORIGINS = (
    "SELECT v.state::jsonb ->> 'origin' FROM claim_versions v WHERE v.metric=? UNION "
    f"SELECT j FROM claim_versions v, {postgres_array('origins')} j WHERE v.metric=?"
)
OWN_CLAIMS = "SELECT claim FROM claim_versions WHERE metric=?"
# The candidates after a position, in log order: events of the metric's claims (and of
# their inputs, flagged), and ratings of their origins.
CANDIDATES = (
    "SELECT position, claim, CAST(NULL AS TEXT) AS source,"
    f" CASE WHEN claim IN ({OWN_CLAIMS}) THEN 0 ELSE 1 END AS input"
    " FROM claim_versions WHERE position>? AND position<=?"
    f" AND claim IN ({OWN_CLAIMS} UNION {{inputs}} WHERE v.metric=?)"
    " UNION ALL"
    " SELECT position, CAST(NULL AS TEXT) AS claim, source, 0 AS input FROM source_ratings"
    " WHERE position>? AND position<=? AND source IN ({origins})"
    " ORDER BY position LIMIT ?"
)
SQL = {
    SQLITE: CANDIDATES.format(inputs=SQLITE_INPUTS, origins=SQLITE_ORIGINS),
    POSTGRES: CANDIDATES.format(inputs=POSTGRES_INPUTS, origins=POSTGRES_ORIGINS),
}


@dataclass(frozen=True)
class EndAsked:
    """One end as asked: a position (`@N`), a time, or neither (now)."""

    position: int | None = None
    known_at: str | None = None


@dataclass(frozen=True)
class End:
    known_at: str | None  # the time asked, or when the end's last event was recorded
    position: int
    tree_size: int
    root_hash: str = ""


@dataclass(frozen=True)
class Change:
    position: int
    recorded_at: str
    type: str
    claim: str | None
    source: str | None
    actor: str
    effect: Effect
    after: Figures
    reason: str
    event_reason: str | None


@dataclass(frozen=True)
class CheckChange:
    """A relation touching the metric whose check differs between the ends; a status is
    None at an end where the relation did not exist."""

    relation: str
    kind: str
    before: str | None
    after: str | None
    message: str  # the check's at the later end, or at the earlier one if it was removed


@dataclass(frozen=True)
class DiffPage:
    metric: str
    unit: str
    start: End
    end: End
    estimate_from: Figures
    estimate_to: Figures
    changes: list[Change]
    unchanged_events: int
    consistency_path: list[str]
    next_cursor: str | None
    checks_changed: list[CheckChange]


def bad_end(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([(field, message)])


class MetricDiffs:
    """Diffs of one metric's default estimate, read from the views and the Merkle log."""

    def __init__(self, queries: LedgerQueries, log: MerkleLog, stepped: bool = True) -> None:
        """`stepped`: move the estimate from event to event where that is exact
        (`diff_steps`); False reads it afresh at every event (the tests compare both)."""
        self.queries, self.log, self.stepped = queries, log, stepped

    def page(
        self,
        metric: str,
        start: EndAsked | None,
        end: EndAsked | None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> DiffPage:
        """The changes after `cursor` (or from the start), at most `limit` events looked
        at. Without a cursor `start` is needed; with one, ends given must be its own."""
        with self.queries.read_transaction() as c:
            row = c.execute("SELECT unit FROM metrics WHERE id=?", (metric,)).fetchone()
            if row is None:
                raise MetricNotFound(metric)
            if cursor:
                first, last, after = self._from_cursor(c, metric, cursor, start, end)
            else:
                if start is None:
                    raise bad_end("from", "is required (a time, a date or @position)")
                first = self._resolve(c, start, "from")
                last = self._resolve(c, end or EndAsked(), "to")
                to_time = (end or EndAsked(known_at=last.known_at)).known_at
                if first.position > last.position or (
                    start.known_at is not None and to_time is not None and start.known_at > to_time
                ):
                    raise bad_end("from", "must not be after to")
                after = first.position
            changes, unchanged, looked_at, more = self._changes(c, metric, after, last, limit)
            estimate_from = self._figures(c, metric, first.position)
            estimate_to = self._figures(c, metric, last.position)
            checks_changed = self._checks_changed(c, metric, first, last)
        first, last, path = self._sealed(first, last)
        next_cursor = None
        if more and looked_at:
            next_cursor = encode_diff_cursor(metric, first, last, looked_at)
        return DiffPage(
            metric,
            str(row[0]),
            first,
            last,
            estimate_from,
            estimate_to,
            changes,
            unchanged,
            path,
            next_cursor,
            checks_changed,
        )

    def _resolve(self, c: Any, asked: EndAsked, field: str) -> End:
        latest = tracked_position(c)
        if asked.position is not None:
            if asked.position > latest:
                raise bad_end(field, f"position {asked.position} is past the log (at {latest})")
            position = asked.position
            known_at = None
        elif asked.known_at is not None:
            position = self.queries.position_at(c, asked.known_at)
            known_at = asked.known_at
        else:
            position, known_at = latest, rfc3339(datetime.now(UTC))
        row = c.execute(
            "SELECT leaf_index, recorded_at FROM event_index WHERE position<=? "
            "ORDER BY position DESC LIMIT 1",
            (position,),
        ).fetchone()
        tree_size = 0 if row is None else int(row[0]) + 1
        if known_at is None and row is not None:
            known_at = str(row[1])
        return End(known_at, position, tree_size)

    def _from_cursor(
        self,
        c: Any,
        metric: str,
        cursor: str,
        start: EndAsked | None,
        end: EndAsked | None,
    ) -> tuple[End, End, int]:
        first, last, after = decode_diff_cursor(metric, cursor)
        if last.position > tracked_position(c):
            raise BadCursor(cursor)
        for asked, pinned, field in ((start, first, "from"), (end, last, "to")):
            if asked is not None and self._resolve(c, asked, field).position != pinned.position:
                raise BadCursor(cursor)
        return first, last, after

    def _changes(
        self, c: Any, metric: str, after: int, last: End, limit: int
    ) -> tuple[list[Change], int, int, bool]:
        """The changes among the next `limit` candidates after `after`; how many moved
        nothing; the last position looked at; whether candidates remain."""
        upto = last.position
        rows = c.execute(
            SQL[self.queries.views.dialect],
            (metric, after, upto, metric, metric, after, upto, metric, metric, limit + 1),
        ).fetchall()
        more = len(rows) > limit
        candidates = [(int(r[0]), r[1], r[2], bool(r[3])) for r in rows[:limit]]
        events = self._events(c, [candidate[0] for candidate in candidates])
        changes: list[Change] = []
        unchanged = 0
        estimate = SteppedEstimate(c, self.queries.views.dialect, metric, after)
        before = estimate.figures
        for position, claim, source, of_input in candidates:
            recorded_at, event_type, actor, data = events[position]
            if not self.stepped:
                now = estimate.read_afresh(position)
            elif source is not None:
                now = estimate.rating(source, Reliability(data["reliability"]))
            else:
                now = estimate.claim_event(claim, position, of_input)
            if now == before:
                unchanged += 1
                continue
            changes.append(
                Change(
                    position,
                    recorded_at,
                    event_type,
                    claim,
                    source,
                    actor,
                    effect(before, now),
                    now,
                    ("input " if of_input else "") + reason_phrase(event_type, data),
                    event_reason(event_type, data),
                )
            )
            before = now
        looked_at = candidates[-1][0] if candidates else after
        return changes, unchanged, looked_at, more

    def _checks_changed(self, c: Any, metric: str, first: End, last: End) -> list[CheckChange]:
        """The relations touching the metric whose check status differs between the ends."""
        dialect = self.queries.views.dialect
        before = {r.relation: r for r in checks_at(c, dialect, None, first.position, metric)}
        after = {r.relation: r for r in checks_at(c, dialect, None, last.position, metric)}
        changed = []
        for relation in sorted(before.keys() | after.keys()):
            old, new = before.get(relation), after.get(relation)
            old_status = None if old is None else old.status.value
            new_status = None if new is None else new.status.value
            if old_status != new_status:
                shown = new or old
                assert shown is not None  # one of the two holds the relation
                changed.append(
                    CheckChange(relation, shown.kind, old_status, new_status, shown.message)
                )
        return changed

    def _events(self, c: Any, positions: list[int]) -> dict[int, tuple[str, str, str, Any]]:
        if not positions:
            return {}
        marks = ",".join("?" * len(positions))
        rows = c.execute(
            "SELECT position, recorded_at, type, actor, data FROM event_index "
            f"WHERE position IN ({marks})",
            positions,
        ).fetchall()
        return {int(r[0]): (str(r[1]), str(r[2]), str(r[3]), orjson.loads(r[4])) for r in rows}

    def _figures(self, c: Any, metric: str, position: int) -> Figures:
        """The default estimate of the log up to `position`."""
        return SteppedEstimate(c, self.queries.views.dialect, metric, position).figures

    def _sealed(self, first: End, last: End) -> tuple[End, End, list[str]]:
        """The ends with their roots, and the consistency path between them."""
        _, first_root = self.log.root(first.tree_size)
        _, last_root = self.log.root(last.tree_size)
        path = self.log.consistency(first.tree_size, last.tree_size)
        return (
            End(first.known_at, first.position, first.tree_size, first_root.hex()),
            End(last.known_at, last.position, last.tree_size, last_root.hex()),
            [h.hex() for h in path],
        )


def encode_diff_cursor(metric: str, first: End, last: End, after: int) -> str:
    ends = [first.known_at, first.position, first.tree_size, last.known_at]
    return encode(["diff", metric, *ends, last.position, last.tree_size, after])


def decode_diff_cursor(metric: str, cursor: str) -> tuple[End, End, int]:
    value = decode(cursor)
    if not (isinstance(value, list) and len(value) == 9 and value[:2] == ["diff", metric]):
        raise BadCursor(cursor)
    first_at, first_position, first_size, last_at, last_position, last_size, after = value[2:]
    for known_at in (first_at, last_at):
        if known_at is not None and not (isinstance(known_at, str) and known_at.isascii()):
            raise BadCursor(cursor)
    numbers = (first_position, first_size, last_position, last_size, after)
    if any(isinstance(n, bool) or not isinstance(n, int) for n in numbers):
        raise BadCursor(cursor)
    if not 0 <= first_position <= after <= last_position <= LAST_POSITION:
        raise BadCursor(cursor)
    if not 0 <= first_size <= last_size <= last_position:
        raise BadCursor(cursor)
    return (
        End(first_at, first_position, first_size),
        End(last_at, last_position, last_size),
        after,
    )
