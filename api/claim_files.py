"""Claims and events as JSON Lines, the files `claimledger import` reads and `export` writes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TextIO

from pydantic import ValidationError

from api.presenters import claim_public
from domain.ledger import Ledger
from projections.queries import ClaimFilters, LedgerQueries
from projections.view_writer import Applied

# What the server assigns to a claim: an exported claim carries them, an import drops them.
SERVER_ASSIGNED = ("id", "origin", "status", "credibility", "version", "recorded_at", "recorded_by")
PAGE = 1000


def recorded_fields(line: str) -> dict[str, Any]:
    item = json.loads(line)
    if not isinstance(item, dict):
        raise ValueError("each line must be a JSON object")
    return {k: v for k, v in item.items() if k not in SERVER_ASSIGNED}


def first_problem(error: ValidationError | ValueError) -> str:
    if isinstance(error, ValidationError):
        first = error.errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(error)


def write_claims(queries: LedgerQueries, out: TextIO) -> None:
    """Every claim in position order, in the claim shape of §5 (values as JSON numbers,
    as GET /v1/claims gives them)."""
    cursor = None
    while True:
        page = queries.claims(ClaimFilters(), cursor, PAGE)
        for item in page.items:
            record = claim_public(item).model_dump(mode="json")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


def write_events(ledger: Ledger, out: TextIO, on_progress: Callable[[int], None]) -> None:
    """Every stored event as the audit feed shows it, without its leaf."""
    position = 0
    while batch := ledger.recorder.select_notifications(
        start=position, limit=PAGE, inclusive_of_start=False
    ):
        for notification in batch:
            event = Applied.of(ledger.mapper.to_domain_event(notification), notification.id)
            out.write(json.dumps(asdict(event), ensure_ascii=False, sort_keys=True) + "\n")
        position = batch[-1].id
        on_progress(len(batch))
