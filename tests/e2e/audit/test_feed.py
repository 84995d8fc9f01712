"""§5 through HTTP: the audit feed pages, hashes as a client recomputes it, shows keys
without their secrets, and needs a reader key.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.audit.client import (
    Event,
    head,
    head_signature_ok,
    leaf_of,
    root_of,
    whole_feed,
)
from tests.e2e.support import PROBLEM_JSON, LedgerServer

pytestmark = pytest.mark.e2e


def test_the_feed_pages_with_after_and_limit_until_next_after_is_null(
    admin: httpx.Client,
) -> None:
    everything = whole_feed(admin)
    pages: list[list[Event]] = []
    after: int | None = 0
    while after is not None:
        page = admin.get("/v1/audit/events", params={"after": after, "limit": 7}).json()
        pages.append(page["events"])
        if page["next_after"] is not None:
            assert page["next_after"] == page["events"][-1]["position"]
            assert len(page["events"]) == 7
        after = page["next_after"]

    assert [e for p in pages for e in p] == everything
    assert 1 <= len(pages[-1]) <= 7
    positions = [e["position"] for e in everything]
    assert positions == sorted(set(positions)) and positions[0] == 1
    assert [e["leaf_index"] for e in everything] == list(range(len(everything)))


def test_the_feed_after_the_last_position_is_empty_with_next_after_null(
    admin: httpx.Client,
) -> None:
    last = whole_feed(admin)[-1]["position"]

    page = admin.get("/v1/audit/events", params={"after": last}).json()
    exactly_full = admin.get("/v1/audit/events", params={"after": last - 3, "limit": 3}).json()

    assert page == {"events": [], "next_after": None}
    assert len(exactly_full["events"]) == 3 and exactly_full["next_after"] is None


def test_a_client_recomputes_every_leaf_hash_and_the_signed_root_from_the_feed_alone(
    admin: httpx.Client, anonymous: httpx.Client
) -> None:
    events = whole_feed(admin)
    signed = head(anonymous)
    public_key = anonymous.get("/v1/audit/public-key").json()

    for event in events:
        assert set(event) == {
            "position",
            "leaf_index",
            "stream",
            "version",
            "type",
            "recorded_at",
            "actor",
            "data",
            "leaf_hash",
        }
        assert leaf_of(event) == event["leaf_hash"], event["position"]
    assert signed["tree_size"] == len(events)
    assert signed["root_hash"] == root_of(events)
    assert head_signature_ok(public_key, signed)


def walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)


def test_decimal_values_in_event_data_are_plain_strings_and_other_numbers_integers(
    admin: httpx.Client,
) -> None:
    claim = admin.get("/v1/claims", params={"metric": "dprk-in-russia/casualty-rate"}).json()
    claim_id = claim["items"][0]["id"]
    etag = admin.get(f"/v1/claims/{claim_id}").headers["ETag"]
    corrected = admin.post(
        f"/v1/claims/{claim_id}/corrections",
        json={
            "changes": {"value": 36.5, "qualifier": "range", "value_high": 40},
            "reason": "more precise",
        },
        headers={"If-Match": etag},
    )
    assert corrected.status_code == 200, corrected.text

    events = whole_feed(admin, min_position=int(corrected.headers["X-Ledger-Position"]))

    recorded = [e for e in events if e["type"] == "Claim.Recorded"]
    assert {e["data"]["value"] for e in recorded} >= {"1000", "36", "10000", "2"}
    for event in recorded:
        assert re.fullmatch(r"-?\d+(\.\d+)?", event["data"]["value"])
    [correction] = [e for e in events if e["type"] == "Claim.Corrected" and e["stream"] == claim_id]
    assert correction["data"]["changes"] == {
        "value": "36.5",
        "qualifier": "range",
        "value_high": "40",
    }
    assert leaf_of(correction) == correction["leaf_hash"]
    for event in events:
        for value in walk(event["data"]):
            assert not isinstance(value, float), event


def test_non_ascii_text_in_event_data_hashes_the_same_for_a_client(admin: httpx.Client) -> None:
    slug = f"ukrinform-{secrets.token_hex(3)}"
    name = 'Укрінформ — «новини» 🇺🇦 \u2028 "quoted" \\ back\tslash'
    response = admin.post("/v1/sources", json={"id": slug, "name": name, "kind": "outlet"})
    assert response.status_code == 201, response.text

    events = whole_feed(admin, min_position=int(response.headers["X-Ledger-Position"]))

    [event] = [e for e in events if e["type"] == "Source.Registered" and e["data"]["slug"] == slug]
    assert event["data"]["name"] == name
    assert leaf_of(event) == event["leaf_hash"]
    ascii_escaped = json.dumps(
        {k: event[k] for k in ("stream", "version", "type", "recorded_at", "actor", "data")},
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    assert hashlib.sha256(b"\x00" + ascii_escaped).hexdigest() != event["leaf_hash"]


def test_an_issued_key_appears_in_the_feed_with_its_hash_and_never_its_secret(
    admin: httpx.Client,
) -> None:
    response = admin.post("/v1/keys", json={"name": "feed-auditor", "role": "reader"})
    assert response.status_code == 201, response.text
    issued = response.json()

    events = whole_feed(admin, min_position=int(response.headers["X-Ledger-Position"]))

    [event] = [e for e in events if e["stream"] == issued["id"]]
    assert event["type"] == "ApiKey.Issued"
    assert event["data"]["name"] == "feed-auditor"
    assert event["data"]["role"] == "reader"
    assert event["data"]["key_hash"] == hashlib.sha256(issued["secret"].encode()).hexdigest()
    assert issued["secret"] not in json.dumps(events)
    assert leaf_of(event) == event["leaf_hash"]


def test_the_feed_needs_a_reader_key(server: LedgerServer, anonymous: httpx.Client) -> None:
    with server.client("not-a-key") as stranger:
        bad_key = stranger.get("/v1/audit/events")
    with server.client() as admin:
        reader = admin.post("/v1/keys", json={"name": "feed-reader", "role": "reader"}).json()
    with server.client(reader["secret"]) as client:
        as_reader = client.get("/v1/audit/events", params={"limit": 1})

    without = anonymous.get("/v1/audit/events")

    assert without.status_code == 401
    assert without.headers["content-type"].startswith(PROBLEM_JSON)
    assert bad_key.status_code == 401
    assert as_reader.status_code == 200 and len(as_reader.json()["events"]) == 1


@pytest.mark.parametrize(
    "params", [{"limit": 0}, {"limit": 1001}, {"after": -1}, {"after": "x"}, {"limit": "many"}]
)
def test_bad_feed_parameters_are_a_422_problem(admin: httpx.Client, params: dict[str, Any]) -> None:
    response = admin.get("/v1/audit/events", params=params)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
