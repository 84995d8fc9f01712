"""Remembered answers to `Idempotency-Key` requests (not a projection: never rebuilt).

Keys are scoped to (principal, route). A row is `pending` while its first request runs,
then holds the 2xx answer for 24 hours; failed requests delete their row so a retry
runs again. A pending row names the process running its request: a retry takes the key
over at once when that process has surely ended (`projections.reads.process_liveness`), and
otherwise once the row is older than `ABANDONED_AFTER_SECONDS`. What a request writes
is not kept here but in the event store, under ids derived from the key, so a retry
that takes over after a crash meets what the first one wrote and answers it.
"""

from __future__ import annotations

import json
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from eventsourcing.persistence import IntegrityError

from projections.reads.process_liveness import has_ended, this_process
from projections.storage.schema import create_statements
from projections.storage.sql import POSTGRES, SqlCursor

RETENTION_SECONDS = 24 * 60 * 60
# A pending row older than this belongs to a request that died with its process.
ABANDONED_AFTER_SECONDS = 60.0

CREATE_STATEMENT = (
    "CREATE TABLE IF NOT EXISTS idempotency ("
    "principal TEXT NOT NULL, route TEXT NOT NULL, key TEXT NOT NULL, "
    "body_hash TEXT NOT NULL, created REAL NOT NULL, status INTEGER, "
    "headers TEXT, body BLOB, owner TEXT, PRIMARY KEY (principal, route, key))"
)
# Stores made before pending rows named their process.
ADD_OWNER = "ALTER TABLE idempotency ADD COLUMN owner TEXT"


class KeyInFlight(Exception):
    """The first request with this key is still running."""


class KeyReused(Exception):
    """The key was used with another body."""


@dataclass(frozen=True)
class Remembered:
    status: int
    headers: dict[str, str]
    body: bytes


class Database(Protocol):
    """Where the keys live: the views' database (`BaseLedgerViews` is one)."""

    dialect: str

    def sql_transaction(self, commit: bool = False) -> AbstractContextManager[SqlCursor]: ...


class IdempotencyStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        with database.sql_transaction(commit=True) as c:
            for statement in create_statements(database.dialect, [CREATE_STATEMENT]):
                c.execute(statement)
            if database.dialect == POSTGRES:
                c.execute(ADD_OWNER.replace("ADD COLUMN", "ADD COLUMN IF NOT EXISTS"))
            elif "owner" not in {row[1] for row in c.execute("PRAGMA table_info(idempotency)")}:
                c.execute(ADD_OWNER)

    def begin(self, principal: str, route: str, key: str, body_hash: str) -> Remembered | None:
        """Claim the key for a new request (None), or return the answer to replay."""
        now = time.time()
        with self.database.sql_transaction(commit=True) as c:
            c.execute(
                "DELETE FROM idempotency WHERE principal=? AND route=? AND key=? AND "
                "(created<? OR (status IS NULL AND created<?))",
                (principal, route, key, now - RETENTION_SECONDS, now - ABANDONED_AFTER_SECONDS),
            )
            row = c.execute(
                "SELECT body_hash, created, status, headers, body, owner FROM idempotency "
                "WHERE principal=? AND route=? AND key=?",
                (principal, route, key),
            ).fetchone()
            if row is not None and row["status"] is None and has_ended(row["owner"]):
                # Its request died with its process: nobody will complete or abandon it.
                c.execute(
                    "DELETE FROM idempotency WHERE principal=? AND route=? AND key=? "
                    "AND status IS NULL AND created=?",
                    (principal, route, key, row["created"]),
                )
                row = None
            if row is None:
                try:
                    c.execute(
                        "INSERT INTO idempotency VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL, ?)",
                        (principal, route, key, body_hash, now, this_process()),
                    )
                except IntegrityError as error:  # pragma: no cover - lost a race
                    raise KeyInFlight(key) from error
                return None
        if row["body_hash"] != body_hash:
            raise KeyReused(key)
        if row["status"] is None:
            raise KeyInFlight(key)
        return Remembered(row["status"], json.loads(row["headers"]), bytes(row["body"]))

    def complete(self, principal: str, route: str, key: str, answer: Remembered) -> None:
        with self.database.sql_transaction(commit=True) as c:
            c.execute(
                "UPDATE idempotency SET status=?, headers=?, body=? "
                "WHERE principal=? AND route=? AND key=?",
                (answer.status, json.dumps(answer.headers), answer.body, principal, route, key),
            )

    def abandon(self, principal: str, route: str, key: str) -> None:
        with self.database.sql_transaction(commit=True) as c:
            c.execute(
                "DELETE FROM idempotency WHERE principal=? AND route=? AND key=?",
                (principal, route, key),
            )

    def purge(self, now: float | None = None) -> int:
        """Forget answers older than 24 hours (the API does, on a schedule: `api.app`)."""
        cutoff = (now or time.time()) - RETENTION_SECONDS
        with self.database.sql_transaction(commit=True) as c:
            count = c.execute("DELETE FROM idempotency WHERE created<?", (cutoff,)).rowcount
        return int(count)
