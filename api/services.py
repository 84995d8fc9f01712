"""What the API works with, built once per process and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass

from api.settings import Settings
from projections.store import Store, open_sqlite_store


@dataclass
class Services:
    settings: Settings
    store: Store


def open_services(settings: Settings) -> Services:
    store = open_sqlite_store(settings.sqlite_path, lock_timeout=settings.sqlite_lock_timeout)
    return Services(settings=settings, store=store)
