"""The `claims` view in `verify`'s views half: not rebuilt, but compared in write order
and, where a claim changed after it was recorded, checked against its last version.

The view writer inserts a claim's `claims` row when the claim is recorded (so the rows'
rowids follow the recordings) and rewrites it in place on each change; it writes the
row and the claim's `claim_versions` row from the same state (`ViewWriter.put_claim`).
So the views half compares each new claim's row with the next stored one in rowid
order; a claim changed later is settled at the end, once the stored claim versions are
shown equal to the rebuild's: its stored row must be its last version, in the columns
the writer derives from it (`CLAIMS_AS_LAST_VERSIONS`). Rebuilding the claims instead
(each written under three random-key indexes, then joined) was about a third of the
views half at a million events.

While it replays, the projection still reads claims back (a claim's state to correct
it, a metric's claims to load its estimate). `ClaimsInVersions` answers from the stored
claim versions already shown equal: those the rebuild wrote up to the current event.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from itertools import chain
from typing import Any

from projections.log.canonical import loads
from projections.storage.sql import SqlCursor
from projections.verify.append_only_check import ComparedRows, RowsDiffer
from projections.writer.claim_state import ClaimState, origin_of
from projections.writer.claims_view import ClaimRow, StateAt

# The last stored version of each claim shown equal (rowid up to :checked), of a metric.
LAST_VERSIONS_OF_METRIC = (
    "SELECT state, recorded_position FROM stored.claim_versions v "
    "WHERE metric = :metric AND rowid <= :checked AND version = ("
    "SELECT MAX(version) FROM stored.claim_versions w "
    "WHERE w.claim = v.claim AND w.rowid <= :checked)"
)
LAST_VERSION_OF_CLAIM = (
    "SELECT state, recorded_position FROM stored.claim_versions "
    "WHERE claim = :claim AND rowid <= :checked ORDER BY version DESC LIMIT 1"
)
# Of the claims in `temp.changed` (CROSS JOIN: SQLite then reads them first, rather than
# every stored claim), those whose stored row is their last stored version, in
# every column. The origin, reporter and status are read off the state as
# `view_writer.recorded_state` and `claim_state.origin_of` derive them: the last source of
# `attributed_to`, else the reporter (a test holds the two derivations equal).
CLAIMS_AS_LAST_VERSIONS = (
    "SELECT COUNT(*) FROM temp.changed ch CROSS JOIN stored.claims c ON c.id = ch.id "
    "JOIN stored.claim_versions v ON v.claim = c.id AND v.version = c.version "
    "WHERE c.metric = v.metric AND c.position = v.recorded_position AND c.state = v.state "
    "AND c.status = json_extract(v.state, '$.status') "
    "AND c.reported_by = json_extract(v.state, '$.reported_by') "
    "AND c.origin = COALESCE("
    "json_extract(v.state, '$.attributed_to[#-1]'), json_extract(v.state, '$.reported_by')) "
    "AND NOT EXISTS (SELECT 1 FROM stored.claim_versions w "
    "WHERE w.claim = c.id AND w.version > c.version)"
)


class ClaimsInVersions:
    """The claims view of `verify`'s views half (`claims_view.Claims`): compares new
    claims with the stored rows in write order, notes the claims changed since, reads
    the stored claim versions shown equal so far, and counts each source's claims per
    metric itself."""

    def __init__(self, rows: ComparedRows, db: sqlite3.Connection, fetch: int) -> None:
        self.rows = rows
        self.db = db
        cursor = db.execute("SELECT * FROM stored.claims ORDER BY rowid")
        self.stored: Iterator[tuple[Any, ...]] = chain.from_iterable(
            iter(lambda: cursor.fetchmany(fetch), [])
        )
        self.changed: set[str] = set()  # claims changed after they were recorded
        self.unsettled: set[str] = set()  # claims whose stored row is not as recorded
        self.counts: dict[tuple[str, str], int] = {}  # (origin, metric) -> claims now

    def put(self, row: ClaimRow, previous: ClaimState | None) -> None:
        counts = self.counts
        if previous is None:
            stored = next(self.stored, None)
            if stored != row:
                if stored is None or stored[0] != row[0]:
                    raise RowsDiffer("claims")
                self.unsettled.add(row[0])  # right only if the claim changes later
        else:
            self.changed.add(row[0])
            was = (origin_of(previous), previous["metric"])
            counts[was] -= 1
        now = (row[2], row[1])
        counts[now] = counts.get(now, 0) + 1

    def state(self, c: SqlCursor, claim: str) -> StateAt:
        found = self.db.execute(
            LAST_VERSION_OF_CLAIM, {"claim": claim, "checked": self.checked(c)}
        ).fetchone()
        return str(found[0]), int(found[1])

    def of_metric(self, c: SqlCursor, metric: str, origin: str | None = None) -> list[StateAt]:
        rows = self.db.execute(
            LAST_VERSIONS_OF_METRIC, {"metric": metric, "checked": self.checked(c)}
        ).fetchall()
        return [
            (str(state), int(position))
            for state, position in rows
            if origin is None or origin_of(loads(state)) == origin
        ]

    def metrics_from(self, c: SqlCursor, origin: str) -> list[str]:
        return sorted(metric for (of, metric), n in self.counts.items() if of == origin and n > 0)

    def checked(self, c: SqlCursor) -> int:
        """Compare every pending claim version, then the rowid up to which the stored
        ones are shown equal to the rebuild's."""
        self.rows.flush(c)
        return self.rows.stored.checked_up_to("claim_versions")

    def all_equal(self) -> bool:
        """After the last event, with every claim version shown equal: whether the stored
        claims are the rebuild's (none left over, the changed ones their last versions)."""
        if next(self.stored, None) is not None or not self.unsettled <= self.changed:
            return False
        if not self.changed:
            return True
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS changed (id TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM temp.changed")
        self.db.executemany("INSERT INTO temp.changed VALUES (?)", ((i,) for i in self.changed))
        (matching,) = self.db.execute(CLAIMS_AS_LAST_VERSIONS).fetchone()
        return bool(matching == len(self.changed))
