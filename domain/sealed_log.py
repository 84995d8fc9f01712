"""What the ledger asks of the log that sealed its events (§6), without knowing how the
log is stored: the projections implement it (`projections.verify.load_check`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol


class SealedLog(Protocol):
    """The check of loaded events against their sealed leaves, and the write alarm."""

    def check_loaded(self, stream: UUID, events: Sequence[DomainEventProtocol[Any]]) -> None:
        """Raise `StoreDisagreesWithLog` (and raise the write alarm) if an event loaded
        for a command, in version order, does not hash to the leaf sealed for its stream
        and version, or a version sealed between two loaded ones is missing."""

    def refusal(self) -> str | None:
        """Why writes are refused now (the write alarm's reason), or None."""
