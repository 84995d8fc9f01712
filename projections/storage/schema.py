"""The tables of the ledger's read models: in one SQLite file beside the event store, or
in the PostgreSQL database that holds the events.

One projection owns them all, so every view moves to a new position in the same
transaction: a read at position N sees sources, metrics, claims and estimates alike.

The statements are written once, in SQLite's types; `create_statements("postgresql")`
translates them (the only dialect-specific SQL of the views): every integer is a
BIGINT, hashes and bodies BYTEA, text compares byte-wise (`COLLATE "C"`, as SQLite's
BINARY does), so keys, cursors and RFC 3339 times sort alike on both engines.
"""

from __future__ import annotations

import re

from projections.storage.sql import POSTGRES, SQLITE

VIEW_TABLES = (
    "event_index",
    "sources",
    "source_ratings",
    "metrics",
    "claims",
    "claim_versions",
    "timeline",
    "api_keys",
    "merkle_nodes",
    "relations",
    "relation_versions",
    "relation_metrics",
    "relation_checks",
    "related_figures",
)

# The key of each view's rows: how a divergence names "the first bad row".
KEY_COLUMNS = {
    "event_index": ("position",),
    "sources": ("id",),
    "source_ratings": ("source", "position"),
    "metrics": ("id",),
    "claims": ("id",),
    "claim_versions": ("claim", "version"),
    "timeline": ("metric", "position"),
    "api_keys": ("id",),
    "merkle_nodes": ("level", "start"),
    "relations": ("id",),
    "relation_versions": ("relation", "version"),
    "relation_metrics": ("metric", "relation", "version"),
    "relation_checks": ("relation",),
    "related_figures": ("metric",),
}

CREATE_STATEMENTS = [
    # Every event once, as the feed and claim history show it (data is canonical JSON).
    # leaf_index is dense (positions may have gaps); leaf_hash is RFC 9162's, of the
    # event's canonical bytes (§6).
    "CREATE TABLE IF NOT EXISTS event_index ("
    "position INTEGER PRIMARY KEY, leaf_index INTEGER NOT NULL UNIQUE, stream TEXT NOT NULL, "
    "version INTEGER NOT NULL, type TEXT NOT NULL, recorded_at TEXT NOT NULL, "
    "actor TEXT NOT NULL, data TEXT NOT NULL, leaf_hash TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS event_index_by_stream ON event_index (stream, version)",
    "CREATE INDEX IF NOT EXISTS event_index_by_time ON event_index (recorded_at, position)",
    "CREATE TABLE IF NOT EXISTS sources ("
    "id TEXT PRIMARY KEY, stream TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL, "
    "url TEXT, reliability TEXT NOT NULL, version INTEGER NOT NULL, "
    "position INTEGER NOT NULL, recorded_at TEXT NOT NULL)",
    # Every rating with its time, so reliability as known at T is a query.
    "CREATE TABLE IF NOT EXISTS source_ratings ("
    "source TEXT NOT NULL, position INTEGER NOT NULL, recorded_at TEXT NOT NULL, "
    "reliability TEXT NOT NULL, PRIMARY KEY (source, position))",
    "CREATE INDEX IF NOT EXISTS source_ratings_by_time ON source_ratings (recorded_at)",
    "CREATE TABLE IF NOT EXISTS metrics ("
    "id TEXT PRIMARY KEY, stream TEXT NOT NULL UNIQUE, name TEXT NOT NULL, unit TEXT NOT NULL, "
    "description TEXT, version INTEGER NOT NULL, position INTEGER NOT NULL, "
    "recorded_at TEXT NOT NULL, estimate TEXT NOT NULL)",
    # Current state of each claim, for lists and current estimates.
    "CREATE TABLE IF NOT EXISTS claims ("
    "id TEXT PRIMARY KEY, metric TEXT NOT NULL, origin TEXT NOT NULL, "
    "reported_by TEXT NOT NULL, status TEXT NOT NULL, version INTEGER NOT NULL, "
    "position INTEGER NOT NULL, state TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS claims_by_position ON claims (position)",
    "CREATE INDEX IF NOT EXISTS claims_by_metric ON claims (metric, position)",
    "CREATE INDEX IF NOT EXISTS claims_by_origin ON claims (origin, position)",
    "CREATE INDEX IF NOT EXISTS claims_by_reporter ON claims (reported_by, position)",
    "CREATE INDEX IF NOT EXISTS claims_by_status ON claims (status, position)",
    # Every version of every claim with its time, for ?version=N and known_at.
    "CREATE TABLE IF NOT EXISTS claim_versions ("
    "claim TEXT NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, "
    "recorded_at TEXT NOT NULL, metric TEXT NOT NULL, recorded_position INTEGER NOT NULL, "
    "state TEXT NOT NULL, PRIMARY KEY (claim, version))",
    "CREATE INDEX IF NOT EXISTS claim_versions_by_metric ON claim_versions (metric, recorded_at)",
    "CREATE TABLE IF NOT EXISTS timeline ("
    "metric TEXT NOT NULL, position INTEGER NOT NULL, recorded_at TEXT NOT NULL, "
    "low TEXT, best TEXT, high TEXT, included INTEGER NOT NULL, "
    "PRIMARY KEY (metric, position))",
    # Hashes of the Merkle log's aligned complete subtrees (level 0 = the leaves), so a
    # root or a proof at any size costs O(log n) reads.
    "CREATE TABLE IF NOT EXISTS merkle_nodes ("
    "level INTEGER NOT NULL, start INTEGER NOT NULL, hash BLOB NOT NULL, "
    "PRIMARY KEY (level, start)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS api_keys ("
    "id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, "
    "key_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, created_by TEXT NOT NULL, "
    "revoked_at TEXT, version INTEGER NOT NULL, position INTEGER NOT NULL)",
    # Current state of each relation (§9); `terms` is canonical JSON of its fields, e.g.
    # {"lesser": …, "greater": …}. A removed relation keeps its row, `removed` 1.
    "CREATE TABLE IF NOT EXISTS relations ("
    "id TEXT PRIMARY KEY, stream TEXT NOT NULL UNIQUE, kind TEXT NOT NULL, terms TEXT NOT NULL, "
    "note TEXT, removed INTEGER NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, "
    "recorded_at TEXT NOT NULL, defined_at TEXT NOT NULL)",
    # Every version of every relation with its time, so the relations as known at T (or
    # at a position) are a query, never a replay.
    "CREATE TABLE IF NOT EXISTS relation_versions ("
    "relation TEXT NOT NULL, version INTEGER NOT NULL, position INTEGER NOT NULL, "
    "recorded_at TEXT NOT NULL, kind TEXT NOT NULL, terms TEXT NOT NULL, note TEXT, "
    "removed INTEGER NOT NULL, PRIMARY KEY (relation, version))",
    "CREATE INDEX IF NOT EXISTS relation_versions_by_time ON relation_versions (recorded_at)",
    # The metrics each version of a relation ties: the relations touching a metric.
    "CREATE TABLE IF NOT EXISTS relation_metrics ("
    "metric TEXT NOT NULL, relation TEXT NOT NULL, version INTEGER NOT NULL, "
    "PRIMARY KEY (metric, relation, version))",
    # Each live relation's check now (§9), kept at the end of every batch that changes the
    # relation or an estimate it ties; `metrics` is canonical JSON of the figures it read.
    "CREATE TABLE IF NOT EXISTS relation_checks ("
    "relation TEXT PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL, "
    "metrics TEXT NOT NULL, message TEXT NOT NULL)",
    # A metric's derived figures and checks now, as its estimate answers show them: one row
    # read beside `metrics.estimate`, only for metrics a live relation ties.
    "CREATE TABLE IF NOT EXISTS related_figures (metric TEXT PRIMARY KEY, figures TEXT NOT NULL)",
]

# Indexes only the API's queries use; the view writer's own reads use the keys and
# `claims_by_metric` / `claims_by_origin`. A private rebuild that is only compared with
# the stored views (verify) goes without them.
QUERY_ONLY_INDEXES = frozenset(
    {
        "event_index_by_stream",
        "event_index_by_time",
        "source_ratings_by_time",
        "claims_by_position",
        "claims_by_reporter",
        "claims_by_status",
        "claim_versions_by_metric",
        "relation_versions_by_time",
    }
)


def writer_statements() -> list[str]:
    """The create statements without the query-only indexes."""
    return [
        s for s in CREATE_STATEMENTS if not any(f" {name} " in s for name in QUERY_ONLY_INDEXES)
    ]


POSTGRES_TYPES = {
    "INTEGER": "BIGINT",
    "TEXT": 'TEXT COLLATE "C"',
    "BLOB": "BYTEA",
    "REAL": "DOUBLE PRECISION",
}


def postgres_ddl(statement: str) -> str:
    """A SQLite create statement of ours in PostgreSQL's types."""
    translated = re.sub(
        r"\b(INTEGER|TEXT|BLOB|REAL)\b", lambda m: POSTGRES_TYPES[m.group(1)], statement
    )
    return translated.replace(" WITHOUT ROWID", "")


def create_statements(dialect: str, statements: list[str] | None = None) -> list[str]:
    """The create statements of the views (or of `statements`) for one engine."""
    statements = CREATE_STATEMENTS if statements is None else statements
    if dialect == SQLITE:
        return list(statements)
    if dialect == POSTGRES:
        return [postgres_ddl(s) for s in statements]
    raise ValueError(f"unknown SQL dialect {dialect!r}")
