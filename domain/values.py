"""Value vocabulary of §2: slugs, qualifiers, grades, source kinds and how values normalise."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._/-]*$")
MAX_SLUG_LENGTH = 200
MAX_TEXT_LENGTH = 10_000
MAX_URL_LENGTH = 2_000
MAX_NAME_LENGTH = 500
PERCENT_UNIT = "percent"


class Qualifier(StrEnum):
    EXACT = "exact"
    APPROXIMATELY = "approximately"
    AT_LEAST = "at_least"
    MORE_THAN = "more_than"
    AT_MOST = "at_most"
    FEWER_THAN = "fewer_than"
    RANGE = "range"


OPEN_ABOVE = frozenset({Qualifier.AT_LEAST, Qualifier.MORE_THAN})
OPEN_BELOW = frozenset({Qualifier.AT_MOST, Qualifier.FEWER_THAN})


class Reliability(StrEnum):
    """Admiralty grade of a source."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"


class Credibility:
    """Admiralty grade of a claim, 1 (confirmed) to 6 (cannot be judged)."""

    CONFIRMED = 1
    PROBABLY_TRUE = 2
    POSSIBLY_TRUE = 3
    DOUBTFUL = 4
    IMPROBABLE = 5
    CANNOT_BE_JUDGED = 6
    ALL = (1, 2, 3, 4, 5, 6)


class SourceKind(StrEnum):
    OUTLET = "outlet"
    GOVERNMENT = "government"
    MILITARY = "military"
    INTELLIGENCE = "intelligence"
    INTERNATIONAL = "international"
    NGO = "ngo"
    PERSON = "person"
    ANONYMOUS = "anonymous"
    OTHER = "other"


class Role(StrEnum):
    READER = "reader"
    CONTRIBUTOR = "contributor"
    EDITOR = "editor"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


class ClaimStatus(StrEnum):
    ACTIVE = "active"
    RETRACTED = "retracted"


@dataclass(frozen=True)
class Interval:
    """A claim's value as an interval (None = open on that side) and a point."""

    low: Decimal | None
    high: Decimal | None
    point: Decimal


def normalise(value: Decimal, qualifier: Qualifier, value_high: Decimal | None) -> Interval:
    """Turn a reported value into its interval and point, per the table of §2."""
    if qualifier is Qualifier.RANGE:
        assert value_high is not None
        return Interval(value, value_high, (value + value_high) / 2)
    if qualifier in OPEN_ABOVE:
        return Interval(value, None, value)
    if qualifier in OPEN_BELOW:
        return Interval(None, value, value)
    return Interval(value, value, value)


def slug_problem(slug: object) -> str | None:
    """Why a string is not a valid id, or None when it is."""
    if not isinstance(slug, str):
        return "must be a string"
    if len(slug) > MAX_SLUG_LENGTH:
        return f"must be at most {MAX_SLUG_LENGTH} characters"
    if not SLUG_PATTERN.fullmatch(slug):
        return "must match ^[a-z0-9][a-z0-9._/-]*$"
    return None


def decimal_text(value: Decimal) -> str:
    """Plain decimal form without exponent or trailing zeros: "120", "36.5"."""
    return format(value.normalize(), "f")
