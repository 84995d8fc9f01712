"""Claims and events as JSON Lines, the files `claimledger import` reads and `export` writes.

An import is resumable: the claim of each line gets an id derived from the file's SHA-256
and the line's number, so running the same file again (after a kill, or twice) finds the
claims it recorded before and records only the rest.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO
from uuid import UUID, uuid5

from pydantic import ValidationError

from api.presenters import claim_public
from api.requests import RecordClaimRequest
from domain.claims import Claim, ClaimFields
from domain.errors import AlreadyExists, DomainError
from domain.ledger import Ledger
from projections.events.feed_event import Applied
from projections.reads.queries import ClaimFilters, LedgerQueries

# What the server assigns to a claim: an exported claim carries them, an import drops them.
SERVER_ASSIGNED = ("id", "origin", "status", "credibility", "version", "recorded_at", "recorded_by")
PAGE = 1000
# The namespace of imported claims' ids (a fixed, random UUID).
IMPORTED_CLAIMS = UUID("2b0f6a43-93c5-4d0e-8f1e-7a9d51c4e6b2")
# How often a batch is tried again when another import of the same file recorded some
# of its claims between this one's look and its save.
RACES = 3


@dataclass(frozen=True)
class ClaimLine:
    """One line of a claims file: its number, its claim's id and fields."""

    number: int
    id: UUID
    fields: ClaimFields


class BadFile(ValueError):
    """The file, or the first line of it that is not a claim, and what is wrong."""


class BatchRefused(Exception):
    """A batch broke a ledger rule: it and the batches after it are not recorded."""


@dataclass
class Imported:
    """How many claims an import recorded, and how many were there from an earlier run."""

    new: int = 0
    there: int = 0


def line_claim_id(file_digest: str, number: int) -> UUID:
    """The id of the claim of line `number` of the file whose SHA-256 is `file_digest`."""
    return uuid5(IMPORTED_CLAIMS, f"{file_digest}:{number}")


def read_claim_lines(file: Path) -> list[ClaimLine]:
    """Every claim of the file, checked as a request would be; BadFile names the first
    line that is not one."""
    data = file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise BadFile(f"{file}: not UTF-8") from None
    lines = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            fields = RecordClaimRequest.model_validate(recorded_fields(line)).to_fields()
        except (ValidationError, ValueError) as error:
            raise BadFile(f"{file}:{number}: {first_problem(error)}") from None
        lines.append(ClaimLine(number, line_claim_id(digest, number), fields))
    return lines


def import_claim_lines(
    ledger: Ledger,
    claims: Sequence[ClaimLine],
    batch_size: int,
    actor: str,
    advance: Callable[[int], None],
) -> Imported:
    """Record the claims batch by batch, each batch in one transaction, but for those an
    earlier run of the same file recorded."""
    counts = Imported()
    for start in range(0, len(claims), batch_size):
        batch = claims[start : start + batch_size]
        try:
            import_batch(ledger, batch, actor, counts)
        except DomainError as error:
            raise BatchRefused(
                f"claims {start + 1}-{start + len(batch)} refused ({error}); "
                f"the {start} before them are recorded"
            ) from None
        advance(len(batch))
    return counts


def import_batch(ledger: Ledger, batch: Sequence[ClaimLine], actor: str, counts: Imported) -> None:
    """Record the batch's claims in one transaction, but for those an earlier run of the
    same file recorded. Which those are is asked only when the save meets them: an
    import runs once far more often than it is resumed."""
    for _ in range(RACES):
        try:
            ledger.record_claims([c.fields for c in batch], actor, ids=[c.id for c in batch])
        except AlreadyExists:
            there = recorded_ids(ledger, [c.id for c in batch])
            counts.there += len(there)
            batch = [c for c in batch if c.id not in there]
            if not batch:
                return
        else:
            counts.new += len(batch)
            return
    raise AlreadyExists("claim", f"one of {len(batch)} ids")


def recorded_ids(ledger: Ledger, ids: Sequence[UUID]) -> set[UUID]:
    """Which of these ids name a recorded claim."""
    return {i for i in ids if ledger.recorder.select_events(i, lte=Claim.INITIAL_VERSION)}


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
