"""§9 on the seed over HTTP: `deployed` derived through the share, the three checks in
every estimate answer and at /v1/checks, known_at before and after the relations
existed, and BBC's casualty rate retracted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.support import LedgerServer, etag, is_problem, position

pytestmark = pytest.mark.e2e

SEED = "dprk-in-russia/"
SHARE, SUM, AT_MOST = (
    SEED + "casualty-rate-share",
    SEED + "casualties-sum",
    SEED + "killed-at-most-casualties",
)


@pytest.fixture(scope="module")
def seed(pristine_server: LedgerServer) -> Iterator[httpx.Client]:
    with pristine_server.client() as client:
        yield client


def estimate(client: httpx.Client, metric: str, **params: Any) -> dict[str, Any]:
    response = client.get(f"/v1/metrics/{SEED}{metric}/estimate", params=params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def claims_recorded_before_the_relations(client: httpx.Client) -> str:
    every_claim = client.get("/v1/claims", params={"limit": 1000}).json()["items"]
    return str(max(c["recorded_at"] for c in every_claim))


def test_deployed_derived_through_the_share_is_11111_to_11112_and_consistent(
    seed: httpx.Client,
) -> None:
    answer = estimate(seed, "deployed")
    (derived,) = answer["derived"]
    assert derived["relation"] == SHARE
    assert (derived["best"], derived["low"], derived["high"]) == (11111, 11111, 11112)
    assert derived["status"] == "consistent"
    assert [(f["metric"], f["best"], f["low"], f["high"]) for f in derived["from"]] == [
        (SEED + "casualty-rate", 36, 36, 36),
        (SEED + "casualties", 4000, 4000, 4000),
    ]
    # Derived figures never move the reported estimate: still "more than 10,000".
    assert (answer["best"], answer["low"], answer["high"]) == (10000, 10000, 10000)
    (check,) = answer["checks"]
    assert (check["relation"], check["kind"], check["status"]) == (SHARE, "share", "consistent")
    assert check["metrics"][SEED + "deployed"] == {"best": 10000, "low": 10000, "high": None}


def test_the_casualties_carry_all_three_checks_and_the_sum_fits(seed: httpx.Client) -> None:
    answer = estimate(seed, "casualties")
    assert [(c["relation"], c["status"]) for c in answer["checks"]] == [
        (SUM, "consistent"),
        (SHARE, "consistent"),
        (AT_MOST, "consistent"),
    ]
    by_sum = next(d for d in answer["derived"] if d["relation"] == SUM)
    assert (by_sum["low"], by_sum["high"]) == (3002, None)  # 300 + 2,700 + 2, and up
    assert "3002" in answer["checks"][0]["message"]
    # The metric's own row answers the same.
    metric = seed.get(f"/v1/metrics/{SEED}casualties").json()
    assert metric["estimate"]["checks"] == answer["checks"]


def test_all_three_are_listed_at_v1_checks_with_filters_and_pages(seed: httpx.Client) -> None:
    listed = seed.get("/v1/checks")
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["known_at"] is None and body["position"] >= 1
    assert [(c["relation"], c["status"]) for c in body["items"]] == [
        (SUM, "consistent"),
        (SHARE, "consistent"),
        (AT_MOST, "consistent"),
    ]
    assert body["next_cursor"] is None
    assert set(body["items"][0]["metrics"]) == {
        SEED + m for m in ("casualties", "killed", "wounded", "captured")
    }
    by_metric = seed.get("/v1/checks", params={"metric": SEED + "deployed"}).json()
    assert [c["relation"] for c in by_metric["items"]] == [SHARE]
    assert seed.get("/v1/checks", params={"status": "tension"}).json()["items"] == []
    first = seed.get("/v1/checks", params={"limit": 2}).json()
    rest = seed.get("/v1/checks", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["relation"] for c in first["items"] + rest["items"]] == [SUM, SHARE, AT_MOST]
    assert rest["next_cursor"] is None


def test_known_at_before_the_relations_existed_shows_none(seed: httpx.Client) -> None:
    before = claims_recorded_before_the_relations(seed)
    then = estimate(seed, "deployed", known_at=before)
    assert (then["derived"], then["checks"]) == ([], [])
    listed = seed.get("/v1/checks", params={"known_at": before}).json()
    assert (listed["known_at"], listed["items"]) == (before, [])
    now = seed.get("/v1/checks").json()
    later = seed.get("/v1/checks", params={"known_at": "2999-01-01T00:00:00Z"}).json()
    assert later["items"] == now["items"]
    (derived,) = estimate(seed, "deployed", known_at="2999-01-01T00:00:00Z")["derived"]
    assert (derived["best"], derived["low"], derived["high"]) == (11111, 11111, 11112)


def test_bad_filters_and_cursors_are_problems(seed: httpx.Client) -> None:
    assert is_problem(seed.get("/v1/checks", params={"status": "fine"}), 422)
    assert is_problem(seed.get("/v1/checks", params={"known_at": "yesterday"}), 422)
    assert is_problem(seed.get("/v1/checks", params={"cursor": "not-ours"}), 422)
    assert is_problem(seed.get("/v1/checks", params={"limit": 0}), 422)


def test_retracting_bbcs_casualty_rate_leaves_deployed_not_evaluable(seed: httpx.Client) -> None:
    before = seed.get("/v1/checks").json()
    found = seed.get(
        "/v1/claims", params={"metric": SEED + "casualty-rate", "origin": "bbc-russian"}
    ).json()["items"]
    (claim,) = [c["id"] for c in found]
    current = seed.get(f"/v1/claims/{claim}")
    response = seed.post(
        f"/v1/claims/{claim}/retraction",
        json={"reason": "BBC withdrew the share"},
        headers={"If-Match": etag(current)},
    )
    assert response.status_code == 200, response.text
    caught_up = {"X-Min-Position": str(position(response))}
    answer = seed.get(f"/v1/metrics/{SEED}deployed/estimate", headers=caught_up).json()
    (derived,) = answer["derived"]
    assert derived["status"] == "not_evaluable"
    assert (derived["best"], derived["low"], derived["high"]) == (None, None, None)
    assert derived["from"][0] == {
        "metric": SEED + "casualty-rate",
        "best": None,
        "low": None,
        "high": None,
    }
    assert SEED + "casualty-rate" in derived["message"]
    assert answer["best"] == 10000  # the reported estimate is untouched
    listed = seed.get("/v1/checks", headers=caught_up).json()
    assert {c["relation"]: c["status"] for c in listed["items"]}[SHARE] == "not_evaluable"
    # As known before the retraction, the share was still there.
    then = seed.get("/v1/checks", params={"known_at": before_retraction(seed, claim)}).json()
    assert then["items"] == before["items"]


def before_retraction(client: httpx.Client, claim: str) -> str:
    history = client.get(f"/v1/claims/{claim}/history").json()["events"]
    retracted = next(e for e in history if e["type"] == "Claim.Retracted")
    events = client.get(
        "/v1/audit/events", params={"after": retracted["position"] - 2, "limit": 1}
    ).json()["events"]
    return str(events[0]["recorded_at"])
