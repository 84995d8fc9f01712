"""Estimates from the views with their explanation a page at a time (decision 0015).

A metric's claims are read as a stream (`streamed`: a fetch at a time on SQLite, a
server-side cursor on PostgreSQL) into `domain.explanation`, which keeps per origin only
its latest eligible claim; a page of explanation reads them a second time only when the
page reaches past the included lines. No answer holds all of a metric's claims.

The explanation cursor is the last line's place in the explanation's order (included
first, then the rest, each by point, then claim id); the snapshot cursor carries the
moment and position its first page answered at, and the last metric given.
"""

from __future__ import annotations

import base64
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import orjson

from domain.estimates import (
    METHODS,
    ClaimAsKnown,
    Estimate,
    ExplanationLine,
    LineKey,
    LineStatus,
    explanation_order,
)
from domain.explanation import Tally, estimate_of, explanation_page, rest_line, with_said
from domain.values import Reliability
from projections.storage.sql import POSTGRES, SQLITE, to_pyformat
from projections.writer.claim_state import as_known

FETCH_ROWS = 1000  # rows held at once while a metric's claims stream past
LAST_POSITION = 2**63 - 1  # no bound: every position (SQLite's largest INTEGER)
LATEST_TIME = "9999-12-31T23:59:59.999999Z"  # no bound: every recorded_at
_names = itertools.count()  # server-side cursors need a name unique in their session


class BadCursor(ValueError):
    """A pagination cursor this server did not issue."""


def streamed(c: Any, dialect: str, sql: str, parameters: Sequence[Any]) -> Iterator[Any]:
    """The rows of a read, `FETCH_ROWS` at a time, in the caller's transaction."""
    if dialect == POSTGRES:
        from psycopg.rows import tuple_row

        connection = c.raw.connection
        with connection.cursor(f"claimledger_stream_{next(_names)}", row_factory=tuple_row) as s:
            s.execute(to_pyformat(sql), tuple(parameters))
            while rows := s.fetchmany(FETCH_ROWS):
                yield from rows
        return
    # A cursor of its own: the caller's may be asked something else meanwhile.
    connection = getattr(c, "connection", c)
    cursor = connection.cursor()
    try:
        cursor.execute(sql, tuple(parameters))
        while rows := cursor.fetchmany(FETCH_ROWS):
            yield from rows
    finally:
        cursor.close()


# Each claim of a metric as it stood at a moment (its last version recorded by then, and
# at or before a position, for a snapshot's later pages).
VERSIONS_KNOWN = (
    "SELECT v.state, v.recorded_position FROM claim_versions v JOIN ("
    " SELECT claim, MAX(version) AS version FROM claim_versions"
    " WHERE metric=? AND recorded_at<=? AND position<=? GROUP BY claim"
    ") last ON v.claim=last.claim AND v.version=last.version"
)
# The same in one pass on SQLite, whose bare columns beside MAX() come from the row that
# holds the maximum (documented: "Bare columns in an aggregate query").
VERSIONS_KNOWN_SQLITE = (
    "SELECT state, recorded_position, MAX(version) FROM claim_versions"
    " WHERE metric=? AND recorded_at<=? AND position<=? GROUP BY claim"
)
CLAIMS_NOW = "SELECT state, position FROM claims WHERE metric=?"


class MetricClaims:
    """A metric's claims as known now or at a moment, read afresh on each iteration."""

    def __init__(
        self, c: Any, dialect: str, metric: str, known_at: str | None, upto: int | None
    ) -> None:
        self.c, self.dialect = c, dialect
        if known_at is None:
            self.sql = CLAIMS_NOW
            self.parameters: tuple[Any, ...] = (metric,)
        else:
            self.sql = VERSIONS_KNOWN_SQLITE if dialect == SQLITE else VERSIONS_KNOWN
            self.parameters = (metric, known_at, LAST_POSITION if upto is None else upto)
        self.known_at, self.upto = known_at, upto

    def __iter__(self) -> Iterator[ClaimAsKnown]:
        for row in streamed(self.c, self.dialect, self.sql, self.parameters):
            yield as_known(orjson.loads(row[0]), row[1])

    def reporters(self, ids: Sequence[str]) -> dict[str, str]:
        """Each claim's reporter as known (a correction may change it)."""
        marks = ",".join("?" * len(ids))
        if self.known_at is None:
            rows = self.c.execute(
                f"SELECT id, reported_by FROM claims WHERE id IN ({marks})", tuple(ids)
            ).fetchall()
            return {claim: reporter for claim, reporter in rows}
        rows = self.c.execute(
            f"SELECT claim, state FROM claim_versions WHERE claim IN ({marks}) "
            "AND recorded_at<=? AND position<=? ORDER BY version",
            (*ids, self.known_at, self.last_position),
        ).fetchall()
        return {claim: orjson.loads(state)["reported_by"] for claim, state in rows}

    def retraction_reasons(self, ids: Sequence[str]) -> dict[str, str | None]:
        """The reason each claim's latest retraction as known gave."""
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.c.execute(
            f"SELECT stream, data FROM event_index WHERE stream IN ({marks}) "
            "AND type='Claim.Retracted' AND recorded_at<=? AND position<=? ORDER BY position",
            (*ids, self.known_at or LATEST_TIME, self.last_position),
        ).fetchall()
        return {claim: orjson.loads(data).get("reason") for claim, data in rows}

    @property
    def last_position(self) -> int:
        return LAST_POSITION if self.upto is None else self.upto

    def said(self, page: Sequence[ExplanationLine]) -> list[ExplanationLine]:
        """The page's lines with what the claims' stored states and events add: the
        reporter, and a retraction's own reason. Read for the page's claims alone, so
        the estimate's pass over every claim stays as light as before (decision 0018)."""
        if not page:
            return []
        reporters = self.reporters(sorted({e.claim for e in page}))
        retracted = sorted({e.claim for e in page if e.status == LineStatus.RETRACTED})
        reasons = self.retraction_reasons(retracted)
        return [with_said(e, reporters.get(e.claim), reasons.get(e.claim)) for e in page]

    def ratings(self, origins: set[str]) -> dict[str, Reliability]:
        if self.known_at is None:
            return current_ratings(self.c, origins)
        return ratings_at(self.c, origins, self.known_at, self.upto)


def estimate_page(
    claims: MetricClaims,
    method: str,
    valid_at: date | None,
    lines: int,
    cursor: str | None,
) -> tuple[Estimate, str | None]:
    """The estimate with up to `lines` explanation lines after `cursor`, and the cursor of
    the next page (None at the end, and without lines)."""
    after = decode_line_cursor(cursor) if cursor else None
    tally = Tally(valid_at).read(claims)
    ratings = claims.ratings(tally.origins)
    estimate = estimate_of(tally, METHODS[method], ratings)
    if lines <= 0:
        return replace(estimate, explanation=()), None
    rest = (line for claim in claims if (line := rest_line(claim, tally, ratings)) is not None)
    page, more = explanation_page(estimate.explanation, rest, after, lines)
    next_cursor = encode_line_cursor(page[-1]) if more and page else None
    return replace(estimate, explanation=tuple(claims.said(page))), next_cursor


def encode_line_cursor(line: ExplanationLine) -> str:
    rest, point, claim = explanation_order(line)
    return encode(["line", rest, str(point), claim])


def decode_line_cursor(cursor: str) -> LineKey:
    value = decode(cursor)
    if not (isinstance(value, list) and len(value) == 4 and value[0] == "line"):
        raise BadCursor(cursor)
    _, rest, point, claim = value
    if not (isinstance(rest, bool) and isinstance(point, str) and isinstance(claim, str)):
        raise BadCursor(cursor)
    try:
        number = Decimal(point)
    except InvalidOperation:
        raise BadCursor(cursor) from None
    if not number.is_finite():
        raise BadCursor(cursor)
    return rest, number, claim


def encode_snapshot_cursor(known_at: str, position: int, after: str) -> str:
    return encode(["snapshot", known_at, position, after])


def decode_snapshot_cursor(cursor: str) -> tuple[str, int, str]:
    """(known_at, position, last metric) of a snapshot page's cursor."""
    value = decode(cursor)
    if not (isinstance(value, list) and len(value) == 4 and value[0] == "snapshot"):
        raise BadCursor(cursor)
    _, known_at, position, after = value
    if not (isinstance(known_at, str) and isinstance(after, str) and known_at.isascii()):
        raise BadCursor(cursor)
    if isinstance(position, bool) or not isinstance(position, int):
        raise BadCursor(cursor)
    if not 0 <= position <= LAST_POSITION or not after.isascii():
        raise BadCursor(cursor)
    return known_at, position, after


def encode(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, RecursionError) as error:  # RecursionError: nested too deep to parse
        raise BadCursor(cursor) from error


def current_ratings(c: Any, origins: set[str]) -> dict[str, Reliability]:
    if not origins:
        return {}
    ordered: Sequence[str] = sorted(origins)
    marks = ",".join("?" * len(ordered))
    rows = c.execute(f"SELECT id, reliability FROM sources WHERE id IN ({marks})", ordered)
    return {slug: Reliability(grade) for slug, grade in rows.fetchall()}


def ratings_at(
    c: Any, origins: set[str], known_at: str, upto: int | None = None
) -> dict[str, Reliability]:
    if not origins:
        return {}
    ordered: Sequence[str] = sorted(origins)
    marks = ",".join("?" * len(ordered))
    rows = c.execute(
        f"SELECT source, reliability FROM source_ratings WHERE source IN ({marks}) "
        "AND recorded_at<=? AND position<=? ORDER BY position",
        (*ordered, known_at, LAST_POSITION if upto is None else upto),
    ).fetchall()
    return {slug: Reliability(grade) for slug, grade in rows}
