"""Stored events read straight into the feed's shape (`Applied`), for the projection.

The library's mapper rebuilds each domain event object (JSON decoding with a per-object
hook, then the event's class), and the writer then turns it back into JSON-safe data.
The writer needs only that data, so this reads the stored JSON once (orjson) and turns
the transcoder's tagged values (`{"_type_": ..., "_data_": ...}`) into their feed form
directly: the same `Applied` as `Applied.of(mapper.to_domain_event(n), n.id)` (a test
holds them equal for every event type), at a fraction of the cost.

Anything this does not know how to read the same way (an event whose class was
upcast since it was stored, a tag of an unknown type, an encrypted or compressed store)
goes through the library's mapper instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import Mapper, Notification
from eventsourcing.utils import resolve_topic

from domain.event_data import ENVELOPE_FIELDS, rfc3339
from domain.values import decimal_text
from projections.view_writer import Applied

NOT_DATA = ENVELOPE_FIELDS | {"class_version"}

TAGGED: dict[str, Callable[[Any], Any]] = {
    "decimal_str": lambda text: decimal_text(Decimal(text)),
    "date_iso": lambda text: date.fromisoformat(text).isoformat(),
    "datetime_iso": lambda text: rfc3339(datetime.fromisoformat(text)),
    "uuid_hex": lambda text: str(UUID(text)),
}


class NotPlain(Exception):
    """The stored event needs the library's mapper."""


def applied_from_stored(notification: Notification, mapper: Mapper[Any]) -> Applied:
    """The stored event as the feed shows it."""
    if mapper.cipher is None and mapper.compressor is None:
        try:
            return plain_applied(notification)
        except NotPlain:
            pass
    return Applied.of(mapper.to_domain_event(notification), notification.id)


def plain_applied(n: Notification) -> Applied:
    try:
        state = orjson.loads(n.state)
    except orjson.JSONDecodeError as error:
        raise NotPlain from error  # the mapper names the failure as the library does
    stored_version = state.get("class_version", 1)
    if stored_version != getattr(resolve_topic(n.topic), "class_version", 1):
        raise NotPlain  # upcasting is the mapper's
    type_ = n.topic.partition(":")[2]
    return Applied(
        position=n.id,
        stream=str(n.originator_id),
        version=n.originator_version,
        type=type_,
        recorded_at=feed_value(state["timestamp"]),
        actor=str(state.get("actor", "")),
        data={k: feed_value(v) for k, v in sorted(state.items()) if k not in NOT_DATA},
    )


def feed_value(value: Any) -> Any:
    """A decoded JSON value with tagged values in their feed form, mappings sorted."""
    if isinstance(value, dict):
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            convert = TAGGED.get(value["_type_"])
            if convert is None:
                raise NotPlain
            return convert(value["_data_"])
        return {str(k): feed_value(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [feed_value(v) for v in value]
    if isinstance(value, float):
        raise NotPlain  # ours hold none; orjson also reads integers past 64 bits as floats
    return value
