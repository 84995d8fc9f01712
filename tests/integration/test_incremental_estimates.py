"""The estimate the projection keeps incrementally (`metrics.estimate`, the timeline's
last point) equals the pure §4 method over the stored claims and ratings, after a long
random history of every kind of change, on both stores, and with the estimate cache so
small that metrics are evicted and reloaded all the time."""

from __future__ import annotations

import contextlib
import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from domain.errors import DomainError
from domain.values import Credibility, Qualifier, Reliability
from projections.log.canonical import loads
from projections.store import Store
from projections.tuning import Tuning
from projections.writer.estimate_summary import summary_fields

from .conftest import ACTOR, StoreAt, claim, define_metrics, register_sources

pytestmark = pytest.mark.integration

SOURCES = ["s1", "s2", "s3", "s4", "s5"]
METRICS = ["m/a", "m/b", "m/c"]


def random_history(store: Store, rng: random.Random, steps: int, claims: list[Any]) -> None:
    """`steps` random changes of the claims (ids in `claims`, new ones added) and ratings."""
    ledger = store.ledger
    for step in range(steps):
        roll = rng.random()
        if roll < 0.45 or not claims:
            chain = rng.sample(SOURCES, rng.randint(0, 2))
            fields = claim(
                rng.choice(METRICS),
                rng.randint(1, 500),
                rng.choice(SOURCES),
                *chain,
                qualifier=rng.choice([Qualifier.EXACT, Qualifier.APPROXIMATELY]),
                as_of=date(2025, 1, 1) + timedelta(days=rng.randint(0, 9)),
            )
            claims.append(ledger.record_claim(fields, ACTOR).aggregate.id)
        elif roll < 0.6:
            changes: dict[str, Any] = rng.choice(
                [
                    {"value": Decimal(rng.randint(1, 500))},
                    {"attributed_to": rng.sample(SOURCES, rng.randint(0, 2))},
                    {"as_of": date(2025, 1, 1) + timedelta(days=rng.randint(0, 9))},
                ]
            )
            with contextlib.suppress(DomainError):  # a correction that changes nothing
                ledger.correct_claim(rng.choice(claims), changes, "fix", None, ACTOR)
        elif roll < 0.7:
            with contextlib.suppress(DomainError):  # already retracted: nothing stored
                ledger.retract_claim(rng.choice(claims), "gone", None, ACTOR)
        elif roll < 0.78:
            with contextlib.suppress(DomainError):  # not retracted: nothing stored
                ledger.reinstate_claim(rng.choice(claims), "back", None, ACTOR)
        elif roll < 0.9:
            grade = rng.choice([Credibility.CONFIRMED, Credibility.IMPROBABLE, 3])
            ledger.assess_claim(rng.choice(claims), int(grade), None, None, ACTOR)
        else:
            ledger.rate_source(rng.choice(SOURCES), rng.choice(list(Reliability)), "r", None, ACTOR)
        if step % 7 == 0:
            store.runner.catch_up()  # batches of every size, cache warm and cold
    store.runner.catch_up()


def stored_estimates(store: Store) -> dict[str, tuple[dict[str, Any], tuple[Any, ...]]]:
    with store.views.sql_transaction() as c:
        rows = c.execute("SELECT id, estimate FROM metrics ORDER BY id").fetchall()
        found = {}
        for metric, estimate in rows:
            last = c.execute(
                "SELECT low, best, high, included FROM timeline WHERE metric=? "
                "ORDER BY position DESC LIMIT 1",
                (metric,),
            ).fetchone()
            found[metric] = (loads(estimate), tuple(last))
    return found


@pytest.mark.parametrize("cached_weight", [400_000, 1], ids=["cache holds all", "cache of one"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_kept_estimate_equals_the_pure_method_after_a_random_history(
    store_at: StoreAt, seed: int, cached_weight: int
) -> None:
    tuning = Tuning(max_cached_weight=cached_weight)
    rng, claims = random.Random(seed), []
    store = store_at.open(tuning)
    register_sources(store, *SOURCES)
    define_metrics(store, *METRICS)
    for _ in range(3):  # restarts: every cache starts cold again
        random_history(store, rng, 60, claims)
        store.close()
        store = store_at.open(tuning)
    try:
        random_history(store, rng, 60, claims)

        for metric, (kept, last_point) in stored_estimates(store).items():
            pure = summary_fields(store.queries.estimate(metric).estimate)
            assert kept == pure, metric
            assert last_point == (pure["low"], pure["best"], pure["high"], pure["included"])
    finally:
        store.close()
