"""The §7 seed, as `serve --demo` loads it, answers the estimates of §4 and §7."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.support import LedgerServer, is_problem

pytestmark = pytest.mark.e2e

KILLED = "/v1/metrics/dprk-in-russia/killed"


@pytest.fixture(scope="module")
def seed(pristine_server: LedgerServer) -> Iterator[httpx.Client]:
    with pristine_server.client() as client:
        yield client


def test_the_seed_is_loaded_and_projected_before_healthz_answers(seed: httpx.Client) -> None:
    # The first request after /healthz, without waiting for any position.
    claims = seed.get("/v1/claims", params={"limit": 1000}).json()["items"]
    assert len(claims) == 10
    assert {c["reported_by"] for c in claims} == {"moscow-times"}
    assert {c["recorded_by"] for c in claims} == {"demo"}
    ready = seed.get("/readyz").json()
    assert ready["lag"] == 0


def estimate(client: httpx.Client, metric: str, **params: str) -> dict:
    response = client.get(f"/v1/metrics/dprk-in-russia/{metric}/estimate", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_killed_is_300_within_300_to_1000_and_contested(seed: httpx.Client) -> None:
    killed = estimate(seed, "killed")
    assert (killed["low"], killed["best"], killed["high"]) == (300, 300, 1000)
    assert killed["evidence"] == "contested"
    assert killed["method"] == "weighted-median"
    assert (killed["considered"], killed["included"], killed["independent_origins"]) == (2, 2, 2)


def test_wounded_is_fair_evidence_at_2700_to_3000(seed: httpx.Client) -> None:
    wounded = estimate(seed, "wounded")
    assert (wounded["low"], wounded["best"], wounded["high"]) == (2700, 2700, 3000)
    assert wounded["evidence"] == "fair"


def test_three_governments_saying_more_than_10000_deployed_is_fair_evidence(
    seed: httpx.Client,
) -> None:
    deployed = estimate(seed, "deployed")
    assert (deployed["low"], deployed["best"], deployed["high"]) == (10000, 10000, 10000)
    assert deployed["independent_origins"] == 3
    assert deployed["evidence"] == "fair"


def test_two_captured_on_one_word_is_weak_evidence(seed: httpx.Client) -> None:
    captured = estimate(seed, "captured")
    assert captured["best"] == 2
    assert captured["evidence"] == "weak"


def test_the_casualty_rate_is_a_percent(seed: httpx.Client) -> None:
    rate = estimate(seed, "casualty-rate")
    assert (rate["unit"], rate["best"]) == ("percent", 36)


def test_explain_gives_one_included_line_per_origin_with_its_weight(seed: httpx.Client) -> None:
    killed = estimate(seed, "killed", explain="true")
    lines = {line["origin"]: line for line in killed["explanation"]}
    assert set(lines) == {"south-korea", "western-officials"}
    assert {line["status"] for line in lines.values()} == {"included"}
    assert lines["south-korea"]["point"] == 300
    assert lines["south-korea"]["weight"] == 0.25  # F 0.5 x not assessed 0.5
    assert all(line["reason"] for line in lines.values())


def test_without_explain_there_is_no_explanation(seed: httpx.Client) -> None:
    assert estimate(seed, "killed")["explanation"] is None


def test_most_reliable_latest_picks_the_later_of_two_equal_weights(seed: httpx.Client) -> None:
    killed = estimate(seed, "killed", method="most-reliable-latest")
    assert killed["method"] == "most-reliable-latest"
    assert (killed["low"], killed["best"], killed["high"]) == (300, 1000, 1000)


def test_an_unknown_method_is_rejected(seed: httpx.Client) -> None:
    response = seed.get(KILLED + "/estimate", params={"method": "loudest"})
    assert is_problem(response, 422)


def test_valid_at_keeps_only_claims_about_earlier_dates(seed: httpx.Client) -> None:
    killed = estimate(seed, "killed", valid_at="2025-01-20")
    assert (killed["low"], killed["best"], killed["high"]) == (300, 300, 300)
    assert killed["valid_at"] == "2025-01-20"
    assert killed["evidence"] == "weak"


def test_valid_at_before_every_claim_leaves_no_estimate(seed: httpx.Client) -> None:
    killed = estimate(seed, "killed", valid_at="2025-01-01")
    assert (killed["low"], killed["best"], killed["high"]) == (None, None, None)
    assert (killed["included"], killed["evidence"]) == (0, "none")


def test_every_seeded_metric_is_listed_with_its_current_estimate(seed: httpx.Client) -> None:
    response = seed.get("/v1/metrics")
    assert response.status_code == 200
    metrics = {m["id"]: m for m in response.json()["items"]}
    assert set(metrics) == {
        f"dprk-in-russia/{name}"
        for name in ("killed", "wounded", "casualties", "deployed", "captured", "casualty-rate")
    }
    assert metrics["dprk-in-russia/killed"]["estimate"]["best"] == 300
    assert response.json()["next_cursor"] is None


def test_every_seeded_source_counts_the_claims_it_reported_or_originated(
    seed: httpx.Client,
) -> None:
    sources = {s["id"]: s for s in seed.get("/v1/sources").json()["items"]}
    assert len(sources) == 9
    assert sources["moscow-times"]["claims"] == 10
    assert sources["south-korea"]["claims"] == 3
    assert sources["nyt"]["claims"] == 0
    assert {s["reliability"] for s in sources.values()} == {"F"}


def test_deployed_says_its_top_is_open_in_every_answer_that_shows_it(seed: httpx.Client) -> None:
    # "more than 10,000" three times: 10000 is a floor the sources said, not a ceiling
    for method in ("weighted-median", "most-reliable-latest"):
        deployed = estimate(seed, "deployed", method=method)
        assert (deployed["low"], deployed["best"], deployed["high"]) == (10000, 10000, 10000)
        assert (deployed["low_open"], deployed["high_open"]) == (False, True)
    as_known_now = estimate(seed, "deployed", known_at="2999-01-01")
    assert as_known_now["high_open"] is True
    assert estimate(seed, "deployed", valid_at="2025-01-22")["high_open"] is True
    embedded = seed.get("/v1/metrics/dprk-in-russia/deployed").json()["estimate"]
    assert (embedded["low_open"], embedded["high_open"]) == (False, True)
    listed = {m["id"]: m["estimate"] for m in seed.get("/v1/metrics").json()["items"]}
    assert listed["dprk-in-russia/deployed"]["high_open"] is True
    assert listed["dprk-in-russia/killed"]["high_open"] is False
    snapshot = seed.get("/v1/audit/snapshot").json()
    shown = {e["metric"]: e for e in snapshot["estimates"]}
    assert shown["dprk-in-russia/deployed"]["high_open"] is True


def test_closed_claims_leave_killed_closed_at_both_ends(seed: httpx.Client) -> None:
    killed = estimate(seed, "killed")
    assert (killed["low_open"], killed["high_open"]) == (False, False)


def test_the_explanation_of_killed_gives_each_claim_as_said(seed: httpx.Client) -> None:
    killed = estimate(seed, "killed", explain="true")
    lines = {line["origin"]: line for line in killed["explanation"]}
    said = {
        origin: (
            line["value"],
            line["qualifier"],
            line["value_high"],
            line["reported_by"],
            line["as_of"],
            line["retraction_reason"],
        )
        for origin, line in lines.items()
    }
    assert said == {
        "south-korea": (300, "exact", None, "moscow-times", "2025-01-15", None),
        "western-officials": (1000, "approximately", None, "moscow-times", "2025-01-22", None),
    }
