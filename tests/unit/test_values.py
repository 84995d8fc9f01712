"""§2 values: how a reported value normalises, how decimals are written, ids and roles."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.values import (
    MAX_SLUG_LENGTH,
    Interval,
    Qualifier,
    Role,
    decimal_text,
    normalise,
    slug_problem,
)

pytestmark = pytest.mark.unit

D = Decimal


# normalise: the table of §2


def test_an_exact_value_is_a_closed_point_interval():
    assert normalise(D(300), Qualifier.EXACT, None) == Interval(D(300), D(300), D(300))


def test_an_approximate_value_is_treated_like_an_exact_one():
    assert normalise(D(1000), Qualifier.APPROXIMATELY, None) == Interval(D(1000), D(1000), D(1000))


@pytest.mark.parametrize("qualifier", [Qualifier.AT_LEAST, Qualifier.MORE_THAN])
def test_at_least_and_more_than_are_open_above(qualifier):
    assert normalise(D(10000), qualifier, None) == Interval(D(10000), None, D(10000))


@pytest.mark.parametrize("qualifier", [Qualifier.AT_MOST, Qualifier.FEWER_THAN])
def test_at_most_and_fewer_than_are_open_below(qualifier):
    assert normalise(D(500), qualifier, None) == Interval(None, D(500), D(500))


def test_a_range_spans_its_two_ends_and_its_point_is_the_midpoint():
    assert normalise(D(1000), Qualifier.RANGE, D(1500)) == Interval(D(1000), D(1500), D(1250))


def test_a_range_with_an_odd_width_has_a_fractional_midpoint():
    assert normalise(D(1), Qualifier.RANGE, D(2)).point == D("1.5")


def test_every_qualifier_of_the_table_is_covered():
    assert {q.value for q in Qualifier} == {
        "exact",
        "approximately",
        "at_least",
        "more_than",
        "at_most",
        "fewer_than",
        "range",
    }


# decimal_text: plain decimal form for event data


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("120"), "120"),
        (D("36.5"), "36.5"),
        (D("36.50"), "36.5"),
        (D("1E+3"), "1000"),
        (D("1.2E+4"), "12000"),
        (D("0.00"), "0"),
        (D("0"), "0"),
        (D("1.2E-7"), "0.00000012"),
        (D("1000000000000000"), "1000000000000000"),
    ],
)
def test_decimal_text_writes_plain_decimals_without_exponent_or_trailing_zeros(value, text):
    assert decimal_text(value) == text


def test_decimal_text_never_contains_an_exponent_for_large_normalised_values():
    assert "E" not in decimal_text(D("1E+3").normalize())
    assert "e" not in decimal_text(D("5E+14")).lower()


# slug_problem: ids of §2


@pytest.mark.parametrize(
    "slug",
    ["moscow-times", "dprk-in-russia/killed", "a", "0", "us.defense_official", "a" * 200],
)
def test_a_valid_slug_has_no_problem(slug):
    assert slug_problem(slug) is None


@pytest.mark.parametrize(
    "slug",
    ["", "Moscow-Times", "-leading-dash", "/leading-slash", "has space", "ünïcode", "a*b", "_x"],
)
def test_a_slug_outside_the_pattern_has_a_problem(slug):
    assert slug_problem(slug) == "must match ^[a-z0-9][a-z0-9._/-]*$"


def test_a_slug_over_two_hundred_characters_has_a_problem():
    assert slug_problem("a" * (MAX_SLUG_LENGTH + 1)) == "must be at most 200 characters"


@pytest.mark.parametrize("slug", [None, 12, ["a"]])
def test_a_slug_that_is_not_a_string_has_a_problem(slug):
    assert slug_problem(slug) == "must be a string"


def test_a_slug_with_a_trailing_newline_is_refused():
    # in Python's re, `$` also matches just before a final newline: the id must still fail
    assert slug_problem("source\n") is not None


# Role.allows: reader < contributor < editor < admin


def test_roles_are_ordered_reader_contributor_editor_admin():
    assert [r.rank for r in (Role.READER, Role.CONTRIBUTOR, Role.EDITOR, Role.ADMIN)] == [
        0,
        1,
        2,
        3,
    ]


@pytest.mark.parametrize(
    ("role", "needed", "allowed"),
    [
        (Role.READER, Role.READER, True),
        (Role.READER, Role.CONTRIBUTOR, False),
        (Role.CONTRIBUTOR, Role.READER, True),
        (Role.CONTRIBUTOR, Role.EDITOR, False),
        (Role.EDITOR, Role.CONTRIBUTOR, True),
        (Role.EDITOR, Role.ADMIN, False),
        (Role.ADMIN, Role.EDITOR, True),
        (Role.ADMIN, Role.ADMIN, True),
    ],
)
def test_a_role_allows_what_needs_its_rank_or_lower(role, needed, allowed):
    assert role.allows(needed) is allowed


def test_every_role_allows_itself_and_admin_allows_everything():
    for role in Role:
        assert role.allows(role)
        assert Role.ADMIN.allows(role)
