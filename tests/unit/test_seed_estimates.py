"""§7: the seed's numbers, computed by the pure estimate functions from its table."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from domain.estimates import ClaimAsKnown, Evidence, most_reliable_latest, weighted_median
from domain.values import ClaimStatus, Qualifier, Reliability

pytestmark = pytest.mark.unit

PUBLISHED = date(2025, 1, 22)
SOURCES = (
    "moscow-times",
    "bbc-russian",
    "western-officials",
    "south-korea",
    "ukraine",
    "united-states",
    "zelensky",
    "nyt",
    "us-defense-official",
)
# metric, value, qualifier, as_of, attributed_to — every claim reported by moscow-times
TABLE = (
    ("killed", 1000, "approximately", "2025-01-22", ("bbc-russian", "western-officials")),
    ("wounded", 3000, "approximately", "2025-01-22", ("bbc-russian", "western-officials")),
    ("casualties", 4000, "approximately", "2025-01-22", ("bbc-russian",)),
    ("casualty-rate", 36, "approximately", "2025-01-22", ("bbc-russian",)),
    ("killed", 300, "exact", "2025-01-15", ("south-korea",)),
    ("wounded", 2700, "exact", "2025-01-15", ("south-korea",)),
    ("deployed", 10000, "more_than", "2025-01-22", ("ukraine",)),
    ("deployed", 10000, "more_than", "2025-01-22", ("united-states",)),
    ("deployed", 10000, "more_than", "2025-01-22", ("south-korea",)),
    ("captured", 2, "exact", "2025-01-11", ("zelensky",)),
)
ALL_F = dict.fromkeys(SOURCES, Reliability.F)


def seed(metric: str) -> list[ClaimAsKnown]:
    """The metric's claims of §7, in table order, positions as if recorded in that order."""
    return [
        ClaimAsKnown(
            id=f"seed-{position}",
            origin=attributed_to[-1] if attributed_to else "moscow-times",
            value=Decimal(value),
            qualifier=Qualifier(qualifier),
            value_high=None,
            as_of=date.fromisoformat(as_of),
            published_at=PUBLISHED,
            position=position,
        )
        for position, (name, value, qualifier, as_of, attributed_to) in enumerate(TABLE, 1)
        if name == metric
    ]


def numbers(estimate) -> tuple[Decimal | None, Decimal | None, Decimal | None]:
    return estimate.low, estimate.best, estimate.high


def test_killed_is_best_300_low_300_high_1000_and_contested():
    estimate = weighted_median(seed("killed"), ALL_F)
    assert numbers(estimate) == (Decimal(300), Decimal(300), Decimal(1000))
    assert estimate.evidence is Evidence.CONTESTED
    assert (estimate.considered, estimate.included, estimate.independent_origins) == (2, 2, 2)


def test_the_killed_claims_originate_with_western_officials_and_south_korea():
    assert [c.origin for c in seed("killed")] == ["western-officials", "south-korea"]


def test_killed_after_retracting_the_south_korea_claim_is_1000_throughout():
    # given the south-korea claim on killed is retracted
    claims = [
        c._replace(status=ClaimStatus.RETRACTED) if c.origin == "south-korea" else c
        for c in seed("killed")
    ]
    # when the estimate is computed
    estimate = weighted_median(claims, ALL_F)
    # then only western-officials' figure is left
    assert numbers(estimate) == (Decimal(1000), Decimal(1000), Decimal(1000))
    assert estimate.evidence is Evidence.WEAK
    assert (estimate.considered, estimate.included) == (2, 1)


def test_killed_as_known_before_the_retraction_still_answers_300():
    # the claims as they stood before the retraction are simply the unretracted ones
    assert weighted_median(seed("killed"), ALL_F).best == Decimal(300)


def test_wounded_is_fair():
    estimate = weighted_median(seed("wounded"), ALL_F)
    assert estimate.evidence is Evidence.FAIR
    assert numbers(estimate) == (Decimal(2700), Decimal(2700), Decimal(3000))


def test_deployed_with_three_accusers_is_fair_and_open_above():
    estimate = weighted_median(seed("deployed"), ALL_F)
    assert estimate.evidence is Evidence.FAIR
    assert estimate.independent_origins == 3
    assert numbers(estimate) == (Decimal(10000), Decimal(10000), Decimal(10000))


def test_captured_is_weak():
    estimate = weighted_median(seed("captured"), ALL_F)
    assert estimate.evidence is Evidence.WEAK
    assert numbers(estimate) == (Decimal(2), Decimal(2), Decimal(2))


@pytest.mark.parametrize(("metric", "value"), [("casualties", 4000), ("casualty-rate", 36)])
def test_the_single_claim_metrics_are_weak(metric, value):
    estimate = weighted_median(seed(metric), ALL_F)
    assert estimate.evidence is Evidence.WEAK
    assert estimate.best == Decimal(value)


def test_with_no_ratings_given_every_seed_source_counts_as_f():
    assert weighted_median(seed("killed"), {}) == weighted_median(seed("killed"), ALL_F)


def test_killed_by_the_most_reliable_latest_method_is_the_later_figure():
    # equal weights: the tie goes to the latest as_of, western-officials' 2025-01-22
    estimate = most_reliable_latest(seed("killed"), ALL_F)
    assert numbers(estimate) == (Decimal(300), Decimal(1000), Decimal(1000))
    assert estimate.evidence is Evidence.CONTESTED


def test_rating_western_officials_above_south_korea_moves_killed_to_1000():
    ratings = {**ALL_F, "western-officials": Reliability.B}
    assert weighted_median(seed("killed"), ratings).best == Decimal(1000)


def test_rating_western_officials_e_leaves_only_south_korea():
    ratings = {**ALL_F, "western-officials": Reliability.E}
    estimate = weighted_median(seed("killed"), ratings)
    assert numbers(estimate) == (Decimal(300), Decimal(300), Decimal(300))
    assert estimate.evidence is Evidence.WEAK
