"""Stored events read straight into the feed's shape (`Applied`), for the projection.

The library's mapper rebuilds each domain event object (JSON decoding with a per-object
hook, then the event's class), and the writer then turns it back into JSON-safe data.
The writer needs only that data, so this reads the stored JSON once (orjson) and turns
the transcoder's tagged values (`{"_type_": ..., "_data_": ...}`) into their feed form
directly: the same `Applied` as `Applied.of(mapper.to_domain_event(n), n.id)` (a test
holds them equal for every event type), at a fraction of the cost.

Anything this does not know how to read the same way (an event whose class was
upcast since it was stored, a tag of an unknown type, an encrypted or compressed store,
a state or an actor of a type the library would not read) goes through the library's
mapper instead.
"""

from __future__ import annotations

import re
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
from projections.events.feed_event import Applied
from projections.tuning import Tuning

# The envelope fields that are not read separately (`timestamp` and `actor` are).
OTHER_ENVELOPE_FIELDS = tuple(sorted(ENVELOPE_FIELDS - {"timestamp", "actor"}))
# Decoded JSON values that are their own feed form.
PLAIN_TYPES = frozenset({str, int, bool, type(None)})
# A stored UTC time with microseconds: rfc3339 writes it as its first 26 characters
# and a Z. ASCII digits only: `\d` would match other scripts' digits too.
UTC_MICROSECONDS = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00"
)


class NotPlain(Exception):
    """The stored event needs the library's mapper."""


# A stored event's fields as the feed shows them, but for its position and stream:
# type, recorded_at, actor and data (in stored order: whatever the views make of an
# event's data is canonical JSON, its keys sorted, so the order is never seen). A
# tuple, not a NamedTuple: made for every event, and a NamedTuple is dearer to make.
PlainEvent = tuple[str, str, str, dict[str, Any]]


class Memo(dict[str, str]):
    """A conversion's results by input text, computed when first asked for (bounded)."""

    def __init__(self, convert: Callable[[str], str], size: int = Tuning.memo_size) -> None:
        super().__init__()
        self.convert = convert
        self.size = size

    def __missing__(self, text: str) -> str:
        if len(self) >= self.size:
            self.clear()
        converted = self[text] = self.convert(text)
        return converted


def feed_time(text: Any) -> str:
    """A stored datetime (ISO text) as the feed writes it (`rfc3339`)."""
    moment = datetime.fromisoformat(text)  # raises, as the mapper would, if it is not one
    if UTC_MICROSECONDS.fullmatch(text):
        return f"{text[:26]}Z"  # what rfc3339 makes of it, without its three conversions
    return rfc3339(moment)


def decimal_feed(data: Any) -> str:
    return decimal_text(Decimal(data))


def date_feed(data: Any) -> str:
    return date.fromisoformat(data).isoformat()


# The transcoder's tags and their feed form (`feed_value`).
TAGGED: dict[str, Callable[[Any], Any]] = {
    "decimal_str": decimal_feed,
    "date_iso": date_feed,
    "datetime_iso": feed_time,
    "uuid_hex": lambda text: str(UUID(text)),
}
# The tags whose texts recur (amounts, dates), their conversions remembered.
MEMOS = {"decimal_str": Memo(decimal_feed), "date_iso": Memo(date_feed)}


def applied_from_stored(notification: Notification, mapper: Mapper[Any]) -> Applied:
    """The stored event as the feed shows it."""
    if mapper.cipher is None and mapper.compressor is None:
        try:
            return plain_applied(notification)
        except NotPlain:
            pass
    return Applied.of(mapper.to_domain_event(notification), notification.id)


def plain_applied(n: Notification) -> Applied:
    type_, recorded_at, actor, data = plain_event(n.topic, n.state, class_version_of)
    return Applied(
        position=n.id,
        stream=str(n.originator_id),
        version=n.originator_version,
        type=type_,
        recorded_at=recorded_at,
        actor=actor,
        data=data,
    )


def class_version_of(topic: str) -> int:
    """The version of the event class a topic names now (upcasting starts below it)."""
    version: int = getattr(resolve_topic(topic), "class_version", 1)
    return version


class ClassVersions(dict[str, int]):
    """`class_version_of` remembered by topic, for one reading of the events (the classes
    do not change during it): pass its `__getitem__` to `plain_event`."""

    def __missing__(self, topic: str) -> int:
        version = self[topic] = class_version_of(topic)
        return version


def plain_event(topic: str, stored: Any, class_version: Callable[[str], int]) -> PlainEvent:
    """A stored event's state read with orjson into the feed's fields; NotPlain if the
    mapper would read it otherwise. `class_version` says what `class_version_of` says."""
    if type(stored) is not bytes:
        raise NotPlain  # the library decodes bytes only: let it say what else it makes of it
    try:
        state = orjson.loads(stored)
    except orjson.JSONDecodeError as error:
        raise NotPlain from error  # the mapper names the failure as the library does
    if type(state) is not dict or state.pop("class_version", 1) != class_version(topic):
        raise NotPlain  # upcasting is the mapper's
    recorded_at = feed_timestamp(state.pop("timestamp", None))
    actor = state.pop("actor", "")
    if type(actor) is not str:
        raise NotPlain  # not what our events store: the mapper says what it makes of it
    for name in OTHER_ENVELOPE_FIELDS:
        state.pop(name, None)
    for key, value in state.items():
        if type(value) not in PLAIN_TYPES:
            state[key] = feed_value(value)
    return topic.partition(":")[2], recorded_at, actor, state


def feed_timestamp(stored: Any) -> str:
    """The event's stored timestamp as the feed's `recorded_at`; NotPlain unless it is a
    tagged datetime (what else the mapper makes of it, it says)."""
    if type(stored) is not dict or len(stored) != 2 or "_data_" not in stored:
        raise NotPlain
    if stored.get("_type_") != "datetime_iso":
        raise NotPlain
    return feed_time(stored["_data_"])


def feed_value(value: Any) -> Any:
    """A decoded JSON value with tagged values in their feed form, mappings sorted."""
    kind = type(value)
    if kind is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            name, data = value["_type_"], value["_data_"]
            memo = MEMOS.get(name)
            if memo is not None and type(data) is str:
                return memo[data]
            convert = TAGGED.get(name)
            if convert is None:
                raise NotPlain
            return convert(data)
        return {str(k): feed_value(v) for k, v in sorted(value.items())}
    if kind is list:
        return [v if type(v) in PLAIN_TYPES else feed_value(v) for v in value]
    if kind in PLAIN_TYPES:
        return value
    raise NotPlain  # floats: ours hold none; orjson also reads integers past 64 bits as floats
