"""§2 rejections of a claim: by the pure rule function and by the ledger's commands."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from domain.claims import ClaimFields, claim_field_problems
from domain.errors import ValidationFailed
from domain.ledger import Ledger
from domain.values import Qualifier

pytestmark = pytest.mark.unit

TODAY = date(2025, 2, 1)
D = Decimal


def fields(**changes) -> ClaimFields:
    base = ClaimFields(
        metric="dprk-in-russia/killed",
        value=D(300),
        qualifier=Qualifier.EXACT,
        reported_by="moscow-times",
        attributed_to=("south-korea",),
        as_of=date(2025, 1, 15),
        published_at=date(2025, 1, 22),
    )
    return replace(base, **changes)


def problems(unit: str = "people", **changes) -> list[tuple[str, str]]:
    return claim_field_problems(fields(**changes), unit, TODAY)


def problem_fields(unit: str = "people", **changes) -> set[str]:
    return {name for name, _ in problems(unit, **changes)}


# the pure rules


def test_a_well_formed_claim_has_no_problems():
    assert problems() == []


def test_a_negative_value_is_refused():
    assert problems(value=D(-1)) == [("value", "must not be negative")]


def test_a_zero_value_is_allowed():
    assert problems(value=D(0)) == []


def test_a_negative_value_high_is_refused():
    assert ("value_high", "must not be negative") in problems(
        qualifier=Qualifier.RANGE, value=D(0), value_high=D(-5)
    )


@pytest.mark.parametrize("number", [D("NaN"), D("Infinity"), D("-Infinity")])
def test_a_value_that_is_not_finite_is_refused(number):
    assert ("value", "must be a finite number") in problems(value=number)


def test_a_value_above_ten_to_the_fifteen_is_refused():
    assert problems(value=D("1e15") + 1) == [("value", "must be at most 10^15")]


@pytest.mark.parametrize("qualifier", [q for q in Qualifier if q is not Qualifier.RANGE])
def test_value_high_without_the_range_qualifier_is_refused(qualifier):
    assert problem_fields(qualifier=qualifier, value_high=D(400)) == {"value_high"}


def test_a_range_without_value_high_is_refused():
    assert problems(qualifier=Qualifier.RANGE) == [
        ("value_high", "is required with the qualifier 'range'")
    ]


def test_a_range_whose_value_high_is_below_value_is_refused():
    assert problems(qualifier=Qualifier.RANGE, value=D(1500), value_high=D(1000)) == [
        ("value_high", "must not be below value")
    ]


def test_a_range_whose_ends_are_equal_is_allowed():
    assert problems(qualifier=Qualifier.RANGE, value=D(1000), value_high=D(1000)) == []


def test_a_percent_above_one_hundred_is_refused():
    assert problems("percent", value=D("100.5")) == [("value", "a percent must be at most 100")]


def test_a_percent_of_exactly_one_hundred_is_allowed():
    assert problems("percent", value=D(100)) == []


def test_a_percent_range_ending_above_one_hundred_is_refused():
    assert problems("percent", qualifier=Qualifier.RANGE, value=D(90), value_high=D(101)) == [
        ("value_high", "a percent must be at most 100")
    ]


def test_a_value_above_one_hundred_is_fine_for_any_other_unit():
    assert problems("people", value=D(101)) == []


def test_an_as_of_in_the_future_is_refused():
    assert problems(as_of=date(2025, 2, 2)) == [("as_of", "must not be in the future")]


def test_an_as_of_of_today_is_allowed():
    assert problems(as_of=TODAY, published_at=TODAY) == []


def test_a_published_at_in_the_future_is_refused():
    assert problem_fields(published_at=date(2025, 3, 1)) == {"published_at"}


def test_a_period_start_after_as_of_is_refused():
    assert problem_fields(period_start=date(2025, 1, 16)) == {"period_start"}


@pytest.mark.parametrize("name", ["quote", "note"])
def test_a_quote_or_note_over_ten_thousand_characters_is_refused(name):
    assert problems(**{name: "x" * 10_001}) == [(name, "must be at most 10000 characters")]


@pytest.mark.parametrize("name", ["quote", "note"])
def test_a_quote_or_note_of_exactly_ten_thousand_characters_is_allowed(name):
    assert problems(**{name: "x" * 10_000}) == []


def test_a_url_over_two_thousand_characters_is_refused():
    url = "https://example.org/" + "a" * 1981
    assert len(url) == 2001
    assert problems(url=url) == [("url", "must be at most 2000 characters")]


def test_a_url_of_exactly_two_thousand_characters_is_allowed():
    assert problems(url="https://example.org/" + "a" * 1980) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"metric": "Killed"}, "metric"),
        ({"reported_by": "Moscow Times"}, "reported_by"),
        ({"reported_by": "m" * 201}, "reported_by"),
        ({"attributed_to": ("bbc-russian", "-western")}, "attributed_to.1"),
    ],
)
def test_bad_slugs_are_refused_and_named_by_field(changes, field):
    assert problem_fields(**changes) == {field}


def test_the_prefix_is_put_before_every_field_name():
    found = claim_field_problems(fields(value=D(-1), note="x" * 10_001), "people", TODAY, "3.")
    assert {name for name, _ in found} == {"3.value", "3.note"}


def test_every_problem_is_reported_not_only_the_first():
    assert problem_fields(value=D(-1), as_of=date(2030, 1, 1), url="u" * 2001) == {
        "value",
        "as_of",
        "url",
    }


# through the ledger


@pytest.fixture
def ledger() -> Ledger:
    app = Ledger(today=lambda: TODAY)
    for slug in ("moscow-times", "south-korea"):
        app.register_source(slug, slug, "outlet", None, None, actor="admin")
    app.define_metric("dprk-in-russia/killed", "Killed", "people", None, actor="admin")
    app.define_metric("dprk-in-russia/casualty-rate", "Rate", "percent", None, actor="admin")
    return app


def refused(ledger: Ledger, claim: ClaimFields) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as raised:
        ledger.record_claim(claim, actor="alice")
    return raised.value.errors


def test_the_ledger_records_a_valid_claim(ledger):
    saved = ledger.record_claim(fields(), actor="alice")
    assert saved.aggregate.value == D(300)
    assert saved.position == ledger.max_position()


def test_the_ledger_refuses_a_negative_value(ledger):
    assert refused(ledger, fields(value=D(-3))) == [("value", "must not be negative")]


def test_the_ledger_refuses_value_high_without_range(ledger):
    assert refused(ledger, fields(value_high=D(400))) == [
        ("value_high", "is only allowed with the qualifier 'range'")
    ]


def test_the_ledger_refuses_a_range_below_its_value(ledger):
    errors = refused(ledger, fields(qualifier=Qualifier.RANGE, value_high=D(200)))
    assert errors == [("value_high", "must not be below value")]


def test_the_ledger_caps_a_percent_metric_at_one_hundred(ledger):
    claim = fields(metric="dprk-in-russia/casualty-rate", value=D(101))
    assert refused(ledger, claim) == [("value", "a percent must be at most 100")]


def test_the_ledger_accepts_a_percent_of_one_hundred(ledger):
    claim = fields(metric="dprk-in-russia/casualty-rate", value=D(100))
    assert ledger.record_claim(claim, actor="alice").aggregate.value == D(100)


def test_the_ledger_judges_the_future_by_its_today_callable():
    # given a ledger whose today is 2025-01-10
    app = Ledger(today=lambda: date(2025, 1, 10))
    app.register_source("moscow-times", "MT", "outlet", None, None, actor="admin")
    app.register_source("south-korea", "SK", "government", None, None, actor="admin")
    app.define_metric("dprk-in-russia/killed", "Killed", "people", None, actor="admin")
    # when a claim refers to 2025-01-15
    # then it is in the future
    assert refused(app, fields(published_at=None)) == [("as_of", "must not be in the future")]


def test_the_ledger_refuses_an_unknown_metric(ledger):
    assert refused(ledger, fields(metric="dprk-in-russia/unknown")) == [
        ("metric", "unknown metric 'dprk-in-russia/unknown'")
    ]


def test_the_ledger_refuses_unknown_sources_and_names_each_one(ledger):
    claim = fields(reported_by="nobody", attributed_to=("south-korea", "ghost"))
    assert refused(ledger, claim) == [
        ("reported_by", "unknown source 'nobody'"),
        ("attributed_to.1", "unknown source 'ghost'"),
    ]


def test_the_ledger_refuses_a_long_quote_note_and_url(ledger):
    claim = fields(quote="q" * 10_001, note="n" * 10_001, url="u" * 2_001)
    assert {name for name, _ in refused(ledger, claim)} == {"quote", "note", "url"}


def test_the_ledger_refuses_bad_slugs(ledger):
    errors = refused(ledger, fields(reported_by="Moscow Times"))
    assert ("reported_by", "must match ^[a-z0-9][a-z0-9._/-]*$") in errors


def test_a_refused_claim_writes_nothing(ledger):
    before = ledger.max_position()
    refused(ledger, fields(value=D(-1)))
    assert ledger.max_position() == before


def test_a_batch_is_all_or_nothing_and_names_problems_by_index(ledger):
    # given one good claim and one bad claim
    before = ledger.max_position()
    with pytest.raises(ValidationFailed) as raised:
        ledger.record_claims([fields(), fields(value=D(-1))], actor="alice")
    # then nothing is written and the bad one is named by its index
    assert raised.value.errors == [("1.value", "must not be negative")]
    assert ledger.max_position() == before


def test_a_batch_of_good_claims_is_written_in_one_go(ledger):
    recorded = ledger.record_claims([fields(), fields(value=D(301))], actor="alice")
    assert [c.value for c in recorded.claims] == [D(300), D(301)]
    assert recorded.position == ledger.max_position()


def test_an_empty_batch_is_refused(ledger):
    with pytest.raises(ValidationFailed):
        ledger.record_claims([], actor="alice")


def test_a_correction_is_validated_like_a_new_claim(ledger):
    claim = ledger.record_claim(fields(), actor="alice").aggregate
    with pytest.raises(ValidationFailed) as raised:
        ledger.correct_claim(claim.id, {"value": D(-1)}, "typo", None, actor="ed")
    assert raised.value.errors == [("changes.value", "must not be negative")]


def test_a_correction_naming_an_unknown_field_is_refused_as_invalid(ledger):
    claim = ledger.record_claim(fields(), actor="alice").aggregate
    with pytest.raises(ValidationFailed) as raised:
        ledger.correct_claim(claim.id, {"colour": "red"}, "typo", None, actor="ed")
    assert raised.value.errors == [("changes.colour", "cannot be corrected")]


def test_a_correction_cannot_move_a_claim_to_another_metric(ledger):
    claim = ledger.record_claim(fields(), actor="alice").aggregate
    with pytest.raises(ValidationFailed) as raised:
        ledger.correct_claim(
            claim.id, {"metric": "dprk-in-russia/casualty-rate"}, "typo", None, actor="ed"
        )
    assert raised.value.errors == [("changes.metric", "cannot be corrected")]


@pytest.mark.parametrize("name", ["value", "qualifier", "as_of", "reported_by", "attributed_to"])
def test_a_correction_cannot_empty_a_required_field(ledger, name):
    claim = ledger.record_claim(fields(), actor="alice").aggregate
    with pytest.raises(ValidationFailed) as raised:
        ledger.correct_claim(claim.id, {name: None}, "typo", None, actor="ed")
    assert raised.value.errors == [(f"changes.{name}", "must not be null")]


def test_a_correction_to_an_unknown_qualifier_is_refused(ledger):
    claim = ledger.record_claim(fields(), actor="alice").aggregate
    with pytest.raises(ValidationFailed):
        ledger.correct_claim(claim.id, {"qualifier": "roughly"}, "typo", None, actor="ed")


def test_a_correction_to_an_unknown_source_is_refused(ledger):
    claim = ledger.record_claim(fields(), actor="alice").aggregate
    with pytest.raises(ValidationFailed) as raised:
        ledger.correct_claim(claim.id, {"attributed_to": ["ghost"]}, "typo", None, actor="ed")
    assert raised.value.errors == [("changes.attributed_to.0", "unknown source 'ghost'")]


def test_a_correction_to_a_range_given_as_text_is_validated_as_a_range(ledger):
    claim = ledger.record_claim(fields(), actor="alice").aggregate
    saved = ledger.correct_claim(
        claim.id, {"qualifier": "range", "value_high": D(400)}, "typo", None, actor="ed"
    )
    assert saved.aggregate.fields.qualifier is Qualifier.RANGE
    assert saved.aggregate.value_high == D(400)
