"""What a command answers: the aggregate as saved and the position of its last event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from eventsourcing.domain import Aggregate

from domain.errors import VersionMismatch

TAggregate = TypeVar("TAggregate", bound=Aggregate)


@dataclass(frozen=True)
class Saved(Generic[TAggregate]):
    """An aggregate as saved, and the position of the last event written."""

    aggregate: TAggregate
    position: int


def check_version(aggregate: Aggregate, expected: int | None) -> None:
    if expected is not None and expected != aggregate.version:
        raise VersionMismatch(expected, aggregate.version)
