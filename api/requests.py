"""Request bodies: `<Verb><Noun>Request`. Shapes and limits of §2 and §5."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.claims import ClaimFields
from domain.errors import ValidationFailed
from domain.relations import MAX_PARTS
from domain.values import (
    MAX_NAME_LENGTH,
    MAX_SLUG_LENGTH,
    MAX_TEXT_LENGTH,
    MAX_URL_LENGTH,
    Qualifier,
    Reliability,
    Role,
    SourceKind,
)

Slug = Annotated[
    str,
    Field(
        max_length=MAX_SLUG_LENGTH,
        pattern=r"^[a-z0-9][a-z0-9._/-]*$",
        description="Lowercase id: letters, digits and . _ / -, at most 200 characters.",
        examples=["moscow-times"],
    ),
]
# Text that lands in a view column holds no NUL: PostgreSQL text cannot store one.
NO_NUL = r"^[^\x00]*$"
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NO_NUL)]
Text = Annotated[str, Field(max_length=MAX_TEXT_LENGTH, pattern=NO_NUL)]
Reason = Annotated[str, Field(min_length=1, max_length=MAX_TEXT_LENGTH)]
Url = Annotated[str, Field(max_length=MAX_URL_LENGTH, pattern=NO_NUL)]
Value = Annotated[Decimal, Field(ge=0, allow_inf_nan=False, max_digits=30)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterSourceRequest(StrictModel):
    id: Slug
    name: Name
    kind: SourceKind
    url: Url | None = None
    reliability: Reliability | None = None


class RateSourceRequest(StrictModel):
    reliability: Reliability
    reason: Text | None = None


class DefineMetricRequest(StrictModel):
    id: Slug = Field(examples=["dprk-in-russia/killed"])
    name: Name
    unit: Annotated[
        str, Field(min_length=1, max_length=100, pattern=NO_NUL, examples=["people", "percent"])
    ]
    description: Text | None = None


class RecordClaimRequest(StrictModel):
    metric: Slug
    value: Value
    qualifier: Qualifier = Qualifier.EXACT
    value_high: Value | None = None
    as_of: date
    period_start: date | None = None
    reported_by: Slug
    attributed_to: Annotated[list[Slug], Field(max_length=50)] = []
    published_at: date | None = None
    url: Url | None = None
    quote: Text | None = None
    note: Text | None = None

    def to_fields(self) -> ClaimFields:
        return ClaimFields(
            metric=self.metric,
            value=self.value,
            qualifier=self.qualifier,
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


REQUIRED_CLAIM_FIELDS = ("value", "qualifier", "as_of", "reported_by", "attributed_to")


class ClaimChanges(StrictModel):
    """Only the fields given are changed; `metric` cannot be (record a new claim)."""

    value: Value | None = None
    qualifier: Qualifier | None = None
    value_high: Value | None = None
    as_of: date | None = None
    period_start: date | None = None
    reported_by: Slug | None = None
    attributed_to: Annotated[list[Slug], Field(max_length=50)] | None = None
    published_at: date | None = None
    url: Url | None = None
    quote: Text | None = None
    note: Text | None = None

    def given(self) -> dict[str, Any]:
        """The fields the client set; the required ones cannot be set to null."""
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        nulls = [n for n in REQUIRED_CLAIM_FIELDS if n in changes and changes[n] is None]
        if nulls:
            raise ValidationFailed([(f"changes.{n}", "cannot be null") for n in nulls])
        if "attributed_to" in changes and changes["attributed_to"] is not None:
            changes["attributed_to"] = tuple(changes["attributed_to"])
        return changes


class CorrectClaimRequest(StrictModel):
    changes: ClaimChanges
    reason: Reason


class RetractClaimRequest(StrictModel):
    reason: Reason


class ReinstateClaimRequest(StrictModel):
    reason: Reason


class AssessClaimRequest(StrictModel):
    credibility: Annotated[int, Field(ge=1, le=6, description="1 confirmed … 6 cannot be judged")]
    note: Text | None = None


class IssueKeyRequest(StrictModel):
    name: Name
    role: Role


RelationKindName = Literal["sum", "share", "at_most"]
MetricId = Annotated[
    str,
    Field(
        max_length=MAX_SLUG_LENGTH,
        pattern=r"^[a-z0-9][a-z0-9._/-]*$",
        description="A metric's id.",
        examples=["dprk-in-russia/killed"],
    ),
]
# The fields of each kind's terms (DESIGN §9); the others must be absent.
TERM_FIELDS = ("total", "parts", "exhaustive", "share", "part", "whole", "lesser", "greater")


class RelationTermsRequest(StrictModel):
    """A relation's kind and the metrics it ties: `sum` takes total, parts and
    exhaustive; `share` takes share, part and whole; `at_most` takes lesser and greater."""

    kind: RelationKindName = Field(description="sum, share or at_most.", examples=["at_most"])
    total: MetricId | None = Field(default=None, description="sum: the total.")
    parts: Annotated[list[MetricId], Field(min_length=1, max_length=MAX_PARTS)] | None = Field(
        default=None, description="sum: the parts (at most 50)."
    )
    exhaustive: bool | None = Field(
        default=None,
        description="sum: true when total = Σ parts, false (the default) when total ≥ Σ parts.",
    )
    share: MetricId | None = Field(default=None, description="share: the percent metric.")
    part: MetricId | None = Field(default=None, description="share: the part.")
    whole: MetricId | None = Field(default=None, description="share: the whole.")
    lesser: MetricId | None = Field(default=None, description="at_most: the lesser metric.")
    greater: MetricId | None = Field(default=None, description="at_most: the greater metric.")
    note: Text | None = Field(default=None, description="Why the metrics hang together.")

    def terms_fields(self) -> dict[str, Any]:
        """The fields of the terms the client gave (a null counts as not given)."""
        return {n: getattr(self, n) for n in TERM_FIELDS if getattr(self, n) is not None}


class DefineRelationRequest(RelationTermsRequest):
    id: Slug = Field(examples=["dprk-in-russia/killed-at-most-casualties"])


class UpdateRelationRequest(RelationTermsRequest):
    reason: Text | None = Field(default=None, description="Why the relation changes.")
