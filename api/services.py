"""What the API works with, built once per process and kept on `app.state`."""

from __future__ import annotations

from dataclasses import dataclass

from api.settings import Settings
from projections.audit_log import MerkleLog
from projections.signing import TreeHeadSigner, load_or_create_key
from projections.store import Store, open_sqlite_store


@dataclass
class Services:
    settings: Settings
    store: Store
    log: MerkleLog
    signer: TreeHeadSigner


def open_services(settings: Settings) -> Services:
    store = open_sqlite_store(settings.sqlite_path, lock_timeout=settings.sqlite_lock_timeout)
    try:
        signer = TreeHeadSigner(load_or_create_key(settings.signing_key_path))
    except Exception:
        store.close()
        raise
    return Services(settings=settings, store=store, log=MerkleLog(store.views), signer=signer)
