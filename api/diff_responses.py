"""Response bodies of the diff route (`<Noun>Public`), in a file of their own as the
derived figures' and checks' are (`api/related_responses.py`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from api.json_numbers import Number
from api.related_responses import CheckStatusText


class FiguresPublic(BaseModel):
    best: Number | None
    low: Number | None
    high: Number | None
    low_open: bool = Field(description="The claim that gives low is open below.")
    high_open: bool = Field(description="The claim that gives high is open above.")


class EffectPublic(BaseModel):
    best: Number
    low: Number
    high: Number


class DiffEndPublic(BaseModel):
    known_at: str | None = Field(
        description="The time asked, or (for @position) when the end's last event was recorded."
    )
    position: int = Field(description="The end holds the events at or before this position.")
    tree_size: int = Field(description="The Merkle log's size at this end (§6).")
    root_hash: str = Field(description="The Merkle log's RFC 9162 root at tree_size (hex).")


class DiffEstimatesPublic(BaseModel):
    from_: FiguresPublic = Field(serialization_alias="from")
    to: FiguresPublic


class DiffChangePublic(BaseModel):
    position: int
    recorded_at: str
    type: str
    claim: str | None = Field(description="The claim, for a claim's event.")
    source: str | None = Field(description="The source, for a rating.")
    actor: str
    effect: EffectPublic = Field(
        description="after − before for best, low and high; no estimate counts as 0, so "
        "the effects of all pages add up to estimate.to − estimate.from."
    )
    after: FiguresPublic = Field(description="The estimate just after the event.")
    reason: str = Field(description="A fixed phrase: `claim retracted`, `source rated B`, …")
    event_reason: str | None = Field(description="The event's own reason (an assessment's note).")


class CheckChangePublic(BaseModel):
    relation: str
    kind: Literal["sum", "share", "at_most"]
    from_: CheckStatusText | None = Field(
        serialization_alias="from", description="The status at `from`; null: no such relation."
    )
    to: CheckStatusText | None = Field(description="The status at `to`; null: removed by then.")
    message: str = Field(description="The check's words at `to` (at `from` if removed).")


class DiffChecksPublic(BaseModel):
    changed: list[CheckChangePublic] = Field(
        description="The relations touching the metric whose check status differs between "
        "the two ends, by relation."
    )


class DiffPublic(BaseModel):
    metric: str
    unit: str
    from_: DiffEndPublic = Field(serialization_alias="from")
    to: DiffEndPublic
    estimate: DiffEstimatesPublic
    changes: list[DiffChangePublic] = Field(
        description="This page's events that moved the estimate, in log order."
    )
    unchanged_events: int = Field(
        description="This page's events that could move the estimate and moved nothing."
    )
    checks: DiffChecksPublic
    consistency_path: list[str] = Field(
        description="RFC 9162 proof that the tree at to.tree_size extends the one at "
        "from.tree_size (hex), as /v1/audit/proofs/consistency gives it."
    )
    next_cursor: str | None
