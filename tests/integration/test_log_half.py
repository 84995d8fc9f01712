"""The log half of `verify`'s fast path reads the stored events with plain sqlite3
(`projections.events.event_rows`) and orjson: what it cannot read the library's way goes
through the library's mapper, so a store whose events need the mapper verifies as
before, and the answer is the one the library's own reading gives."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from projections import store as store_module
from projections.reads.audit_log import MerkleLog
from projections.storage.sqlite_files import as_uri
from projections.store import Store, open_sqlite_store
from projections.tuning import Tuning
from projections.verify import log_half as log_half_module
from projections.verify.verification import Verified

from .verification_support import (
    STEPS,
    Files,
    execute,
    fast_then_verify,
    rewrite_state,
    stored_events,
)

pytestmark = pytest.mark.integration

# Edits of stored events that leave what they mean unchanged: the log half must still
# show the store equal, through the mapper where orjson alone would not read it so.
SAME_MEANING: dict[str, Callable[[bytes], bytes]] = {
    # The class version the event class has now, stored explicitly.
    "its class version stored": lambda s: s.replace(b"{", b'{"class_version":1,', 1),
    # A class version from the future: the mapper does not upcast it (only older ones).
    "a later class version": lambda s: s.replace(b"{", b'{"class_version":2,', 1),
    # JSON written otherwise: escapes and white space.
    "escapes and spaces": lambda s: s.replace(b'"actor":', b' "\\u0061ctor" : ', 1),
}


@pytest.mark.parametrize("edit", list(SAME_MEANING))
def test_events_stored_otherwise_with_the_same_meaning_still_verify(
    files: Files,
    opened: Callable[..., Store],
    log_half: Tuning,
    edit: str,
) -> None:
    for event in stored_events(files)[::7]:
        rewrite_state(files, event.position, SAME_MEANING[edit](event.state))
    store = opened(log_half)

    verifies_on_the_fast_path(store)


def test_ids_stored_in_capitals_read_as_the_library_reads_them(
    files: Files,
    opened: Callable[..., Store],
    log_half: Tuning,
) -> None:
    """The library reads an originator id as a UUID, whatever its case: the feed shows
    it in lowercase, so the store still verifies."""
    execute(
        files.events, "UPDATE stored_events SET originator_id=upper(originator_id) WHERE rowid=3"
    )
    store = opened(log_half)

    verifies_on_the_fast_path(store)


def test_a_state_stored_as_text_is_not_shown_equal(
    files: Files,
    opened: Callable[..., Store],
    log_half: Tuning,
) -> None:
    """The library decodes states stored as bytes only: one stored as text does not
    decode (orjson alone would read it), so the fast path leaves it to the full rebuild."""
    event = stored_events(files)[4]
    execute(
        files.events,
        "UPDATE stored_events SET state=CAST(state AS TEXT) WHERE rowid=?",
        event.position,
    )
    store = opened(log_half)

    fast, checked, restarts = fast_then_verify(store)

    assert fast is None
    assert restarts == 1
    assert not isinstance(checked, Verified)


@pytest.fixture
def views_snapshot(files: Files) -> Iterator[sqlite3.Connection]:
    """A connection with the stored views attached as `stored`, in a read transaction."""
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as db:
        db.execute("ATTACH DATABASE ? AS stored", (as_uri(str(files.views), read_only=True),))
        db.execute("BEGIN")
        yield db


def test_events_read_through_the_library_give_the_same_answer(
    files: Files,
    opened: Callable[..., Store],
    views_snapshot: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Events that are not a SQLite file are read through the library's recorder."""
    store = opened()
    until = store.ledger.max_position()
    raw = log_half_module.log_half(store.ledger, views_snapshot, until)
    of_the_files = log_half_module.log_half_of_files(str(files.events), str(files.views), until)
    monkeypatch.setattr(log_half_module.EventRows, "of", classmethod(lambda cls, app: None))

    through_the_library = log_half_module.log_half(store.ledger, views_snapshot, until)

    size, root = MerkleLog(store.views).root()
    assert raw == of_the_files == through_the_library == (size, root.hex())


def test_a_compressed_store_is_read_through_the_mapper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a compressor (or a cipher) every event goes through the library's mapper."""
    sqlite_env = store_module.sqlite_env

    def compressed_env(path: str, lock_timeout: int) -> dict[str, str]:
        return {
            **sqlite_env(path, lock_timeout),
            "COMPRESSOR_TOPIC": "eventsourcing.compressor:ZlibCompressor",
        }

    monkeypatch.setattr(store_module, "sqlite_env", compressed_env)
    store = open_sqlite_store(str(tmp_path / "ledger.db"))
    try:
        for step in STEPS:
            step(store)
            store.runner.catch_up()
        assert store.ledger.mapper.compressor is not None
        until = store.ledger.max_position()
        with closing(sqlite3.connect(":memory:", isolation_level=None)) as db:
            db.execute("ATTACH DATABASE ? AS stored", (as_uri(store.paths[1], read_only=True),))
            db.execute("BEGIN")
            answer: Any = log_half_module.log_half(store.ledger, db, until)
        size, root = MerkleLog(store.views).root()
        assert answer == (size, root.hex())
    finally:
        store.close()


def verifies_on_the_fast_path(store: Store) -> None:
    """The fast path shows the store equal, with the size and root of the stored log."""
    fast, checked, restarts = fast_then_verify(store)

    size, root = MerkleLog(store.views).root()
    assert fast == checked == Verified(size, root.hex())
    assert restarts == 0
