"""The ledger's relation commands (§9): what define, update and remove refuse, what their
events carry, and that no sequence of accepted commands leaves a metric resting on itself."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import (
    AlreadyExists,
    InvalidTransition,
    NotFound,
    ValidationFailed,
    VersionMismatch,
)
from domain.event_data import event_data
from domain.ledger import Ledger
from domain.relations import rests_on_itself

pytestmark = pytest.mark.unit

ACTOR = "unit-test"
PEOPLE = ("w/a", "w/b", "w/c", "w/d", "w/e")
RATE = "w/rate"


def ledger() -> Ledger:
    """A ledger in memory (the library's plain-object recorder: no I/O)."""
    app = Ledger()
    for slug in PEOPLE:
        app.define_metric(slug, slug, "people", None, ACTOR)
    app.define_metric(RATE, RATE, "percent", None, ACTOR)
    return app


def at_most(lesser: str, greater: str) -> dict[str, Any]:
    return {"lesser": lesser, "greater": greater}


def fields_of(error: ValidationFailed) -> list[str]:
    return [field for field, _ in error.errors]


def test_a_defined_relation_records_its_terms_actor_and_reason() -> None:
    app = ledger()
    saved = app.define_relation(
        "w/sum", "sum", {"total": "w/a", "parts": ["w/b", "w/c"]}, "a note", ACTOR, "why"
    )
    assert saved.position == app.max_position()
    (event,) = app.repository.event_store.get(saved.aggregate.id)
    assert type(event).__qualname__ == "Relation.Defined"
    assert event.actor == ACTOR  # type: ignore[attr-defined]
    assert event_data(event) == {
        "slug": "w/sum",
        "kind": "sum",
        "terms": {"total": "w/a", "parts": ["w/b", "w/c"], "exhaustive": False},
        "note": "a note",
        "reason": "why",
    }
    assert app.live_relations().keys() == {"w/sum"}


@pytest.mark.parametrize(
    ("kind", "fields", "field", "message"),
    [
        ("at_most", at_most("w/a", "w/none"), "greater", "unknown metric"),
        ("at_most", at_most("w/a", RATE), "greater", "must have the unit"),
        ("sum", {"total": "w/a", "parts": ["w/b", RATE]}, "parts.1", "must have the unit"),
        ("share", {"share": "w/a", "part": "w/b", "whole": "w/c"}, "share", "percent"),
        ("sum", {"total": "w/a", "parts": ["w/b", "w/b"]}, "", "only once"),
        ("at_most", at_most("w/a", "w/a"), "", "only once"),
        ("at_most", {"lesser": "w/a"}, "greater", "is required"),
        ("at_most", {**at_most("w/a", "w/b"), "total": "w/c"}, "total", "not a field"),
        ("ratio", {}, "kind", "must be one of"),
    ],
)
def test_a_relation_that_breaks_a_rule_is_refused(
    kind: str, fields: dict[str, Any], field: str, message: str
) -> None:
    app = ledger()
    with pytest.raises(ValidationFailed) as refused:
        app.define_relation("w/r", kind, fields, None, ACTOR)
    assert any(f == field and message in m for f, m in refused.value.errors), refused.value.errors
    assert app.live_relations() == {}


def test_a_bad_id_note_and_terms_are_refused_together() -> None:
    app = ledger()
    with pytest.raises(ValidationFailed) as refused:
        app.define_relation("W R", "at_most", {"lesser": "w/a"}, "n" * 10_001, ACTOR)
    assert fields_of(refused.value) == ["id", "note", "greater"]


def test_a_cycle_through_a_chain_of_relations_is_refused() -> None:
    app = ledger()
    app.define_relation("w/1", "at_most", at_most("w/b", "w/a"), None, ACTOR)  # a rests on b
    app.define_relation("w/2", "sum", {"total": "w/b", "parts": ["w/c", "w/d"]}, None, ACTOR)
    with pytest.raises(ValidationFailed, match="depend on itself"):
        app.define_relation("w/3", "at_most", at_most("w/a", "w/d"), None, ACTOR)  # d on a
    # Not a cycle: another branch off the same chain.
    app.define_relation("w/4", "at_most", at_most("w/e", "w/d"), None, ACTOR)


def test_a_share_closes_a_cycle_through_its_part_or_whole() -> None:
    app = ledger()
    app.define_relation("w/s", "share", {"share": RATE, "part": "w/a", "whole": "w/b"}, None, ACTOR)
    app.define_relation("w/m", "at_most", at_most("w/c", "w/b"), None, ACTOR)  # b on c
    with pytest.raises(ValidationFailed, match="depend on itself"):
        app.define_relation("w/x", "sum", {"total": "w/c", "parts": ["w/b"]}, None, ACTOR)


def test_a_removed_relation_no_longer_closes_a_cycle_and_its_id_stays_taken() -> None:
    app = ledger()
    app.define_relation("w/1", "at_most", at_most("w/b", "w/a"), None, ACTOR)
    with pytest.raises(ValidationFailed):
        app.define_relation("w/2", "at_most", at_most("w/a", "w/b"), None, ACTOR)
    removed = app.remove_relation("w/1", 1, ACTOR, "wrong way round")
    assert removed.aggregate.removed and removed.aggregate.version == 2
    app.define_relation("w/2", "at_most", at_most("w/a", "w/b"), None, ACTOR)
    with pytest.raises(AlreadyExists):
        app.define_relation("w/1", "at_most", at_most("w/c", "w/d"), None, ACTOR)
    with pytest.raises(InvalidTransition):
        app.remove_relation("w/1", None, ACTOR)


def test_an_update_keeps_its_kind_passes_the_same_checks_and_needs_the_current_version() -> None:
    app = ledger()
    app.define_relation("w/1", "at_most", at_most("w/b", "w/a"), None, ACTOR)
    app.define_relation("w/2", "at_most", at_most("w/c", "w/b"), None, ACTOR)
    with pytest.raises(ValidationFailed) as refused:
        app.update_relation("w/1", "sum", {"total": "w/a", "parts": ["w/b"]}, None, 1, ACTOR)
    assert fields_of(refused.value) == ["kind"]
    with pytest.raises(ValidationFailed, match="depend on itself"):
        app.update_relation("w/1", "at_most", at_most("w/b", "w/c"), None, 1, ACTOR)
    with pytest.raises(VersionMismatch):
        app.update_relation("w/1", "at_most", at_most("w/d", "w/a"), None, 2, ACTOR)
    # Its own old terms do not count against it: turning it round is no cycle with itself.
    saved = app.update_relation("w/2", "at_most", at_most("w/b", "w/c"), "flip", 1, ACTOR, "why")
    assert (saved.aggregate.version, saved.aggregate.note) == (2, "flip")
    assert app.live_relations()["w/2"].as_data() == at_most("w/b", "w/c")
    with pytest.raises(InvalidTransition):
        app.update_relation("w/2", "at_most", at_most("w/b", "w/c"), "flip", 2, ACTOR)


def test_a_removed_relation_cannot_be_updated() -> None:
    app = ledger()
    app.define_relation("w/1", "at_most", at_most("w/b", "w/a"), None, ACTOR)
    app.remove_relation("w/1", None, ACTOR)
    with pytest.raises(InvalidTransition):
        app.update_relation("w/1", "at_most", at_most("w/c", "w/a"), None, None, ACTOR)


COMMANDS = st.lists(
    st.tuples(
        st.sampled_from(["define", "remove"]),
        st.integers(0, 5),
        st.sampled_from(PEOPLE),
        st.sampled_from(PEOPLE),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(COMMANDS)
def test_no_accepted_sequence_of_commands_leaves_a_metric_resting_on_itself(
    commands: list[tuple[str, int, str, str]],
) -> None:
    app = ledger()
    for verb, number, lesser, greater in commands:
        slug = f"w/r{number}"
        try:
            if verb == "define":
                app.define_relation(slug, "at_most", at_most(lesser, greater), None, ACTOR)
            else:
                app.remove_relation(slug, None, ACTOR)
        except (ValidationFailed, AlreadyExists, InvalidTransition, NotFound):
            continue
    live = list(app.live_relations().values())
    for index, terms in enumerate(live):
        assert not rests_on_itself(terms, live[:index] + live[index + 1 :])
