"""§9 diffs over HTTP: the seed's casualty rate across the retraction of BBC's claim."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from projections.log.merkle import verify_consistency
from tests.e2e.support import LedgerServer, etag, is_problem, position

pytestmark = pytest.mark.e2e

RATE = "/v1/metrics/dprk-in-russia/casualty-rate"
REASON = "the BBC's Russian service withdrew the figure"


@dataclass(frozen=True)
class Retraction:
    claim: str
    before: str  # a moment after the seed and before the retraction
    before_position: int  # the last event's then
    position: int

    @property
    def caught_up(self) -> dict[str, str]:
        return {"X-Min-Position": str(self.position)}


@pytest.fixture(scope="module")
def seed(pristine_server: LedgerServer) -> Iterator[httpx.Client]:
    with pristine_server.client() as client:
        yield client


@pytest.fixture(scope="module")
def retraction(seed: httpx.Client) -> Retraction:
    found = seed.get("/v1/claims", params={"metric": "dprk-in-russia/casualty-rate"}).json()
    (rate,) = found["items"]
    assert (rate["value"], rate["origin"]) == (36, "bbc-russian")
    *_, last = seed.get("/v1/audit/events", params={"limit": 1000}).json()["events"]
    current = seed.get(f"/v1/claims/{rate['id']}")
    response = seed.post(
        f"/v1/claims/{rate['id']}/retraction",
        json={"reason": REASON},
        headers={"If-Match": etag(current)},
    )
    assert response.status_code == 200, response.text
    return Retraction(rate["id"], last["recorded_at"], last["position"], position(response))


def diff(client: httpx.Client, retraction: Retraction, **params: Any) -> dict[str, Any]:
    response = client.get(RATE + "/diff", params=params, headers=retraction.caught_up)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_the_diff_across_the_retraction_names_it_with_its_reason(
    seed: httpx.Client, retraction: Retraction
) -> None:
    body = diff(seed, retraction, **{"from": retraction.before})

    assert body["metric"] == "dprk-in-russia/casualty-rate"
    assert body["from"]["known_at"] == retraction.before
    assert body["from"]["position"] == retraction.before_position
    assert body["to"]["position"] >= retraction.position
    closed = {"low_open": False, "high_open": False}
    assert body["estimate"] == {
        "from": {"best": 36, "low": 36, "high": 36, **closed},
        "to": {"best": None, "low": None, "high": None, **closed},
    }
    (change,) = body["changes"]
    assert change["position"] == retraction.position
    assert (change["type"], change["claim"], change["source"]) == (
        "Claim.Retracted",
        retraction.claim,
        None,
    )
    assert (change["reason"], change["event_reason"]) == ("claim retracted", REASON)
    assert change["effect"] == {"best": -36, "low": -36, "high": -36}
    assert change["after"] == {"best": None, "low": None, "high": None, **closed}
    assert change["actor"]
    assert body["unchanged_events"] == 0
    assert body["next_cursor"] is None
    # Without a casualty rate the share has nothing to divide by.
    (share,) = body["checks"]["changed"]
    assert share["relation"] == "dprk-in-russia/casualty-rate-share"
    assert (share["kind"], share["from"], share["to"]) == ("share", "consistent", "not_evaluable")
    assert share["message"]


def test_position_ends_answer_as_the_times_do(seed: httpx.Client, retraction: Retraction) -> None:
    by_time = diff(seed, retraction, **{"from": retraction.before})
    by_position = diff(
        seed,
        retraction,
        **{"from": f"@{retraction.before_position}", "to": f"@{retraction.position}"},
    )
    assert by_position["changes"] == by_time["changes"]
    assert by_position["estimate"] == by_time["estimate"]
    assert by_position["from"]["tree_size"] == by_time["from"]["tree_size"]
    assert by_position["from"]["known_at"] == retraction.before  # its last event's time
    assert by_position["to"]["tree_size"] == by_position["from"]["tree_size"] + 1


def test_the_ends_roots_are_the_logs_and_the_path_proves_one_extends_the_other(
    seed: httpx.Client, retraction: Retraction
) -> None:
    body = diff(seed, retraction, **{"from": "@3", "to": f"@{retraction.position}"})
    first, second = body["from"], body["to"]
    for end in (first, second):
        head = seed.get("/v1/audit/tree-head", params={"tree_size": end["tree_size"]}).json()
        assert head["root_hash"] == end["root_hash"]
    proof = seed.get(
        "/v1/audit/proofs/consistency",
        params={"first": first["tree_size"], "second": second["tree_size"]},
    ).json()
    assert body["consistency_path"] == proof["consistency_path"]
    assert verify_consistency(
        first["tree_size"],
        second["tree_size"],
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(h) for h in body["consistency_path"]],
    )


def test_from_the_start_the_record_and_the_retraction_add_up_to_nothing(
    seed: httpx.Client, retraction: Retraction
) -> None:
    pages = [diff(seed, retraction, **{"from": "2000-01-01", "limit": "1"})]
    while pages[-1]["next_cursor"] is not None:
        cursor = pages[-1]["next_cursor"]
        pages.append(diff(seed, retraction, cursor=cursor, limit="1"))
    changes = [c for p in pages for c in p["changes"]]
    assert [c["reason"] for c in changes] == ["claim recorded", "claim retracted"]
    assert changes[0]["effect"] == {"best": 36, "low": 36, "high": 36}
    assert pages[0]["from"] == {
        "known_at": "2000-01-01T00:00:00.000000Z",
        "position": 0,
        "tree_size": 0,
        "root_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
    assert {p["to"]["position"] for p in pages} == {pages[0]["to"]["position"]}
    # The relation did not exist at the start; it does now, and cannot be evaluated.
    changed = {c["relation"]: (c["from"], c["to"]) for c in pages[0]["checks"]["changed"]}
    assert changed["dprk-in-russia/casualty-rate-share"] == (None, "not_evaluable")
    assert all(p["checks"] == pages[0]["checks"] for p in pages)


def test_a_diff_says_an_open_end(seed: httpx.Client, retraction: Retraction) -> None:
    body = diff(seed, retraction, **{"from": "@0"}, limit="1000")
    deployed = seed.get(
        "/v1/metrics/dprk-in-russia/deployed/diff",
        params={"from": "@0"},
        headers=retraction.caught_up,
    ).json()
    assert deployed["estimate"]["to"] == {
        "best": 10000,
        "low": 10000,
        "high": 10000,
        "low_open": False,
        "high_open": True,  # "more than 10,000"
    }
    assert [c["reason"] for c in deployed["changes"]] == ["claim recorded"]  # the relays: 0
    assert deployed["unchanged_events"] == 2
    assert body["estimate"]["to"]["best"] is None


def test_an_unknown_metric_is_404(seed: httpx.Client) -> None:
    response = seed.get("/v1/metrics/dprk-in-russia/nothing/diff", params={"from": "@0"})
    assert is_problem(response, 404)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "last tuesday"}, "from"),
        ({"from": "@"}, "from"),
        ({"from": "@-1"}, "from"),
        ({"from": "@0", "to": "@1x"}, "to"),
        ({"from": "@0", "to": "2025-13-01"}, "to"),
        ({"from": "@0", "to": "@999999999999"}, "to"),  # past the log
        ({"from": "@5", "to": "@4"}, "from"),  # from after to
        ({"from": "2030-01-01T00:00:00Z", "to": "2029-01-01"}, "from"),
        ({}, "from"),  # no from, no cursor
        ({"from": "@0", "cursor": "not-ours"}, "cursor"),
        ({"from": "@0", "limit": "0"}, "limit"),
    ],
)
def test_bad_ends_are_422_problems(
    seed: httpx.Client, retraction: Retraction, params: dict[str, str], field: str
) -> None:
    response = seed.get(RATE + "/diff", params=params, headers=retraction.caught_up)
    assert is_problem(response, 422), response.text
    assert field in {e["field"] for e in response.json()["errors"]}


def test_a_diff_needs_a_key(pristine_server: LedgerServer) -> None:
    with pristine_server.client(admin=False) as anonymous:
        assert is_problem(anonymous.get(RATE + "/diff", params={"from": "@0"}), 401)
