"""The ledger's check of the events it loads for a command against the log that sealed
them (`domain.sealed_log.SealedLog`), and the write alarm it raises (§6).

Each event loaded for a command is hashed as the feed hashes it (its canonical bytes,
RFC 9162's leaf hash) and compared with the leaf the log sealed for its stream and
version: one indexed read of the stream's feed rows (`event_index_by_stream`) per load.
Events not projected yet have no sealed leaf and are not compared. On a mismatch the
write alarm is raised and the command refused (`StoreDisagreesWithLog`).

While the write alarm (`projections.storage.signed_heads.WriteAlarm`) is up, the ledger refuses
every write and `/readyz` answers 503 with its reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol

from domain.errors import StoreDisagreesWithLog
from projections.events.feed_event import Applied
from projections.log.canonical import canonical_bytes
from projections.log.merkle import leaf_hash
from projections.storage.ledger_views import BaseLedgerViews
from projections.storage.signed_heads import WriteAlarm
from projections.verify.replay import describe


class LoadCheck:
    """`SealedLog` over the views' feed rows and the write alarm."""

    def __init__(self, views: BaseLedgerViews, alarm: WriteAlarm) -> None:
        self.views = views
        self.alarm = alarm

    def check_loaded(self, stream: UUID, events: Sequence[DomainEventProtocol[Any]]) -> None:
        with self.views.sql_transaction() as c:
            rows = c.execute(
                "SELECT version, position, leaf_index, leaf_hash FROM event_index WHERE stream = ?",
                (str(stream),),
            ).fetchall()
        sealed = {int(r[0]): (int(r[1]), int(r[2]), str(r[3])) for r in rows}
        for event in events:
            seal = sealed.pop(event.originator_version, None)
            if seal is None:
                continue  # not projected yet
            e = Applied.of(event, seal[0])
            leaf = leaf_hash(
                canonical_bytes(e.stream, e.version, e.type, e.recorded_at, e.actor, e.data)
            ).hex()
            if leaf != seal[2]:
                where = describe(seal[0], seal[1], e.stream, e.version)
                self.disagree(f"{where}: the stored event does not hash to its sealed leaf")
        # A version sealed between two loaded ones was deleted from the store. One after
        # the last loaded may just have been written and projected since the load.
        first, last = events[0].originator_version, events[-1].originator_version
        gaps = [version for version in sealed if first < version < last]
        if gaps:
            version = min(gaps)
            position, leaf_index, _ = sealed[version]
            where = describe(position, leaf_index, str(stream), version)
            self.disagree(f"{where}: sealed in the log but missing from the event store")

    def disagree(self, reason: str) -> None:
        self.alarm.raise_(reason)
        raise StoreDisagreesWithLog(reason)

    def refusal(self) -> str | None:
        return self.alarm.reason()
