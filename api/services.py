"""What the API works with, built once per process and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass

from api.settings import Settings
from projections.log.signing import TreeHeadSigner, load_or_create_key
from projections.reads.audit_log import MerkleLog
from projections.store import Store, open_postgres_store, open_sqlite_store
from projections.tuning import Tuning


@dataclass
class Services:
    settings: Settings
    store: Store
    log: MerkleLog
    signer: TreeHeadSigner


def open_store(settings: Settings, tuning: Tuning | None = None) -> Store:
    """The store the settings name: SQLite files or a PostgreSQL database."""
    if settings.is_postgres:
        store = open_postgres_store(settings.postgres_env, settings.store_description, tuning)
    else:
        store = open_sqlite_store(
            settings.sqlite_path, lock_timeout=settings.sqlite_lock_timeout, tuning=tuning
        )
    store.ledger.set_write_path(settings.write_path)
    return store


def open_services(settings: Settings) -> Services:
    store = open_store(settings)
    try:
        signer = TreeHeadSigner(load_or_create_key(settings.signing_key_path))
    except Exception:
        store.close()
        raise
    return Services(
        settings=settings,
        store=store,
        log=MerkleLog(store.views, store.queries.read_transaction),
        signer=signer,
    )
