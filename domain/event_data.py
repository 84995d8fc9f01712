"""How an event reads outside the store: its type name, actor and JSON-safe data (§5, §6).

Decimals become plain decimal strings and dates ISO strings, so the same dict is what the
audit feed and claim history show and what canonical bytes are made of.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from domain.values import decimal_text

ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "originator_topic", "actor"}
)


def event_type(event: object) -> str:
    """`Claim.Recorded`, `Source.Rated`, …: the nested class's qualified name."""
    return type(event).__qualname__


def event_actor(event: object) -> str:
    return str(getattr(event, "actor", ""))


def event_data(event: object) -> dict[str, Any]:
    """The event's own fields, JSON-safe, without the envelope (stream, version, time, actor)."""
    fields = vars(event)
    return {k: json_safe(v) for k, v in sorted(fields.items()) if k not in ENVELOPE_FIELDS}


def json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def rfc3339(moment: datetime) -> str:
    """UTC with microseconds and a Z: sorts as text in time order."""
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    return utc.isoformat(timespec="microseconds") + "Z"  # isoformat pads years to 4 digits
