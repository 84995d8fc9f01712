"""What the ledger needs of the thing that commits its events: a protocol, so that the
ledger stays pure and the store (`projections.store`) hands it the group committer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.persistence import Recording

SaveEvents = Callable[..., list[Recording[Any]]]


class Committer(Protocol):
    """Saves the events of one command atomically, possibly with other commands' events."""

    def submit(self, events: Sequence[Any]) -> int:
        """Save these events; the position of the last one once committed."""
        ...

    async def submit_async(self, events: Sequence[Any]) -> int:
        """`submit` for an event loop."""
        ...

    def close(self) -> None: ...


# Makes a committer around the ledger's own save of collected events.
CommitterFactory = Callable[[SaveEvents], Committer]
