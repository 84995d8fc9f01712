"""Opens the ledger and its views on one store: the composition root below the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from eventsourcing.persistence import InfrastructureFactory

from domain.ledger import Ledger
from projections.idempotency import IdempotencyStore
from projections.ledger_views import LedgerViews
from projections.queries import LedgerQueries
from projections.runner import ProjectionRunner

RECORDER_TOPIC = "projections.subscription:PollingSQLiteApplicationRecorder"


class StoreUnavailable(Exception):
    """The store cannot be opened: a bad path, a locked or unreadable file."""


@dataclass
class Store:
    ledger: Ledger
    views: LedgerViews
    queries: LedgerQueries
    runner: ProjectionRunner
    idempotency: IdempotencyStore
    paths: tuple[str, str] = field(default=("", ""))

    def lag(self) -> int:
        """How many positions the views are behind the ledger."""
        return max(0, self.ledger.max_position() - self.views.position())

    def close(self) -> None:
        self.runner.stop()
        self.ledger.close()
        self.views.datastore.close()


def sqlite_env(path: str, lock_timeout: int) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": str(lock_timeout),
        "APPLICATION_RECORDER_TOPIC": RECORDER_TOPIC,
    }


def views_path_for(events_path: str) -> str:
    """The views live beside the events: `ledger.db` → `ledger.views.db`."""
    path = Path(events_path)
    return str(path.with_name(path.stem + ".views" + (path.suffix or ".db")))


def open_sqlite_store(
    events_path: str, views_path: str | None = None, lock_timeout: int = 5
) -> Store:
    """Open (creating if needed) the SQLite event store and its views file."""
    views_path = views_path or views_path_for(events_path)
    try:
        for path in (events_path, views_path):
            if not path.startswith("file:"):
                Path(path).parent.mkdir(parents=True, exist_ok=True)
        ledger = Ledger(env=sqlite_env(events_path, lock_timeout))
        factory = InfrastructureFactory.construct(env=sqlite_env(views_path, lock_timeout))
        views = factory.tracking_recorder(LedgerViews)
    except Exception as error:
        raise StoreUnavailable(f"cannot open the store at {events_path}: {error}") from error
    assert isinstance(views, LedgerViews)
    return Store(
        ledger=ledger,
        views=views,
        queries=LedgerQueries(views),
        runner=ProjectionRunner(ledger, views),
        idempotency=IdempotencyStore(views.datastore),
        paths=(events_path, views_path),
    )
