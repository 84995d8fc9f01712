"""Parsing `known_at` (an RFC 3339 time, or a date meaning 00:00:00Z) and a diff's ends."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

from api.problems import ApiProblem
from domain.event_data import rfc3339
from projections.reads.diffs import EndAsked

# RFC 3339 §5.6 date-time (with `T` or a space between date and time, `Z` or an offset),
# or a bare full-date. Python's fromisoformat alone also takes `20250101` and `2025-W01-1`.
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"([Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2}))?"
)
# What a `+hh:mm` offset becomes when a query string is not encoded: the `+` reads as a space.
LOST_PLUS = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)? \d{2}:\d{2}")


def invalid_known_at(text: str, message: str) -> ApiProblem:
    return ApiProblem(
        422,
        "validation",
        "Validation failed",
        f"known_at {text[:100]!r} is not an RFC 3339 time",
        errors=[{"field": "known_at", "message": message}],
    )


def parse_known_at(text: str | None) -> str | None:
    """The cut-off in the views' own text form, so it compares with `recorded_at`."""
    if text is None:
        return None
    if LOST_PLUS.fullmatch(text):
        raise invalid_known_at(
            text,
            "the offset lost its '+': a query string reads '+' as a space; send it as %2B",
        )
    if not RFC3339.fullmatch(text):
        raise invalid_known_at(text, "must be an RFC 3339 time or a date (YYYY-MM-DD)")
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        else:
            moment = datetime.fromisoformat(text.replace("z", "Z"))
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
        # Zero-padded years (`0999-…`) so the text still sorts in time order; a moment
        # that cannot be expressed in UTC (year 0 or 10000) is not a valid known_at.
        utc = moment.astimezone(UTC)
    except (ValueError, OverflowError):
        raise invalid_known_at(text, "must be an RFC 3339 time or a date") from None
    return utc.isoformat(timespec="microseconds").replace("+00:00", "Z")


FULL_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_valid_at(text: str | None) -> date | None:
    """A bare date, `YYYY-MM-DD` only (Python's fromisoformat also takes `20250101`)."""
    if text is None:
        return None
    try:
        if not FULL_DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ApiProblem(
            422,
            "validation",
            "Validation failed",
            f"valid_at {text[:100]!r} is not a date",
            errors=[{"field": "valid_at", "message": "must be a date (YYYY-MM-DD)"}],
        ) from None


def now_text() -> str:
    return rfc3339(datetime.now(UTC))


POSITION_END = re.compile(r"@[0-9]{1,19}")
LAST_POSITION = 2**63 - 1


def parse_end(text: str | None, field: str) -> EndAsked | None:
    """One end of a diff: `@position`, or a time or date as `known_at` takes it."""
    if text is None:
        return None
    if text.startswith("@"):
        if not POSITION_END.fullmatch(text) or int(text[1:]) > LAST_POSITION:
            raise ApiProblem(
                422,
                "validation",
                "Validation failed",
                f"{field} {text[:100]!r} is not a position",
                errors=[{"field": field, "message": "@ must be followed by a position (digits)"}],
            )
        return EndAsked(position=int(text[1:]))
    try:
        return EndAsked(known_at=parse_known_at(text))
    except ApiProblem as problem:
        message = problem.errors[0]["message"] if problem.errors else "not a time"
        raise ApiProblem(
            422,
            "validation",
            "Validation failed",
            f"{field} {text[:100]!r} is not an RFC 3339 time, a date or @position",
            errors=[{"field": field, "message": message}],
        ) from None
