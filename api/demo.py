"""The seed of DESIGN §7 (a January 2025 report on DPRK troops in Russia), as ledger commands."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from domain.claims import ClaimFields
from domain.ledger import Ledger
from domain.values import Qualifier

DEMO_ACTOR = "demo"
PREFIX = "dprk-in-russia/"

SOURCES = [
    ("moscow-times", "The Moscow Times", "outlet"),
    ("bbc-russian", "BBC News Russian", "outlet"),
    ("western-officials", "Unnamed Western officials", "anonymous"),
    ("south-korea", "South Korea (government)", "government"),
    ("ukraine", "Ukraine (government)", "government"),
    ("united-states", "United States (government)", "government"),
    ("zelensky", "Volodymyr Zelensky", "person"),
    ("nyt", "The New York Times", "outlet"),
    ("us-defense-official", "Unnamed US defense official", "anonymous"),
]

METRICS = [
    ("killed", "North Korean soldiers killed", "people"),
    ("wounded", "North Korean soldiers wounded", "people"),
    ("casualties", "North Korean casualties (killed and wounded)", "people"),
    ("deployed", "North Korean troops deployed to Russia", "people"),
    ("captured", "North Korean soldiers captured", "people"),
    ("casualty-rate", "Share of deployed troops who became casualties", "percent"),
]

# metric, value, qualifier, as_of, attributed_to — all reported by moscow-times on 2025-01-22.
CLAIMS = [
    ("killed", 1000, Qualifier.APPROXIMATELY, "2025-01-22", ("bbc-russian", "western-officials")),
    ("wounded", 3000, Qualifier.APPROXIMATELY, "2025-01-22", ("bbc-russian", "western-officials")),
    ("casualties", 4000, Qualifier.APPROXIMATELY, "2025-01-22", ("bbc-russian",)),
    ("casualty-rate", 36, Qualifier.APPROXIMATELY, "2025-01-22", ("bbc-russian",)),
    ("killed", 300, Qualifier.EXACT, "2025-01-15", ("south-korea",)),
    ("wounded", 2700, Qualifier.EXACT, "2025-01-15", ("south-korea",)),
    ("deployed", 10000, Qualifier.MORE_THAN, "2025-01-22", ("ukraine",)),
    ("deployed", 10000, Qualifier.MORE_THAN, "2025-01-22", ("united-states",)),
    ("deployed", 10000, Qualifier.MORE_THAN, "2025-01-22", ("south-korea",)),
    ("captured", 2, Qualifier.EXACT, "2025-01-11", ("zelensky",)),
]


def demo_claims() -> list[ClaimFields]:
    return [
        ClaimFields(
            metric=PREFIX + metric,
            value=Decimal(value),
            qualifier=qualifier,
            as_of=date.fromisoformat(as_of),
            reported_by="moscow-times",
            attributed_to=chain,
            published_at=date(2025, 1, 22),
        )
        for metric, value, qualifier, as_of, chain in CLAIMS
    ]


# The seed's relations (§9): slug, kind, fields (metric names under PREFIX), note.
RELATIONS: list[tuple[str, str, dict[str, Any], str]] = [
    (
        "casualties-sum",
        "sum",
        {"total": "casualties", "parts": ["killed", "wounded", "captured"], "exhaustive": False},
        "Casualties are at least killed + wounded + captured: missing is unknown.",
    ),
    (
        "casualty-rate-share",
        "share",
        {"share": "casualty-rate", "part": "casualties", "whole": "deployed"},
        "The casualty rate is 100 × casualties ÷ troops deployed.",
    ),
    (
        "killed-at-most-casualties",
        "at_most",
        {"lesser": "killed", "greater": "casualties"},
        "The killed are among the casualties.",
    ),
]


def prefixed(fields: dict[str, Any]) -> dict[str, Any]:
    """Relation fields with each metric name under PREFIX."""
    return {
        name: [PREFIX + m for m in value]
        if isinstance(value, list)
        else PREFIX + value
        if isinstance(value, str)
        else value
        for name, value in fields.items()
    }


def load_demo(ledger: Ledger) -> int | None:
    """Load the seed into an empty ledger; returns the last position, or None if not empty.
    The relations come last, so every earlier event keeps its position."""
    if ledger.max_position() > 0:
        return None
    for slug, name, kind in SOURCES:
        ledger.register_source(slug, name, kind, None, None, DEMO_ACTOR)
    for slug, name, unit in METRICS:
        ledger.define_metric(PREFIX + slug, name, unit, None, DEMO_ACTOR)
    position = ledger.record_claims(demo_claims(), DEMO_ACTOR).position
    for slug, kind, fields, note in RELATIONS:
        saved = ledger.define_relation(PREFIX + slug, kind, prefixed(fields), note, DEMO_ACTOR)
        position = saved.position
    return position
