"""Response bodies of §9's derived figures and checks: in every estimate answer and at
`GET /v1/checks`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.json_numbers import Number

CheckStatusText = Literal["consistent", "tension", "inconsistent", "not_evaluable"]


class FigurePublic(BaseModel):
    best: Number | None
    low: Number | None = Field(description="null when the end is open (unbounded).")
    high: Number | None = Field(description="null when the end is open (unbounded).")


class InputFigurePublic(FigurePublic):
    metric: str = Field(examples=["dprk-in-russia/casualties"])


class DerivedPublic(BaseModel):
    relation: str = Field(examples=["dprk-in-russia/casualty-rate"])
    status: CheckStatusText = Field(
        description="This figure against the metric's own estimate: consistent, tension "
        "(the best values disagree, the ranges do not), inconsistent (the ranges miss each "
        "other) or not_evaluable (an input has no estimate, a divisor's range holds zero, "
        "or the metric has no estimate to compare with).",
        examples=["consistent"],
    )
    best: Number | None = Field(description="null when not computable.", examples=[11111])
    low: Number | None = Field(
        description="Rounded down to the unit; null when open or not computable.",
        examples=[11111],
    )
    high: Number | None = Field(
        description="Rounded up to the unit; null when open or not computable.",
        examples=[11112],
    )
    from_: list[InputFigurePublic] = Field(
        alias="from",
        description="The other metrics' estimates it was computed from (open ends null; "
        "all null when the metric has no estimate).",
    )
    message: str = Field(description="Why the status is what it is, in words.")

    # `from` is a Python keyword: the field is `from_`, in JSON always `from`.
    model_config = ConfigDict(validate_by_name=True, serialize_by_alias=True)


class CheckPublic(BaseModel):
    relation: str = Field(examples=["dprk-in-russia/casualty-parts"])
    kind: Literal["sum", "share", "at_most"]
    status: CheckStatusText = Field(
        description="The worst of the relation read through each of its metrics: "
        "consistent, tension, inconsistent or not_evaluable (a metric has no estimate, "
        "or a divisor's range holds zero).",
        examples=["consistent"],
    )
    metrics: dict[str, FigurePublic] = Field(
        description="Each metric's estimate as the check read it (open ends null)."
    )
    message: str = Field(description="What was compared, in words.")


class ChecksPagePublic(BaseModel):
    known_at: str | None = Field(description="The moment asked for; null for now.")
    position: int = Field(description="The ledger position the checks reflect.")
    items: list[CheckPublic] = Field(description="One page of checks, by relation.")
    next_cursor: str | None = Field(description="The next page's `cursor`; null at the end.")
