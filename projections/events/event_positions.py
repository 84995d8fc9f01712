"""Where one stored event sits in the log: its position (notification id), read from the
event store itself, for an answer about an event written before (a replayed create's
`X-Ledger-Position`). The views know it too, but they may lag behind the store."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder


def position_of(app: Application[Any], stream: UUID, version: int) -> int | None:
    """The position of the stream's event at `version`; None if there is none."""
    recorder = app.recorder
    if isinstance(recorder, SQLiteApplicationRecorder):
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(
                f"SELECT rowid FROM {recorder.events_table_name} "
                "WHERE originator_id=? AND originator_version=?",
                (stream.hex, version),
            )
            row = c.fetchone()
        return None if row is None else int(row[0])
    if isinstance(recorder, PostgresApplicationRecorder):
        from psycopg.sql import SQL, Identifier

        statement = SQL(
            "SELECT notification_id FROM {}.{} WHERE originator_id=%s AND originator_version=%s"
        ).format(Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name))
        with recorder.datastore.transaction(commit=False) as curs:
            curs.execute(statement, (stream, version))
            found = curs.fetchone()
        return None if found is None else int(found["notification_id"])
    return _scanned_position(app, stream, version)


def _scanned_position(app: Application[Any], stream: UUID, version: int) -> int | None:
    """Any other recorder (the in-memory one): read the log until the event."""
    after = 0
    while page := app.recorder.select_notifications(
        start=after, limit=1000, inclusive_of_start=False
    ):
        for notification in page:
            if notification.originator_id == stream and notification.originator_version == version:
                return int(notification.id)
        after = page[-1].id
    return None
