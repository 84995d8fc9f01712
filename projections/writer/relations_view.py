"""The relations' views (§9): `relations` (each relation's current state),
`relation_versions` (every version with its time, for the relations as known at T) and
`relation_metrics` (the metrics each version ties, for the relations touching a metric).

Relations are rare events: each handler writes through the view writer's `execute`, after
what is pending, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from projections.events.feed_event import Applied
from projections.log.canonical import dumps, loads
from projections.storage.sql import SqlCursor

Execute = Callable[[SqlCursor, str, tuple[Any, ...]], Any]


def tied_metrics(terms: dict[str, Any]) -> list[str]:
    """The metrics a relation's terms name, each once, in the terms' field order."""
    named: list[str] = []
    for name in ("total", "parts", "share", "part", "whole", "lesser", "greater"):
        value = terms.get(name)
        for metric in value if isinstance(value, list) else [value]:
            if isinstance(metric, str) and metric not in named:
                named.append(metric)
    return named


class RelationsView:
    """The handlers of `Relation.Defined`, `Relation.Updated` and `Relation.Removed`."""

    def __init__(self, execute: Execute) -> None:
        self.execute = execute

    def handlers(self) -> dict[str, Callable[[SqlCursor, Applied], None]]:
        return {
            "Relation.Defined": self.defined,
            "Relation.Updated": self.updated,
            "Relation.Removed": self.removed,
        }

    def defined(self, c: SqlCursor, e: Applied) -> None:
        d = e.data
        terms = dumps(d["terms"])
        self.execute(
            c,
            "INSERT INTO relations VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?, ?)",
            (
                d["slug"],
                e.stream,
                d["kind"],
                terms,
                d["note"],
                e.version,
                e.position,
                e.recorded_at,
                e.recorded_at,
            ),
        )
        self.version(c, e, d["slug"], d["kind"], d["terms"], d["note"], removed=False)

    def updated(self, c: SqlCursor, e: Applied) -> None:
        d = e.data
        slug, kind, _, _ = self.current(c, e.stream)
        self.execute(
            c,
            "UPDATE relations SET terms=?, note=?, version=?, position=?, recorded_at=? "
            "WHERE stream=?",
            (dumps(d["terms"]), d["note"], e.version, e.position, e.recorded_at, e.stream),
        )
        self.version(c, e, slug, kind, d["terms"], d["note"], removed=False)

    def removed(self, c: SqlCursor, e: Applied) -> None:
        slug, kind, terms, note = self.current(c, e.stream)
        self.execute(
            c,
            "UPDATE relations SET removed=1, version=?, position=?, recorded_at=? WHERE stream=?",
            (e.version, e.position, e.recorded_at, e.stream),
        )
        self.version(c, e, slug, kind, terms, note, removed=True)

    def current(self, c: SqlCursor, stream: str) -> tuple[str, str, dict[str, Any], str | None]:
        """The relation's slug, kind, terms and note as its row holds them now."""
        row = self.execute(
            c, "SELECT id, kind, terms, note FROM relations WHERE stream=?", (stream,)
        ).fetchone()
        return row[0], row[1], loads(row[2]), row[3]

    def version(
        self,
        c: SqlCursor,
        e: Applied,
        slug: str,
        kind: str,
        terms: dict[str, Any],
        note: str | None,
        removed: bool,
    ) -> None:
        self.execute(
            c,
            "INSERT INTO relation_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (slug, e.version, e.position, e.recorded_at, kind, dumps(terms), note, int(removed)),
        )
        if not removed:
            for metric in tied_metrics(terms):
                self.execute(
                    c,
                    "INSERT INTO relation_metrics VALUES (?, ?, ?)",
                    (metric, slug, e.version),
                )
