"""The view writer has a handler for every event type the domain records: a type without
one would be skipped silently, and its changes never reach the views."""

from __future__ import annotations

import pytest
from eventsourcing.domain import Aggregate

from domain.claims import Claim
from domain.keys import ApiKey
from domain.metrics import Metric
from domain.relations import Relation
from domain.sources import Source
from projections.writer.view_writer import ViewWriter

pytestmark = pytest.mark.integration

AGGREGATES = (Source, Metric, Claim, ApiKey, Relation)
# Recorded and in the log (feed, leaf, verify), but with no view of their own yet.
NOT_PROJECTED_YET: set[str] = set()


# The library gives every aggregate an `Event` base and a default `Created` class; ours
# name their creation event (`@event("Registered")` on `__init__`), so neither is recorded.
LIBRARY_CLASSES = {"Event", "Created"}


def event_types(aggregate: type[Aggregate]) -> set[str]:
    return {
        value.__qualname__
        for name, value in vars(aggregate).items()
        if isinstance(value, type)
        and issubclass(value, Aggregate.Event)
        and name not in LIBRARY_CLASSES
    }


def test_every_event_type_of_the_domain_has_a_handler_or_is_named_as_not_projected() -> None:
    recorded = set().union(*(event_types(a) for a in AGGREGATES))
    handled = set(ViewWriter().handlers)
    assert {"Claim.Recorded", "Source.Rated", "ApiKey.Revoked"} <= recorded  # the walk works
    assert recorded - handled == NOT_PROJECTED_YET
    assert handled <= recorded  # no handler for a type the domain no longer records
