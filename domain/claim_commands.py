"""The ledger's commands over claims, a part of `domain.ledger.Ledger` (mixed into it): record
one or many, correct, retract, reinstate, assess, and the checks a new claim must pass."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.application import Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from domain.claims import Claim, ClaimFields, claim_field_problems
from domain.commits import Committer
from domain.errors import (
    AlreadyExists,
    ClaimNotFound,
    MetricNotFound,
    NotFound,
    SourceNotFound,
    ValidationFailed,
    VersionMismatch,
)
from domain.metrics import Metric
from domain.saved import Saved, TAggregate, check_version
from domain.sources import Source


@dataclass(frozen=True)
class RecordedClaims:
    claims: list[Claim]
    position: int


class ClaimCommands:
    """Commands over claims; the rest of the ledger (loading, saving) is `Ledger`'s."""

    if TYPE_CHECKING:
        today: Callable[[], date]
        repository: Repository[UUID]
        _committer: Committer | None
        _known_units: dict[str, str]
        _known_sources: set[str]

        def _get(
            self, kind: type[TAggregate], stream: UUID, missing: NotFound, version: int | None
        ) -> TAggregate: ...
        def _commit(self, *aggregates: Aggregate) -> int: ...
        def _save(self, *aggregates: Aggregate) -> int: ...
        def _refuse_if_alarmed(self) -> None: ...
        def get_metric(self, slug: str) -> Metric: ...
        def get_source(self, slug: str, version: int | None = None) -> Source: ...

    def record_claim(
        self, fields: ClaimFields, actor: str, claim_id: UUID | None = None
    ) -> Saved[Claim]:
        """Record one reported claim (with the given id, if any: `AlreadyExists` when it
        is taken)."""
        ids = None if claim_id is None else [claim_id]
        recorded = self.record_claims([fields], actor, batch=False, ids=ids)
        return Saved(recorded.claims[0], recorded.position)

    async def record_claim_async(
        self, fields: ClaimFields, actor: str, claim_id: UUID | None = None
    ) -> Saved[Claim]:
        """Record one reported claim, from an event loop: checked and built in the loop's
        thread, then the commit is awaited rather than waited for in a worker thread.
        When the check would read the store (a metric or source not seen yet), or on the
        direct write path, the whole command runs in a worker thread instead."""
        committer = self._committer
        if committer is None or not self._checks_are_cached(fields):
            return await asyncio.to_thread(self.record_claim, fields, actor, claim_id)
        self._refuse_if_alarmed()
        ids = None if claim_id is None else [claim_id]
        (claim,) = self._new_claims([fields], actor, batch=False, ids=ids)
        try:
            position = await committer.submit_async(claim.collect_events())
        except IntegrityError:
            if claim_id is not None:
                raise AlreadyExists("claim", str(claim_id)) from None
            # a new claim's random id taken: as `_save` answers it
            current: Aggregate = await asyncio.to_thread(self.repository.get, claim.id)
            raise VersionMismatch(claim.version - 1, current.version) from None
        return Saved(claim, position)

    def record_claims(
        self,
        batch_fields: Sequence[ClaimFields],
        actor: str,
        batch: bool = True,
        ids: Sequence[UUID] | None = None,
    ) -> RecordedClaims:
        """Record many claims in one transaction: all of them, or none. With `ids` (one
        per claim), the claims get those ids, and a batch of which any id is taken
        raises `AlreadyExists` and records nothing."""
        claims = self._new_claims(batch_fields, actor, batch, ids)
        if ids is None:
            return RecordedClaims(claims, self._save(*claims))
        try:
            return RecordedClaims(claims, self._commit(*claims))
        except IntegrityError:
            named = str(ids[0]) if len(ids) == 1 else f"one of {len(ids)} ids"
            raise AlreadyExists("claim", named) from None

    def _new_claims(
        self,
        batch_fields: Sequence[ClaimFields],
        actor: str,
        batch: bool,
        ids: Sequence[UUID] | None = None,
    ) -> list[Claim]:
        if not batch_fields:
            raise ValidationFailed([("", "a batch needs at least one claim")])
        units: dict[str, str | None] = {}
        known_sources: dict[str, bool] = {}
        problems: list[tuple[str, str]] = []
        for index, fields in enumerate(batch_fields):
            prefix = f"{index}." if batch else ""
            problems += self._claim_problems(fields, units, known_sources, prefix)
        if problems:
            raise ValidationFailed(problems)
        if ids is None:
            return [new_claim(fields, actor) for fields in batch_fields]
        if len(ids) != len(batch_fields):
            raise ValueError("one id per claim")
        return [new_claim(f, actor, i) for f, i in zip(batch_fields, ids, strict=True)]

    def _checks_are_cached(self, fields: ClaimFields) -> bool:
        """Checking these fields reads nothing from the store (their metric and sources
        have been seen)."""
        return fields.metric in self._known_units and all(
            slug in self._known_sources for slug in fields.source_ids()
        )

    def correct_claim(
        self,
        claim_id: UUID,
        changes: dict[str, Any],
        reason: str,
        expected_version: int | None,
        actor: str,
    ) -> Saved[Claim]:
        """Fix a data-entry mistake in a claim."""
        claim = self.get_claim(claim_id)
        check_version(claim, expected_version)
        corrected = claim.fields.with_changes(changes)
        problems = self._claim_problems(corrected, {}, {}, "changes.")
        if problems:
            raise ValidationFailed(problems)
        claim.correct(changes, actor=actor, reason=reason)
        return Saved(claim, self._save(claim))

    def retract_claim(
        self, claim_id: UUID, reason: str, expected_version: int | None, actor: str
    ) -> Saved[Claim]:
        """Record that the source withdrew the claim."""
        return self._change_claim(claim_id, expected_version, lambda c: c.retract(actor, reason))

    def reinstate_claim(
        self, claim_id: UUID, reason: str, expected_version: int | None, actor: str
    ) -> Saved[Claim]:
        """Undo a retraction."""
        return self._change_claim(claim_id, expected_version, lambda c: c.reinstate(actor, reason))

    def assess_claim(
        self,
        claim_id: UUID,
        credibility: int,
        note: str | None,
        expected_version: int | None,
        actor: str,
    ) -> Saved[Claim]:
        """Grade a claim's credibility."""
        return self._change_claim(
            claim_id, expected_version, lambda c: c.assess(credibility, note, actor)
        )

    def get_claim(self, claim_id: UUID, version: int | None = None) -> Claim:
        return self._get(Claim, claim_id, ClaimNotFound(str(claim_id)), version)

    def _change_claim(
        self, claim_id: UUID, expected_version: int | None, change: Callable[[Claim], None]
    ) -> Saved[Claim]:
        claim = self.get_claim(claim_id)
        check_version(claim, expected_version)
        change(claim)
        return Saved(claim, self._save(claim))

    def _claim_problems(
        self,
        fields: ClaimFields,
        units: dict[str, str | None],
        known_sources: dict[str, bool],
        prefix: str,
    ) -> list[tuple[str, str]]:
        if fields.metric not in units:
            units[fields.metric] = self._unit_of(fields.metric)
        unit = units[fields.metric]
        problems = claim_field_problems(fields, unit or "", self.today(), prefix)
        if unit is None:
            problems.append((prefix + "metric", f"unknown metric {fields.metric!r}"))
        names = ["reported_by"] + [f"attributed_to.{i}" for i in range(len(fields.attributed_to))]
        for name, slug in zip(names, fields.source_ids(), strict=True):
            if slug not in known_sources:
                known_sources[slug] = self._source_exists(slug)
            if not known_sources[slug]:
                problems.append((prefix + name, f"unknown source {slug!r}"))
        return problems

    def _unit_of(self, slug: str) -> str | None:
        # Metrics are never deleted and their unit never changes, so a unit once seen
        # stays true; unknown slugs are not remembered (they may be defined later).
        if slug in self._known_units:
            return self._known_units[slug]
        try:
            unit = self.get_metric(slug).unit
        except MetricNotFound:
            return None
        self._known_units[slug] = unit
        return unit

    def _source_exists(self, slug: str) -> bool:
        # Sources are never deleted: only their existence is remembered.
        if slug in self._known_sources:
            return True
        try:
            self.get_source(slug)
        except SourceNotFound:
            return False
        self._known_sources.add(slug)
        return True


def new_claim(fields: ClaimFields, actor: str, claim_id: UUID | None = None) -> Claim:
    """A new claim; with `claim_id`, under that id rather than a random one."""
    recorded: dict[str, Any] = dict(
        metric=fields.metric,
        value=fields.value,
        qualifier=fields.qualifier.value,
        value_high=fields.value_high,
        as_of=fields.as_of,
        period_start=fields.period_start,
        reported_by=fields.reported_by,
        attributed_to=list(fields.attributed_to),
        published_at=fields.published_at,
        url=fields.url,
        quote=fields.quote,
        note=fields.note,
        actor=actor,
        reason=None,
    )
    if claim_id is None:
        return Claim(**recorded)
    # The library's own constructor for a created event with a chosen id.
    return Claim._create(Claim.Recorded, id=claim_id, **recorded)  # type: ignore[attr-defined]
