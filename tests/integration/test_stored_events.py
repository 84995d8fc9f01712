"""Stored events read straight into the feed's shape equal what the library's mapper
and `Applied.of` make of them, for every event type, on both stores."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from eventsourcing.persistence import MapperDeserialisationError, Notification

from projections.store import Store
from projections.stored_events import applied_from_stored, plain_applied
from projections.view_writer import Applied

from .conftest import StoreAt
from .test_verification import DEPLOYED, STEPS

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
