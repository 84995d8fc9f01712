"""The stored events of a SQLite event store read with plain `sqlite3`, as the library's
recorder stores them, for `verify`'s log half and the catch-up's preparing process
(`projections.runner.prepared_feed`).

The recorder's `select_notifications` reads pages of a thousand rows, each in a
transaction of its own, and makes every row a `Notification` whose originator id is a
`UUID`, which the feed then writes back as text: a tenth of reading the events. Here one
statement reads every row up to a position, in one snapshot; an id stored as the
recorder stores a `UUID` (32 lowercase hex digits) is written in the feed's form
directly, any other as the recorder would read it (`stream_of`), and `notification`
gives the library's mapper a row exactly as the recorder would."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from eventsourcing.sqlite import SQLiteApplicationRecorder

from projections.storage.sqlite_files import as_uri, sqlite_file_of_events

# position, originator_id, version, topic, state: a row as the recorder stores it
EventRow = tuple[int, Any, Any, str, Any]

# An id as the recorder stores a UUID (`UUID.hex`): 32 lowercase hex digits.
UUID_HEX = re.compile("[0-9a-f]{32}")


class EventRows:
    """The events table of a SQLite event store file, read as its recorder reads it."""

    def __init__(self, events_file: str, table: str, uuid_ids: bool) -> None:
        self.events_file = events_file
        self.table = table
        self.uuid_ids = uuid_ids

    @classmethod
    def of(cls, app: Application[Any]) -> EventRows | None:
        """The rows of the application's events, if they are a SQLite file (else None)."""
        events_file = sqlite_file_of_events(app)
        recorder = app.recorder
        if events_file is None or not isinstance(recorder, SQLiteApplicationRecorder):
            return None
        uuid_ids = recorder.datastore.originator_id_type == "uuid"
        return cls(events_file, recorder.events_table_name, uuid_ids)

    def batches(self, until: int, size: int, after: int = 0) -> Iterator[list[EventRow]]:
        """Every stored event after position `after` up to `until`, in position order, in
        one snapshot."""
        uri = as_uri(self.events_file, read_only=True)
        with closing(sqlite3.connect(uri, uri=True, isolation_level=None)) as db:
            cursor = db.execute(
                "SELECT rowid, originator_id, originator_version, topic, state "
                f"FROM {self.table} WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
                (after, until),
            )
            while rows := cursor.fetchmany(size):
                yield rows

    def stream_of(self, originator_id: Any) -> str:
        """The feed's stream: `str(notification.originator_id)`, without the UUID when the
        id is what the recorder stores for one."""
        if not self.uuid_ids:
            return str(originator_id)
        if type(originator_id) is str and UUID_HEX.fullmatch(originator_id):
            i = originator_id
            return f"{i[:8]}-{i[8:12]}-{i[12:16]}-{i[16:20]}-{i[20:]}"
        return str(UUID(originator_id))

    def notification(self, row: EventRow) -> Notification:
        """The row as the recorder's `select_notifications` gives it."""
        position, originator_id, version, topic, state = row
        return Notification(
            id=position,
            originator_id=UUID(originator_id) if self.uuid_ids else originator_id,
            originator_version=version,
            topic=topic,
            state=state,
        )
