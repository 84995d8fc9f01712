"""The Claim aggregate and the rules a claim's fields must keep (§2)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any

from eventsourcing.domain import Aggregate, event

from domain.errors import InvalidTransition, ValidationFailed
from domain.values import (
    MAX_TEXT_LENGTH,
    MAX_URL_LENGTH,
    PERCENT_UNIT,
    ClaimStatus,
    Credibility,
    Qualifier,
    slug_problem,
)

MAX_VALUE = Decimal("1e15")
CORRECTABLE_FIELDS = (
    "value",
    "qualifier",
    "value_high",
    "as_of",
    "period_start",
    "reported_by",
    "attributed_to",
    "published_at",
    "url",
    "quote",
    "note",
)
REQUIRED_FIELDS = ("value", "qualifier", "as_of", "reported_by", "attributed_to")


@dataclass(frozen=True)
class ClaimFields:
    """What a reporter said: the fields of `Claim.Recorded`."""

    metric: str
    value: Decimal
    qualifier: Qualifier
    reported_by: str
    as_of: date
    value_high: Decimal | None = None
    period_start: date | None = None
    attributed_to: tuple[str, ...] = field(default_factory=tuple)
    published_at: date | None = None
    url: str | None = None
    quote: str | None = None
    note: str | None = None

    @property
    def origin(self) -> str:
        """Where the claim starts: the end of the attribution chain."""
        return self.attributed_to[-1] if self.attributed_to else self.reported_by

    def source_ids(self) -> list[str]:
        return [self.reported_by, *self.attributed_to]

    def with_changes(self, changes: dict[str, Any]) -> ClaimFields:
        """The fields after a correction; refuses fields that cannot change or be empty."""
        problems = [
            (f"changes.{name}", "cannot be corrected")
            for name in sorted(set(changes) - set(CORRECTABLE_FIELDS))
        ]
        for name in REQUIRED_FIELDS:
            if name in changes and changes[name] is None:
                problems.append((f"changes.{name}", "must not be null"))
        if changes.get("qualifier") not in (None, *Qualifier):
            problems.append(("changes.qualifier", "must be one of " + ", ".join(Qualifier)))
        if problems:
            raise ValidationFailed(problems)
        normal = dict(changes)
        if "qualifier" in normal:
            normal["qualifier"] = Qualifier(normal["qualifier"])
        if "attributed_to" in normal:
            normal["attributed_to"] = tuple(normal["attributed_to"])
        return replace(self, **normal)


def claim_field_problems(
    fields: ClaimFields, unit: str, today: date, prefix: str = ""
) -> list[tuple[str, str]]:
    """Every rule of §2 the fields break, as (field, message); empty when valid."""
    problems: list[tuple[str, str]] = []

    def add(name: str, message: str) -> None:
        problems.append((prefix + name, message))

    for name in ("value", "value_high"):
        number = getattr(fields, name)
        if number is None:
            continue
        if not number.is_finite():
            add(name, "must be a finite number")
        elif number < 0:
            add(name, "must not be negative")
        elif number > MAX_VALUE:
            add(name, "must be at most 10^15")
        elif unit == PERCENT_UNIT and number > 100:
            add(name, "a percent must be at most 100")
    if fields.value_high is not None and fields.qualifier is not Qualifier.RANGE:
        add("value_high", "is only allowed with the qualifier 'range'")
    if fields.qualifier is Qualifier.RANGE:
        if fields.value_high is None:
            add("value_high", "is required with the qualifier 'range'")
        elif fields.value.is_finite() and fields.value_high < fields.value:
            add("value_high", "must not be below value")
    if fields.as_of > today:
        add("as_of", "must not be in the future")
    if fields.period_start is not None and fields.period_start > fields.as_of:
        add("period_start", "must not be after as_of")
    if fields.published_at is not None and fields.published_at > today:
        add("published_at", "must not be in the future")
    for name in ("metric", "reported_by"):
        problem = slug_problem(getattr(fields, name))
        if problem:
            add(name, problem)
    for index, source in enumerate(fields.attributed_to):
        problem = slug_problem(source)
        if problem:
            add(f"attributed_to.{index}", problem)
    for name in ("quote", "note"):
        text = getattr(fields, name)
        if text is not None and len(text) > MAX_TEXT_LENGTH:
            add(name, f"must be at most {MAX_TEXT_LENGTH} characters")
    if fields.url is not None and len(fields.url) > MAX_URL_LENGTH:
        add("url", f"must be at most {MAX_URL_LENGTH} characters")
    return problems


class Claim(Aggregate):
    """One reported value of one metric, with its later corrections and grades."""

    @event("Recorded")
    def __init__(
        self,
        metric: str,
        value: Decimal,
        qualifier: str,
        value_high: Decimal | None,
        as_of: date,
        period_start: date | None,
        reported_by: str,
        attributed_to: list[str],
        published_at: date | None,
        url: str | None,
        quote: str | None,
        note: str | None,
        actor: str,
        reason: str | None,
    ) -> None:
        self.metric = metric
        self.value = value
        self.qualifier = qualifier
        self.value_high = value_high
        self.as_of = as_of
        self.period_start = period_start
        self.reported_by = reported_by
        self.attributed_to = list(attributed_to)
        self.published_at = published_at
        self.url = url
        self.quote = quote
        self.note = note
        self.status = ClaimStatus.ACTIVE.value
        self.credibility = Credibility.CANNOT_BE_JUDGED
        self.recorded_by = actor

    @property
    def fields(self) -> ClaimFields:
        return ClaimFields(
            metric=self.metric,
            value=self.value,
            qualifier=Qualifier(self.qualifier),
            value_high=self.value_high,
            as_of=self.as_of,
            period_start=self.period_start,
            reported_by=self.reported_by,
            attributed_to=tuple(self.attributed_to),
            published_at=self.published_at,
            url=self.url,
            quote=self.quote,
            note=self.note,
        )

    @property
    def origin(self) -> str:
        return self.fields.origin

    def correct(self, changes: dict[str, Any], actor: str, reason: str) -> None:
        """Fix a data-entry mistake; only fields that really change are recorded."""
        current = self.fields
        wanted = current.with_changes(changes)
        effective = {
            k: getattr(wanted, k) for k in changes if getattr(current, k) != getattr(wanted, k)
        }
        if not effective:
            raise InvalidTransition("the correction changes nothing")
        if "attributed_to" in effective:
            effective["attributed_to"] = list(effective["attributed_to"])
        if "qualifier" in effective:
            effective["qualifier"] = Qualifier(effective["qualifier"]).value
        self._corrected(changes=effective, actor=actor, reason=reason)

    @event("Corrected")
    def _corrected(self, changes: dict[str, Any], actor: str, reason: str) -> None:
        for key, value in changes.items():
            setattr(self, key, value)

    def retract(self, actor: str, reason: str) -> None:
        """The source withdrew the claim."""
        if self.status == ClaimStatus.RETRACTED:
            raise InvalidTransition("the claim is already retracted")
        self._retracted(actor=actor, reason=reason)

    @event("Retracted")
    def _retracted(self, actor: str, reason: str) -> None:
        self.status = ClaimStatus.RETRACTED.value

    def reinstate(self, actor: str, reason: str) -> None:
        """Undo a retraction."""
        if self.status != ClaimStatus.RETRACTED:
            raise InvalidTransition("only a retracted claim can be reinstated")
        self._reinstated(actor=actor, reason=reason)

    @event("Reinstated")
    def _reinstated(self, actor: str, reason: str) -> None:
        self.status = ClaimStatus.ACTIVE.value

    def assess(self, credibility: int, note: str | None, actor: str) -> None:
        """Grade the claim's credibility (1 confirmed … 6 cannot be judged)."""
        if credibility not in Credibility.ALL:
            raise ValidationFailed([("credibility", "must be an integer from 1 to 6")])
        self._assessed(credibility=credibility, note=note, actor=actor, reason=None)

    @event("Assessed")
    def _assessed(self, credibility: int, note: str | None, actor: str, reason: str | None) -> None:
        self.credibility = credibility
