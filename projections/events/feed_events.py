"""Stored event rows of a SQLite file (`projections.events.event_rows`) as the feed shows them:
decoded with orjson when plain (`stored_events.plain_event`), by the library's mapper
otherwise, exactly as the projection reads a notification (`applied_from_stored`).
Used where rows are read without the recorder: `verify`'s log half and the catch-up's
preparing process (`projections.runner.prepared_feed`)."""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import Mapper

from projections.events.event_rows import EventRow, EventRows
from projections.events.feed_event import Applied, FeedEvent
from projections.events.stored_events import ClassVersions, NotPlain, plain_event


class FeedEvents:
    """Stored event rows read as the feed shows them."""

    def __init__(self, rows: EventRows, mapper: Mapper[Any]) -> None:
        self.rows = rows
        self.mapper = mapper
        self.plain = mapper.cipher is None and mapper.compressor is None
        self.class_version = ClassVersions().__getitem__

    def of(self, row: EventRow) -> FeedEvent:
        """The row's fields."""
        plain = self.plain_fields(row)
        if plain is not None:
            return plain
        return as_feed_event(self.mapped(row))

    def applied(self, row: EventRow) -> Applied:
        """The row as `applied_from_stored` gives its notification."""
        plain = self.plain_fields(row)
        return self.mapped(row) if plain is None else Applied(*plain)

    def plain_fields(self, row: EventRow) -> FeedEvent | None:
        if not self.plain:
            return None
        position, originator_id, version, topic, state = row
        try:
            type_, recorded_at, actor, data = plain_event(topic, state, self.class_version)
        except NotPlain:
            return None
        stream = self.rows.stream_of(originator_id)
        return (position, stream, version, type_, recorded_at, actor, data)

    def mapped(self, row: EventRow) -> Applied:
        notification = self.rows.notification(row)
        return Applied.of(self.mapper.to_domain_event(notification), notification.id)


def as_feed_event(e: Applied) -> FeedEvent:
    return (e.position, e.stream, e.version, e.type, e.recorded_at, e.actor, e.data)
