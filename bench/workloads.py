"""The benchmarks' workloads: the claims they record or POST, and the sources and metrics
those claims need. Every benchmark builds its store from these, so a figure in one part
and a figure in another are about the same claims when they say so."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from api.requests import RecordClaimRequest
from domain.claims import ClaimFields
from domain.ledger import Ledger
from domain.values import Qualifier, Reliability

ACTOR = "bench"
SOURCES = 50
METRICS = 1_000
BENCH_METRICS = 256  # POSTed claims are spread over these, so no one metric grows hot


def claim_fields(n: int, metrics: int = METRICS, digits: int = 5) -> ClaimFields:
    """The n-th reported claim: round-robin over the metrics (`bench/m` and `digits`
    digits), sources and qualifiers, with a URL and a quote, so that an event is about the
    size of a real one (docs/benchmarks.md gives its size)."""
    qualifier = (Qualifier.APPROXIMATELY, Qualifier.EXACT, Qualifier.AT_LEAST)[n % 3]
    return ClaimFields(
        metric=f"bench/m{n % metrics:0{digits}d}",
        value=Decimal(100 + n % 977) + Decimal(n % 10) / 10,
        qualifier=qualifier,
        reported_by=f"source-{n % SOURCES:02d}",
        attributed_to=(f"source-{(n * 7 + 3) % SOURCES:02d}",),
        as_of=date(2025, 1 + n % 12, 1 + n % 28),
        published_at=date(2025, 12, 31),
        url=f"https://example.org/reports/{n}",
        quote=f"About {100 + n % 977} people, officials said in report {n}.",
    )


def bare_claim_fields(n: int, metrics: int, sources: int) -> ClaimFields:
    """The n-th bare claim (no URL, no quote, one qualifier) over five-digit metrics: the
    projection benchmark's, where the writer's work and not the event's size is measured."""
    return ClaimFields(
        metric=f"bench/m{n % metrics:05d}",
        value=Decimal(100 + n % 977),
        qualifier=Qualifier.APPROXIMATELY,
        reported_by=f"source-{n % sources:02d}",
        attributed_to=(f"source-{(n * 7 + 3) % sources:02d}",),
        as_of=date(2025, 1, 1 + n % 28),
        published_at=date(2025, 1, 28),
    )


def prepare(
    ledger: Ledger,
    metrics: int = METRICS,
    digits: int = 5,
    sources: int = SOURCES,
    rated: bool = True,
) -> None:
    """The sources (each rated once, if `rated`) and the metrics the claims spread over."""
    grades = [r for r in Reliability if r is not Reliability.F]
    for s in range(sources):
        slug = f"source-{s:02d}"
        ledger.register_source(slug, f"Source {s}", "outlet", None, None, ACTOR)
        if rated:
            ledger.rate_source(slug, grades[s % len(grades)], "bench", None, ACTOR)
    for m in range(metrics):
        ledger.define_metric(f"bench/m{m:0{digits}d}", f"Bench metric {m}", "people", None, ACTOR)


def claim_body(n: int) -> dict[str, Any]:
    """The n-th POSTed claim: a valid claim from the demo's sources on a bench metric."""
    return {
        "metric": f"bench/m{n % BENCH_METRICS:03d}",
        "value": 100 + n % 1000,
        "qualifier": "approximately",
        "as_of": "2025-01-20",
        "reported_by": "moscow-times",
        "attributed_to": ["bbc-russian"],
        "published_at": "2025-01-22",
    }


def posted_claim_fields(count: int) -> list[ClaimFields]:
    """The first `count` POSTed claims as the routes hand them to the ledger."""
    return [RecordClaimRequest.model_validate(claim_body(n)).to_fields() for n in range(count)]


def read_and_decode(ledger: Ledger, page: int, until: int | None = None) -> int:
    """The baseline of catch-up and verify: every event read in pages of `page` and
    decoded, nothing applied."""
    position, count = 0, 0
    while notifications := ledger.recorder.select_notifications(
        start=position, limit=page, stop=until, inclusive_of_start=False
    ):
        for notification in notifications:
            ledger.mapper.to_domain_event(notification)
        count += len(notifications)
        position = notifications[-1].id
    return count
