"""Response bodies: `<Noun>Public`. Values are JSON numbers; times RFC 3339 UTC."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import (
    BaseModel,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from api.json_numbers import Number
from api.related_responses import CheckPublic, DerivedPublic
from domain.values import ClaimStatus, Qualifier, Reliability, Role, SourceKind


class SourcePublic(BaseModel):
    id: str
    name: str
    kind: SourceKind
    url: str | None
    reliability: Reliability
    version: int
    claims: int = Field(description="How many claims it reported or originated.")


class ExplanationLinePublic(BaseModel):
    claim: str
    origin: str
    point: Number
    weight: Number | None
    status: str = Field(description="included, superseded, retracted or excluded")
    reason: str = Field(
        description="Why the claim has its status; for a retracted claim "
        "`retracted: <the reason its retraction gave>`.",
        examples=["retracted: the ministry withdrew the figure"],
    )
    value: Number = Field(description="The value as said, as known then.", examples=[10000])
    qualifier: Qualifier = Field(description="How the value was said.", examples=["more_than"])
    value_high: Number | None = Field(description="The upper end of a range; else null.")
    as_of: date = Field(description="The date the claim's figure describes.")
    reported_by: str | None = Field(
        description="The source that reported the claim, as known then.", examples=["bbc"]
    )
    retraction_reason: str | None = Field(
        description="For a retracted claim: the reason its latest retraction gave, as known "
        "then (whoever withdrew it); null otherwise.",
    )


class EstimatePublic(BaseModel):
    metric: str
    unit: str
    method: str
    known_at: str | None
    valid_at: date | None
    position: int = Field(description="The ledger position this estimate reflects.")
    low: Number | None
    best: Number | None
    high: Number | None
    low_open: bool = Field(
        description="True when a claim giving `low` is open below (at_most, fewer_than): "
        "the figure may be lower than `low`."
    )
    high_open: bool = Field(
        description="True when a claim giving `high` is open above (at_least, more_than): "
        "`high` is a floor said by a source, not a ceiling.",
        examples=[True],
    )
    considered: int
    included: int
    independent_origins: int
    evidence: str = Field(description="none, confirmed, contested, fair or weak")
    explanation: list[ExplanationLinePublic] | None = Field(
        default=None,
        description="With explain=true: one page of lines, one per claim considered; "
        "included lines first, then the rest, each by point, then claim id.",
    )
    next_cursor: str | None = Field(
        default=None,
        description="With explain=true: pass as `cursor` for the explanation's next page; "
        "null on its last page (and without explain).",
    )
    derived: list[DerivedPublic] = Field(
        default_factory=list,
        description="The metric as each live relation touching it computes it from the others' "
        "estimates as known at the same known_at and valid_at; it never moves the estimate.",
    )
    checks: list[CheckPublic] = Field(
        default_factory=list, description="Each live relation touching the metric, checked."
    )


class MetricPublic(BaseModel):
    id: str
    name: str
    unit: str
    description: str | None
    version: int
    estimate: EstimatePublic


class ClaimPublic(BaseModel):
    id: str
    metric: str
    value: Number
    qualifier: Qualifier
    value_high: Number | None
    as_of: date
    period_start: date | None
    reported_by: str
    attributed_to: list[str]
    origin: str
    published_at: date | None
    url: str | None
    quote: str | None
    note: str | None
    status: ClaimStatus
    credibility: int
    version: int
    recorded_at: str
    recorded_by: str


class HistoryEventPublic(BaseModel):
    position: int
    version: int
    type: str
    recorded_at: str
    actor: str
    data: dict[str, Any] = Field(description="Event fields; decimals as plain strings.")


class AuditEventPublic(BaseModel):
    position: int
    leaf_index: int = Field(description="Dense 0-based index in the Merkle log.")
    stream: str
    version: int
    type: str
    recorded_at: str
    actor: str
    data: dict[str, Any] = Field(description="Event fields; decimals as plain strings.")
    leaf_hash: str = Field(description="SHA-256(0x00 || canonical bytes), lowercase hex.")


class AuditPagePublic(BaseModel):
    events: list[AuditEventPublic]
    next_after: int | None


class PublicKeyPublic(BaseModel):
    key_id: str = Field(description="First 16 hex digits of the key's SHA-256.")
    algorithm: str
    public_key: str = Field(description="Raw 32-byte Ed25519 public key, base64.")


class TreeHeadPublic(BaseModel):
    tree_size: int
    root_hash: str = Field(description="RFC 9162 Merkle tree hash, lowercase hex.")
    timestamp: str
    signature: str = Field(
        description="Base64 Ed25519 over canonical JSON of {tree_size, root_hash, timestamp}."
    )
    key_id: str


class InclusionProofPublic(BaseModel):
    leaf_index: int
    tree_size: int
    leaf_hash: str
    audit_path: list[str]


class ConsistencyProofPublic(BaseModel):
    first: int
    second: int
    consistency_path: list[str]


class ClaimHistoryPublic(BaseModel):
    claim: str
    events: list[HistoryEventPublic]


class TimelinePointPublic(BaseModel):
    position: int
    recorded_at: str
    low: Number | None
    best: Number | None
    high: Number | None
    included: int


class TimelinePublic(BaseModel):
    metric: str
    method: str
    points: list[TimelinePointPublic] = Field(description="One page, in position order.")
    next_cursor: str | None = Field(description="The next page's `cursor`; null at the end.")


class SnapshotPublic(BaseModel):
    known_at: str
    position: int = Field(description="The last position known at `known_at`.")
    estimates: list[EstimatePublic] = Field(description="One page of metrics, by id.")
    next_cursor: str | None = Field(
        description="The next page's `cursor` (it carries this page's `known_at` and "
        "`position`); null at the end."
    )


class SourcePagePublic(BaseModel):
    items: list[SourcePublic]
    next_cursor: str | None


class MetricPagePublic(BaseModel):
    items: list[MetricPublic]
    next_cursor: str | None


class ClaimPagePublic(BaseModel):
    items: list[ClaimPublic]
    next_cursor: str | None


class BatchRecordedPublic(BaseModel):
    ids: list[str]
    position: int


class IssuedKeyPublic(BaseModel):
    id: str
    name: str
    role: Role
    secret: str | None = Field(
        description=(
            "Shown once, in the answer that issued the key; only its SHA-256 is kept. "
            "null when a retry with the same Idempotency-Key answers again for a key "
            "already issued: stored answers never hold secrets. To get a usable key then, "
            "revoke this one and issue another."
        ),
        examples=["clk_0b9a4c1e6f2d4a7e9c3b5d8f1a2e4c6b_3q2-7wEjXcmS0n3vGa1Yp9QkL4tZbRf"],
    )
    created_at: str


class KeyPublic(BaseModel):
    id: str
    name: str
    role: Role
    revoked: bool


class HealthPublic(BaseModel):
    status: str
    position: int | None = None
    projected: int | None = None
    lag: int | None = None


class ProblemPublic(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, str]] | None = Field(
        default=None, description="Each field and what is wrong with it (at most 100)."
    )
    errors_omitted: int | None = Field(
        default=None, description="How many more errors there were than `errors` lists."
    )


# The fields of each kind's terms; a relation's answer carries only its own kind's.
KIND_FIELDS = {
    "sum": ("total", "parts", "exhaustive"),
    "share": ("share", "part", "whole"),
    "at_most": ("lesser", "greater"),
}
ALL_KIND_FIELDS = frozenset(name for names in KIND_FIELDS.values() for name in names)


class RelationPublic(BaseModel):
    """A relation (§9): its kind's fields only (a `sum` has no `lesser`)."""

    id: str = Field(examples=["dprk-in-russia/killed-at-most-casualties"])
    kind: str = Field(description="sum, share or at_most.", examples=["at_most"])
    total: str | None = Field(default=None, description="sum: the total.")
    parts: list[str] | None = Field(default=None, description="sum: the parts.")
    exhaustive: bool | None = Field(
        default=None, description="sum: true when total = Σ parts, false when total ≥ Σ parts."
    )
    share: str | None = Field(default=None, description="share: the percent metric.")
    part: str | None = Field(default=None, description="share: the part.")
    whole: str | None = Field(default=None, description="share: the whole.")
    lesser: str | None = Field(default=None, description="at_most: the lesser metric.")
    greater: str | None = Field(default=None, description="at_most: the greater metric.")
    note: str | None
    removed: bool = Field(description="Removed relations derive and check nothing.")
    version: int
    position: int = Field(description="The position of the relation's last event.")
    recorded_at: str = Field(description="When its last event was recorded.")
    defined_at: str = Field(description="When it was defined.")

    # No return annotation: with one, pydantic would document the answer as that type
    # instead of as this model's fields.
    @model_serializer(mode="wrap")
    def only_its_kinds_fields(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data: dict[str, Any] = handler(self)
        own = KIND_FIELDS.get(self.kind, ())
        return {k: v for k, v in data.items() if k in own or k not in ALL_KIND_FIELDS}


class RelationPagePublic(BaseModel):
    items: list[RelationPublic] = Field(description="One page of live relations, by id.")
    next_cursor: str | None = Field(description="The next page's `cursor`; null at the end.")
