"""Derived figures and checks (§9) from real views on both stores: as known at a moment
(a relation defined after it does not exist at it), now, and rebuilt equal to the live
views."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from domain.checks import CheckStatus
from domain.event_data import rfc3339
from domain.values import Qualifier
from projections.store import Store
from tests.support.views import dump_views

from .conftest import ACTOR, claim, define_metrics, fresh_rebuild, register_sources

pytestmark = pytest.mark.integration

D = Decimal
KILLED, WOUNDED, CASUALTIES, DEPLOYED, RATE = (
    "war/killed",
    "war/wounded",
    "war/casualties",
    "war/deployed",
    "war/casualty-rate",
)
SHARE = {"share": RATE, "part": CASUALTIES, "whole": DEPLOYED}


def moment() -> str:
    """Now, in the views' text form; the clock moves on before the next write."""
    time.sleep(0.002)
    now = rfc3339(datetime.now(UTC))
    time.sleep(0.002)
    return now


@pytest.fixture
def war(store: Store) -> Store:
    """The seed's figures in small: 4,000 casualties at 36% of more than 10,000."""
    register_sources(store, "outlet-a", "ministry")
    define_metrics(store, KILLED, WOUNDED, CASUALTIES, DEPLOYED)
    define_metrics(store, RATE, unit="percent")
    ledger = store.ledger
    ledger.record_claim(claim(KILLED, 300, "outlet-a", "ministry"), ACTOR)
    ledger.record_claim(claim(WOUNDED, 2700, "outlet-a", "ministry"), ACTOR)
    ledger.record_claim(claim(CASUALTIES, 4000, "outlet-a"), ACTOR)
    ledger.record_claim(claim(RATE, 36, "outlet-a"), ACTOR)
    ledger.record_claim(claim(DEPLOYED, 10000, "ministry", qualifier=Qualifier.MORE_THAN), ACTOR)
    store.runner.catch_up()
    return store


def define_relations(store: Store) -> None:
    ledger = store.ledger
    ledger.define_relation(
        "war/sum", "sum", {"total": CASUALTIES, "parts": [KILLED, WOUNDED]}, None, ACTOR
    )
    ledger.define_relation("war/rate", "share", SHARE, None, ACTOR)
    ledger.define_relation(
        "war/killed-le", "at_most", {"lesser": KILLED, "greater": CASUALTIES}, None, ACTOR
    )
    store.runner.catch_up()


def test_a_relation_defined_after_a_moment_does_not_exist_at_it(war: Store) -> None:
    before = moment()
    define_relations(war)
    after = moment()
    assert war.queries.estimate(DEPLOYED, known_at=before).related.derived == ()
    assert war.queries.checks_at(before) == []
    (derived,) = war.queries.estimate(DEPLOYED, known_at=after).related.derived
    assert (derived.relation, derived.best, derived.low, derived.high) == (
        "war/rate",
        D(11111),
        D(11111),
        D(11112),
    )
    assert derived.status is CheckStatus.CONSISTENT
    checks = war.queries.checks_at(after)
    assert [(c.relation, c.status) for c in checks] == [
        ("war/killed-le", CheckStatus.CONSISTENT),
        ("war/rate", CheckStatus.CONSISTENT),
        ("war/sum", CheckStatus.CONSISTENT),
    ]
    assert [c.relation for c in war.queries.checks_at(after, metric=DEPLOYED)] == ["war/rate"]


def test_a_claim_recorded_after_a_moment_does_not_count_in_its_checks(war: Store) -> None:
    define_relations(war)
    before = moment()
    position = war.ledger.max_position()
    war.ledger.record_claim(claim(KILLED, 5000, "ministry"), ACTOR)
    war.runner.catch_up()
    statuses = {c.relation: c.status for c in war.queries.checks_at(None)}
    assert statuses["war/killed-le"] is CheckStatus.INCONSISTENT  # 5,000 killed of 4,000
    for then in (war.queries.checks_at(before), war.queries.checks_at(None, upto=position)):
        assert {c.relation: c.status for c in then}["war/killed-le"] is CheckStatus.CONSISTENT


def test_a_retracted_input_leaves_the_derived_figure_not_evaluable(war: Store) -> None:
    define_relations(war)
    rate = war.ledger.record_claim(claim(RATE, 40, "ministry"), ACTOR).aggregate
    war.runner.catch_up()
    war.ledger.retract_claim(rate.id, "withdrawn", None, ACTOR)
    war.runner.catch_up()
    (derived,) = war.queries.estimate(DEPLOYED).related.derived
    assert derived.best == D(11111)  # the other rate claim still stands


def test_the_rebuilt_views_equal_the_live_ones(war: Store) -> None:
    define_relations(war)
    war.ledger.remove_relation("war/sum", None, ACTOR, "replaced")
    war.runner.catch_up()
    assert fresh_rebuild(war) == dump(war)


def dump(store: Store) -> dict[str, list[tuple[object, ...]]]:
    return dump_views(store.views)


ALL = (KILLED, WOUNDED, CASUALTIES, DEPLOYED, RATE)


def assert_kept_equals_computed(store: Store) -> None:
    """What the projection keeps for each metric is what the claims give afresh."""
    for metric in ALL:
        assert store.queries.current_estimate(metric).related == (
            store.queries.estimate(metric).related
        ), metric
    kept = {c.relation: c for c in store.queries.checks_now()}
    assert kept == {c.relation: c for c in store.queries.checks_at(None)}


def test_the_kept_figures_follow_every_change_and_equal_the_computed_ones(war: Store) -> None:
    ledger = war.ledger
    assert_kept_equals_computed(war)
    assert war.queries.current_estimate(DEPLOYED).related.derived == ()
    define_relations(war)
    assert_kept_equals_computed(war)
    (derived,) = war.queries.current_estimate(DEPLOYED).related.derived
    assert (derived.best, derived.low, derived.high) == (D(11111), D(11111), D(11112))
    assert len(war.queries.current_estimate(CASUALTIES).related.checks) == 3
    # An estimate that changes moves the figures of every metric its relations tie.
    rate = ledger.record_claim(claim(RATE, 40, "ministry"), ACTOR).aggregate
    war.runner.catch_up()
    assert_kept_equals_computed(war)
    ledger.retract_claim(rate.id, "withdrawn", None, ACTOR)
    war.runner.catch_up()
    assert_kept_equals_computed(war)
    # An update that no longer reaches a metric leaves it no row; a removal leaves none.
    ledger.update_relation(
        "war/sum", "sum", {"total": CASUALTIES, "parts": [KILLED]}, None, None, ACTOR
    )
    war.runner.catch_up()
    assert_kept_equals_computed(war)
    assert war.queries.current_estimate(WOUNDED).related.checks == ()
    ledger.remove_relation("war/rate", None, ACTOR, "replaced")
    war.runner.catch_up()
    assert_kept_equals_computed(war)
    assert war.queries.current_estimate(DEPLOYED).related.derived == ()
    assert fresh_rebuild(war) == dump(war)
