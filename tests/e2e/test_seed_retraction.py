"""§7: once south-korea's killed claim is retracted the estimate moves, and the past stays."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.e2e.support import LedgerServer, etag, is_problem, position

pytestmark = pytest.mark.e2e

KILLED = "/v1/metrics/dprk-in-russia/killed"


@dataclass(frozen=True)
class Retraction:
    claim: str
    before: str  # a moment after the seed and before the retraction
    response: httpx.Response

    @property
    def position(self) -> int:
        return position(self.response)

    @property
    def caught_up(self) -> dict[str, str]:
        return {"X-Min-Position": str(self.position)}


@pytest.fixture(scope="module")
def seed(pristine_server: LedgerServer) -> Iterator[httpx.Client]:
    with pristine_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def retraction(seed: httpx.Client) -> Retraction:
    """Retract south-korea's claim of 300 killed, with the ETag just read."""
    found = seed.get(
        "/v1/claims", params={"metric": "dprk-in-russia/killed", "origin": "south-korea"}
    ).json()["items"]
    assert [c["value"] for c in found] == [300]
    claim = found[0]["id"]
    every_claim = seed.get("/v1/claims", params={"limit": 1000}).json()["items"]
    before = max(c["recorded_at"] for c in every_claim)
    current = seed.get(f"/v1/claims/{claim}")
    response = seed.post(
        f"/v1/claims/{claim}/retraction",
        json={"reason": "the ministry withdrew the figure"},
        headers={"If-Match": etag(current)},
    )
    assert response.status_code == 200, response.text
    return Retraction(claim, before, response)


def estimate(client: httpx.Client, retraction: Retraction, **params: str) -> dict[str, object]:
    response = client.get(KILLED + "/estimate", params=params, headers=retraction.caught_up)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_retraction_answers_the_retracted_claim_with_its_next_etag(
    retraction: Retraction,
) -> None:
    assert retraction.response.json()["status"] == "retracted"
    assert etag(retraction.response) == '"2"'
    assert retraction.position > 0


def test_after_the_retraction_killed_is_1000_1000_1000(
    seed: httpx.Client, retraction: Retraction
) -> None:
    killed = estimate(seed, retraction)
    assert (killed["low"], killed["best"], killed["high"]) == (1000, 1000, 1000)
    assert (killed["considered"], killed["included"]) == (2, 1)
    assert killed["evidence"] == "weak"
    assert killed["position"] >= retraction.position


def test_explain_names_the_retracted_claim(seed: httpx.Client, retraction: Retraction) -> None:
    killed = estimate(seed, retraction, explain="true")
    statuses = {line["claim"]: line["status"] for line in killed["explanation"]}
    assert statuses[retraction.claim] == "retracted"
    assert sorted(statuses.values()) == ["included", "retracted"]


def test_the_retracted_line_gives_the_reason_its_retraction_gave(
    seed: httpx.Client, retraction: Retraction
) -> None:
    killed = estimate(seed, retraction, explain="true")
    (line,) = [line for line in killed["explanation"] if line["claim"] == retraction.claim]
    assert line["reason"] == "retracted: the ministry withdrew the figure"
    assert line["retraction_reason"] == "the ministry withdrew the figure"
    said = (line["value"], line["qualifier"], line["reported_by"], line["as_of"])
    assert said == (300, "exact", "moscow-times", "2025-01-15")


def test_known_at_before_the_retraction_still_answers_300(
    seed: httpx.Client, retraction: Retraction
) -> None:
    killed = estimate(seed, retraction, known_at=retraction.before)
    assert (killed["low"], killed["best"], killed["high"]) == (300, 300, 1000)
    assert killed["known_at"] == retraction.before
    assert killed["position"] < retraction.position
    assert killed["evidence"] == "contested"


def test_known_at_before_the_retraction_explains_both_claims_as_included(
    seed: httpx.Client, retraction: Retraction
) -> None:
    killed = estimate(seed, retraction, known_at=retraction.before, explain="true")
    assert {line["status"] for line in killed["explanation"]} == {"included"}
    assert {line["retraction_reason"] for line in killed["explanation"]} == {None}


@pytest.mark.parametrize(
    "moment", ["2000-01-01", "2001-02-03T04:05:06Z", "2001-02-03T04:05:06+02:00"]
)
def test_known_at_before_the_metric_was_defined_is_404(
    seed: httpx.Client, retraction: Retraction, moment: str
) -> None:
    response = seed.get(KILLED + "/estimate", params={"known_at": moment})
    assert is_problem(response, 404)


def test_a_known_at_that_is_not_a_time_is_422(seed: httpx.Client) -> None:
    response = seed.get(KILLED + "/estimate", params={"known_at": "last tuesday"})
    assert is_problem(response, 422)
    assert response.json()["errors"][0]["field"] == "known_at"


def test_the_timeline_has_a_point_for_the_retraction(
    seed: httpx.Client, retraction: Retraction
) -> None:
    response = seed.get(KILLED + "/timeline", headers=retraction.caught_up)
    assert response.status_code == 200
    timeline = response.json()
    assert (timeline["metric"], timeline["method"]) == ("dprk-in-russia/killed", "weighted-median")
    *earlier, last = timeline["points"]
    assert last["position"] == retraction.position
    assert (last["low"], last["best"], last["high"], last["included"]) == (1000, 1000, 1000, 1)
    assert (earlier[-1]["low"], earlier[-1]["best"], earlier[-1]["high"]) == (300, 300, 1000)
    positions = [p["position"] for p in timeline["points"]]
    assert positions == sorted(positions)


def test_the_snapshot_before_the_retraction_shows_every_metric_as_known_then(
    seed: httpx.Client, retraction: Retraction
) -> None:
    response = seed.get(
        "/v1/audit/snapshot", params={"known_at": retraction.before}, headers=retraction.caught_up
    )
    assert response.status_code == 200
    snapshot = response.json()
    assert snapshot["known_at"] == retraction.before
    assert snapshot["position"] < retraction.position
    estimates = {e["metric"]: e for e in snapshot["estimates"]}
    assert len(estimates) == 6
    assert estimates["dprk-in-russia/killed"]["best"] == 300
    assert estimates["dprk-in-russia/captured"]["evidence"] == "weak"


def test_the_snapshot_now_shows_the_retraction(seed: httpx.Client, retraction: Retraction) -> None:
    snapshot = seed.get("/v1/audit/snapshot", headers=retraction.caught_up).json()
    estimates = {e["metric"]: e for e in snapshot["estimates"]}
    assert estimates["dprk-in-russia/killed"]["best"] == 1000
    assert snapshot["position"] >= retraction.position


def test_a_snapshot_before_anything_was_defined_is_empty(seed: httpx.Client) -> None:
    snapshot = seed.get("/v1/audit/snapshot", params={"known_at": "2000-01-01"}).json()
    assert (snapshot["position"], snapshot["estimates"]) == (0, [])


def test_the_claim_at_version_1_is_still_active(seed: httpx.Client, retraction: Retraction) -> None:
    first = seed.get(
        f"/v1/claims/{retraction.claim}", params={"version": 1}, headers=retraction.caught_up
    )
    assert (first.json()["status"], first.json()["version"], etag(first)) == ("active", 1, '"1"')
    now = seed.get(f"/v1/claims/{retraction.claim}", headers=retraction.caught_up)
    assert (now.json()["status"], etag(now)) == ("retracted", '"2"')


def test_the_history_shows_who_recorded_and_who_retracted(
    seed: httpx.Client, retraction: Retraction
) -> None:
    history = seed.get(
        f"/v1/claims/{retraction.claim}/history", headers=retraction.caught_up
    ).json()
    assert history["claim"] == retraction.claim
    events = [(e["type"], e["actor"], e["version"]) for e in history["events"]]
    assert events == [("Claim.Recorded", "demo", 1), ("Claim.Retracted", "admin", 2)]
    assert history["events"][0]["data"]["value"] == "300"
    assert history["events"][1]["data"]["reason"] == "the ministry withdrew the figure"
    assert history["events"][1]["position"] == retraction.position
