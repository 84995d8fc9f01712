"""Parsing `known_at`: any RFC 3339 time, or a bare date meaning 00:00:00Z."""

from __future__ import annotations

from datetime import UTC, date, datetime

from api.problems import ApiProblem
from domain.event_data import rfc3339


def parse_known_at(text: str | None) -> str | None:
    """The cut-off in the views' own text form, so it compares with `recorded_at`."""
    if text is None:
        return None
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
        raise ApiProblem(
            422,
            "validation",
            "Validation failed",
            f"known_at {text!r} is not an RFC 3339 time",
            errors=[{"field": "known_at", "message": "must be an RFC 3339 time or a date"}],
        ) from None
    return utc.isoformat(timespec="microseconds").replace("+00:00", "Z")


def now_text() -> str:
    return rfc3339(datetime.now(UTC))
