"""Stored events read straight into the feed's shape equal what the library's mapper
and `Applied.of` make of them, for every event type, on both stores."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import MapperDeserialisationError, Notification

from projections.events.event_rows import EventRows
from projections.events.feed_event import Applied
from projections.events.feed_events import FeedEvents, as_feed_event
from projections.events.stored_events import (
    ClassVersions,
    NotPlain,
    applied_from_stored,
    plain_applied,
    plain_event,
)
from projections.store import Store, open_sqlite_store

from .conftest import StoreAt
from .verification_support import DEPLOYED, STEPS

pytestmark = pytest.mark.integration


def every_notification(store: Store) -> list[Notification]:
    recorder: Any = store.ledger.recorder
    return list(recorder.select_notifications(start=None, limit=100_000))


def test_every_stored_event_reads_as_the_mapper_and_applied_of_make_it(
    store_at: StoreAt,
) -> None:
    store = store_at.open()
    try:
        for step in STEPS:
            step(store)
        metric = store.ledger.get_metric(DEPLOYED)  # no command makes this one yet
        metric.update({"description": "Troops sent"}, "test", None)
        store.ledger.save(metric)
        notifications = every_notification(store)
        mapper = store.ledger.mapper
        types = set()
        for n in notifications:
            expected = Applied.of(mapper.to_domain_event(n), n.id)
            assert plain_applied(n) == expected
            assert applied_from_stored(n, mapper) == expected
            types.add(expected.type)
    finally:
        store.close()
    assert types >= {
        "Source.Registered",
        "Source.Updated",
        "Source.Rated",
        "Metric.Defined",
        "Metric.Updated",
        "Claim.Recorded",
        "Claim.Corrected",
        "Claim.Retracted",
        "Claim.Reinstated",
        "Claim.Assessed",
        "ApiKey.Issued",
        "ApiKey.Revoked",
    }


def test_every_stored_row_reads_as_the_recorder_mapper_and_applied_of_make_it(
    store_at: StoreAt,
) -> None:
    """The log half's reading (plain sqlite3 rows, orjson) gives every event as the
    library's recorder and mapper and `Applied.of` do."""
    store = store_at.open()
    try:
        for step in STEPS:
            step(store)
        rows = EventRows.of(store.ledger)
        if store_at.kind != "sqlite":
            assert rows is None  # read through the recorder
            return
        assert rows is not None
        notifications = every_notification(store)
        read = [row for batch in rows.batches(notifications[-1].id, 7) for row in batch]
        events = FeedEvents(rows, store.ledger.mapper)
        for row, n in zip(read, notifications, strict=True):
            assert rows.notification(row) == n
            expected = Applied.of(store.ledger.mapper.to_domain_event(n), n.id)
            assert events.of(row) == as_feed_event(expected)
            assert events.applied(row) == applied_from_stored(n, store.ledger.mapper) == expected
    finally:
        store.close()


def test_a_stored_row_the_fast_reader_leaves_to_the_mapper_reads_as_the_mapper_reads_it(
    tmp_path: Path,
) -> None:
    """A class version other than the class's: upcasting (or not) is the mapper's. (Rows
    are read with sqlite3 from SQLite files only.)"""
    store = open_sqlite_store(str(tmp_path / "ledger.db"))
    try:
        for step in STEPS:
            step(store)
        rows = EventRows.of(store.ledger)
        assert rows is not None
        position = store.ledger.max_position()
        (row,) = [r for batch in rows.batches(position, 100_000) for r in batch if r[0] == position]
        later = (*row[:4], row[4].replace(b"{", b'{"class_version":2,', 1))

        with pytest.raises(NotPlain):
            plain_event(later[3], later[4], ClassVersions().__getitem__)
        read = FeedEvents(rows, store.ledger.mapper).of(later)

        mapped = store.ledger.mapper.to_domain_event(rows.notification(later))
        assert read == as_feed_event(Applied.of(mapped, position))
        assert read == FeedEvents(rows, store.ledger.mapper).of(row)
    finally:
        store.close()


@pytest.mark.parametrize(
    "stored",
    [
        "a0294420ab8c402a82c39bb50942e135",
        "A0294420AB8C402A82C39BB50942E135",
        "a0294420-ab8c-402a-82c3-9bb50942e135",
        "{a0294420ab8c402a82c39bb50942e135}",
        "urn:uuid:a0294420ab8c402a82c39bb50942e135",
        "0x294420ab8c402a82c39bb50942e135",
    ],
)
def test_an_id_reads_as_the_recorder_reads_it(stored: str) -> None:
    assert EventRows("unused.db", "stored_events", uuid_ids=True).stream_of(stored) == str(
        UUID(stored)
    )


def test_an_id_that_is_no_uuid_does_not_read() -> None:
    with pytest.raises(ValueError):
        EventRows("unused.db", "stored_events", uuid_ids=True).stream_of("a0294420ab8c402a82c3")


def test_text_ids_read_as_they_are() -> None:
    assert EventRows("unused.db", "stored_events", uuid_ids=False).stream_of("claim-1") == "claim-1"


def edited_notification(store: Store, old: bytes, new: bytes) -> Notification:
    for step in STEPS:
        step(store)
    notification = next(n for n in every_notification(store) if old in n.state)
    return replace(notification, state=notification.state.replace(old, new, 1))


def test_a_number_the_fast_reader_would_read_as_a_float_is_read_by_the_mapper(
    store_at: StoreAt,
) -> None:
    store = store_at.open()
    try:
        big = b'"credibility":123456789012345678901234567890,"was":'
        edited = edited_notification(store, b'"credibility":', big)

        applied = applied_from_stored(edited, store.ledger.mapper)

        assert applied == Applied.of(store.ledger.mapper.to_domain_event(edited), edited.id)
        assert applied.data["credibility"] == 123456789012345678901234567890
    finally:
        store.close()


def test_an_unknown_tag_fails_as_the_mapper_fails(store_at: StoreAt) -> None:
    store = store_at.open()
    try:
        unknown = b'{"_type_":"unknown_tag","_data_":'
        edited = edited_notification(store, b'{"_type_":"decimal_str","_data_":', unknown)

        with pytest.raises(MapperDeserialisationError, match="unknown_tag"):
            applied_from_stored(edited, store.ledger.mapper)
    finally:
        store.close()


def test_an_actor_that_is_not_text_is_read_by_the_mapper(store_at: StoreAt) -> None:
    store = store_at.open()
    try:
        edited = edited_notification(store, b'"actor":"', b'"actor":5,"was":"')

        applied = applied_from_stored(edited, store.ledger.mapper)

        assert applied == Applied.of(store.ledger.mapper.to_domain_event(edited), edited.id)
        assert applied.actor == "5"
    finally:
        store.close()


def test_a_state_that_is_not_bytes_fails_as_the_mapper_fails(store_at: StoreAt) -> None:
    store = store_at.open()
    try:
        for step in STEPS:
            step(store)
        notification = every_notification(store)[0]
        as_text = replace(notification, state=notification.state.decode())

        with pytest.raises(MapperDeserialisationError):
            applied_from_stored(as_text, store.ledger.mapper)
    finally:
        store.close()


def test_a_timestamp_that_is_not_tagged_fails_as_the_mapper_fails(store_at: StoreAt) -> None:
    store = store_at.open()
    try:
        edited = edited_notification(
            store, b'"timestamp":{"_type_":"datetime_iso","_data_":', b'"timestamp":'
        )
        edited = replace(edited, state=edited.state.replace(b'"},', b'",', 1))

        with pytest.raises(AttributeError):
            applied_from_stored(edited, store.ledger.mapper)
    finally:
        store.close()
