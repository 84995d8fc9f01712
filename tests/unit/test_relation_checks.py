"""Derived figures and checks of §9 on the seed's relations, and the rules of relations."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.checks import CheckStatus, Figure, check, derive
from domain.errors import InvalidTransition, ValidationFailed
from domain.relations import (
    AtMostTerms,
    Relation,
    ShareTerms,
    SumTerms,
    relation_problems,
    terms_from,
)

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

CASUALTY_SUM = SumTerms(CASUALTIES, (KILLED, WOUNDED, CAPTURED), exhaustive=False)
CASUALTY_SHARE = ShareTerms(RATE, CASUALTIES, DEPLOYED)
KILLED_AT_MOST = AtMostTerms(KILLED, CASUALTIES)


def seed_figures() -> dict[str, Figure]:
    """The seed's estimates with every source at F (DESIGN §4 and §7)."""
    return {
        KILLED: Figure(best=D(300), low=D(300), high=D(1000)),
        WOUNDED: Figure(best=D(2700), low=D(2700), high=D(3000)),
        CAPTURED: Figure(best=D(2), low=D(2), high=D(2)),
        CASUALTIES: Figure(best=D(4000), low=D(4000), high=D(4000)),
        RATE: Figure(best=D(36), low=D(36), high=D(36)),
        DEPLOYED: Figure(best=D(10000), low=D(10000), high=D(10000), high_open=True),
    }


def test_the_seed_force_derived_through_the_share_is_11111_to_11112() -> None:
    derived = derive(CASUALTY_SHARE, DEPLOYED, seed_figures(), "people")
    assert derived is not None
    assert (derived.best, derived.low, derived.high) == (D(11111), D(11111), D(11112))
    assert derived.inputs == (RATE, CASUALTIES)


def test_the_seed_share_agrees_with_more_than_ten_thousand_deployed() -> None:
    assert check(CASUALTY_SHARE, seed_figures(), UNITS.__getitem__).status is CheckStatus.CONSISTENT


def test_the_seed_parts_fit_under_the_casualties() -> None:
    result = check(CASUALTY_SUM, seed_figures(), UNITS.__getitem__)
    assert result.status is CheckStatus.CONSISTENT
    assert "3002" in result.message


def test_the_seed_killed_is_at_most_the_casualties() -> None:
    assert check(KILLED_AT_MOST, seed_figures(), UNITS.__getitem__).status is CheckStatus.CONSISTENT


def test_without_an_estimate_of_the_share_the_force_is_not_evaluable() -> None:
    figures = seed_figures()
    del figures[RATE]  # the casualty-rate claim retracted: nothing left to estimate it
    assert derive(CASUALTY_SHARE, DEPLOYED, figures, "people") is None
    assert check(CASUALTY_SHARE, figures, UNITS.__getitem__).status is CheckStatus.NOT_EVALUABLE


def test_a_share_of_zero_cannot_be_divided_by() -> None:
    figures = {**seed_figures(), RATE: Figure(best=D(0), low=D(0), high=D(36))}
    assert derive(CASUALTY_SHARE, DEPLOYED, figures, "people") is None


def test_best_values_that_break_a_relation_whose_ranges_agree_are_in_tension() -> None:
    figures = {**seed_figures(), KILLED: Figure(best=D(4500), low=D(300), high=D(4500))}
    assert check(KILLED_AT_MOST, figures, UNITS.__getitem__).status is CheckStatus.TENSION


def test_ranges_that_cannot_agree_are_inconsistent() -> None:
    figures = {**seed_figures(), KILLED: Figure(best=D(4500), low=D(4500), high=D(5000))}
    result = check(KILLED_AT_MOST, figures, UNITS.__getitem__)
    assert result.status is CheckStatus.INCONSISTENT
    assert CASUALTIES in result.message


def test_an_exhaustive_sum_whose_parts_add_to_another_total_is_in_tension() -> None:
    terms = SumTerms(CASUALTIES, (KILLED, WOUNDED), exhaustive=True)
    figures = seed_figures()  # 300 + 2,700 = 3,000, while 4,000 is reported; ranges reach 4,000
    assert check(terms, figures, UNITS.__getitem__).status is CheckStatus.TENSION
    figures[KILLED] = Figure(best=D(1000), low=D(1000), high=D(1000))
    figures[WOUNDED] = Figure(best=D(3000), low=D(3000), high=D(3000))
    assert check(terms, figures, UNITS.__getitem__).status is CheckStatus.CONSISTENT


def test_a_part_derived_from_an_exhaustive_sum_is_the_total_less_the_others() -> None:
    terms = SumTerms(CASUALTIES, (KILLED, WOUNDED), exhaustive=True)
    derived = derive(terms, KILLED, seed_figures(), "people")
    assert derived is not None
    assert (derived.low, derived.best, derived.high) == (D(1000), D(1300), D(1300))


def test_a_part_of_a_sum_that_is_not_exhaustive_has_only_a_ceiling() -> None:
    derived = derive(CASUALTY_SUM, KILLED, seed_figures(), "people")
    assert derived is not None
    assert (derived.low, derived.high) == (None, D(1298))  # 4,000 − 2,700 − 2


def test_an_open_end_enters_as_unbounded() -> None:
    figures = {
        **seed_figures(),
        CASUALTIES: Figure(best=D(4000), low=D(4000), high=D(4000), high_open=True),
    }
    derived = derive(CASUALTY_SHARE, DEPLOYED, figures, "people")
    assert derived is not None
    assert derived.low == D(11111) and derived.high is None


# Rules of relations


def test_a_relation_that_makes_a_metric_rest_on_itself_is_refused() -> None:
    # given casualties rest on killed
    existing = [CASUALTY_SUM]
    # when killed would rest on casualties
    cycle = SumTerms(KILLED, (CASUALTIES,), exhaustive=False)
    assert "depend on itself" in relation_problems(cycle, UNITS, existing)[0][1]
    # and the seed's three relations, all together, are fine
    assert relation_problems(KILLED_AT_MOST, UNITS, [CASUALTY_SUM, CASUALTY_SHARE]) == []


def test_a_longer_chain_back_to_a_metric_is_refused_too() -> None:
    existing = [CASUALTY_SHARE, CASUALTY_SUM]  # rate → casualties → killed
    assert relation_problems(AtMostTerms(RATE, KILLED), {**UNITS, RATE: "people"}, existing)


def test_units_must_fit() -> None:
    problems = relation_problems(ShareTerms(CASUALTIES, KILLED, DEPLOYED), UNITS, [])
    assert ("share", "must be a metric in percent") in problems
    problems = relation_problems(AtMostTerms(KILLED, RATE), UNITS, [])
    assert problems == [("greater", "must have the unit of lesser (people)")]


def test_unknown_metrics_are_named() -> None:
    problems = relation_problems(AtMostTerms(KILLED, "dprk/missing"), UNITS, [])
    assert problems == [("greater", "unknown metric 'dprk/missing'")]


def test_terms_are_read_from_a_kind_and_its_fields_only() -> None:
    assert terms_from("sum", {"total": CASUALTIES, "parts": [KILLED]}) == SumTerms(
        CASUALTIES, (KILLED,), exhaustive=False
    )
    with pytest.raises(ValidationFailed) as refused:
        terms_from("share", {"share": RATE, "part": KILLED, "formula": "a/b"})
    assert {field for field, _ in refused.value.errors} == {"whole", "formula"}
    with pytest.raises(ValidationFailed):
        terms_from("ratio", {})


def test_a_relation_is_defined_updated_and_removed_as_events() -> None:
    relation = Relation(
        slug="seed/share",
        kind="share",
        terms=CASUALTY_SHARE.as_data(),
        note=None,
        actor="key:1",
        reason=None,
    )
    relation.update(ShareTerms(RATE, KILLED, DEPLOYED), None, actor="key:1", reason="typo")
    relation.remove(actor="key:1", reason=None)
    events = relation.collect_events()
    assert [type(e).__name__ for e in events] == ["Defined", "Updated", "Removed"]
    assert relation.terms == ShareTerms(RATE, KILLED, DEPLOYED)
    with pytest.raises(InvalidTransition):
        relation.remove(actor="key:1", reason=None)
