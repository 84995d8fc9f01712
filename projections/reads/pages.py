"""Pages of a list and their cursors (§5: `{items, next_cursor}`)."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from projections.reads.estimate_pages import BadCursor

Row = dict[str, Any]


@dataclass(frozen=True)
class Page:
    items: list[Row]
    next_cursor: str | None


def encode_cursor(value: str | int) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kind: type[str] | type[int]) -> Any:
    """The key a cursor of ours holds: a `str` (an id) or an `int` (a position)."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise BadCursor(cursor) from error
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadCursor(cursor)
    if isinstance(value, int) and not 0 <= value < 2**63:  # SQLite's INTEGER
        raise BadCursor(cursor)
    if isinstance(value, str) and not value.isascii():  # ids are ASCII slugs
        raise BadCursor(cursor)
    return value


def page(rows: list[Row], limit: int, key: str) -> Page:
    if len(rows) > limit:
        items = rows[:limit]
        return Page(items, encode_cursor(items[-1][key]))
    return Page(rows, None)
