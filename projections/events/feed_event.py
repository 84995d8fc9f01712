"""An event as the feed shows it and the views store it: `Applied`, and `FeedEvent`, the
same fields as a plain tuple for the catch-up's preparing process."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from domain.event_data import event_actor, event_data, event_type, rfc3339

# `Applied`'s fields, in order.
FeedEvent = tuple[int, str, int, str, str, str, dict[str, Any]]


@dataclass(slots=True)
class Applied:
    """One event being applied, in the shapes the feed shows and the views store.

    Treated as immutable, but not frozen: a frozen dataclass sets each field through
    `object.__setattr__`, and replays make one for every event (decision 0009)."""

    position: int
    stream: str
    version: int
    type: str
    recorded_at: str
    actor: str
    data: dict[str, Any]

    @classmethod
    def of(cls, event: DomainEventProtocol[Any], position: int) -> Applied:
        timestamp = getattr(event, "timestamp")  # noqa: B009 - not on the protocol
        return cls(
            position=position,
            stream=str(event.originator_id),
            version=event.originator_version,
            type=event_type(event),
            recorded_at=rfc3339(timestamp),
            actor=event_actor(event),
            data=event_data(event),
        )
