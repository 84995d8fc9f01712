"""What the relations say about one metric (§9): a derived figure and a check per relation
touching it, with an entry that stays when it cannot be evaluated."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.checks import CheckStatus, Figure, check
from domain.estimates import Estimate, Evidence
from domain.related import figure_of, related, relation_check
from domain.relations import AtMostTerms, ShareTerms, SumTerms

pytestmark = pytest.mark.unit

D = Decimal
KILLED, WOUNDED, CAPTURED = "dprk/killed", "dprk/wounded", "dprk/captured"
CASUALTIES, RATE, DEPLOYED = "dprk/casualties", "dprk/casualty-rate", "dprk/deployed"
UNITS = {
    KILLED: "people",
    WOUNDED: "people",
    CAPTURED: "people",
    CASUALTIES: "people",
    DEPLOYED: "people",
    RATE: "percent",
}
RELATIONS = [
    ("dprk/casualty-parts", SumTerms(CASUALTIES, (KILLED, WOUNDED, CAPTURED), exhaustive=False)),
    ("dprk/casualty-rate", ShareTerms(RATE, CASUALTIES, DEPLOYED)),
    ("dprk/killed-within", AtMostTerms(KILLED, CASUALTIES)),
]


def seed_figures() -> dict[str, Figure]:
    return {
        KILLED: Figure(best=D(300), low=D(300), high=D(1000)),
        WOUNDED: Figure(best=D(2700), low=D(2700), high=D(3000)),
        CAPTURED: Figure(best=D(2), low=D(2), high=D(2)),
        CASUALTIES: Figure(best=D(4000), low=D(4000), high=D(4000)),
        RATE: Figure(best=D(36), low=D(36), high=D(36)),
        DEPLOYED: Figure(best=D(10000), low=D(10000), high=D(10000), high_open=True),
    }


def test_the_seed_force_has_one_derived_figure_and_one_check() -> None:
    answer = related(DEPLOYED, RELATIONS, seed_figures(), UNITS)
    assert [d.relation for d in answer.derived] == ["dprk/casualty-rate"]
    (derived,) = answer.derived
    assert (derived.best, derived.low, derived.high) == (D(11111), D(11111), D(11112))
    assert derived.status is CheckStatus.CONSISTENT
    assert [(i.metric, i.best, i.low, i.high) for i in derived.inputs] == [
        (RATE, D(36), D(36), D(36)),
        (CASUALTIES, D(4000), D(4000), D(4000)),
    ]
    (checked,) = answer.checks
    assert checked.kind == "share" and checked.status is CheckStatus.CONSISTENT
    # An open end is shown as null, never as a ceiling.
    assert [(m.metric, m.high) for m in checked.metrics][2] == (DEPLOYED, None)


def test_the_casualties_are_touched_by_all_three_relations() -> None:
    answer = related(CASUALTIES, RELATIONS, seed_figures(), UNITS)
    assert [c.relation for c in answer.checks] == [r for r, _ in RELATIONS]
    assert {c.status for c in answer.checks} == {CheckStatus.CONSISTENT}
    by_sum = answer.derived[0]
    assert (by_sum.low, by_sum.high) == (D(3002), None)  # not exhaustive: a floor only


def test_an_input_without_an_estimate_keeps_the_entry_with_no_numbers() -> None:
    figures = seed_figures()
    del figures[RATE]  # the casualty-rate claim retracted
    (derived,) = related(DEPLOYED, RELATIONS, figures, UNITS).derived
    assert derived.status is CheckStatus.NOT_EVALUABLE
    assert (derived.best, derived.low, derived.high) == (None, None, None)
    assert RATE in derived.message
    assert derived.inputs[0].metric == RATE and derived.inputs[0].best is None


def test_a_divisor_holding_zero_keeps_the_entry_with_no_numbers() -> None:
    figures = {**seed_figures(), RATE: Figure(best=D(0), low=D(0), high=D(36))}
    (derived,) = related(DEPLOYED, RELATIONS, figures, UNITS).derived
    assert derived.status is CheckStatus.NOT_EVALUABLE and derived.best is None
    assert "zero" in derived.message


def test_a_metric_with_no_estimate_still_gets_its_derived_figure() -> None:
    figures = seed_figures()
    del figures[DEPLOYED]
    (derived,) = related(DEPLOYED, RELATIONS, figures, UNITS).derived
    assert (derived.best, derived.low, derived.high) == (D(11111), D(11111), D(11112))
    assert derived.status is CheckStatus.NOT_EVALUABLE  # nothing reported to compare with
    (checked,) = related(DEPLOYED, RELATIONS, figures, UNITS).checks
    assert checked.status is CheckStatus.NOT_EVALUABLE


def test_a_derived_figure_that_misses_its_metric_shows_in_the_relation_check() -> None:
    # Through the share (the checked metric) 4,000 of 20,000 is 20%, beside 36% reported:
    # every way round, the same relation is inconsistent.
    figures = {**seed_figures(), DEPLOYED: Figure(best=D(20000), low=D(20000), high=D(20000))}
    share = RELATIONS[1][1]
    for metric in share.metrics:
        (derived,) = [
            d
            for d in related(metric, RELATIONS, figures, UNITS).derived
            if d.relation == "dprk/casualty-rate"
        ]
        assert derived.status is CheckStatus.INCONSISTENT
    assert relation_check("r", share, figures, UNITS).status is CheckStatus.INCONSISTENT


def test_the_check_is_the_worst_status_through_any_metric() -> None:
    # The share is 36 ± rounding whichever way it is read; killed's best of 4,500 against
    # the casualties' best of 4,000 is tension whichever side is derived.
    figures = {**seed_figures(), KILLED: Figure(best=D(4500), low=D(300), high=D(4500))}
    at_most = RELATIONS[2][1]
    assert check(at_most, figures, UNITS.__getitem__).status is CheckStatus.TENSION
    (derived,) = [
        d
        for d in related(KILLED, RELATIONS, figures, UNITS).derived
        if d.relation == "dprk/killed-within"
    ]
    assert derived.status is CheckStatus.TENSION


def test_relations_not_touching_the_metric_are_left_out() -> None:
    answer = related(WOUNDED, RELATIONS[1:], seed_figures(), UNITS)
    assert answer.derived == () and answer.checks == ()


def test_an_estimate_without_included_claims_has_no_figure() -> None:
    empty = Estimate("weighted-median", None, None, None, 0, 0, 0, Evidence.NONE, ())
    assert figure_of(empty) is None
    open_top = Estimate(
        "weighted-median", D(9000), D(9000), D(9000), 1, 1, 1, Evidence.WEAK, (), high_open=True
    )
    assert figure_of(open_top) == Figure(D(9000), D(9000), D(9000), high_open=True)
